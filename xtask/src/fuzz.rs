//! `cargo xtask fuzz`: builds the cargo-fuzz targets of `fuzz/` with the pinned nightly and runs
//! each for a while from its committed seed corpus (`fuzz/corpus/<target>/`). A run that finds an
//! input that panics, crashes, leaks past the memory limit or hangs fails, and libFuzzer saves the
//! input under `fuzz/artifacts/<target>/`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::{root, run, setup, Result};

/// The targets, in `fuzz/Cargo.toml`'s order.
pub const TARGETS: &[&str] = &[
    "gguf",
    "safetensors",
    "ctranslate2",
    "wav",
    "chat_tokenizer",
    "whisper_json",
];

/// Seconds per target of the smoke run in `cargo xtask test`.
pub const SMOKE_SECONDS: u64 = 30;

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

/// Runs `target` for `seconds` from its seed corpus; new inputs go to `fuzz/target/corpus/`,
/// never into the committed seeds.
pub fn run_target(target: &str, seconds: u64) -> Result {
    let scratch: PathBuf = root().join("fuzz/target/corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    let seeds = root().join("fuzz/corpus").join(target);
    let started = Instant::now();
    run(cargo_fuzz()?
        .args(["run", target])
        .args(BUILD_FLAGS)
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
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

/// `cargo xtask fuzz [--smoke | --seconds N] [TARGET...]`: builds, then runs each target (all
/// when none is named) for N seconds (`--smoke`: [`SMOKE_SECONDS`]; default 600).
pub fn fuzz(flags: &[&str]) -> Result {
    let mut seconds = 600;
    let mut targets = Vec::new();
    let mut flags = flags.iter();
    while let Some(&flag) = flags.next() {
        match flag {
            "--smoke" => seconds = SMOKE_SECONDS,
            "--seconds" => {
                seconds = flags
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--seconds needs a whole number")?;
            }
            name if TARGETS.contains(&name) => targets.push(name),
            other => {
                return Err(format!(
                    "unknown fuzz option or target '{other}' (targets: {})",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    build()?;
    for target in targets {
        run_target(target, seconds)?;
    }
    Ok(())
}
