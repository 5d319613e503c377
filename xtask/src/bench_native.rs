//! `cargo xtask bench-asr-native`: native speech to text on real Whisper tiny.en (q8_0 and f16)
//! against whisper.cpp, both on one thread, in one run (examples/bench_asr_reference).
//!
//! whisper.cpp comes from PyPI: the pywhispercpp wheel bundles its libwhisper (built for AVX2,
//! FMA and F16C), installed with numpy into a venv in `target/whisper-cpp/` (pinned versions and
//! sha256, for CPython 3.11 on x86_64 Linux). The audio is `bench-asr`'s: four 5.0 s
//! assistant-style utterances (flite and espeak-ng, 16 kHz mono), made with the same commands.
//! `SOTTO_BENCH_ROUNDS` (default 3) rounds; `SOTTO_BENCH_SPEECH_SET=1` adds both engines' word
//! error rates on the real-speech test set. Prints the example's JSON.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, real_models, root, run, setup, speech_set, Result};

/// The wheels of the reference, pinned: (requirement, sha256).
const WHEELS: [(&str, &str); 2] = [
    (
        "numpy==2.2.6",
        "ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf",
    ),
    (
        "pywhispercpp==1.5.1",
        "a70839d9a1f569e1e5424f27ed01a32133d658beae4cd1459eb39de1e0483bba",
    ),
];

/// bench-asr's utterances: (voice, text); `espeak:` voices are espeak-ng's, the others flite's.
const UTTERANCES: [(&str, &str); 4] = [
    (
        "slt",
        "Please set a timer for half an hour and remind me to take the bread out of the oven.",
    ),
    (
        "espeak:en-us",
        "What will the weather be like in Paris tomorrow morning, should I bring an umbrella?",
    ),
    (
        "awb",
        "Add milk, eggs, butter and a loaf of fresh bread to my shopping list for the weekend.",
    ),
    (
        "kal",
        "Turn off the lights in the living room and play some quiet music in the kitchen.",
    ),
];

/// Seconds of each utterance (silence padded or the speech sped up to fit).
const SECONDS: f64 = 5.0;

pub fn bench_asr_native() -> Result {
    real_models::real_models(false)?;
    setup::speech_tools()?;
    let python = whisper_cpp_python()?;
    let dir = root().join("target/bench-asr-native");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (i, (voice, text)) in UTTERANCES.iter().enumerate() {
        let wav = utterance(&dir, i, voice, text)?;
        files.push(format!("{}={text}", wav.display()));
    }
    if std::env::var("SOTTO_BENCH_SPEECH_SET").is_ok_and(|v| v == "1") {
        speech_set::speech_set()?;
    }
    run(cargo().args(["build", "--release", "--example", "bench_asr_reference"]))?;
    let rounds = std::env::var("SOTTO_BENCH_ROUNDS").unwrap_or_else(|_| "3".into());
    let mut bench = Command::new(root().join("target/release/examples/bench_asr_reference"));
    bench
        .args(["--model", "models/real/whisper-tiny.en", "--python"])
        .arg(&python)
        .args(["--rounds", &rounds])
        .args(&files);
    if std::env::var("SOTTO_BENCH_SPEECH_SET").is_ok_and(|v| v == "1") {
        bench.arg("--speech-set");
    }
    run(&mut bench)
}

/// The venv's Python with the pinned wheels, made once.
fn whisper_cpp_python() -> Result<PathBuf> {
    let venv = root().join("target/whisper-cpp/venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("sotto-wheels.txt");
    let wanted: String = WHEELS
        .iter()
        .map(|(r, h)| format!("{r} --hash=sha256:{h}\n"))
        .collect();
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let requirements = venv.join("requirements.txt");
    std::fs::write(&requirements, &wanted)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
        ])
        .args(["--disable-pip-version-check", "-q", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, &wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

/// One utterance as bench-asr makes it: `SECONDS` of 16 kHz mono 16-bit audio, 0.2 s of silence,
/// the sentence (sped up when it would not fit in `SECONDS` - 0.4 s), silence to the end.
fn utterance(dir: &Path, i: usize, voice: &str, text: &str) -> Result<PathBuf> {
    let raw = dir.join(format!("raw-{i}.wav"));
    let out = dir.join(format!("u{}.wav", i + 1));
    match voice.strip_prefix("espeak:") {
        Some(v) => run(Command::new("espeak-ng")
            .args(["-v", v, "-s", "150", "-w"])
            .arg(&raw)
            .arg(text))?,
        None => run(Command::new("flite")
            .args(["-voice", voice, "-t", text, "-o"])
            .arg(&raw))?,
    }
    let spoken: f64 = output(Command::new("soxi").arg("-D").arg(&raw))?
        .trim()
        .parse()
        .map_err(|e| format!("soxi -D {}: {e}", raw.display()))?;
    let room = SECONDS - 0.4;
    let mut sox = Command::new("sox");
    sox.args(["-V1", "-D"])
        .arg(&raw)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(&out);
    if spoken > room {
        sox.args(["tempo", "-s", &format!("{:.4}", spoken / room)]);
    }
    run(sox.args(["pad", "0.2", "5", "trim", "0", &SECONDS.to_string()]))?;
    Ok(out)
}

fn output(command: &mut Command) -> Result<String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{command:?} exited with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
