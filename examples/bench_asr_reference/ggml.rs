//! whisper.cpp's model file ("ggml", the layout of whisper.cpp's `models/convert-h5-to-ggml.py`
//! and of its `quantize` tool's output, read by `whisper_model_load`) written from one of this
//! project's Whisper checkpoints: the same weights, bit for bit, in whisper.cpp's names.
//!
//! Layout: u32 magic `ggml`; eleven i32 hyperparameters (n_vocab, n_audio_ctx, n_audio_state,
//! n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels,
//! ftype: 1 for f16, 2007 for q8_0, i.e. `GGML_FTYPE_MOSTLY_Q8_0 + 1000 · GGML_QNT_VERSION`);
//! the mel filters (i32 n_mel, i32 n_fft, f32 values); the vocabulary (i32 count, then each
//! token's bytes after an i32 length; whisper.cpp adds the special tokens itself); then per
//! tensor: i32 n_dims, i32 name length, i32 type (0 f32, 1 f16, 8 q8_0), the dimensions
//! innermost first, the name, the data. Which tensor has which type is whisper.cpp's choice:
//! the 2-D weight matrices (the token embedding too) in the file's type, the convolution
//! weights in f16, everything else (biases, norms, positional embeddings) in f32, the
//! convolution biases as `[n, 1]`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, ensure, Context};
use half::f16;
use sotto::gguf::GgufFile;
use sotto::kernels::quant::GgmlType;

/// A tensor as read from the checkpoint: dimensions innermost first, and its data.
struct Source<'a> {
    dims: Vec<usize>,
    data: Data<'a>,
}

enum Data<'a> {
    F32(Vec<f32>),
    F16(&'a [u8]),
    Q8_0(&'a [u8]),
}

/// Writes whisper.cpp's file for the checkpoint in `dir` (config.json, tokenizer.json) with the
/// weights `weights` (the f16 safetensors or the q8_0 GGUF) to `out`.
pub fn convert(dir: &Path, weights: &Path, out: &Path) -> anyhow::Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("read {}", p.display()));
    let config: serde_json::Value = serde_json::from_slice(&read(&dir.join("config.json"))?)?;
    let tokenizer: serde_json::Value = serde_json::from_slice(&read(&dir.join("tokenizer.json"))?)?;
    let bytes = read(weights)?;
    let quantized = bytes.starts_with(b"GGUF");
    let tensors = if quantized {
        gguf_tensors(&bytes)?
    } else {
        safetensors_tensors(&bytes)?
    };
    let int = |key: &str| -> anyhow::Result<i32> {
        let v = config[key]
            .as_u64()
            .with_context(|| format!("config.json: no {key}"))?;
        Ok(i32::try_from(v)?)
    };
    let mut file = Vec::with_capacity(bytes.len() + (1 << 20));
    file.extend(0x6767_6d6c_u32.to_le_bytes());
    let ftype = if quantized { 7 + 1000 * 2 } else { 1 };
    for key in [
        "vocab_size",
        "max_source_positions",
        "d_model",
        "encoder_attention_heads",
        "encoder_layers",
        "max_target_positions",
        "d_model",
        "decoder_attention_heads",
        "decoder_layers",
        "num_mel_bins",
    ] {
        file.extend(int(key)?.to_le_bytes());
    }
    file.extend(i32::to_le_bytes(ftype));
    let n_mels = int("num_mel_bins")? as usize;
    let filters = sotto::audio::mel_filters(n_mels);
    file.extend((n_mels as i32).to_le_bytes());
    file.extend(((filters.len() / n_mels) as i32).to_le_bytes());
    filters.iter().for_each(|v| file.extend(v.to_le_bytes()));
    write_vocabulary(&tokenizer, &mut file)?;
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let Some(target) = whisper_cpp_name(name) else {
            continue;
        };
        write_tensor(&target, &tensors[name], quantized, &mut file)
            .with_context(|| format!("tensor {name}"))?;
    }
    let mut f = std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    f.write_all(&file)?;
    Ok(())
}

/// The byte-level BPE vocabulary up to the end-of-text token, as bytes (GPT-2's byte decoder).
fn write_vocabulary(tokenizer: &serde_json::Value, file: &mut Vec<u8>) -> anyhow::Result<()> {
    let vocab = tokenizer["model"]["vocab"]
        .as_object()
        .context("tokenizer.json: no model.vocab")?;
    let eot = vocab
        .get("<|endoftext|>")
        .and_then(|v| v.as_u64())
        .context("tokenizer.json: no <|endoftext|>")? as usize;
    let mut by_id = vec![None; eot + 1];
    for (token, id) in vocab {
        let id = id.as_u64().context("a token id")? as usize;
        if id <= eot {
            by_id[id] = Some(token.as_str());
        }
    }
    let decoder: HashMap<char, u8> = byte_encoder().into_iter().map(|(b, c)| (c, b)).collect();
    file.extend(((eot + 1) as i32).to_le_bytes());
    for (id, token) in by_id.into_iter().enumerate() {
        let token = token.with_context(|| format!("tokenizer.json: no token {id}"))?;
        let bytes: Vec<u8> = match token {
            "<|endoftext|>" => token.as_bytes().to_vec(),
            _ => token
                .chars()
                .map(|c| decoder.get(&c).copied().context("a byte-level token"))
                .collect::<anyhow::Result<_>>()?,
        };
        file.extend((bytes.len() as i32).to_le_bytes());
        file.extend(bytes);
    }
    Ok(())
}

/// GPT-2's `bytes_to_unicode`: each byte's printable stand-in.
fn byte_encoder() -> Vec<(u8, char)> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut extra = 0u32;
    (0u32..256)
        .map(|b| {
            let c = if printable(b) {
                b
            } else {
                extra += 1;
                255 + extra
            };
            (b as u8, char::from_u32(c).expect("a valid char"))
        })
        .collect()
}

/// whisper.cpp's name of an HF-named tensor (`None`: whisper.cpp has none, e.g. the tied
/// output projection).
fn whisper_cpp_name(hf: &str) -> Option<String> {
    let name = hf.strip_prefix("model.")?;
    let fixed = [
        ("encoder.layer_norm.", "encoder.ln_post."),
        ("decoder.layer_norm.", "decoder.ln."),
        (
            "encoder.embed_positions.weight",
            "encoder.positional_embedding",
        ),
        (
            "decoder.embed_positions.weight",
            "decoder.positional_embedding",
        ),
        (
            "decoder.embed_tokens.weight",
            "decoder.token_embedding.weight",
        ),
    ];
    for (from, to) in fixed {
        if let Some(rest) = name.strip_prefix(from) {
            return Some(format!("{to}{rest}"));
        }
    }
    if name.starts_with("encoder.conv") {
        return Some(name.to_string());
    }
    let (side, rest) = name.split_once(".layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (module, leaf) = rest.rsplit_once('.')?;
    let mapped = match module {
        "self_attn.q_proj" => "attn.query",
        "self_attn.k_proj" => "attn.key",
        "self_attn.v_proj" => "attn.value",
        "self_attn.out_proj" => "attn.out",
        "self_attn_layer_norm" => "attn_ln",
        "encoder_attn.q_proj" => "cross_attn.query",
        "encoder_attn.k_proj" => "cross_attn.key",
        "encoder_attn.v_proj" => "cross_attn.value",
        "encoder_attn.out_proj" => "cross_attn.out",
        "encoder_attn_layer_norm" => "cross_attn_ln",
        "fc1" => "mlp.0",
        "fc2" => "mlp.2",
        "final_layer_norm" => "mlp_ln",
        _ => return None,
    };
    Some(format!("{side}.blocks.{layer}.{mapped}.{leaf}"))
}

/// One tensor in whisper.cpp's type for it (see the module's documentation).
fn write_tensor(
    name: &str,
    source: &Source<'_>,
    quantized: bool,
    file: &mut Vec<u8>,
) -> anyhow::Result<()> {
    let mut dims = source.dims.clone();
    let is_conv_bias = name.starts_with("encoder.conv") && name.ends_with(".bias");
    if is_conv_bias {
        dims.insert(0, 1);
    }
    let positional = name.ends_with("positional_embedding");
    let (ttype, data): (i32, Vec<u8>) = if name.starts_with("encoder.conv") && !is_conv_bias {
        (1, as_f16(&source.data)?)
    } else if dims.len() == 2 && !is_conv_bias && !positional {
        match (quantized, &source.data) {
            (true, Data::Q8_0(bytes)) => (8, bytes.to_vec()),
            (false, _) => (1, as_f16(&source.data)?),
            (true, _) => bail!("a q8_0 file's weight matrix that is not q8_0"),
        }
    } else {
        (0, as_f32(&source.data)?)
    };
    let name_bytes = name.as_bytes();
    file.extend((dims.len() as i32).to_le_bytes());
    file.extend((name_bytes.len() as i32).to_le_bytes());
    file.extend(ttype.to_le_bytes());
    dims.iter()
        .for_each(|&d| file.extend((d as i32).to_le_bytes()));
    file.extend(name_bytes);
    file.extend(data);
    Ok(())
}

/// The values as f16 bytes: f16 as they are, f32 converted only when the conversion is exact
/// (the checkpoints here are f16 at heart, so it is).
fn as_f16(data: &Data<'_>) -> anyhow::Result<Vec<u8>> {
    match data {
        Data::F16(bytes) => Ok(bytes.to_vec()),
        Data::F32(values) => values
            .iter()
            .map(|&v| {
                let h = f16::from_f32(v);
                ensure!(
                    h.to_f32().to_bits() == v.to_bits(),
                    "{v} is not an f16 value"
                );
                Ok(h.to_le_bytes())
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|v| v.concat()),
        Data::Q8_0(_) => bail!("q8_0 where whisper.cpp wants f16"),
    }
}

/// The values as f32 bytes (f16 widened exactly).
fn as_f32(data: &Data<'_>) -> anyhow::Result<Vec<u8>> {
    Ok(match data {
        Data::F32(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Data::F16(bytes) => bytes
            .chunks_exact(2)
            .flat_map(|h| f16::from_le_bytes([h[0], h[1]]).to_f32().to_le_bytes())
            .collect(),
        Data::Q8_0(_) => bail!("q8_0 where whisper.cpp wants f32"),
    })
}

fn gguf_tensors(bytes: &[u8]) -> anyhow::Result<HashMap<String, Source<'_>>> {
    let file = GgufFile::parse(bytes)?;
    let mut out = HashMap::new();
    for (name, info) in file.tensors {
        let raw = &bytes[info.offset..info.offset + info.len];
        let data = match info.dtype {
            GgmlType::F32 => Data::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            GgmlType::F16 => Data::F16(raw),
            GgmlType::Q8_0 => Data::Q8_0(raw),
            other => bail!("{name}: {other:?} (whisper.cpp's q8_0 files hold f32, f16, q8_0)"),
        };
        out.insert(
            name,
            Source {
                dims: info.dims,
                data,
            },
        );
    }
    Ok(out)
}

fn safetensors_tensors(bytes: &[u8]) -> anyhow::Result<HashMap<String, Source<'_>>> {
    let file = safetensors::SafeTensors::deserialize(bytes)?;
    let mut out = HashMap::new();
    for (name, view) in file.tensors() {
        let raw = view.data();
        let data = match view.dtype() {
            safetensors::Dtype::F16 => Data::F16(raw),
            safetensors::Dtype::F32 => Data::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            other => bail!("{name}: {other:?}"),
        };
        let dims = view.shape().iter().rev().copied().collect();
        out.insert(name, Source { dims, data });
    }
    Ok(out)
}
