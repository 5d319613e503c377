//! The silence tail of a trimmed audio context, cached on disk per weight file
//! ([`SilenceCache`]): the first transcriber computes and saves it, the next ones read it and
//! transcribe exactly as the first; other weights get their own file, and a damaged file is
//! computed anew. Also through `sotto transcribe`, one process per call as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use sotto::asr::{DecodeOptions, SilenceCache, SilenceTailSource, Transcriber};
use sotto::audio;

const HELLO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/asr/hello_16k.wav"
);

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sotto-silence-{tag}-{}", std::process::id()))
}

fn load(dir: &Path, weights: &str) -> Transcriber {
    Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join(weights),
    )
    .unwrap()
}

/// The default (trimmed) mode, which reads the tail.
fn opts() -> DecodeOptions {
    DecodeOptions {
        language: Some("en".into()),
        no_speech_threshold: 1.0,
        max_tokens: 12,
        ..DecodeOptions::default()
    }
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn second_transcriber_reads_the_tail_and_transcribes_the_same() {
    let (models, cache_dir) = (temp("models"), temp("cache"));
    sotto::testmodels::write_tiny_whisper(&models).unwrap();
    let cache = SilenceCache::new(&cache_dir);
    let pcm = audio::read_wav_file(Path::new(HELLO), 60.0)
        .unwrap()
        .samples;
    for weights in ["model.safetensors", "model.gguf"] {
        let first = load(&models, weights);
        assert_eq!(
            first.warm_up_cached(&cache, &models.join(weights)).unwrap(),
            SilenceTailSource::Computed,
            "{weights}: nothing cached yet"
        );
        let second = load(&models, weights);
        assert_eq!(
            second
                .warm_up_cached(&cache, &models.join(weights))
                .unwrap(),
            SilenceTailSource::Loaded,
            "{weights}: the second transcriber must not compute the tail again"
        );
        let computed = first.transcribe(&pcm, &opts()).unwrap();
        let read = second.transcribe(&pcm, &opts()).unwrap();
        assert_eq!(computed.tokens, read.tokens, "{weights}");
        assert_eq!(computed.no_speech_prob, read.no_speech_prob, "{weights}");
        // And both equal a transcriber that never saw the cache.
        let plain = load(&models, weights).transcribe(&pcm, &opts()).unwrap();
        assert_eq!(plain.tokens, read.tokens, "{weights}");
    }
    // One file per weight file.
    assert_eq!(cache_files(&cache_dir).len(), 2);
    std::fs::remove_dir_all(&models).unwrap();
    std::fs::remove_dir_all(&cache_dir).unwrap();
}

#[test]
fn a_damaged_or_foreign_file_is_computed_anew() {
    let (models, cache_dir) = (temp("damaged-models"), temp("damaged-cache"));
    sotto::testmodels::write_tiny_whisper(&models).unwrap();
    let cache = SilenceCache::new(&cache_dir);
    let weights = models.join("model.safetensors");
    load(&models, "model.safetensors")
        .warm_up_cached(&cache, &weights)
        .unwrap();
    let [file] = &cache_files(&cache_dir)[..] else {
        panic!("one cache file")
    };
    let whole = std::fs::read(file).unwrap();
    std::fs::write(file, &whole[..whole.len() - 4]).unwrap();
    let again = load(&models, "model.safetensors");
    assert_eq!(
        again.warm_up_cached(&cache, &weights).unwrap(),
        SilenceTailSource::Computed
    );
    assert_eq!(std::fs::read(file).unwrap(), whole, "rewritten whole");
    // Other weights (one byte changed at the end of the file) never read this file.
    let mut other = std::fs::read(&weights).unwrap();
    *other.last_mut().unwrap() ^= 1;
    std::fs::write(&weights, other).unwrap();
    assert_eq!(
        load(&models, "model.safetensors")
            .warm_up_cached(&cache, &weights)
            .unwrap(),
        SilenceTailSource::Computed
    );
    assert_eq!(cache_files(&cache_dir).len(), 2);
    std::fs::remove_dir_all(&models).unwrap();
    std::fs::remove_dir_all(&cache_dir).unwrap();
}

#[test]
fn cli_saves_the_tail_once_and_reads_it_on_later_calls() {
    let (models, cache_dir) = (temp("cli-models"), temp("cli-cache"));
    sotto::testmodels::write_tiny_whisper(&models).unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(["transcribe", "--weights"])
            .arg(models.join("model.gguf"))
            .arg("--model")
            .arg(&models)
            .args(["--language", "en", "--max-tokens", "8"])
            .args(["--no-speech-threshold", "1", "--json", HELLO])
            .env("SOTTO_CACHE_DIR", &cache_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["tokens"].clone()
    };
    let first = run();
    let files = cache_files(&cache_dir);
    assert_eq!(files.len(), 1, "the first call saves the tail");
    let saved = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    // A call that computed the tail would save it again (a new file renamed over this one): the
    // time stamp stays only if the second call read it.
    let second = run();
    assert_eq!(first, second);
    assert_eq!(cache_files(&cache_dir), files);
    let after = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    assert_eq!(saved, after, "the second call did not write the tail again");
    std::fs::remove_dir_all(&models).unwrap();
    std::fs::remove_dir_all(&cache_dir).unwrap();
}
