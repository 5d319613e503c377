//! Installs what the build and the tests need, only when it is missing, so that a second run
//! reinstalls nothing: the rustup wasm32 target, wasm-bindgen-cli of the version pinned in
//! Cargo.lock and the pinned cargo-fuzz (both into the git-ignored `.tools/`), Debian packages, and
//! the browser tests' npm packages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{root, run, Result};

/// Debian packages for the build: `wasm-opt` (binaryen).
const BUILD_PACKAGES: &[&str] = &["binaryen"];
/// Debian packages for the tests: the browser and pocketsphinx (the voice's intelligibility).
const TEST_PACKAGES: &[&str] = &["chromium", "pocketsphinx", "pocketsphinx-en-us"];
/// Debian packages that make test WAVs: the synthesizers and voices of the real-speech test set
/// (`cargo xtask speech-set`), flite for the questions of the real-model conversation tests, and sox.
const SPEECH_PACKAGES: &[&str] = &[
    "espeak-ng",
    "sox",
    "flite",
    "festival",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "festvox-us-slt-hts",
];

/// The pin of the threaded wasm build's nightly (`channel` and the rustc commit it was built
/// from), in rust-toolchain.toml's format.
const THREADS_TOOLCHAIN_FILE: &str = "xtask/threads-toolchain.toml";

/// The cargo-fuzz release of `cargo xtask fuzz` (its fuzz targets build with the threaded
/// build's pinned nightly).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Everything the build needs.
pub fn for_build() -> Result {
    wasm_target(None)?;
    threads_toolchain()?;
    apt(BUILD_PACKAGES)?;
    wasm_bindgen().map(drop)
}

/// Everything the build and the tests need.
pub fn all() -> Result {
    for_build()?;
    apt(TEST_PACKAGES)?;
    cargo_fuzz()?;
    speech_tools()?;
    npm_packages()
}

/// The synthesizers and sox that render test speech.
pub fn speech_tools() -> Result {
    apt(SPEECH_PACKAGES)
}

/// The wasm32 target of the default toolchain, or of `toolchain`.
pub fn wasm_target(toolchain: Option<&str>) -> Result {
    let on = |command: &mut Command| {
        if let Some(name) = toolchain {
            command.args(["--toolchain", name]);
        }
    };
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    on(&mut list);
    if output(&mut list)?
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", "wasm32-unknown-unknown"]);
    on(&mut add);
    run(&mut add)
}

/// A `key = "value"` of the toolchain pin.
fn pinned(key: &str) -> Result<String> {
    let path = root().join(THREADS_TOOLCHAIN_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or_else(|| format!("{THREADS_TOOLCHAIN_FILE} has no `{key}`"))
}

/// The commit hash `rustc +toolchain -vV` reports, if that toolchain is installed.
fn rustc_commit(toolchain: &str) -> Option<String> {
    let text =
        output(Command::new("rustc").args([format!("+{toolchain}").as_str(), "-vV"])).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("commit-hash: "))
        .map(|c| c.trim().to_string())
}

/// The pinned nightly of the threaded build, with `rust-src` and the wasm32 target: the dated
/// channel if rustup has it, else a plain `nightly` that is that very build (no download), else
/// the dated channel installed now. Returns the toolchain's name for `cargo +NAME`.
pub fn threads_toolchain() -> Result<String> {
    let channel = pinned("channel")?;
    let commit = pinned("rustc-commit")?;
    let name = if rustc_commit(&channel).is_some() {
        channel
    } else if rustc_commit("nightly").as_deref() == Some(commit.as_str()) {
        "nightly".to_string()
    } else {
        eprintln!(
            "installing {channel} for the threaded wasm build (pinned in {THREADS_TOOLCHAIN_FILE})"
        );
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            &channel,
            "--profile",
            "minimal",
        ]))?;
        channel
    };
    if rustc_commit(&name).as_deref() != Some(commit.as_str()) {
        return Err(format!(
            "{name} is not rustc {commit}, the build {THREADS_TOOLCHAIN_FILE} pins: update the pin \
             (`rustc +{name} -vV` prints the commit) or install the pinned channel"
        ));
    }
    let on_nightly = ["--toolchain", name.as_str()];
    let components = output(
        Command::new("rustup")
            .args(["component", "list", "--installed"])
            .args(on_nightly),
    )?;
    if !components.lines().any(|l| l.starts_with("rust-src")) {
        run(Command::new("rustup")
            .args(["component", "add", "rust-src"])
            .args(on_nightly))?;
    }
    wasm_target(Some(&name))?;
    Ok(name)
}

/// The pinned `wasm-bindgen` CLI: `.tools/bin` (or `$SOTTO_TOOLS_DIR/bin`), else one already on
/// PATH with the right version, else installed with `cargo install` into the tools folder.
pub fn wasm_bindgen() -> Result<PathBuf> {
    let version = pinned_wasm_bindgen()?;
    let tools = tools_dir();
    let local = tools.join("bin/wasm-bindgen");
    for candidate in [local.clone(), PathBuf::from("wasm-bindgen")] {
        if let Ok(text) = output(Command::new(&candidate).arg("--version")) {
            if text.split_whitespace().nth(1) == Some(version.as_str()) {
                return Ok(candidate);
            }
        }
    }
    eprintln!(
        "installing wasm-bindgen-cli {version} into {} (takes a few minutes, once)",
        tools.display()
    );
    // Not --locked: its lockfile pins a webpki-roots release that the registry lacks.
    cargo_install("wasm-bindgen-cli", &version, false, &tools)?;
    Ok(local)
}

/// The tools folder: `.tools` (or `$SOTTO_TOOLS_DIR`).
fn tools_dir() -> PathBuf {
    std::env::var_os("SOTTO_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools"))
}

/// The pinned `cargo-fuzz` in the tools folder, installed with `cargo install` when it is
/// missing or of another version. `cargo xtask fuzz` puts its folder first on PATH.
pub fn cargo_fuzz() -> Result<PathBuf> {
    let tools = tools_dir();
    let local = tools.join("bin/cargo-fuzz");
    // `cargo-fuzz --version` prints `cargo-fuzz 0.13.2`.
    if let Ok(text) = output(Command::new(&local).arg("--version")) {
        if text.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION) {
            return Ok(local);
        }
    }
    eprintln!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} into {} (takes a few minutes, once)",
        tools.display()
    );
    cargo_install("cargo-fuzz", CARGO_FUZZ_VERSION, true, &tools)?;
    Ok(local)
}

/// `cargo install NAME --version VERSION --root TOOLS` (with `--locked` when its lockfile builds).
fn cargo_install(name: &str, version: &str, locked: bool, tools: &Path) -> Result {
    let mut command = Command::new("cargo");
    command.args(["install", name, "--version", version]);
    if locked {
        command.arg("--locked");
    }
    run(command.arg("--root").arg(tools))
}

/// The wasm-bindgen-test runner that comes with the same CLI.
pub fn wasm_bindgen_test_runner() -> Result<PathBuf> {
    let bindgen = wasm_bindgen()?;
    Ok(bindgen.with_file_name("wasm-bindgen-test-runner"))
}

/// Debian's `wasm-opt`.
pub fn wasm_opt() -> Result<PathBuf> {
    apt(BUILD_PACKAGES)?;
    Ok(PathBuf::from("wasm-opt"))
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn pinned_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// Installs the Debian packages of `packages` that are missing (with sudo unless root).
pub(crate) fn apt(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !deb_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian packages: {}", missing.join(" "));
    let as_root = output(Command::new("id").arg("-u"))
        .map(|u| u.trim() == "0")
        .unwrap_or(false);
    let apt_get = |args: &[&str]| {
        let mut command = if as_root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !as_root {
            command.arg("apt-get");
        }
        // Wait for another apt run (a second checkout's setup, unattended upgrades) instead
        // of failing at once on its lock.
        command
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut apt_get(&["update", "-qq"]))?;
    let mut install = apt_get(&["install", "-y", "-qq", "--no-install-recommends"]);
    run(install.args(&missing))
}

fn deb_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .map(|s| s.contains("install ok installed"))
        .unwrap_or(false)
}

/// `npm ci` for the browser tests when playwright-core is not installed yet.
fn npm_packages() -> Result {
    let e2e = root().join("tests/e2e");
    if e2e
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&e2e))
}

fn output(command: &mut Command) -> Result<String> {
    let out = command
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    if !out.status.success() {
        return Err(format!("{:?} failed", command.get_program()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
