//! The tensors of a CTranslate2 Whisper under Hugging Face's names (see [`super::whisper`]).

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::whisper::{HfDType, HfTensor, WhisperDims, FLAGS};
use super::{Ct2DType, Ct2Model, Ct2Variable};
use crate::asr::AsrError;

/// Maps CTranslate2 variables to HF tensors, remembering which variables it used.
pub(super) struct Mapper<'m, 'a> {
    model: &'m Ct2Model<'a>,
    used: BTreeSet<String>,
    /// The HF tensors made so far.
    pub(super) tensors: Vec<HfTensor<'a>>,
}

impl<'m, 'a> Mapper<'m, 'a> {
    pub(super) fn new(model: &'m Ct2Model<'a>) -> Self {
        Self {
            model,
            used: BTreeSet::new(),
            tensors: Vec::new(),
        }
    }

    fn variable(&mut self, name: &str) -> Result<&Ct2Variable<'a>, AsrError> {
        let v = self.model.variable(name)?;
        self.used.insert(v.name.clone());
        if !v.dtype.is_float() {
            self.used.insert(format!("{}_scale", v.name));
        }
        Ok(v)
    }

    /// Rows `[start, start + rows)` of the first dimension of `source` as the HF tensor `name`
    /// of shape `shape` (whose element count must match).
    fn rows(
        &mut self,
        name: String,
        source: &str,
        start: usize,
        shape: Vec<usize>,
    ) -> Result<(), AsrError> {
        let v = self.variable(source)?.clone();
        let rows = shape.first().copied().unwrap_or(1);
        let total_rows = v.shape.first().copied().unwrap_or(1);
        let row_elements = v.elements() / total_rows.max(1);
        let elements: usize = shape.iter().product();
        if start + rows > total_rows || rows * row_elements != elements {
            return Err(self.model.error(format!(
                "{source} has shape {:?}, which does not hold {name} of shape {shape:?}",
                v.shape
            )));
        }
        let range = start * row_elements..(start + rows) * row_elements;
        let (dtype, data) = match v.dtype {
            Ct2DType::F32 | Ct2DType::F16 | Ct2DType::BF16 => {
                let size = v.dtype.size();
                let bytes = &v.data[range.start * size..range.end * size];
                let dtype = match v.dtype {
                    Ct2DType::F32 => HfDType::F32,
                    Ct2DType::F16 => HfDType::F16,
                    _ => HfDType::BF16,
                };
                (dtype, Cow::Borrowed(bytes))
            }
            Ct2DType::I8 | Ct2DType::I16 => {
                let values = self.model.to_f32(source)?;
                let bytes = values[range].iter().flat_map(|x| x.to_le_bytes()).collect();
                (HfDType::F32, Cow::Owned(bytes))
            }
            Ct2DType::I32 => {
                return Err(self
                    .model
                    .error(format!("{source} is stored as int32, not as weights")))
            }
        };
        self.tensors.push(HfTensor {
            name,
            shape,
            dtype,
            data,
        });
        Ok(())
    }

    /// A whole variable of the expected shape.
    fn whole(&mut self, name: &str, source: &str, shape: &[usize]) -> Result<(), AsrError> {
        let found = &self.model.variable(source)?.shape;
        if found != shape {
            return Err(AsrError::ShapeMismatch {
                name: self.model.file.clone(),
                tensor: source.to_string(),
                expected: shape.to_vec(),
                found: found.clone(),
            });
        }
        self.rows(name.to_string(), source, 0, shape.to_vec())
    }

    fn layer_norm(&mut self, hf: &str, ct2: &str, d: usize) -> Result<(), AsrError> {
        self.whole(&format!("{hf}.weight"), &format!("{ct2}/gamma"), &[d])?;
        self.whole(&format!("{hf}.bias"), &format!("{ct2}/beta"), &[d])
    }

    fn linear(&mut self, hf: &str, ct2: &str, out: usize, inp: usize) -> Result<(), AsrError> {
        self.whole(
            &format!("{hf}.weight"),
            &format!("{ct2}/weight"),
            &[out, inp],
        )?;
        self.whole(&format!("{hf}.bias"), &format!("{ct2}/bias"), &[out])
    }

    /// Splits a fused projection into HF's `{hf}.{part}` linears (`k_proj` without its bias,
    /// after checking the stored one is zero).
    fn fused(&mut self, hf: &str, ct2: &str, parts: &[&str], d: usize) -> Result<(), AsrError> {
        let n = parts.len();
        for (name, expected) in [("weight", vec![n * d, d]), ("bias", vec![n * d])] {
            let found = &self.model.variable(&format!("{ct2}/{name}"))?.shape;
            if *found != expected {
                return Err(AsrError::ShapeMismatch {
                    name: self.model.file.clone(),
                    tensor: format!("{ct2}/{name}"),
                    expected,
                    found: found.clone(),
                });
            }
        }
        for (i, part) in parts.iter().enumerate() {
            let weight = format!("{hf}.{part}.weight");
            self.rows(weight, &format!("{ct2}/weight"), i * d, vec![d, d])?;
            let bias = format!("{ct2}/bias");
            if *part == "k_proj" {
                let values = self.model.to_f32(&bias)?;
                if values[i * d..(i + 1) * d].iter().any(|&x| x != 0.0) {
                    return Err(self.model.error(format!(
                        "{bias}: the key bias is not zero, but Whisper's k_proj has no bias"
                    )));
                }
                self.variable(&bias)?;
            } else {
                self.rows(format!("{hf}.{part}.bias"), &bias, i * d, vec![d])?;
            }
        }
        Ok(())
    }

    pub(super) fn map_all(&mut self, dims: &WhisperDims) -> Result<(), AsrError> {
        let d = dims.d_model;
        for (side, layers, ffn) in [
            ("encoder", dims.encoder_layers, dims.encoder_ffn_dim),
            ("decoder", dims.decoder_layers, dims.decoder_ffn_dim),
        ] {
            for i in 0..layers {
                let hf = format!("model.{side}.layers.{i}");
                let ct2 = format!("{side}/layer_{i}");
                let qkv = ["q_proj", "k_proj", "v_proj"];
                self.fused(
                    &format!("{hf}.self_attn"),
                    &format!("{ct2}/self_attention/linear_0"),
                    &qkv,
                    d,
                )?;
                self.linear(
                    &format!("{hf}.self_attn.out_proj"),
                    &format!("{ct2}/self_attention/linear_1"),
                    d,
                    d,
                )?;
                self.layer_norm(
                    &format!("{hf}.self_attn_layer_norm"),
                    &format!("{ct2}/self_attention/layer_norm"),
                    d,
                )?;
                if side == "decoder" {
                    let cross = format!("{hf}.encoder_attn");
                    let ct2_cross = format!("{ct2}/attention");
                    self.linear(
                        &format!("{cross}.q_proj"),
                        &format!("{ct2_cross}/linear_0"),
                        d,
                        d,
                    )?;
                    self.fused(
                        &cross,
                        &format!("{ct2_cross}/linear_1"),
                        &["k_proj", "v_proj"],
                        d,
                    )?;
                    self.linear(
                        &format!("{cross}.out_proj"),
                        &format!("{ct2_cross}/linear_2"),
                        d,
                        d,
                    )?;
                    self.layer_norm(
                        &format!("{hf}.encoder_attn_layer_norm"),
                        &format!("{ct2_cross}/layer_norm"),
                        d,
                    )?;
                }
                self.linear(&format!("{hf}.fc1"), &format!("{ct2}/ffn/linear_0"), ffn, d)?;
                self.linear(&format!("{hf}.fc2"), &format!("{ct2}/ffn/linear_1"), d, ffn)?;
                self.layer_norm(
                    &format!("{hf}.final_layer_norm"),
                    &format!("{ct2}/ffn/layer_norm"),
                    d,
                )?;
            }
            self.layer_norm(
                &format!("model.{side}.layer_norm"),
                &format!("{side}/layer_norm"),
                d,
            )?;
        }
        for (conv, inp) in [("conv1", dims.num_mel_bins), ("conv2", d)] {
            self.whole(
                &format!("model.encoder.{conv}.weight"),
                &format!("encoder/{conv}/weight"),
                &[d, inp, 3],
            )?;
            self.whole(
                &format!("model.encoder.{conv}.bias"),
                &format!("encoder/{conv}/bias"),
                &[d],
            )?;
        }
        self.whole(
            "model.encoder.embed_positions.weight",
            "encoder/position_encodings/encodings",
            &[dims.max_source_positions, d],
        )?;
        self.whole(
            "model.decoder.embed_positions.weight",
            "decoder/position_encodings/encodings",
            &[dims.max_target_positions, d],
        )?;
        self.whole(
            "model.decoder.embed_tokens.weight",
            "decoder/embeddings/weight",
            &[dims.vocab_size, d],
        )
    }

    /// HF Whisper ties `proj_out` to the token embedding: the stored projection must be an
    /// alias of it (as CTranslate2 writes it) or hold the same values, with no bias (or a zero one).
    pub(super) fn check_projection(&mut self, dims: &WhisperDims) -> Result<(), AsrError> {
        let name = "decoder/projection/weight";
        let projection = self.model.variable(name)?;
        let embedding = self.model.variable("decoder/embeddings/weight")?;
        let tied = std::ptr::eq(projection.data, embedding.data)
            || (projection.shape == [dims.vocab_size, dims.d_model]
                && self.model.to_f32(name)? == self.model.to_f32("decoder/embeddings/weight")?);
        if !tied {
            return Err(self.model.error(format!(
                "{name} differs from decoder/embeddings/weight; Whisper's output projection is \
                 the token embedding"
            )));
        }
        self.variable(name)?;
        if self.model.get("decoder/projection/bias").is_some() {
            let bias = self.model.to_f32("decoder/projection/bias")?;
            if bias.iter().any(|&x| x != 0.0) {
                return Err(self.model.error(
                    "decoder/projection/bias is not zero; Whisper's output projection has no bias"
                        .into(),
                ));
            }
            self.variable("decoder/projection/bias")?;
        }
        Ok(())
    }

    /// Every stored variable must have a place in the HF model (or be a known flag).
    pub(super) fn check_all_used(&self) -> Result<(), AsrError> {
        let known = |name: &str| FLAGS.iter().any(|(flag, _)| *flag == name);
        match self
            .model
            .variables()
            .iter()
            .find(|v| !self.used.contains(&v.name) && !known(&v.name))
        {
            Some(v) => Err(self.model.error(format!(
                "variable {} has no counterpart in Hugging Face's Whisper (is this a Whisper \
                 variant the importer does not know?)",
                v.name
            ))),
            None => Ok(()),
        }
    }
}
