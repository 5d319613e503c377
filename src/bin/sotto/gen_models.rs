//! `sotto gen-models`: writes the project's own test models (no weights can be downloaded here).

use std::path::PathBuf;

/// Arguments of `sotto gen-models`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, short)]
    out: PathBuf,
}

/// Writes the models.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "gen-models: not implemented yet (out {})",
        args.out.display()
    )
}
