//! `sotto`: the native command-line front end over the same core that runs in the browser.
//!
//! Each subcommand lives in its own file; this one only parses and dispatches.

#[cfg(not(target_arch = "wasm32"))]
mod chat;
#[cfg(not(target_arch = "wasm32"))]
mod converse;
#[cfg(not(target_arch = "wasm32"))]
mod gen_models;
#[cfg(not(target_arch = "wasm32"))]
mod import;
#[cfg(not(target_arch = "wasm32"))]
mod model_files;
#[cfg(not(target_arch = "wasm32"))]
mod say;
#[cfg(not(target_arch = "wasm32"))]
mod serve;
#[cfg(not(target_arch = "wasm32"))]
mod settings_file;
#[cfg(not(target_arch = "wasm32"))]
mod transcribe;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;

    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => {
            println!("sotto {}", sotto::VERSION);
            Ok(())
        }
        Command::Serve(args) => serve::run(args),
        Command::GenModels(args) => gen_models::run(args),
        Command::Say(args) => say::run(args),
        Command::Transcribe(args) => transcribe::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Converse(args) => converse::run(args),
        Command::Import(args) => import::run(args),
        Command::Settings => settings_file::print_defaults(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sotto: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The CLI has no meaning inside a browser; the wasm build only needs the library.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Parser)]
#[command(
    name = "sotto",
    version,
    about = "A private, on-device voice assistant"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Subcommand)]
enum Command {
    /// Print the version.
    Version,
    /// Serve the demo (and a models folder) on 127.0.0.1 with COOP/COEP headers.
    Serve(serve::Args),
    /// Write deterministic tiny test models, or random models in real shapes for benchmarks.
    GenModels(gen_models::Args),
    /// Speak text with the embedded voice into a WAV file.
    Say(say::Args),
    /// Transcribe a WAV file with a Whisper model.
    Transcribe(transcribe::Args),
    /// Chat with a GGUF model: one --prompt, or an interactive multi-turn session.
    Chat(chat::Args),
    /// A spoken conversation from a WAV file, as the browser holds it: writes the spoken replies.
    Converse(converse::Args),
    /// Convert a CTranslate2 Whisper (faster-whisper's format) into safetensors, q8_0 GGUF and
    /// Hugging Face configs.
    Import(import::Args),
    /// Print the default settings as JSON (the fields a --settings file and the browser's
    /// setters take).
    Settings,
}
