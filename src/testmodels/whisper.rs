//! Whisper in Hugging Face's layout (safetensors + JSON configs) and in candle's quantized
//! layout (a GGUF with the same tensor names, matrices in q8_0).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::GgmlDType;
use safetensors::{Dtype, View};
use serde_json::json;

use super::gguf::{write_gguf, GgufTensor};
use super::llm::write_text;
use super::tokenizer::{self, BuiltTokenizer, TokenizerKind, WHISPER_LANGUAGES};
use super::weights::{stream_tensor, Init, ValueStream};
use super::{io_error, TestModelError};

/// Dimensions of a generated Whisper.
#[derive(Clone, Debug)]
pub(crate) struct WhisperSpec {
    pub(crate) d_model: usize,
    pub(crate) heads: usize,
    /// Encoder layers = decoder layers.
    pub(crate) layers: usize,
    pub(crate) mels: usize,
    /// Ids below which the BPE vocabulary is padded (50257 for the real multilingual vocab).
    pub(crate) regular_end: Option<usize>,
    /// N(0, 0.25) weights (tiny test model) or the fast uniform fill (real shapes).
    pub(crate) test_init: bool,
}

/// Whisper's audio context (30 s of 20 ms frames) and text context.
const MAX_SOURCE_POSITIONS: usize = 1500;
const MAX_TARGET_POSITIONS: usize = 448;

impl WhisperSpec {
    /// The tiny test model: d_model 64, 4 heads, 2+2 layers, FFN 256, 80 mels.
    pub(crate) fn tiny() -> Self {
        Self {
            d_model: 64,
            heads: 4,
            layers: 2,
            mels: 80,
            regular_end: None,
            test_init: true,
        }
    }

    /// A real Whisper's shape with the real 51865-id multilingual vocabulary.
    pub(crate) fn real(d_model: usize, heads: usize, layers: usize) -> Self {
        Self {
            d_model,
            heads,
            layers,
            mels: 80,
            regular_end: Some(50257),
            test_init: false,
        }
    }

    fn init(&self, name: &str) -> Init {
        if name == "model.encoder.embed_positions.weight" {
            return Init::Sinusoids;
        }
        let is_norm_weight = name.contains("layer_norm.weight");
        Init::for_tensor(self.test_init, is_norm_weight, name.ends_with(".bias"))
    }

    /// HF tensor names and shapes, sorted by name (the order safetensors stores them in).
    /// `proj_out` is tied to `model.decoder.embed_tokens` and, as in HF files, not stored.
    fn tensors(&self, vocab: usize) -> Vec<(String, Vec<usize>)> {
        let d = self.d_model;
        let ffn = 4 * d;
        let mut t: Vec<(String, Vec<usize>)> = Vec::new();
        let attention = |t: &mut Vec<(String, Vec<usize>)>, p: &str| {
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                t.push((format!("{p}.{proj}.weight"), vec![d, d]));
                if proj != "k_proj" {
                    t.push((format!("{p}.{proj}.bias"), vec![d]));
                }
            }
            t.push((format!("{p}_layer_norm.weight"), vec![d]));
            t.push((format!("{p}_layer_norm.bias"), vec![d]));
        };
        for side in ["encoder", "decoder"] {
            let p = format!("model.{side}");
            for i in 0..self.layers {
                let l = format!("{p}.layers.{i}");
                attention(&mut t, &format!("{l}.self_attn"));
                if side == "decoder" {
                    attention(&mut t, &format!("{l}.encoder_attn"));
                }
                t.push((format!("{l}.fc1.weight"), vec![ffn, d]));
                t.push((format!("{l}.fc1.bias"), vec![ffn]));
                t.push((format!("{l}.fc2.weight"), vec![d, ffn]));
                t.push((format!("{l}.fc2.bias"), vec![d]));
                t.push((format!("{l}.final_layer_norm.weight"), vec![d]));
                t.push((format!("{l}.final_layer_norm.bias"), vec![d]));
            }
            t.push((format!("{p}.layer_norm.weight"), vec![d]));
            t.push((format!("{p}.layer_norm.bias"), vec![d]));
        }
        t.push(("model.encoder.conv1.weight".into(), vec![d, self.mels, 3]));
        t.push(("model.encoder.conv1.bias".into(), vec![d]));
        t.push(("model.encoder.conv2.weight".into(), vec![d, d, 3]));
        t.push(("model.encoder.conv2.bias".into(), vec![d]));
        t.push((
            "model.encoder.embed_positions.weight".into(),
            vec![MAX_SOURCE_POSITIONS, d],
        ));
        t.push((
            "model.decoder.embed_positions.weight".into(),
            vec![MAX_TARGET_POSITIONS, d],
        ));
        t.push(("model.decoder.embed_tokens.weight".into(), vec![vocab, d]));
        t.sort();
        t
    }
}

/// Writes the tiny test Whisper into `dir`: `config.json`, `generation_config.json`,
/// `preprocessor_config.json`, `tokenizer.json`, `model.safetensors` (f32, HF names) and
/// `model.gguf` (candle's quantized-Whisper layout: the same names, q8_0 matrices).
///
/// The vocabulary is a 1024-id BPE trained on [`super::CORPUS`] followed by Whisper's 1608
/// special tokens in their real order (2632 ids); d_model 64, 4 heads, 2+2 layers, FFN 256,
/// 80 mel bins, 1500 audio and 448 text positions.
pub fn write_tiny_whisper(dir: &Path) -> Result<(), TestModelError> {
    write_whisper(dir, &WhisperSpec::tiny()).map(|_| ())
}

/// Writes a Whisper model set; returns the file names.
pub(crate) fn write_whisper(dir: &Path, spec: &WhisperSpec) -> Result<Vec<String>, TestModelError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tok = tokenizer::build(
        TokenizerKind::Whisper,
        tokenizer::WHISPER_MERGES,
        spec.regular_end,
    )?;
    let ids = WhisperIds::new(&tok)?;
    let vocab = tok.len();
    write_text(&dir.join("tokenizer.json"), &tok.json)?;
    let suppress = suppress_tokens(&tok, &ids)?;
    let config = serde_json::to_string_pretty(&config_json(spec, &ids, vocab, &suppress))?;
    write_text(&dir.join("config.json"), &config)?;
    let generation = serde_json::to_string_pretty(&generation_config_json(&ids, &tok, &suppress)?)?;
    write_text(&dir.join("generation_config.json"), &generation)?;
    let preprocessor = serde_json::to_string_pretty(&preprocessor_config_json(spec.mels))?;
    write_text(&dir.join("preprocessor_config.json"), &preprocessor)?;

    let shapes = spec.tensors(vocab);
    let st_path = dir.join("model.safetensors");
    let lazy: Vec<(String, LazyTensor)> = shapes
        .iter()
        .map(|(name, shape)| {
            let tensor = LazyTensor {
                name: name.clone(),
                shape: shape.clone(),
                init: spec.init(name),
            };
            (name.clone(), tensor)
        })
        .collect();
    let format = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(lazy, Some(format), &st_path).map_err(|e| {
        TestModelError::Tensor {
            name: st_path.display().to_string(),
            message: e.to_string(),
        }
    })?;

    // candle's quantized Whisper: matrices whose rows divide into 32-blocks in q8_0, the rest
    // (vectors, 3-tap convolutions) in f32.
    let tensors: Vec<GgufTensor> = shapes
        .iter()
        .map(|(name, shape)| GgufTensor {
            name: name.clone(),
            shape: shape.clone(),
            dtype: if shape.len() == 2 && shape[1] % 32 == 0 {
                GgmlDType::Q8_0
            } else {
                GgmlDType::F32
            },
        })
        .collect();
    let gguf_path = dir.join("model.gguf");
    let metadata = vec![
        (
            "general.architecture".to_string(),
            Value::String("whisper".into()),
        ),
        (
            "general.name".to_string(),
            Value::String("Whisper test".into()),
        ),
        ("general.file_type".to_string(), Value::U32(7)),
        ("general.quantization_version".to_string(), Value::U32(2)),
    ];
    write_gguf(&gguf_path, &metadata, &tensors, |t, out| {
        stream_tensor(&gguf_path, t, &t.name, spec.init(&t.name), out)
    })?;
    Ok([
        "config.json",
        "generation_config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "model.safetensors",
        "model.gguf",
    ]
    .map(String::from)
    .to_vec())
}

/// A tensor whose f32 bytes are generated only when safetensors writes it.
struct LazyTensor {
    name: String,
    shape: Vec<usize>,
    init: Init,
}

impl View for LazyTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let cols = self.shape.last().copied().unwrap_or(1);
        let rows = self.shape.iter().product::<usize>() / cols;
        let values = ValueStream::new(&self.name, self.init, cols).all(rows);
        Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

/// The special ids configs refer to.
struct WhisperIds {
    eot: u32,
    sot: u32,
    translate: u32,
    transcribe: u32,
    startoflm: u32,
    startofprev: u32,
    nospeech: u32,
    notimestamps: u32,
    space: u32,
}

impl WhisperIds {
    fn new(tok: &BuiltTokenizer) -> Result<Self, TestModelError> {
        Ok(Self {
            eot: tok.id("<|endoftext|>")?,
            sot: tok.id("<|startoftranscript|>")?,
            translate: tok.id("<|translate|>")?,
            transcribe: tok.id("<|transcribe|>")?,
            startoflm: tok.id("<|startoflm|>")?,
            startofprev: tok.id("<|startofprev|>")?,
            nospeech: tok.id("<|nospeech|>")?,
            notimestamps: tok.id("<|notimestamps|>")?,
            space: tok.id("Ġ")?,
        })
    }
}

/// openai-whisper's `non_speech_tokens` plus the task/control tokens HF configs suppress.
fn suppress_tokens(tok: &BuiltTokenizer, ids: &WhisperIds) -> Result<Vec<u32>, TestModelError> {
    let encode = |s: &str| -> Result<Vec<u32>, TestModelError> {
        let enc = tok
            .tokenizer
            .encode(s, false)
            .map_err(|e| TestModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    };
    let mut symbols: Vec<String> = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』"
        .chars()
        .map(String::from)
        .collect();
    symbols.extend(
        "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪"
            .split(' ')
            .map(String::from),
    );
    let miscellaneous: Vec<String> = "♩♪♫♬♭♮♯".chars().map(String::from).collect();
    let mut result = BTreeSet::new();
    for s in [" -", " '"] {
        result.extend(encode(s)?.first().copied());
    }
    for symbol in symbols.iter().chain(&miscellaneous) {
        for tokens in [encode(symbol)?, encode(&format!(" {symbol}"))?] {
            if tokens.len() == 1 || miscellaneous.contains(symbol) {
                result.extend(tokens.first().copied());
            }
        }
    }
    // In a 1024-token vocabulary " ♪" starts with the bare space token; real Whisper (whose
    // vocabulary has " â") never suppresses it, and doing so would forbid plain spaces.
    result.remove(&ids.space);
    result.extend([
        ids.sot,
        ids.translate,
        ids.transcribe,
        ids.startoflm,
        ids.startofprev,
        ids.nospeech,
    ]);
    Ok(result.into_iter().collect())
}

fn config_json(
    spec: &WhisperSpec,
    ids: &WhisperIds,
    vocab: usize,
    suppress: &[u32],
) -> serde_json::Value {
    json!({
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "apply_spec_augment": false,
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": [ids.space, ids.eot],
        "bos_token_id": ids.eot,
        "classifier_proj_size": 256,
        "d_model": spec.d_model,
        "decoder_attention_heads": spec.heads,
        "decoder_ffn_dim": 4 * spec.d_model,
        "decoder_layerdrop": 0.0,
        "decoder_layers": spec.layers,
        "decoder_start_token_id": ids.sot,
        "dropout": 0.0,
        "dtype": "float32",
        "encoder_attention_heads": spec.heads,
        "encoder_ffn_dim": 4 * spec.d_model,
        "encoder_layerdrop": 0.0,
        "encoder_layers": spec.layers,
        "eos_token_id": ids.eot,
        "init_std": if spec.test_init { 0.25 } else { 0.02 },
        "is_encoder_decoder": true,
        "max_source_positions": MAX_SOURCE_POSITIONS,
        "max_target_positions": MAX_TARGET_POSITIONS,
        "median_filter_width": 7,
        "model_type": "whisper",
        "num_hidden_layers": spec.layers,
        "num_mel_bins": spec.mels,
        "pad_token_id": ids.eot,
        "scale_embedding": false,
        "suppress_tokens": suppress,
        "tie_word_embeddings": true,
        "use_cache": true,
        "use_weighted_layer_sum": false,
        "vocab_size": vocab,
    })
}

fn generation_config_json(
    ids: &WhisperIds,
    tok: &BuiltTokenizer,
    suppress: &[u32],
) -> Result<serde_json::Value, TestModelError> {
    let mut lang_to_id = serde_json::Map::new();
    for lang in WHISPER_LANGUAGES {
        let token = format!("<|{lang}|>");
        lang_to_id.insert(token.clone(), tok.id(&token)?.into());
    }
    Ok(json!({
        "begin_suppress_tokens": [ids.space, ids.eot],
        "bos_token_id": ids.eot,
        "decoder_start_token_id": ids.sot,
        "eos_token_id": ids.eot,
        "is_multilingual": true,
        "lang_to_id": lang_to_id,
        "max_initial_timestamp_index": 50,
        "max_length": MAX_TARGET_POSITIONS,
        "no_timestamps_token_id": ids.notimestamps,
        "pad_token_id": ids.eot,
        "prev_sot_token_id": ids.startofprev,
        "return_timestamps": false,
        "suppress_tokens": suppress,
        "task_to_id": {"transcribe": ids.transcribe, "translate": ids.translate},
    }))
}

fn preprocessor_config_json(mels: usize) -> serde_json::Value {
    json!({
        "chunk_length": 30,
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": mels,
        "hop_length": 160,
        "n_fft": 400,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_side": "right",
        "padding_value": 0.0,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": false,
        "sampling_rate": 16000,
    })
}
