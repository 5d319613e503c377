//! `cargo xtask package`: the npm package `sotto`, assembled from the built `dist/` and
//! `pkg-config/` into `target/npm/sotto/`, then packed with `npm pack` into `target/npm/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run, Result};

/// The package's JavaScript files, from `dist/` (copied there from `www/`). The demo page's own
/// files (index.html, app.js, models-ui.js, style.css, sw.js) stay out. The package is what the
/// staging folder holds, so this list is the only list of its files.
const SCRIPTS: &[&str] = &[
    "sotto.js",
    "node.js",
    "node-sources.js",
    "folder-store.js",
    "errors.js",
    "protocol.js",
    "wav.js",
    "engine-worker.js",
    "engine-recovery.js",
    "model-files.js",
    "catalog.js",
    "downloader.js",
    "model-library.js",
    "model-store.js",
    "audio-io.js",
    "capture-worklet.js",
    "playback-worklet.js",
    "system-speaker.js",
    "engine-helper.js",
];

/// The wasm-bindgen output the package ships, per folder of `dist/`: the single-threaded build,
/// and the threaded one that cross-origin isolated pages load.
const WASM: &[(&str, &[&str])] = &[
    ("pkg", &["sotto.js", "sotto_bg.wasm", "sotto.d.ts"]),
    ("pkg-threads", &["sotto.js", "sotto_bg.wasm"]),
];

/// What `pkg-config/` contributes.
const CONFIG: &[&str] = &[
    "package.json",
    "README.md",
    "index.d.ts",
    "node.d.ts",
    "common.d.ts",
];

/// Assembles `target/npm/sotto/` and packs it; returns the tarball's path.
pub fn package() -> Result<PathBuf> {
    let root = root();
    let dist = root.join("dist");
    let out = root.join("target/npm");
    let staging = out.join("sotto");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| format!("remove {}: {e}", staging.display()))?;
    }
    for name in SCRIPTS {
        copy(
            &dist.join(name),
            &staging.join(name),
            "run `cargo xtask build` first",
        )?;
    }
    for (folder, names) in WASM {
        for name in *names {
            copy(
                &dist.join(folder).join(name),
                &staging.join(folder).join(name),
                "run `cargo xtask build` first",
            )?;
        }
    }
    // catalog.js looks for `models/catalog.json` next to the engine worker.
    copy(
        &root.join("models/catalog.json"),
        &staging.join("models/catalog.json"),
        "the model catalog belongs in the repository",
    )?;
    for name in CONFIG {
        copy(
            &root.join("pkg-config").join(name),
            &staging.join(name),
            "pkg-config/ holds the package's metadata",
        )?;
    }
    let version = package_version(&staging.join("package.json"))?;
    run(Command::new("npm")
        .arg("pack")
        .arg(&staging)
        .arg("--pack-destination")
        .arg(&out))?;
    let tarball = out.join(format!("sotto-{version}.tgz"));
    let size = std::fs::metadata(&tarball)
        .map_err(|e| format!("npm pack wrote no {}: {e}", tarball.display()))?
        .len();
    println!("npm package: {} ({size} bytes)", tarball.display());
    Ok(tarball)
}

fn copy(from: &Path, to: &Path, hint: &str) -> Result {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} → {}: {e} ({hint})", from.display(), to.display()))
}

/// The `"version"` of a package.json (a plain scan: xtask has no JSON dependency).
fn package_version(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let after_key = text
        .split_once("\"version\"")
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("{} has no \"version\"", path.display()))?;
    let value = after_key
        .split('"')
        .nth(1)
        .ok_or_else(|| format!("{} has a malformed \"version\"", path.display()))?;
    Ok(value.to_string())
}
