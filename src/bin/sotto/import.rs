//! `sotto import`: a CTranslate2 Whisper (the format faster-whisper uses) into the project's
//! files: Hugging Face `config.json`, `generation_config.json`, `tokenizer.json` and
//! `model.safetensors` (the source precision: f16 stays f16, int8 is dequantized to f32), and
//! `model-q8_0.gguf` in candle's quantized-Whisper layout (the browser's default download).
//!
//! The conversion itself is the library's (`sotto::asr::ctranslate2`); this file reads and
//! writes the files.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sotto::asr::ctranslate2::whisper::{import_whisper, HfDType, HfTensor, ImportedWhisper};
use sotto::asr::ctranslate2::Ct2Model;
use sotto::asr::{repair_missing_merges, MergesCheck};
use sotto::testmodels::{write_gguf, GgufTensor};

/// Arguments of `sotto import`.
#[derive(clap::Args)]
pub struct Args {
    /// CTranslate2 Whisper folder: model.bin, config.json (CTranslate2's) and tokenizer.json.
    source: PathBuf,
    /// Output folder (created if missing; the five files in it are replaced).
    #[arg(long, short)]
    out: PathBuf,
}

/// Imports the model and prints what was written.
pub fn run(args: Args) -> anyhow::Result<()> {
    let read = |file: &str| {
        let path = args.source.join(file);
        std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))
    };
    let bin_name = args.source.join("model.bin").display().to_string();
    let bin = read("model.bin")?;
    let model = Ct2Model::parse(&bin, &bin_name)?;
    let config_name = args.source.join("config.json").display().to_string();
    let ct2_config = read("config.json")?;
    let tokenizer_name = args.source.join("tokenizer.json").display().to_string();
    let mut tokenizer_json = read("tokenizer.json")?;
    match repair_missing_merges(&tokenizer_json, &tokenizer_name)? {
        MergesCheck::Repaired { inserted, json } => {
            println!(
                "tokenizer.json: restored {} missing BPE merge(s): {}",
                inserted.len(),
                inserted.join(", ")
            );
            tokenizer_json = json;
        }
        MergesCheck::Unchanged { reason } => println!("tokenizer.json: unchanged ({reason})"),
    }
    let tokenizer = sotto::tokenizer_from_json(&tokenizer_json)
        .map_err(|e| anyhow::anyhow!("{tokenizer_name}: not a valid tokenizer.json: {e}"))?;
    let imported = import_whisper(&model, (&ct2_config, &config_name), &tokenizer)?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let pretty = |v: &serde_json::Value| {
        serde_json::to_vec_pretty(v).map(|mut b| {
            b.push(b'\n');
            b
        })
    };
    write_atomic(&args.out.join("config.json"), |p| {
        Ok(std::fs::write(p, pretty(&imported.config)?)?)
    })?;
    write_atomic(&args.out.join("generation_config.json"), |p| {
        Ok(std::fs::write(p, pretty(&imported.generation_config)?)?)
    })?;
    write_atomic(&args.out.join("tokenizer.json"), |p| {
        Ok(std::fs::write(p, &tokenizer_json)?)
    })?;
    write_atomic(&args.out.join("model.safetensors"), |p| {
        write_safetensors(p, &imported.tensors)
    })?;
    write_atomic(&args.out.join("model-q8_0.gguf"), |p| {
        write_q8_0_gguf(p, &imported)
    })?;
    let d = &imported.dims;
    println!(
        "imported {} ({}): d_model {}, {}+{} layers, {} heads, vocab {}{}; {} tensors, {} → {}",
        model.spec,
        bin_name,
        d.d_model,
        d.encoder_layers,
        d.decoder_layers,
        d.encoder_attention_heads,
        d.vocab_size,
        if imported.is_multilingual {
            ", multilingual"
        } else {
            ", English-only"
        },
        imported.tensors.len(),
        imported.config["torch_dtype"].as_str().unwrap_or("?"),
        args.out.display()
    );
    Ok(())
}

/// Writes `path` through a temporary name, so an interrupted import never leaves a file that
/// looks complete.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    write(&partial).with_context(|| format!("{}: cannot write", path.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// An imported tensor as a safetensors view (the bytes are already little-endian).
struct View<'t, 'a>(&'t HfTensor<'a>);

impl safetensors::View for View<'_, '_> {
    fn dtype(&self) -> safetensors::Dtype {
        match self.0.dtype {
            HfDType::F32 => safetensors::Dtype::F32,
            HfDType::F16 => safetensors::Dtype::F16,
            HfDType::BF16 => safetensors::Dtype::BF16,
        }
    }

    fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0.data)
    }

    fn data_len(&self) -> usize {
        self.0.data.len()
    }
}

fn write_safetensors(path: &Path, tensors: &[HfTensor<'_>]) -> anyhow::Result<()> {
    let views = tensors.iter().map(|t| (t.name.clone(), View(t)));
    let format = HashMap::from([("format".to_string(), "pt".to_string())]);
    // Through memory rather than `serialize_to_file`, which creates the file readable by its
    // owner only; the models folder is shared.
    std::fs::write(path, safetensors::serialize(views, Some(format))?)?;
    Ok(())
}

/// The GGUF the browser loads: the matrices the model multiplies (attention, MLP and the token
/// embedding, which is also the output projection) in q8_0; norms, biases, convolutions and
/// positions in f32, exactly as the source holds them.
fn write_q8_0_gguf(path: &Path, imported: &ImportedWhisper<'_>) -> anyhow::Result<()> {
    let by_name: HashMap<&str, &HfTensor<'_>> = imported
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let entries: Vec<GgufTensor> = imported
        .tensors
        .iter()
        .map(|t| GgufTensor {
            name: t.name.clone(),
            shape: t.shape.clone(),
            dtype: if t.shape.len() == 2
                && t.shape[1] % 32 == 0
                && !t.name.contains("embed_positions")
            {
                GgmlDType::Q8_0
            } else {
                GgmlDType::F32
            },
        })
        .collect();
    let metadata = vec![
        (
            "general.architecture".to_string(),
            Value::String("whisper".into()),
        ),
        (
            "general.name".to_string(),
            Value::String("Whisper (imported from CTranslate2)".into()),
        ),
        ("general.file_type".to_string(), Value::U32(7)),
        ("general.quantization_version".to_string(), Value::U32(2)),
    ];
    write_gguf(path, &metadata, &entries, |entry, out| {
        let tensor = by_name[entry.name.as_str()];
        let values = tensor.to_f32();
        let bytes = if entry.dtype == GgmlDType::F32 {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        } else {
            let fail = |e: candle_core::Error| sotto::testmodels::TestModelError::Tensor {
                name: entry.name.clone(),
                message: e.to_string(),
            };
            let t = Tensor::from_vec(values, entry.shape.as_slice(), &Device::Cpu).map_err(fail)?;
            QTensor::quantize(&t, entry.dtype)
                .and_then(|q| q.data().map(Cow::into_owned))
                .map_err(fail)?
        };
        out.write_all(&bytes)
            .map_err(|source| sotto::testmodels::TestModelError::Io {
                path: path.to_path_buf(),
                source,
            })
    })?;
    Ok(())
}
