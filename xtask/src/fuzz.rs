//! `cargo xtask fuzz`: builds the cargo-fuzz targets of `fuzz/` with the pinned nightly and runs
//! each for a while from its committed seed corpus (`fuzz/corpus/<target>/`). A run that finds an
//! input that panics, crashes, leaks past the memory limit or hangs fails, and libFuzzer saves the
//! input under `fuzz/artifacts/<target>/`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::{root, run, setup, Result};

/// The targets, in `fuzz/Cargo.toml`'s order, each with the number of inputs its smoke run
/// tries: about 30 s each on this project's 2-core machine (the targets' speeds differ by 1000×:
/// a GGUF input loads a model, a WAV input decodes 64 bytes).
pub const TARGETS: &[(&str, u64)] = &[
    ("gguf", 6_000),
    ("safetensors", 600_000),
    ("ctranslate2", 400_000),
    ("wav", 1_200_000),
    ("chat_tokenizer", 60_000),
    ("whisper_json", 300_000),
];

/// How long a target runs.
#[derive(Clone, Copy)]
pub enum Budget {
    /// The smoke run of `cargo xtask test`: a fixed number of inputs from a fixed random seed and
    /// the committed seeds only, so that CI tries what a local run tried (a time limit would make
    /// a faster machine try more) and a new finding shows up on the developer's machine first.
    Smoke,
    /// Exploration for this many seconds, from the seeds and what earlier runs found.
    Seconds(u64),
}

/// The longest a smoke run may take: a slow machine stops here rather than at its inputs count.
const SMOKE_CEILING_SECONDS: u64 = 120;

/// Build flags, the same for `build` and `run` so that a run reuses the build: no sanitizer (a
/// panic is what the targets look for, and safe Rust needs no ASan; it halves the build) and
/// 16 codegen units (cargo-fuzz defaults to 1, a much longer cold build); debug assertions and
/// overflow checks stay on, as cargo-fuzz's release default has them.
const BUILD_FLAGS: &[&str] = &["--sanitizer", "none", "--codegen-units", "16"];

/// `cargo +<pinned nightly> fuzz` with the tools folder's cargo-fuzz on PATH, in `fuzz/`'s
/// parent (cargo-fuzz finds `fuzz/` itself).
fn cargo_fuzz() -> Result<Command> {
    let toolchain = setup::threads_toolchain()?;
    let bin = setup::cargo_fuzz()?;
    let tools_bin = bin.parent().expect("a tools folder").to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![tools_bin];
    paths.extend(std::env::split_paths(&path));
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{toolchain}"))
        .arg("fuzz")
        // Nightly's own cargo and rustc, not those of the stable cargo running xtask.
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env(
            "PATH",
            std::env::join_paths(paths).map_err(|e| e.to_string())?,
        );
    Ok(command)
}

/// Builds every target (the step whose cold time CI pays once).
pub fn build() -> Result {
    let started = Instant::now();
    run(cargo_fuzz()?.arg("build").args(BUILD_FLAGS))?;
    eprintln!(
        "fuzz: targets built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `target` within `budget` from its seed corpus; new inputs go to `fuzz/target/corpus/`,
/// never into the committed seeds.
pub fn run_target(target: &str, budget: Budget) -> Result {
    let (smoke_runs, scratch_name) = match budget {
        Budget::Smoke => (runs_of(target)?, "smoke"),
        Budget::Seconds(_) => (0, "corpus"),
    };
    let scratch: PathBuf = root().join("fuzz/target").join(scratch_name).join(target);
    if let Budget::Smoke = budget {
        // What an earlier smoke run found would change what this one tries.
        let _ = std::fs::remove_dir_all(&scratch);
    }
    std::fs::create_dir_all(&scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    let seeds = root().join("fuzz/corpus").join(target);
    let limits: Vec<String> = match budget {
        Budget::Smoke => vec![
            "-seed=1".into(),
            format!("-runs={smoke_runs}"),
            format!("-max_total_time={SMOKE_CEILING_SECONDS}"),
        ],
        Budget::Seconds(seconds) => vec![format!("-max_total_time={seconds}")],
    };
    let started = Instant::now();
    run(cargo_fuzz()?
        .args(["run", target])
        .args(BUILD_FLAGS)
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .args(limits)
        // One input slower than this is a hang, and fails.
        .arg("-timeout=20")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1"))
    .map_err(|e| format!("fuzz target {target}: {e} (the input is in fuzz/artifacts/{target}/)"))?;
    eprintln!(
        "fuzz: {target} ran {:.0} s without a crash",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn runs_of(target: &str) -> Result<u64> {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|&(_, runs)| runs)
        .ok_or_else(|| format!("no fuzz target '{target}'"))
}

/// `cargo xtask fuzz [--smoke | --seconds N] [TARGET...]`: builds, then runs each target (all
/// when none is named) for N seconds (default 600), or as `cargo xtask test` does ([`Budget::Smoke`]).
pub fn fuzz(flags: &[&str]) -> Result {
    let mut budget = Budget::Seconds(600);
    let mut targets = Vec::new();
    let mut flags = flags.iter();
    while let Some(&flag) = flags.next() {
        match flag {
            "--smoke" => budget = Budget::Smoke,
            "--seconds" => {
                budget = Budget::Seconds(
                    flags
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--seconds needs a whole number")?,
                );
            }
            name if runs_of(name).is_ok() => targets.push(name),
            other => {
                return Err(format!(
                    "unknown fuzz option or target '{other}' (targets: {})",
                    names().join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = names();
    }
    build()?;
    for target in targets {
        run_target(target, budget)?;
    }
    Ok(())
}

/// The targets' names.
pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|&(name, _)| name).collect()
}
