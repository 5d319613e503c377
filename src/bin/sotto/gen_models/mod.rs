//! `sotto gen-models`: writes the project's own test models (no weights can be downloaded here).

mod catalog;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use sotto::testmodels::{
    hash_files, write_index, write_real_shape, write_tiny_llm, write_tiny_whisper, IndexEntry,
    LlmFamily, ModelRole, Quant, RealShape, TestModelError,
};

/// Arguments of `sotto gen-models`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folder: gets whisper-tiny-test/, smollm2-test/, qwen2-test/, index.json and
    /// local-catalog.json (the same models in the page's catalog form).
    #[arg(long, short)]
    out: PathBuf,
    /// Also write random models in real shapes for benchmarks: `all` or a comma-separated list
    /// of whisper-tiny, whisper-base, smollm2-135m, smollm2-360m, qwen2.5-0.5b, qwen3-0.6b,
    /// gemma3-1b.
    #[arg(long)]
    real_shapes: Option<String>,
    /// Quantizations of the real-shape LLMs (f32, f16, q8_0, q4_0, q4_1, q4_k), comma-separated.
    #[arg(long, default_value = "q8_0")]
    quants: String,
    /// A folder of real models made by `cargo xtask real-models` (models/real): its Whisper
    /// tiny.en (q8_0) and SmolLM2-135M-Instruct (Q4_1) become the local catalog's defaults,
    /// served from OUT/real (a link to the folder).
    #[arg(long)]
    real: Option<PathBuf>,
}

/// Writes one tiny model into a folder.
type TinyWriter = fn(&Path) -> Result<(), TestModelError>;

/// Writes the models and `index.json`, printing each file with its size.
pub fn run(args: Args) -> anyhow::Result<()> {
    let shapes = parse_shapes(args.real_shapes.as_deref())?;
    let quants = parse_quants(&args.quants)?;
    let mut entries = Vec::new();

    let tiny: [(&str, ModelRole, TinyWriter); 3] = [
        ("whisper-tiny-test", ModelRole::Asr, write_tiny_whisper),
        ("smollm2-test", ModelRole::Llm, |d| {
            write_tiny_llm(d, LlmFamily::Llama)
        }),
        ("qwen2-test", ModelRole::Llm, |d| {
            write_tiny_llm(d, LlmFamily::Qwen2)
        }),
    ];
    for (id, role, write) in tiny {
        let dir = args.out.join(id);
        let started = Instant::now();
        write(&dir).with_context(|| format!("writing {}", dir.display()))?;
        entries.push(index_entry(&dir, id, role, started)?);
    }
    for shape in shapes {
        let dir = args.out.join(shape.name());
        let started = Instant::now();
        write_real_shape(&dir, shape, &quants)
            .with_context(|| format!("writing {}", dir.display()))?;
        let role = if shape.is_asr() {
            ModelRole::Asr
        } else {
            ModelRole::Llm
        };
        entries.push(index_entry(&dir, shape.name(), role, started)?);
    }
    write_index(&args.out, &entries)?;
    println!("wrote {}", args.out.join("index.json").display());
    let real = match &args.real {
        Some(dir) => catalog::link_real_models(&args.out, dir)?,
        None => Vec::new(),
    };
    catalog::write_local_catalog(&args.out, &entries, &real)?;
    Ok(())
}

/// Lists every file of a model folder (sorted), hashes them and prints them.
fn index_entry(
    dir: &Path,
    id: &str,
    role: ModelRole,
    started: Instant,
) -> anyhow::Result<IndexEntry> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let files = hash_files(dir, &names)?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    println!(
        "{id} ({:.1} MB, {:.1} s)",
        total as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for f in &files {
        println!(
            "  {:<26} {:>14} bytes  sha256 {}",
            f.name,
            f.bytes,
            &f.sha256[..16]
        );
    }
    Ok(IndexEntry {
        id: id.to_string(),
        role,
        files,
    })
}

fn parse_shapes(arg: Option<&str>) -> anyhow::Result<Vec<RealShape>> {
    match arg {
        None => Ok(Vec::new()),
        Some("all") => Ok(RealShape::ALL.to_vec()),
        Some(list) => list
            .split(',')
            .map(|name| {
                RealShape::parse(name.trim()).with_context(|| {
                    let known: Vec<_> = RealShape::ALL.iter().map(|s| s.name()).collect();
                    format!(
                        "unknown real shape {name:?}; known: all, {}",
                        known.join(", ")
                    )
                })
            })
            .collect(),
    }
}

fn parse_quants(list: &str) -> anyhow::Result<Vec<Quant>> {
    let quants = list
        .split(',')
        .map(|name| {
            Quant::parse(name.trim()).with_context(|| {
                let known: Vec<_> = Quant::ALL.iter().map(|q| q.name()).collect();
                format!("unknown quantization {name:?}; known: {}", known.join(", "))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if quants.is_empty() {
        bail!("--quants needs at least one quantization");
    }
    Ok(quants)
}
