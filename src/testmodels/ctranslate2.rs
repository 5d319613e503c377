//! A CTranslate2 `model.bin` writer, for testing `sotto import`: it turns a Hugging Face Whisper
//! folder (such as [`super::write_tiny_whisper`]'s) into the folder CTranslate2's
//! `ct2-transformers-converter` would make, in f32, f16 or int8, following CTranslate2's own
//! converter (`WhisperLoader` in `converters/transformers.py`) and serializer
//! (`ModelSpec._serialize` and `LayerSpec._quantize` in `specs/model_spec.py`).

use std::path::Path;

use half::f16;
use safetensors::SafeTensors;
use serde_json::{json, Value};

use super::{io_error, TestModelError};

/// How the written checkpoint stores its weights (`--quantization` of the converter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ct2Quantization {
    /// Every float in f32.
    Float32,
    /// Every float in f16.
    Float16,
    /// Linear, convolution and embedding weights in int8 with a per-row `weight_scale`; the
    /// other floats in f32.
    Int8,
}

/// One variable of a `model.bin`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ct2Var {
    /// Scoped name.
    pub name: String,
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// CTranslate2's type id (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16).
    pub dtype_id: u8,
    /// Little-endian bytes.
    pub data: Vec<u8>,
}

impl Ct2Var {
    fn floats(name: &str, shape: Vec<usize>, values: &[f32], half: bool) -> Self {
        let (dtype_id, data) = if half {
            let bytes = values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes());
            (4, bytes.collect())
        } else {
            (0, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        };
        Self {
            name: name.to_string(),
            shape,
            dtype_id,
            data,
        }
    }

    fn int8(name: &str, value: i8) -> Self {
        Self {
            name: name.to_string(),
            shape: vec![],
            dtype_id: 1,
            data: vec![value as u8],
        }
    }

    fn int16(name: &str, value: i16) -> Self {
        Self {
            name: name.to_string(),
            shape: vec![],
            dtype_id: 2,
            data: value.to_le_bytes().to_vec(),
        }
    }
}

/// Serializes a `model.bin` (binary version 6): variables sorted by name, then the aliases.
pub fn ct2_model_bin(
    spec: &str,
    revision: u32,
    variables: &[Ct2Var],
    aliases: &[(String, String)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u16 + 1).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }
    let mut sorted: Vec<&Ct2Var> = variables.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = 6u32.to_le_bytes().to_vec();
    string(&mut out, spec);
    out.extend(revision.to_le_bytes());
    out.extend((sorted.len() as u32).to_le_bytes());
    for v in sorted {
        string(&mut out, &v.name);
        out.push(v.shape.len() as u8);
        for &d in &v.shape {
            out.extend((d as u32).to_le_bytes());
        }
        out.push(v.dtype_id);
        out.extend((v.data.len() as u32).to_le_bytes());
        out.extend(&v.data);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (alias, target) in aliases {
        string(&mut out, alias);
        string(&mut out, target);
    }
    out
}

/// The variables CTranslate2's converter makes of the HF Whisper in `hf_dir`.
pub fn ct2_whisper_variables(
    hf_dir: &Path,
    quantization: Ct2Quantization,
) -> Result<Vec<Ct2Var>, TestModelError> {
    let path = hf_dir.join("model.safetensors");
    let bytes = std::fs::read(&path).map_err(io_error(&path))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| TestModelError::Tensor {
        name: path.display().to_string(),
        message: e.to_string(),
    })?;
    let config = read_json(&hf_dir.join("config.json"))?;
    let dim = |key: &str| config[key].as_u64().unwrap_or(0) as usize;
    let tensor = |name: &str| -> Result<(Vec<usize>, Vec<f32>), TestModelError> {
        let t = st.tensor(name).map_err(|e| TestModelError::Tensor {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        let values = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((t.shape().to_vec(), values))
    };
    let half = quantization == Ct2Quantization::Float16;
    let int8 = quantization == Ct2Quantization::Int8;
    let mut vars = Vec::new();
    // A float, or with `quantizable` in int8 mode an int8 weight and its per-row scale.
    let mut put = |name: &str, shape: Vec<usize>, values: &[f32], quantizable: bool| {
        if quantizable && int8 {
            let (q, scale) = quantize_int8(values, shape[0]);
            vars.push(Ct2Var {
                name: name.to_string(),
                shape,
                dtype_id: 1,
                data: q.iter().map(|&v| v as u8).collect(),
            });
            vars.push(Ct2Var::floats(
                &format!("{name}_scale"),
                vec![scale.len()],
                &scale,
                false,
            ));
        } else {
            vars.push(Ct2Var::floats(name, shape, values, half));
        }
    };
    let d = dim("d_model");
    for (side, layers) in [
        ("encoder", dim("encoder_layers")),
        ("decoder", dim("decoder_layers")),
    ] {
        for i in 0..layers {
            let hf = format!("model.{side}.layers.{i}");
            let ct2 = format!("{side}/layer_{i}");
            let mut attention = |hf_attn: &str, ct2_attn: &str, cross: bool| {
                let (_, q) = tensor(&format!("{hf_attn}.q_proj.weight"))?;
                let (_, k) = tensor(&format!("{hf_attn}.k_proj.weight"))?;
                let (_, v) = tensor(&format!("{hf_attn}.v_proj.weight"))?;
                let (_, qb) = tensor(&format!("{hf_attn}.q_proj.bias"))?;
                let (_, vb) = tensor(&format!("{hf_attn}.v_proj.bias"))?;
                let zeros = vec![0.0; d];
                let (fused, fused_bias) = if cross {
                    put(&format!("{ct2_attn}/linear_0/weight"), vec![d, d], &q, true);
                    put(&format!("{ct2_attn}/linear_0/bias"), vec![d], &qb, false);
                    ([k, v].concat(), [zeros, vb].concat())
                } else {
                    ([q, k, v].concat(), [qb, zeros, vb].concat())
                };
                let n = fused_bias.len();
                let fused_name = if cross { "linear_1" } else { "linear_0" };
                put(
                    &format!("{ct2_attn}/{fused_name}/weight"),
                    vec![n, d],
                    &fused,
                    true,
                );
                put(
                    &format!("{ct2_attn}/{fused_name}/bias"),
                    vec![n],
                    &fused_bias,
                    false,
                );
                let out_name = if cross { "linear_2" } else { "linear_1" };
                let (shape, w) = tensor(&format!("{hf_attn}.out_proj.weight"))?;
                put(&format!("{ct2_attn}/{out_name}/weight"), shape, &w, true);
                let (shape, b) = tensor(&format!("{hf_attn}.out_proj.bias"))?;
                put(&format!("{ct2_attn}/{out_name}/bias"), shape, &b, false);
                Ok::<(), TestModelError>(())
            };
            attention(
                &format!("{hf}.self_attn"),
                &format!("{ct2}/self_attention"),
                false,
            )?;
            if side == "decoder" {
                attention(
                    &format!("{hf}.encoder_attn"),
                    &format!("{ct2}/attention"),
                    true,
                )?;
            }
            let mut norms = vec![
                ("self_attn_layer_norm", "self_attention/layer_norm"),
                ("final_layer_norm", "ffn/layer_norm"),
            ];
            if side == "decoder" {
                norms.push(("encoder_attn_layer_norm", "attention/layer_norm"));
            }
            let mut pairs: Vec<(String, String, bool)> = Vec::new();
            for (h, c) in norms {
                pairs.push((
                    format!("{hf}.{h}.weight"),
                    format!("{ct2}/{c}/gamma"),
                    false,
                ));
                pairs.push((format!("{hf}.{h}.bias"), format!("{ct2}/{c}/beta"), false));
            }
            for (h, c) in [("fc1", "linear_0"), ("fc2", "linear_1")] {
                pairs.push((
                    format!("{hf}.{h}.weight"),
                    format!("{ct2}/ffn/{c}/weight"),
                    true,
                ));
                pairs.push((
                    format!("{hf}.{h}.bias"),
                    format!("{ct2}/ffn/{c}/bias"),
                    false,
                ));
            }
            for (h, c, quantizable) in pairs {
                let (shape, values) = tensor(&h)?;
                put(&c, shape, &values, quantizable);
            }
        }
        let (shape, g) = tensor(&format!("model.{side}.layer_norm.weight"))?;
        put(&format!("{side}/layer_norm/gamma"), shape, &g, false);
        let (shape, b) = tensor(&format!("model.{side}.layer_norm.bias"))?;
        put(&format!("{side}/layer_norm/beta"), shape, &b, false);
        let (shape, p) = tensor(&format!("model.{side}.embed_positions.weight"))?;
        put(
            &format!("{side}/position_encodings/encodings"),
            shape,
            &p,
            false,
        );
    }
    for conv in ["conv1", "conv2"] {
        let (shape, w) = tensor(&format!("model.encoder.{conv}.weight"))?;
        put(&format!("encoder/{conv}/weight"), shape, &w, true);
        let (shape, b) = tensor(&format!("model.encoder.{conv}.bias"))?;
        put(&format!("encoder/{conv}/bias"), shape, &b, false);
    }
    let (shape, e) = tensor("model.decoder.embed_tokens.weight")?;
    put("decoder/embeddings/weight", shape, &e, true);
    vars.extend([
        Ct2Var::int8("decoder/activation", 3),
        Ct2Var::int8("decoder/alibi", 0),
        Ct2Var::int16("decoder/alignment_heads", 1),
        Ct2Var::int16("decoder/alignment_layer", -1),
        Ct2Var::int16("decoder/num_heads", dim("decoder_attention_heads") as i16),
        Ct2Var::int8("decoder/pre_norm", 1),
        Ct2Var::int8("decoder/scale_embeddings", 0),
        Ct2Var::int8("decoder/start_from_zero_embedding", 0),
        Ct2Var::int16("encoder/num_heads", dim("encoder_attention_heads") as i16),
    ]);
    Ok(vars)
}

/// CTranslate2's int8 quantization: per row, scale = 127 / max |x| (127 for an all-zero row),
/// values rounded half to even.
fn quantize_int8(values: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
    let cols = values.len() / rows;
    let mut q = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(rows);
    for row in values.chunks(cols) {
        let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = 127.0 / if amax == 0.0 { 127.0 } else { amax };
        q.extend(row.iter().map(|v| (v * scale).round_ties_even() as i8));
        scales.push(scale);
    }
    (q, scales)
}

/// Writes the CTranslate2 folder of the HF Whisper in `hf_dir` into `out`: `model.bin`,
/// CTranslate2's `config.json` (from the HF generation config) and the `tokenizer.json`.
pub fn write_ct2_whisper(
    hf_dir: &Path,
    out: &Path,
    quantization: Ct2Quantization,
) -> Result<(), TestModelError> {
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let vars = ct2_whisper_variables(hf_dir, quantization)?;
    let alias = (
        "decoder/projection/weight".to_string(),
        "decoder/embeddings/weight".to_string(),
    );
    let bin = ct2_model_bin("WhisperSpec", 3, &vars, &[alias]);
    let path = out.join("model.bin");
    std::fs::write(&path, bin).map_err(io_error(&path))?;
    let generation = read_json(&hf_dir.join("generation_config.json"))?;
    let mut lang_ids: Vec<u64> = generation["lang_to_id"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    lang_ids.sort_unstable();
    let config = json!({
        "lang_ids": lang_ids,
        "suppress_ids": generation["suppress_tokens"],
        "suppress_ids_begin": generation["begin_suppress_tokens"],
    });
    let path = out.join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?).map_err(io_error(&path))?;
    let (from, to) = (hf_dir.join("tokenizer.json"), out.join("tokenizer.json"));
    std::fs::copy(&from, &to).map_err(io_error(&to))?;
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, TestModelError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    Ok(serde_json::from_slice(&bytes)?)
}
