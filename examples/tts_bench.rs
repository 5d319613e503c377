//! Speed of the embedded voice: milliseconds to synthesize a 10-word sentence at each sample
//! rate, with espeak-ng's time for the same sentence (as a separate process, so including its
//! start-up) as the reference measured in the same run. Prints one JSON object.
//!
//! Run: `cargo run --release --example tts_bench`

use std::process::{Command, Stdio};
use std::time::Instant;

use sotto::tts::{synthesize, SpeechOptions, SAMPLE_RATES};

const SENTENCE: &str = "The weather in Paris will be sunny and warm tomorrow afternoon.";
const RUNS: u32 = 20;

fn main() {
    let mut figures = Vec::new();
    for rate in SAMPLE_RATES {
        let options = SpeechOptions {
            sample_rate: rate,
            ..SpeechOptions::default()
        };
        let warm = synthesize(SENTENCE, &options).expect("synthesize");
        let start = Instant::now();
        for _ in 0..RUNS {
            std::hint::black_box(synthesize(SENTENCE, &options).expect("synthesize"));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS);
        let audio_s = warm.len() as f64 / f64::from(rate);
        figures.push(format!(
            "{{\"sample_rate\":{rate},\"ms_per_sentence\":{ms:.3},\"audio_seconds\":{audio_s:.3},\"real_time_factor\":{:.1}}}",
            audio_s * 1000.0 / ms
        ));
    }
    let espeak_ms = espeak_ms();
    let sotto_22k = {
        let options = SpeechOptions {
            sample_rate: 22_050,
            ..SpeechOptions::default()
        };
        let start = Instant::now();
        for _ in 0..RUNS {
            std::hint::black_box(synthesize(SENTENCE, &options).expect("synthesize"));
        }
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS)
    };
    let ratio = espeak_ms.map_or("null".to_string(), |e| format!("{:.2}", sotto_22k / e));
    println!(
        "{{\"bench\":\"tts_synthesis\",\"machine\":{{\"arch\":\"{}\",\"os\":\"{}\",\"threads\":{}}},\
         \"build\":\"{}\",\"sentence_words\":10,\"figures\":[{}],\
         \"reference\":{{\"what\":\"espeak-ng -w, same sentence, 22050 Hz, process included\",\"ms\":{}}},\
         \"ratio_sotto_22k_over_espeak\":{ratio}}}",
        std::env::consts::ARCH,
        std::env::consts::OS,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        figures.join(","),
        espeak_ms.map_or("null".to_string(), |e| format!("{e:.3}")),
    );
}

/// Mean wall time of `espeak-ng` writing the sentence to a WAV, or None if it is not installed.
fn espeak_ms() -> Option<f64> {
    let out = std::env::temp_dir().join(format!("sotto-bench-{}.wav", std::process::id()));
    let run = || {
        Command::new("espeak-ng")
            .arg("-w")
            .arg(&out)
            .arg(SENTENCE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
    };
    run()?;
    let start = Instant::now();
    for _ in 0..5 {
        run()?;
    }
    let _ = std::fs::remove_file(&out);
    Some(start.elapsed().as_secs_f64() * 1000.0 / 5.0)
}
