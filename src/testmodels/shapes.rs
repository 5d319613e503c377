//! Random models in the shapes of the real checkpoints, for benchmarks, and the storage-type
//! rules llama.cpp applies when it quantizes.

use std::path::Path;

use candle_core::quantized::GgmlDType;

use super::llm::{write_llm, Arch, LlmSpec};
use super::whisper::{write_whisper, WhisperSpec};
use super::TestModelError;

/// A weight storage type for LLM GGUF files (`model-<name>.gguf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quant {
    /// Everything f32.
    F32,
    /// Matrices f16, vectors f32.
    F16,
    /// Matrices q8_0.
    Q8_0,
    /// Matrices q4_0; the output projection (the tied embedding) q6_K, as llama.cpp does.
    Q4_0,
    /// Matrices q4_1; the output projection (the tied embedding) q8_0, as in the published
    /// SmolLM2-135M-Instruct Q4_1 file.
    Q4_1,
    /// llama.cpp's Q4_K_M mix: q4_K, with q6_K for the output projection and for `attn_v` /
    /// `ffn_down` in the layers llama.cpp gives more bits. Rows that are not a multiple of 256
    /// fall back like llama.cpp does (q4_K → q5_0, q6_K → q8_0).
    Q4K,
}

impl Quant {
    /// Every quantization, in the order the CLI lists them.
    pub const ALL: [Quant; 6] = [
        Quant::F32,
        Quant::F16,
        Quant::Q8_0,
        Quant::Q4_0,
        Quant::Q4_1,
        Quant::Q4K,
    ];

    /// The lowercase name used in file names and on the command line (`q4_k`, `q8_0`, …).
    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
            Quant::Q4_0 => "q4_0",
            Quant::Q4_1 => "q4_1",
            Quant::Q4K => "q4_k",
        }
    }

    /// Parses a name as printed by [`Quant::name`].
    pub fn parse(name: &str) -> Option<Quant> {
        Quant::ALL.into_iter().find(|q| q.name() == name)
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`).
    pub fn file_type(self) -> u32 {
        match self {
            Quant::F32 => 0,
            Quant::F16 => 1,
            Quant::Q4_0 => 2,
            Quant::Q4_1 => 3,
            Quant::Q8_0 => 7,
            Quant::Q4K => 15, // MOSTLY_Q4_K_M
        }
    }
}

/// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and every third between.
fn use_more_bits(layer: usize, layers: usize) -> bool {
    layer < layers / 8
        || layer >= 7 * layers / 8
        || (layer as isize - (layers / 8) as isize) % 3 == 2
}

/// The storage type llama.cpp picks for an LLM tensor (`llama_tensor_get_type`, simplified to
/// the rules that matter for these models). Vectors (norms, biases) always stay f32.
pub(crate) fn llm_tensor_type(
    quant: Quant,
    name: &str,
    shape: &[usize],
    layers: usize,
) -> GgmlDType {
    if shape.len() < 2 {
        return GgmlDType::F32;
    }
    // Tied models use token_embd as the output projection.
    let is_output = name == "output.weight" || name == "token_embd.weight";
    let layer: Option<usize> = name
        .strip_prefix("blk.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|n| n.parse().ok());
    let more_bits = (name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight"))
        && layer.is_some_and(|l| use_more_bits(l, layers));
    let wanted = match quant {
        Quant::F32 => GgmlDType::F32,
        Quant::F16 => GgmlDType::F16,
        Quant::Q8_0 => GgmlDType::Q8_0,
        Quant::Q4_0 if is_output => GgmlDType::Q6K,
        Quant::Q4_0 => GgmlDType::Q4_0,
        Quant::Q4_1 if is_output => GgmlDType::Q8_0,
        Quant::Q4_1 => GgmlDType::Q4_1,
        Quant::Q4K if is_output || more_bits => GgmlDType::Q6K,
        Quant::Q4K => GgmlDType::Q4K,
    };
    with_fallback(wanted, shape[shape.len() - 1])
}

/// llama.cpp's fallback when a row does not divide into the type's blocks.
pub(crate) fn with_fallback(wanted: GgmlDType, row_len: usize) -> GgmlDType {
    if row_len % wanted.block_size() == 0 {
        return wanted;
    }
    let alternative = match wanted {
        GgmlDType::Q4K => GgmlDType::Q5_0,
        GgmlDType::Q5K => GgmlDType::Q5_1,
        GgmlDType::Q6K => GgmlDType::Q8_0,
        _ => GgmlDType::F16,
    };
    if row_len % alternative.block_size() == 0 {
        alternative
    } else {
        GgmlDType::F16
    }
}

/// Real checkpoints whose shapes benchmarks need (weights are random).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealShape {
    /// openai/whisper-tiny: d_model 384, 6 heads, 4+4 layers, vocab 51865.
    WhisperTiny,
    /// openai/whisper-base: d_model 512, 8 heads, 6+6 layers, vocab 51865.
    WhisperBase,
    /// HuggingFaceTB/SmolLM2-135M-Instruct: 576 hidden, 1536 FFN, 30 layers, 9/3 heads.
    SmolLm2_135M,
    /// HuggingFaceTB/SmolLM2-360M-Instruct: 960 hidden, 2560 FFN, 32 layers, 15/5 heads.
    SmolLm2_360M,
    /// Qwen/Qwen2.5-0.5B-Instruct: 896 hidden, 4864 FFN, 24 layers, 14/2 heads, qkv bias.
    Qwen25_05B,
    /// Qwen/Qwen3-0.6B: 1024 hidden, 3072 FFN, 28 layers, 16/8 heads of 128, q/k norms.
    /// (Its `tokenizer_config.json` carries Qwen2.5's chat template, not Qwen3's thinking one.)
    Qwen3_06B,
    /// google/gemma-3-1b-it: 1152 hidden, 6912 FFN, 26 layers, 4/1 heads of 256, q/k norms,
    /// sliding window 512, a 262 144-row tied embedding. (Its tokenizer is the test BPE with
    /// SmolLM2's ChatML specials padded to the real vocabulary, not Gemma's SentencePiece.)
    Gemma3_1B,
}

impl RealShape {
    /// Every shape, in the order the CLI lists them.
    pub const ALL: [RealShape; 7] = [
        RealShape::WhisperTiny,
        RealShape::WhisperBase,
        RealShape::SmolLm2_135M,
        RealShape::SmolLm2_360M,
        RealShape::Qwen25_05B,
        RealShape::Qwen3_06B,
        RealShape::Gemma3_1B,
    ];

    /// Folder / command-line name, e.g. `smollm2-360m`.
    pub fn name(self) -> &'static str {
        match self {
            RealShape::WhisperTiny => "whisper-tiny",
            RealShape::WhisperBase => "whisper-base",
            RealShape::SmolLm2_135M => "smollm2-135m",
            RealShape::SmolLm2_360M => "smollm2-360m",
            RealShape::Qwen25_05B => "qwen2.5-0.5b",
            RealShape::Qwen3_06B => "qwen3-0.6b",
            RealShape::Gemma3_1B => "gemma3-1b",
        }
    }

    /// Parses a name as printed by [`RealShape::name`].
    pub fn parse(name: &str) -> Option<RealShape> {
        RealShape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether this is a speech-recognition model (otherwise a chat LLM).
    pub fn is_asr(self) -> bool {
        matches!(self, RealShape::WhisperTiny | RealShape::WhisperBase)
    }

    fn llm_spec(self) -> Option<LlmSpec> {
        let smollm2 = |name, hidden, intermediate, layers, heads, kv_heads| LlmSpec {
            name,
            arch: Arch::Llama,
            vocab_rows: Some(49152),
            hidden,
            intermediate,
            layers,
            heads,
            kv_heads,
            head_dim: 64,
            context: 8192,
            rope_theta: 100_000.0,
            rms_eps: 1e-5,
            regular_end: Some(49152),
            test_init: false,
            sliding_window: None,
        };
        let qwen = LlmSpec {
            name: "Qwen2.5 0.5B shape",
            arch: Arch::Qwen2,
            vocab_rows: Some(151_936),
            hidden: 896,
            intermediate: 4864,
            layers: 24,
            heads: 14,
            kv_heads: 2,
            head_dim: 64,
            context: 32768,
            rope_theta: 1_000_000.0,
            rms_eps: 1e-6,
            regular_end: Some(151_643),
            test_init: false,
            sliding_window: None,
        };
        Some(match self {
            RealShape::WhisperTiny | RealShape::WhisperBase => return None,
            RealShape::SmolLm2_135M => smollm2("SmolLM2 135M shape", 576, 1536, 30, 9, 3),
            RealShape::SmolLm2_360M => smollm2("SmolLM2 360M shape", 960, 2560, 32, 15, 5),
            RealShape::Qwen25_05B => qwen,
            RealShape::Qwen3_06B => LlmSpec {
                name: "Qwen3 0.6B shape",
                arch: Arch::Qwen3,
                hidden: 1024,
                intermediate: 3072,
                layers: 28,
                heads: 16,
                kv_heads: 8,
                head_dim: 128,
                context: 40960,
                ..qwen
            },
            RealShape::Gemma3_1B => LlmSpec {
                name: "Gemma 3 1B shape",
                arch: Arch::Gemma3,
                vocab_rows: Some(262_144),
                hidden: 1152,
                intermediate: 6912,
                layers: 26,
                heads: 4,
                kv_heads: 1,
                head_dim: 256,
                context: 32768,
                rope_theta: 1_000_000.0,
                rms_eps: 1e-6,
                regular_end: Some(49152),
                test_init: false,
                sliding_window: Some(512),
            },
        })
    }
}

/// Writes random weights in a real model's shape into `dir` and returns the file names.
///
/// LLMs: `model-<quant>.gguf` for each of `quants`, plus `tokenizer.json` and
/// `tokenizer_config.json` (the test BPE padded with corpus-word fillers to the real vocabulary, so
/// special tokens have their real ids). Whisper: `model.safetensors` (f32), `model.gguf` (q8_0),
/// `config.json`, `generation_config.json`, `tokenizer.json`; `quants` does not apply.
pub fn write_real_shape(
    dir: &Path,
    shape: RealShape,
    quants: &[Quant],
) -> Result<Vec<String>, TestModelError> {
    match (shape, shape.llm_spec()) {
        (_, Some(spec)) => write_llm(dir, &spec, quants),
        (RealShape::WhisperTiny, None) => write_whisper(dir, &WhisperSpec::real(384, 6, 4)),
        (_, None) => write_whisper(dir, &WhisperSpec::real(512, 8, 6)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_k_falls_back_like_llama_cpp() {
        // SmolLM2-135M: rows of 576 are not a multiple of 256.
        assert_eq!(
            llm_tensor_type(Quant::Q4K, "blk.3.attn_q.weight", &[576, 576], 30),
            GgmlDType::Q5_0
        );
        assert_eq!(
            llm_tensor_type(Quant::Q4K, "token_embd.weight", &[49152, 576], 30),
            GgmlDType::Q8_0
        );
        // Qwen2.5-0.5B's ffn_down rows are 4864 = 19 × 256: q6_K in layer 0 (more bits), q4_K in 4.
        assert_eq!(
            llm_tensor_type(Quant::Q4K, "blk.0.ffn_down.weight", &[896, 4864], 24),
            GgmlDType::Q6K
        );
        assert_eq!(
            llm_tensor_type(Quant::Q4K, "blk.4.ffn_down.weight", &[896, 4864], 24),
            GgmlDType::Q4K
        );
        assert_eq!(
            llm_tensor_type(Quant::Q4_0, "token_embd.weight", &[151936, 1024], 28),
            GgmlDType::Q6K
        );
        assert_eq!(
            llm_tensor_type(Quant::Q8_0, "blk.0.attn_norm.weight", &[64], 2),
            GgmlDType::F32
        );
    }

    #[test]
    fn names_round_trip() {
        for q in Quant::ALL {
            assert_eq!(Quant::parse(q.name()), Some(q));
        }
        for s in RealShape::ALL {
            assert_eq!(RealShape::parse(s.name()), Some(s));
        }
    }
}
