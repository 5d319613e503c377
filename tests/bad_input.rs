//! Bad-input corpus (issue 23): each case feeds one bad input to the public API the CLI and the
//! browser use and checks that it is an error (never a panic) naming the file and the problem,
//! and that a good call right after it still works.

mod llm_common;

#[path = "bad_input/audio.rs"]
mod audio;
#[path = "bad_input/gguf.rs"]
mod gguf;
#[path = "bad_input/settings.rs"]
mod settings;
#[path = "bad_input/whisper.rs"]
mod whisper;

use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Collects the failures of a group of cases, so that one run names every failing case.
#[derive(Default)]
pub struct Corpus {
    cases: usize,
    failures: Vec<String>,
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a non-text panic".into())
}

impl Corpus {
    /// Runs `bad`, which must return an error whose text contains every one of `needles`, within
    /// `limit`; then `good`, which must succeed.
    pub fn case<T, E: Display>(
        &mut self,
        name: &str,
        bad: impl FnOnce() -> Result<T, E>,
        needles: &[&str],
        good: impl FnOnce() -> Result<(), String>,
    ) {
        self.timed_case(name, Duration::from_secs(30), bad, needles, good)
    }

    /// [`Self::case`] with a time limit: headers claiming huge sizes must fail fast.
    pub fn timed_case<T, E: Display>(
        &mut self,
        name: &str,
        limit: Duration,
        bad: impl FnOnce() -> Result<T, E>,
        needles: &[&str],
        good: impl FnOnce() -> Result<(), String>,
    ) {
        self.cases += 1;
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(bad));
        let elapsed = start.elapsed();
        match outcome {
            Err(payload) => self.fail(name, format!("panicked: {}", panic_text(payload))),
            Ok(Ok(_)) => self.fail(name, "the bad input was accepted".into()),
            Ok(Err(e)) => {
                let text = e.to_string();
                eprintln!("{name}: {text}");
                for needle in needles {
                    if !text.contains(needle) {
                        self.fail(name, format!("error `{text}` does not mention `{needle}`"));
                    }
                }
                if elapsed > limit {
                    self.fail(name, format!("took {elapsed:?} (limit {limit:?})"));
                }
            }
        }
        self.good_after(name, good);
    }

    /// Runs `run` on input that may be accepted or refused, but must not panic; an error must
    /// name `file`. Then `good`.
    pub fn no_panic<T, E: Display>(
        &mut self,
        name: &str,
        file: &str,
        run: impl FnOnce() -> Result<T, E>,
        good: impl FnOnce() -> Result<(), String>,
    ) {
        self.cases += 1;
        match catch_unwind(AssertUnwindSafe(run)) {
            Err(payload) => self.fail(name, format!("panicked: {}", panic_text(payload))),
            Ok(Ok(_)) => eprintln!("{name}: accepted"),
            Ok(Err(e)) => {
                let text = e.to_string();
                eprintln!("{name}: {text}");
                if !text.contains(file) {
                    self.fail(name, format!("error `{text}` does not name {file}"));
                }
            }
        }
        self.good_after(name, good);
    }

    fn good_after(&mut self, name: &str, good: impl FnOnce() -> Result<(), String>) {
        match catch_unwind(AssertUnwindSafe(good)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.fail(name, format!("the good call after it failed: {e}")),
            Err(p) => self.fail(
                name,
                format!("the good call after it panicked: {}", panic_text(p)),
            ),
        }
    }

    fn fail(&mut self, name: &str, why: String) {
        self.failures.push(format!("case `{name}`: {why}"));
    }

    /// Fails the test naming every failed case; checks the group has at least `min_cases`.
    pub fn finish(self, min_cases: usize) {
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
        assert!(self.cases >= min_cases, "only {} cases", self.cases);
    }
}

/// A fresh folder for this process's bad files.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-bad-input-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` as `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The generated tiny Whisper (`testmodels::write_tiny_whisper`), written once per process.
pub fn tiny_whisper() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("whisper");
        sotto::testmodels::write_tiny_whisper(&dir).unwrap();
        dir
    })
}

/// Loads the tiny Whisper from its files.
pub fn load_whisper() -> Result<sotto::asr::Transcriber, String> {
    let dir = tiny_whisper();
    sotto::asr::Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join("model.safetensors"),
    )
    .map_err(|e| e.to_string())
}
