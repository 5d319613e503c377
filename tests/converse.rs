//! `sotto converse` end to end on generated tiny models: a spoken question (made with the
//! embedded voice) goes through the turn-taking machine in real time and comes back as speech.
//!
//! The models have random weights, so the words are gibberish; what is checked is the
//! structure: a turn is detected, transcribed and answered, the reply is spoken into a valid
//! WAV, and the latency marks are all present and in pipeline order.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sotto::testmodels::{write_tiny_llm, write_tiny_whisper, LlmFamily};
use sotto::tts::{synthesize, SpeechOptions};

/// Generated once per test binary: the tiny Whisper and chat models, and a spoken question.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn whisper(&self) -> PathBuf {
        self.dir.join("whisper")
    }
    fn llm(&self) -> PathBuf {
        self.dir.join("llm/model-q8_0.gguf")
    }
    fn question(&self) -> PathBuf {
        self.dir.join("question.wav")
    }
    fn question_then_stops(&self) -> PathBuf {
        self.dir.join("question-then-stops.wav")
    }
}

fn silence(ms: usize) -> Vec<f32> {
    vec![0.0; ms * 16]
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sotto-converse-{}", std::process::id()));
        let fixture = Fixture { dir };
        write_tiny_whisper(&fixture.whisper()).unwrap();
        write_tiny_llm(&fixture.dir.join("llm"), LlmFamily::Llama).unwrap();
        let options = SpeechOptions {
            sample_rate: 16_000,
            ..SpeechOptions::default()
        };
        let question = synthesize("Hello, what time is it?", &options).unwrap();
        // Silence before, and a little after: converse pads the rest.
        let pcm = [silence(500), question.clone(), silence(200)].concat();
        sotto::audio::write_wav_file(&fixture.question(), &pcm, 16_000).unwrap();

        // The question, then "Stop." again and again while the replies play. The reply's own
        // level raises the detector's bar by the echo margin (6 dB) during playback, so the user
        // speaks louder than the voice (the peaks clip, as a close microphone would).
        let stop: Vec<f32> = synthesize("Stop.", &options)
            .unwrap()
            .iter()
            .map(|s| (s * 2.5).clamp(-1.0, 1.0))
            .collect();
        let mut pcm = [silence(500), question, silence(900)].concat();
        for _ in 0..5 {
            pcm.extend(stop.iter().chain(&silence(700)));
        }
        sotto::audio::write_wav_file(&fixture.question_then_stops(), &pcm, 16_000).unwrap();
        fixture
    })
}

fn sotto(args: &[&Path]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .env(
            "SOTTO_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/sotto-cache"),
        )
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn converse(extra: &[&str], input: &Path, reply: &Path) -> (bool, String, String) {
    let f = fixture();
    let (whisper, llm) = (f.whisper(), f.llm());
    let mut args: Vec<&Path> = vec![
        Path::new("converse"),
        Path::new("--asr"),
        &whisper,
        Path::new("--llm"),
        &llm,
        // Random weights: without this, Whisper's no-speech gate may keep the transcript empty.
        Path::new("--no-speech-threshold"),
        Path::new("1"),
        Path::new("--max-tokens"),
        Path::new("8"),
        Path::new("-o"),
        reply,
        input,
    ];
    args.extend(extra.iter().map(Path::new));
    sotto(&args)
}

#[test]
fn a_spoken_question_gets_a_spoken_reply_with_latency_marks() {
    let f = fixture();
    let reply_wav = f.dir.join("reply-json.wav");
    let (ok, out, err) = converse(&["--json"], &f.question(), &reply_wav);
    assert!(ok, "converse failed: {err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let turns = report["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 1, "one utterance, one turn: {report}");
    let turn = &turns[0];
    assert!(turn["errors"].as_array().unwrap().is_empty(), "{turn}");
    assert!(!turn["transcript"].as_str().unwrap().trim().is_empty());
    assert!(!turn["reply"].as_str().unwrap().is_empty());
    assert_eq!(turn["interrupted"], false);

    let latency = &turn["latency_ms"];
    let marks: Vec<f64> = [
        "endpoint",
        "transcript",
        "first_token",
        "first_chunk",
        "first_audio",
    ]
    .iter()
    .map(|k| {
        latency[k]
            .as_f64()
            .unwrap_or_else(|| panic!("no {k}: {latency}"))
    })
    .collect();
    // The endpointer waits the default 400 ms of silence after the last voiced frame (more if
    // frames queued up behind slow work).
    assert!(marks[0] >= 400.0, "{latency}");
    assert!(marks.windows(2).all(|w| w[0] <= w[1]), "{latency}");

    let wav = std::fs::read(&reply_wav).unwrap();
    let audio = sotto::audio::decode_wav(&wav, "reply", 60.0).unwrap();
    assert_eq!(audio.sample_rate, 24_000);
    assert!(!audio.samples.is_empty());
    assert!(
        audio.samples.iter().any(|s| s.abs() > 0.01),
        "the reply is silent"
    );
    let seconds = report["totals"]["reply_audio_seconds"].as_f64().unwrap();
    assert!((audio.seconds() - seconds).abs() < 1e-3);
    assert_eq!(report["totals"]["turns"], 1);
}

#[test]
fn talking_over_a_reply_interrupts_it() {
    let f = fixture();
    let reply_wav = f.dir.join("reply-barge-in.wav");
    let (ok, out, err) = converse(&["--json"], &f.question_then_stops(), &reply_wav);
    assert!(ok, "converse failed: {err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let turns = report["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 6, "the question and five stops: {report}");
    // Each stop starts 0.7 s after the one before ended, while the reply to it (generation,
    // then real-time playback of ~1 s or more) is still going: at least one is cut.
    let cut: Vec<_> = turns.iter().filter(|t| t["interrupted"] == true).collect();
    assert!(!cut.is_empty(), "no reply was interrupted: {report}");
    for turn in &cut {
        assert!(turn["spoken"].is_string(), "{turn}");
    }
    // A reply that was sounding when the user's voice began has the barge-in figure: from that
    // voice's onset (detection takes a few voiced frames) to the last played sample.
    let barge_ins: Vec<f64> = cut
        .iter()
        .filter_map(|t| t["latency_ms"]["barge_in"].as_f64())
        .collect();
    assert!(!barge_ins.is_empty(), "no barge-in was timed: {report}");
    assert!(barge_ins.iter().all(|&ms| ms >= 60.0), "{barge_ins:?}");
    assert_eq!(report["totals"]["interrupted"], cut.len());
    // The last reply is never talked over.
    assert_eq!(turns[5]["interrupted"], false);
    // Only what was played of a cut reply is in the reply audio.
    let played: f64 = turns.iter().map(|t| t["audio_ms"].as_f64().unwrap()).sum();
    let wav = std::fs::read(&reply_wav).unwrap();
    let audio = sotto::audio::decode_wav(&wav, "reply", 60.0).unwrap();
    assert!((audio.seconds() * 1e3 - played).abs() < 1.0);
}

#[test]
fn the_conversation_prints_as_text() {
    let f = fixture();
    let (ok, out, err) = converse(&[], &f.question(), &f.dir.join("reply-text.wav"));
    assert!(ok, "converse failed: {err}");
    assert!(out.contains("You: "), "{out}");
    assert!(out.contains("Sotto: "), "{out}");
    assert!(out.contains("first audio"), "{out}");
}

#[test]
fn a_missing_model_folder_is_named() {
    let f = fixture();
    let missing = f.dir.join("no-such-whisper");
    let (ok, _, err) = sotto(&[
        Path::new("converse"),
        Path::new("--asr"),
        &missing,
        Path::new("--llm"),
        &f.llm(),
        &f.question(),
        Path::new("-o"),
        &f.dir.join("never.wav"),
    ]);
    assert!(!ok);
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("no such folder"), "{err}");
    assert!(!f.dir.join("never.wav").exists());
}

#[test]
fn an_input_that_is_not_a_wav_is_named() {
    let f = fixture();
    let not_wav = f.dir.join("notes.txt");
    std::fs::write(&not_wav, "this is text, not audio").unwrap();
    let (ok, _, err) = converse(&[], &not_wav, &f.dir.join("never.wav"));
    assert!(!ok);
    assert!(err.contains(&not_wav.display().to_string()), "{err}");
    assert!(err.to_lowercase().contains("wav"), "{err}");
}
