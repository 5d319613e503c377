//! Whisper speed benchmark: prints one JSON object.
//!
//! Random weights in whisper-tiny and whisper-base shapes (generated in-process), f32 and q8_0; a
//! 5 s utterance end to end (mel, encoder on the trimmed audio context, a 4-token prompt and
//! `--tokens` greedy steps with the KV cache), encoder ms, decoder ms per token, peak memory.
//! With `--features candle-reference`, candle-transformers 0.11.1's Whisper runs the same work
//! the way its wasm example does (encoder on the full 30 s window, the decoder re-fed the whole
//! token sequence every step) in the same process, and the ratio is reported.
//!
//! Native: `cargo run --release --example bench_whisper --features candle-reference`
//! Wasm (single thread, Node 20 WASI): see `examples/bench_whisper_wasi.mjs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sotto::asr::whisper::Whisper;
use sotto::asr::{Config, DecodeOptions, Weights};
use sotto::audio;

const PROMPT: [u32; 4] = [50258, 50259, 50359, 50363];

struct Shape {
    name: &'static str,
    d_model: usize,
    heads: usize,
    layers: usize,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "tiny",
        d_model: 384,
        heads: 6,
        layers: 4,
    },
    Shape {
        name: "base",
        d_model: 512,
        heads: 8,
        layers: 6,
    },
];

fn config(s: &Shape) -> Config {
    let json = serde_json::json!({
        "num_mel_bins": 80, "max_source_positions": 1500, "d_model": s.d_model,
        "encoder_attention_heads": s.heads, "encoder_layers": s.layers, "vocab_size": 51865,
        "max_target_positions": 448, "decoder_attention_heads": s.heads,
        "decoder_layers": s.layers,
    });
    Config::from_json(json.to_string().as_bytes(), "bench config").expect("valid config")
}

/// Random weights with the Hugging Face names and shapes of `cfg`.
fn random_weights(cfg: &Config) -> candle_core::Result<HashMap<String, Tensor>> {
    let dev = Device::Cpu;
    let (d, ffn) = (cfg.d_model, cfg.encoder_ffn());
    let mut w = HashMap::new();
    let mut put = |name: String, shape: &[usize]| -> candle_core::Result<()> {
        w.insert(name, Tensor::randn(0f32, 0.05, shape, &dev)?);
        Ok(())
    };
    put(
        "model.encoder.conv1.weight".into(),
        &[d, cfg.num_mel_bins, 3],
    )?;
    put("model.encoder.conv2.weight".into(), &[d, d, 3])?;
    put(
        "model.encoder.embed_positions.weight".into(),
        &[cfg.max_source_positions, d],
    )?;
    put(
        "model.decoder.embed_tokens.weight".into(),
        &[cfg.vocab_size, d],
    )?;
    put(
        "model.decoder.embed_positions.weight".into(),
        &[cfg.max_target_positions, d],
    )?;
    let mut vectors = vec![
        "model.encoder.conv1.bias".to_string(),
        "model.encoder.conv2.bias".into(),
    ];
    for (side, layers) in [
        ("encoder", cfg.encoder_layers),
        ("decoder", cfg.decoder_layers),
    ] {
        vectors.push(format!("model.{side}.layer_norm"));
        for i in 0..layers {
            let p = format!("model.{side}.layers.{i}");
            let mut attns = vec!["self_attn"];
            if side == "decoder" {
                attns.push("encoder_attn");
            }
            for a in attns {
                for m in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    put(format!("{p}.{a}.{m}.weight"), &[d, d])?;
                    if m != "k_proj" {
                        vectors.push(format!("{p}.{a}.{m}.bias"));
                    }
                }
                vectors.push(format!("{p}.{a}_layer_norm"));
            }
            put(format!("{p}.fc1.weight"), &[ffn, d])?;
            put(format!("{p}.fc2.weight"), &[d, ffn])?;
            vectors.push(format!("{p}.fc1.bias"));
            vectors.push(format!("{p}.fc2.bias"));
            vectors.push(format!("{p}.final_layer_norm"));
        }
    }
    for v in vectors {
        if v.ends_with("norm") {
            w.insert(
                format!("{v}.weight"),
                Tensor::ones(d, candle_core::DType::F32, &dev)?,
            );
            w.insert(
                format!("{v}.bias"),
                Tensor::zeros(d, candle_core::DType::F32, &dev)?,
            );
        } else {
            let n = if v.contains("fc1") { ffn } else { d };
            w.insert(v, Tensor::randn(0f32, 0.05, n, &dev)?);
        }
    }
    Ok(w)
}

/// Matrices to q8_0 (as candle's quantized Whisper files), everything else f32.
fn quantize(w: &HashMap<String, Tensor>) -> candle_core::Result<HashMap<String, Arc<QTensor>>> {
    w.iter()
        .map(|(name, t)| {
            let dtype = if t.rank() == 2 && t.dim(1)? % 32 == 0 {
                GgmlDType::Q8_0
            } else {
                GgmlDType::F32
            };
            Ok((name.clone(), Arc::new(QTensor::quantize(t, dtype)?)))
        })
        .collect()
}

/// A 5 s utterance-like signal: a gliding tone with harmonics and a little noise.
fn utterance(seconds: f32) -> Vec<f32> {
    let n = (16_000.0 * seconds) as usize;
    let mut state = 1u32;
    (0..n)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let f = 150.0 + 100.0 * (t * 1.3).sin();
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            0.3 * (2.0 * std::f32::consts::PI * f * t).sin()
                + 0.1 * (6.0 * std::f32::consts::PI * f * t).sin()
                + 0.02 * noise
        })
        .collect()
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn argmax(v: &[f32]) -> u32 {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b }) as u32
}

#[derive(Default, Clone, Copy)]
struct Figures {
    end_to_end_ms: f64,
    mel_ms: f64,
    encoder_ms: f64,
    decoder_ms_per_token: f64,
}

impl Figures {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "end_to_end_ms": round(self.end_to_end_ms), "mel_ms": round(self.mel_ms),
            "encoder_ms": round(self.encoder_ms),
            "decoder_ms_per_token": round(self.decoder_ms_per_token),
        })
    }

    fn best(self, other: Self) -> Self {
        if other.end_to_end_ms < self.end_to_end_ms {
            other
        } else {
            self
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn run_ours(model: &Whisper, pcm: &[f32], tokens: usize) -> candle_core::Result<Figures> {
    let start = Instant::now();
    let mel = audio::log_mel_spectrogram(pcm, 80);
    let ctx = (mel.n_computed.div_ceil(2) + DecodeOptions::default().audio_ctx_margin).min(1500);
    let frames = mel.frames(2 * ctx);
    let mel_ms = ms(start);
    let t = Instant::now();
    let encoded = model.encoder.forward(&frames, 80, 2 * ctx)?;
    let encoder_ms = ms(t);
    let t = Instant::now();
    let mut state = model.decoder.start(&encoded)?;
    // Only the last position's logits, as the transcriber asks for them.
    let mut last: Vec<f32> = model.decoder.forward_last(&mut state, &PROMPT)?.to_vec1()?;
    for _ in 0..tokens {
        let next = argmax(&last);
        last = model.decoder.forward_last(&mut state, &[next])?.to_vec1()?;
    }
    let decoder_ms = ms(t);
    Ok(Figures {
        end_to_end_ms: ms(start),
        mel_ms,
        encoder_ms,
        decoder_ms_per_token: decoder_ms / tokens as f64,
    })
}

#[cfg(feature = "candle-reference")]
mod reference {
    use super::*;
    use candle_transformers::models::whisper as cw;

    pub enum Model {
        Dense(cw::model::Whisper),
        Quantized(cw::quantized_model::Whisper),
    }

    pub fn config(cfg: &Config) -> cw::Config {
        let json = serde_json::json!({
            "num_mel_bins": cfg.num_mel_bins, "max_source_positions": cfg.max_source_positions,
            "d_model": cfg.d_model, "encoder_attention_heads": cfg.encoder_attention_heads,
            "encoder_layers": cfg.encoder_layers, "vocab_size": cfg.vocab_size,
            "max_target_positions": cfg.max_target_positions,
            "decoder_attention_heads": cfg.decoder_attention_heads,
            "decoder_layers": cfg.decoder_layers,
        });
        serde_json::from_value(json).expect("candle config")
    }

    pub fn load_dense(w: &HashMap<String, Tensor>, cfg: &Config) -> candle_core::Result<Model> {
        let vb =
            candle_nn::VarBuilder::from_tensors(w.clone(), candle_core::DType::F32, &Device::Cpu);
        Ok(Model::Dense(cw::model::Whisper::load(&vb, config(cfg))?))
    }

    pub fn load_quantized(
        q: &HashMap<String, Arc<QTensor>>,
        cfg: &Config,
    ) -> candle_core::Result<Model> {
        let mut names: Vec<&String> = q.keys().collect();
        names.sort();
        let refs: Vec<(&str, &QTensor)> =
            names.iter().map(|n| (n.as_str(), q[*n].as_ref())).collect();
        let mut buf = std::io::Cursor::new(Vec::new());
        candle_core::quantized::gguf_file::write(&mut buf, &[], &refs)?;
        let vb = candle_transformers::quantized_var_builder::VarBuilder::from_gguf_buffer(
            buf.get_ref(),
            &Device::Cpu,
        )?;
        Ok(Model::Quantized(cw::quantized_model::Whisper::load(
            &vb,
            config(cfg),
        )?))
    }

    macro_rules! drive {
        ($m:expr, $mel:expr, $tokens:expr) => {{
            // As candle's wasm example: the full 30 s window, then the whole token sequence
            // re-fed every step (only cross-attention K/V are cached).
            let t = Instant::now();
            let features = $m.encoder.forward($mel, true)?;
            let encoder_ms = ms(t);
            let t = Instant::now();
            let mut tokens = PROMPT.to_vec();
            for i in 0..$tokens + 1 {
                let input = Tensor::new(tokens.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
                let ys = $m.decoder.forward(&input, &features, i == 0)?;
                let (_, seq_len, _) = ys.dims3()?;
                let logits = $m.decoder.final_linear(&ys.narrow(1, seq_len - 1, 1)?)?;
                let logits: Vec<f32> = logits.flatten_all()?.to_vec1()?;
                tokens.push(argmax(&logits));
            }
            (encoder_ms, ms(t))
        }};
    }

    pub fn run(model: &mut Model, pcm: &[f32], tokens: usize) -> candle_core::Result<Figures> {
        let start = Instant::now();
        // candle's pcm_to_mel spawns threads (it traps in wasm): the same mel from ours.
        let mel = audio::log_mel_spectrogram(pcm, 80).frames(3000);
        let mel = Tensor::from_vec(mel, (1, 80, 3000), &Device::Cpu)?;
        let mel_ms = ms(start);
        let (encoder_ms, decoder_ms) = match model {
            Model::Dense(m) => drive!(m, &mel, tokens),
            Model::Quantized(m) => drive!(m, &mel, tokens),
        };
        Ok(Figures {
            end_to_end_ms: ms(start),
            mel_ms,
            encoder_ms,
            decoder_ms_per_token: decoder_ms / (tokens + 1) as f64,
        })
    }
}

/// Peak resident memory in bytes since the last reset (Linux), or the wasm linear memory size.
fn peak_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size(0) as u64 * 65_536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

fn reset_peak_memory() {
    #[cfg(not(target_arch = "wasm32"))]
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> candle_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let shapes = value("--shapes").unwrap_or_else(|| "tiny,base".into());
    let formats = value("--formats").unwrap_or_else(|| "f32,q8_0".into());
    let tokens: usize = value("--tokens").and_then(|v| v.parse().ok()).unwrap_or(24);
    let reps: usize = value("--reps").and_then(|v| v.parse().ok()).unwrap_or(3);
    let with_reference =
        cfg!(feature = "candle-reference") && !args.iter().any(|a| a == "--no-reference");
    let pcm = utterance(5.0);
    let mut results = Vec::new();
    for shape in SHAPES
        .iter()
        .filter(|s| shapes.split(',').any(|n| n == s.name))
    {
        let cfg = config(shape);
        let dense = random_weights(&cfg)?;
        for format in formats.split(',') {
            let weights = match format {
                "f32" => Weights::from_tensors(dense.clone(), "random f32"),
                "q8_0" => Weights::from_qtensors(quantize(&dense)?, "random q8_0"),
                other => panic!("unknown format {other}"),
            };
            reset_peak_memory();
            let model = Whisper::load(&weights, &cfg).expect("random weights fit the config");
            drop(weights);
            let mut ours = run_ours(&model, &pcm, tokens)?; // warm-up
            for _ in 0..reps {
                ours = ours.best(run_ours(&model, &pcm, tokens)?);
            }
            let ours_peak = peak_memory_bytes();
            drop(model);
            #[cfg_attr(not(feature = "candle-reference"), allow(unused_mut))]
            let mut entry = serde_json::json!({
                "shape": shape.name, "format": format, "ours": ours.json(),
                "ours_peak_memory_mb": ours_peak.map(|b| round(b as f64 / 1048576.0)),
            });
            #[cfg(feature = "candle-reference")]
            if with_reference {
                reset_peak_memory();
                let mut model = match format {
                    "f32" => reference::load_dense(&dense, &cfg)?,
                    _ => reference::load_quantized(&quantize(&dense)?, &cfg)?,
                };
                let reference = reference::run(&mut model, &pcm, tokens)?;
                let peak = peak_memory_bytes();
                entry["candle_reference"] = reference.json();
                entry["candle_peak_memory_mb"] =
                    serde_json::json!(peak.map(|b| round(b as f64 / 1048576.0)));
                entry["speedup_end_to_end"] =
                    serde_json::json!(round(reference.end_to_end_ms / ours.end_to_end_ms));
                entry["speedup_encoder"] =
                    serde_json::json!(round(reference.encoder_ms / ours.encoder_ms));
                entry["speedup_decoder_per_token"] = serde_json::json!(round(
                    reference.decoder_ms_per_token / ours.decoder_ms_per_token
                ));
            }
            results.push(entry);
            eprintln!("{}", results.last().expect("just pushed"));
        }
    }
    let report = serde_json::json!({
        "benchmark": "whisper",
        "utterance_seconds": 5.0,
        "decoded_tokens": tokens,
        "machine": {
            "arch": std::env::consts::ARCH, "os": std::env::consts::OS,
            "simd128": sotto::simd128_enabled(),
            "threads": 1,
        },
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "candle_reference": with_reference,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    Ok(())
}
