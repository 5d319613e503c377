//! The CLI's side of the one settings type ([`sotto::settings::Settings`]): a `--settings` JSON
//! file patches the defaults, then the subcommand's flags patch that, and `sotto settings`
//! prints the defaults (the same ones the browser and Node start from).

use std::path::PathBuf;

use sotto::settings::Settings;

/// The defaults patched by the JSON file `path`, if any.
pub fn load(path: &Option<PathBuf>) -> anyhow::Result<Settings> {
    let Some(path) = path else {
        return Ok(Settings::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the settings file: {e}", path.display()))?;
    Ok(Settings::from_json(&text, &path.display().to_string())?)
}

/// Sets `slot` to the flag's value when the flag was given.
pub fn flag<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// `sotto settings`: prints the default settings as JSON, every field named as in a settings
/// file and in the browser's setters.
pub fn print_defaults() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&Settings::default())?);
    Ok(())
}
