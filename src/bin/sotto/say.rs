//! `sotto say`: speaks text with the embedded voice into a 16-bit mono WAV file.

use std::path::PathBuf;

use sotto::tts::{self, SpeechOptions};

/// Arguments of `sotto say`.
#[derive(clap::Args)]
pub struct Args {
    /// The text to speak (numbers, dates and symbols are read out).
    text: String,
    /// Output WAV file.
    #[arg(long, short)]
    out: PathBuf,
    /// Speaking rate: 1 is normal, 1.5 faster, 0.75 slower (0.25 to 4).
    #[arg(long, default_value_t = 1.0)]
    rate: f32,
    /// Pitch factor: 1 is the voice's own pitch (0.5 to 2).
    #[arg(long, default_value_t = 1.0)]
    pitch: f32,
    /// Output sample rate in Hz: 16000, 22050, 24000 or 48000.
    #[arg(long, default_value_t = 24_000)]
    sample_rate: u32,
    /// Also print the phonemes spoken (ARPAbet with stress digits).
    #[arg(long)]
    phonemes: bool,
}

/// Synthesizes the text and writes the WAV.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = SpeechOptions {
        sample_rate: args.sample_rate,
        rate: args.rate,
        pitch: args.pitch,
    };
    if args.phonemes {
        println!("{}", tts::transcribe(&args.text));
    }
    let pcm = tts::synthesize(&args.text, &options)?;
    sotto::audio::write_wav_file(&args.out, &pcm, args.sample_rate)?;
    Ok(())
}
