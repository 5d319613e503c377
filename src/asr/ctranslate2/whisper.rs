//! A CTranslate2 Whisper (`WhisperSpec`) in Hugging Face's layout: the tensors under the names
//! `transformers`' `WhisperForConditionalGeneration` (and [`crate::asr::Whisper`]) load, and the
//! `config.json` and `generation_config.json` that describe them.
//!
//! CTranslate2's Whisper converter (`WhisperLoader` in
//! <https://github.com/OpenNMT/CTranslate2/blob/master/python/ctranslate2/converters/transformers.py>)
//! fuses each self-attention's q, k and v rows into `self_attention/linear_0` and each
//! cross-attention's k and v into `attention/linear_1`, filling the k bias HF's `k_proj` lacks
//! with zeros; it stores the output projection as an alias of the token embedding. The import
//! undoes exactly that, checking what it drops (a k bias that is not zero is an error, not a
//! silent change of the model).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;

use super::whisper_tensors::Mapper;
use super::Ct2Model;
use crate::asr::AsrError;

/// The storage type of an imported tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HfDType {
    /// f32 (also every dequantized int8/int16 weight).
    F32,
    /// f16, as stored.
    F16,
    /// bf16, as stored.
    BF16,
}

impl HfDType {
    /// `torch_dtype` in a Hugging Face config.
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }
}

/// One tensor under its Hugging Face name; `data` borrows the `model.bin` bytes where the
/// stored values are kept as they are.
#[derive(Debug, Clone)]
pub struct HfTensor<'a> {
    /// e.g. `model.encoder.layers.0.self_attn.q_proj.weight`.
    pub name: String,
    /// Row-major dimensions.
    pub shape: Vec<usize>,
    /// Storage type of `data`.
    pub dtype: HfDType,
    /// Little-endian element bytes.
    pub data: Cow<'a, [u8]>,
}

impl HfTensor<'_> {
    /// The values as f32.
    pub fn to_f32(&self) -> Vec<f32> {
        let chunks = self
            .data
            .chunks_exact(if self.dtype == HfDType::F32 { 4 } else { 2 });
        match self.dtype {
            HfDType::F32 => chunks
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            HfDType::F16 => chunks
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            HfDType::BF16 => chunks
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        }
    }
}

/// The architecture read from the checkpoint's shapes and scalars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhisperDims {
    /// Hidden width.
    pub d_model: usize,
    /// Token embedding rows.
    pub vocab_size: usize,
    /// Mel bands of the input.
    pub num_mel_bins: usize,
    /// Encoder positions (1500 for the 30 s window).
    pub max_source_positions: usize,
    /// Decoder positions (448).
    pub max_target_positions: usize,
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
    /// Encoder attention heads.
    pub encoder_attention_heads: usize,
    /// Decoder attention heads.
    pub decoder_attention_heads: usize,
    /// Encoder MLP width.
    pub encoder_ffn_dim: usize,
    /// Decoder MLP width.
    pub decoder_ffn_dim: usize,
}

/// A CTranslate2 Whisper converted to Hugging Face's layout.
#[derive(Debug)]
pub struct ImportedWhisper<'a> {
    /// The architecture.
    pub dims: WhisperDims,
    /// Every tensor, sorted by name (`proj_out` is tied to the embedding and, as in HF's files,
    /// not stored).
    pub tensors: Vec<HfTensor<'a>>,
    /// HF `config.json`.
    pub config: serde_json::Value,
    /// HF `generation_config.json`.
    pub generation_config: serde_json::Value,
    /// openai-whisper's rule: a vocabulary of 51865 tokens or more is multilingual.
    pub is_multilingual: bool,
}

/// The part of CTranslate2's `config.json` a Whisper uses (`WhisperConfig` in `whisper_spec.py`).
#[derive(Debug, Deserialize)]
struct Ct2WhisperConfig {
    suppress_ids: Option<Vec<u32>>,
    suppress_ids_begin: Option<Vec<u32>>,
    #[serde(default)]
    lang_ids: Option<Vec<u32>>,
    #[serde(default)]
    alignment_heads: Option<Vec<[usize; 2]>>,
}

/// Scalars CTranslate2 stores with every Whisper and the values a Whisper has: anything else
/// would change the computation, so it is an error rather than ignored. `None`: informational.
pub(super) const FLAGS: &[(&str, Option<f32>)] = &[
    ("decoder/alibi", Some(0.0)),
    ("decoder/pre_norm", Some(1.0)),
    ("decoder/scale_embeddings", Some(0.0)),
    ("decoder/start_from_zero_embedding", Some(0.0)),
    // ALiBi's options, meaningless with `alibi` off (newer converters store them).
    ("decoder/alibi_use_positive_positions", None),
    ("decoder/scale_alibi", None),
    ("decoder/alignment_heads", None),
    ("decoder/alignment_layer", None),
    ("decoder/activation", None),
    ("encoder/num_heads", None),
    ("decoder/num_heads", None),
];

/// The smallest vocabulary openai-whisper treats as multilingual (`n_vocab >= 51865`).
const MULTILINGUAL_VOCAB: usize = 51865;

/// Converts a parsed Whisper `model.bin`. `ct2_config` is CTranslate2's `config.json` (bytes,
/// name); `tokenizer` supplies the special tokens' ids.
pub fn import_whisper<'a>(
    model: &Ct2Model<'a>,
    ct2_config: (&[u8], &str),
    tokenizer: &tokenizers::Tokenizer,
) -> Result<ImportedWhisper<'a>, AsrError> {
    if model.spec != "WhisperSpec" {
        return Err(model.error(format!(
            "a {} checkpoint, not a Whisper (WhisperSpec)",
            model.spec
        )));
    }
    if !(2..=3).contains(&model.revision) {
        return Err(model.error(format!(
            "WhisperSpec revision {}: this importer knows revisions 2 and 3",
            model.revision
        )));
    }
    let dims = read_dims(model)?;
    check_flags(model)?;
    let mut mapper = Mapper::new(model);
    mapper.map_all(&dims)?;
    mapper.check_projection(&dims)?;
    mapper.check_all_used()?;
    let mut tensors = mapper.tensors;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let float_dtype = tensors
        .iter()
        .find(|t| t.name == "model.decoder.layer_norm.weight")
        .map_or(HfDType::F32, |t| t.dtype);

    let cfg: Ct2WhisperConfig =
        serde_json::from_slice(ct2_config.0).map_err(|e| AsrError::Config {
            name: ct2_config.1.to_string(),
            reason: format!("not CTranslate2's Whisper config.json: {e}"),
        })?;
    let configs = hf_configs(&dims, &cfg, ct2_config.1, tokenizer, float_dtype)?;
    Ok(ImportedWhisper {
        is_multilingual: dims.vocab_size >= MULTILINGUAL_VOCAB,
        dims,
        tensors,
        config: configs.0,
        generation_config: configs.1,
    })
}

fn read_dims(model: &Ct2Model<'_>) -> Result<WhisperDims, AsrError> {
    let shape = |name: &str, rank: usize| -> Result<Vec<usize>, AsrError> {
        let v = model.variable(name)?;
        if v.shape.len() != rank {
            return Err(model.error(format!(
                "{name} has shape {:?}, expected rank {rank}",
                v.shape
            )));
        }
        Ok(v.shape.clone())
    };
    let heads = |name: &str| -> Result<usize, AsrError> {
        let n = model.scalar_int(name)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| model.error(format!("{name} is {n}, expected a positive head count")))
    };
    let layers = |side: &str| {
        (0..)
            .take_while(|i| {
                model
                    .get(&format!("{side}/layer_{i}/self_attention/linear_0/weight"))
                    .is_some()
            })
            .count()
    };
    let embedding = shape("decoder/embeddings/weight", 2)?;
    let conv1 = shape("encoder/conv1/weight", 3)?;
    let dims = WhisperDims {
        d_model: embedding[1],
        vocab_size: embedding[0],
        num_mel_bins: conv1[1],
        max_source_positions: shape("encoder/position_encodings/encodings", 2)?[0],
        max_target_positions: shape("decoder/position_encodings/encodings", 2)?[0],
        encoder_layers: layers("encoder"),
        decoder_layers: layers("decoder"),
        encoder_attention_heads: heads("encoder/num_heads")?,
        decoder_attention_heads: heads("decoder/num_heads")?,
        encoder_ffn_dim: shape("encoder/layer_0/ffn/linear_0/weight", 2)?[0],
        decoder_ffn_dim: shape("decoder/layer_0/ffn/linear_0/weight", 2)?[0],
    };
    let d = dims.d_model;
    if d == 0
        || d % dims.encoder_attention_heads != 0
        || d % dims.decoder_attention_heads != 0
        || dims.encoder_layers == 0
        || dims.decoder_layers == 0
    {
        return Err(model.error(format!("not a usable Whisper architecture: {dims:?}")));
    }
    Ok(dims)
}

fn check_flags(model: &Ct2Model<'_>) -> Result<(), AsrError> {
    for &(name, expected) in FLAGS {
        let (Some(expected), Some(v)) = (expected, model.get(name)) else {
            continue;
        };
        let value = v.raw_f32();
        // `scale_embeddings` may also be stored as the multiplier itself (1.0 = no scaling).
        let ok = value.len() == 1
            && (value[0] == expected
                || (name == "decoder/scale_embeddings" && v.dtype.is_float() && value[0] == 1.0));
        if !ok {
            return Err(model.error(format!(
                "{name} is {value:?}; a Whisper has {expected} (this checkpoint is not a plain \
                 Whisper)"
            )));
        }
    }
    // Revision 3 numbers exact GELU 3 (tanh approximation 1); revision 2 numbered GELU 1.
    if let Some(v) = model.get("decoder/activation") {
        let gelu = if model.revision >= 3 { 3.0 } else { 1.0 };
        if v.raw_f32() != [gelu] {
            return Err(model.error(format!(
                "decoder/activation is {:?}; Whisper uses GELU ({gelu} in revision {})",
                v.raw_f32(),
                model.revision
            )));
        }
    }
    Ok(())
}

/// The special tokens the configs name, read from the tokenizer.
struct Specials {
    eot: u32,
    sot: u32,
    transcribe: u32,
    translate: u32,
    no_timestamps: u32,
    start_of_prev: u32,
}

fn hf_configs(
    dims: &WhisperDims,
    cfg: &Ct2WhisperConfig,
    cfg_name: &str,
    tokenizer: &tokenizers::Tokenizer,
    dtype: HfDType,
) -> Result<(serde_json::Value, serde_json::Value), AsrError> {
    let bad = |reason: String| AsrError::Config {
        name: cfg_name.to_string(),
        reason,
    };
    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| AsrError::Tokenizer {
                name: "tokenizer.json".into(),
                reason: format!("not a Whisper tokenizer: it has no {token} token"),
            })
    };
    let s = Specials {
        eot: id("<|endoftext|>")?,
        sot: id("<|startoftranscript|>")?,
        transcribe: id("<|transcribe|>")?,
        translate: id("<|translate|>")?,
        no_timestamps: id("<|notimestamps|>")?,
        start_of_prev: id("<|startofprev|>")?,
    };
    let vocab = dims.vocab_size;
    let suppress = cfg
        .suppress_ids
        .clone()
        .ok_or_else(|| bad("no suppress_ids".into()))?;
    let begin_suppress = cfg
        .suppress_ids_begin
        .clone()
        .ok_or_else(|| bad("no suppress_ids_begin".into()))?;
    if let Some(&out) = suppress
        .iter()
        .chain(&begin_suppress)
        .find(|&&i| i as usize >= vocab)
    {
        return Err(bad(format!(
            "token id {out} is outside the model's {vocab} tokens"
        )));
    }
    let layers = dims.decoder_layers;
    let heads = dims.decoder_attention_heads;
    // CTranslate2's default when a checkpoint names none: every head of the last half of layers.
    let alignment_heads: Vec<[usize; 2]> = match &cfg.alignment_heads {
        Some(pairs) => pairs.clone(),
        None => (layers / 2..layers)
            .flat_map(|l| (0..heads).map(move |h| [l, h]))
            .collect(),
    };
    if let Some(pair) = alignment_heads
        .iter()
        .find(|[l, h]| *l >= layers || *h >= heads)
    {
        return Err(bad(format!(
            "alignment head {pair:?} is outside the decoder's {layers} layers × {heads} heads"
        )));
    }
    let is_multilingual = vocab >= MULTILINGUAL_VOCAB;
    let config = json!({
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "apply_spec_augment": false,
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": begin_suppress,
        "bos_token_id": s.eot,
        "classifier_proj_size": 256,
        "d_model": dims.d_model,
        "decoder_attention_heads": heads,
        "decoder_ffn_dim": dims.decoder_ffn_dim,
        "decoder_layerdrop": 0.0,
        "decoder_layers": layers,
        "decoder_start_token_id": s.sot,
        "dropout": 0.0,
        "encoder_attention_heads": dims.encoder_attention_heads,
        "encoder_ffn_dim": dims.encoder_ffn_dim,
        "encoder_layerdrop": 0.0,
        "encoder_layers": dims.encoder_layers,
        "eos_token_id": s.eot,
        "init_std": 0.02,
        "is_encoder_decoder": true,
        "max_source_positions": dims.max_source_positions,
        "max_target_positions": dims.max_target_positions,
        "median_filter_width": 7,
        "model_type": "whisper",
        "num_hidden_layers": dims.encoder_layers,
        "num_mel_bins": dims.num_mel_bins,
        "pad_token_id": s.eot,
        "scale_embedding": false,
        "suppress_tokens": suppress,
        "tie_word_embeddings": true,
        "torch_dtype": dtype.torch_name(),
        "use_cache": true,
        "use_weighted_layer_sum": false,
        "vocab_size": vocab,
    });
    let mut generation = json!({
        "alignment_heads": alignment_heads,
        "begin_suppress_tokens": begin_suppress,
        "bos_token_id": s.eot,
        "decoder_start_token_id": s.sot,
        "eos_token_id": s.eot,
        "is_multilingual": is_multilingual,
        "max_initial_timestamp_index": 50,
        "max_length": dims.max_target_positions,
        "no_timestamps_token_id": s.no_timestamps,
        "pad_token_id": s.eot,
        "prev_sot_token_id": s.start_of_prev,
        "return_timestamps": false,
        "suppress_tokens": suppress,
    });
    // As in HF's own files, only multilingual checkpoints name languages and tasks.
    if is_multilingual {
        let lang_ids: Vec<u32> = match &cfg.lang_ids {
            Some(ids) => ids.clone(),
            None => (s.sot + 1..s.translate).collect(),
        };
        let mut lang_to_id = serde_json::Map::new();
        for lang in lang_ids {
            let token = tokenizer
                .id_to_token(lang)
                .filter(|t| t.starts_with("<|") && t.ends_with("|>"))
                .ok_or_else(|| bad(format!("lang_ids names {lang}, not a language token")))?;
            lang_to_id.insert(token, lang.into());
        }
        generation["lang_to_id"] = lang_to_id.into();
        generation["task_to_id"] = json!({"transcribe": s.transcribe, "translate": s.translate});
    }
    Ok((config, generation))
}
