//! LLM benchmark (native, one thread): real-shape models with random weights, our engine side by side
//! with candle-transformers' quantized models (with `--features candle-reference`). Prints JSON.
//!
//! `cargo run --release --example bench_llm [--features candle-reference] -- [--shapes a,b]
//! [--quants q8_0,q4_0,q4_k] [--dir target/bench-llm] [--prompt 128] [--decode 32] [--turn 25]`
//!
//! Models are generated once by `sotto::testmodels::write_real_shape` into `--dir`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sotto::llm::{ChatModel, Session};
use sotto::testmodels::{write_real_shape, Quant, RealShape};

struct Options {
    shapes: Vec<RealShape>,
    quants: Vec<Quant>,
    dir: PathBuf,
    prompt: usize,
    decode: usize,
    turn: usize,
}

fn parse_args() -> Options {
    let mut o = Options {
        shapes: vec![
            RealShape::SmolLm2_135M,
            RealShape::SmolLm2_360M,
            RealShape::Qwen25_05B,
        ],
        quants: vec![Quant::Q8_0, Quant::Q4_0, Quant::Q4K],
        dir: PathBuf::from("target/bench-llm"),
        prompt: 128,
        decode: 32,
        turn: 25,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--shapes" => {
                o.shapes = value
                    .split(',')
                    .map(|s| RealShape::parse(s).expect("shape"))
                    .collect()
            }
            "--quants" => {
                o.quants = value
                    .split(',')
                    .map(|q| Quant::parse(q).expect("quant"))
                    .collect()
            }
            "--dir" => o.dir = PathBuf::from(value),
            "--prompt" => o.prompt = value.parse().expect("--prompt N"),
            "--decode" => o.decode = value.parse().expect("--decode N"),
            "--turn" => o.turn = value.parse().expect("--turn N"),
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

/// Deterministic ordinary-token ids (no specials), the same for both engines.
fn prompt_ids(n: usize, offset: usize, vocab: usize) -> Vec<u32> {
    (0..n)
        .map(|i| (100 + (i + offset) * 7919 % (vocab.min(40_000) - 200)) as u32)
        .collect()
}

fn ensure_model(dir: &Path, shape: RealShape, quant: Quant) -> PathBuf {
    let folder = dir.join(shape.name());
    let file = folder.join(format!("model-{}.gguf", quant.name()));
    if !file.exists() {
        eprintln!("generating {}", file.display());
        write_real_shape(&folder, shape, &[quant]).expect("write_real_shape");
    }
    file
}

fn per_second(n: usize, secs: f64) -> f64 {
    (n as f64 / secs * 10.0).round() / 10.0
}

fn ours(file: &Path, o: &Options) -> serde_json::Value {
    let tokenizer = file.with_file_name("tokenizer.json");
    let t0 = Instant::now();
    let chat = ChatModel::from_files(file, Some(&tokenizer), None).expect("load");
    let load_s = t0.elapsed().as_secs_f64();
    let vocab = chat.model.config.vocab_size;
    let prompt = prompt_ids(o.prompt, 0, vocab);
    let mut session = Session::new(&chat);
    let t0 = Instant::now();
    let (mut logits, _) = session.sync(&chat, &prompt).expect("prefill");
    let prefill_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for _ in 0..o.decode {
        let next = sotto::llm::sampling::argmax(&logits);
        logits = session.push(&chat, next).expect("decode");
    }
    let decode_s = t0.elapsed().as_secs_f64();
    // Second turn: the cache holds prompt + reply; the user adds `turn` tokens.
    let mut next_turn = session.fed().to_vec();
    next_turn.extend(prompt_ids(o.turn, 1000, vocab));
    let t0 = Instant::now();
    let (_, prefilled) = session.sync(&chat, &next_turn).expect("second turn");
    let turn_s = t0.elapsed().as_secs_f64();
    assert_eq!(prefilled, o.turn);
    serde_json::json!({
        "load_s": load_s,
        "prefill_tok_s": per_second(o.prompt, prefill_s),
        "decode_tok_s": per_second(o.decode, decode_s),
        "second_turn_prefill_ms": (turn_s * 1e4).round() / 10.0,
        "kv_cache_mib": session.cache().bytes() as f64 / (1 << 20) as f64,
    })
}

#[cfg(feature = "candle-reference")]
fn candle(file: &Path, o: &Options) -> serde_json::Value {
    use candle_core::quantized::gguf_file;
    use candle_core::{Device, Tensor};
    use candle_transformers::models::{quantized_llama, quantized_qwen2};

    enum M {
        Llama(quantized_llama::ModelWeights),
        Qwen2(quantized_qwen2::ModelWeights),
    }
    impl M {
        fn forward(&mut self, x: &Tensor, pos: usize) -> Tensor {
            match self {
                M::Llama(m) => m.forward(x, pos),
                M::Qwen2(m) => m.forward(x, pos),
            }
            .expect("candle forward")
        }
    }
    let dev = Device::Cpu;
    let t0 = Instant::now();
    let mut f = std::fs::File::open(file).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let arch = content.metadata["general.architecture"]
        .to_string()
        .unwrap()
        .clone();
    let vocab = content.tensor_infos["token_embd.weight"].shape.dims()[0];
    let mut m = match arch.as_str() {
        "qwen2" => {
            M::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, &mut f, &dev).unwrap())
        }
        _ => M::Llama(quantized_llama::ModelWeights::from_gguf(content, &mut f, &dev).unwrap()),
    };
    let load_s = t0.elapsed().as_secs_f64();
    let prompt = prompt_ids(o.prompt, 0, vocab);
    let t0 = Instant::now();
    let x = Tensor::new(prompt.as_slice(), &dev)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let mut logits = m.forward(&x, 0);
    let prefill_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for i in 0..o.decode {
        let next = logits
            .flatten_all()
            .unwrap()
            .argmax(0)
            .unwrap()
            .to_scalar::<u32>()
            .unwrap();
        let x = Tensor::new(&[next], &dev).unwrap().unsqueeze(0).unwrap();
        logits = m.forward(&x, o.prompt + i);
    }
    let decode_s = t0.elapsed().as_secs_f64();
    let turn = prompt_ids(o.turn, 1000, vocab);
    let t0 = Instant::now();
    let x = Tensor::new(turn.as_slice(), &dev)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    m.forward(&x, o.prompt + o.decode);
    let turn_s = t0.elapsed().as_secs_f64();
    serde_json::json!({
        "load_s": load_s,
        "prefill_tok_s": per_second(o.prompt, prefill_s),
        "decode_tok_s": per_second(o.decode, decode_s),
        "second_turn_prefill_ms": (turn_s * 1e4).round() / 10.0,
    })
}

#[cfg(not(feature = "candle-reference"))]
fn candle(_: &Path, _: &Options) -> serde_json::Value {
    serde_json::Value::Null
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

fn main() {
    let o = parse_args();
    let mut results = Vec::new();
    for &shape in &o.shapes {
        for &quant in &o.quants {
            let file = ensure_model(&o.dir, shape, quant);
            let file_mib = std::fs::metadata(&file).unwrap().len() as f64 / (1 << 20) as f64;
            let ours = ours(&file, &o);
            let candle = candle(&file, &o);
            let ratio = |key: &str| match (ours[key].as_f64(), candle[key].as_f64()) {
                (Some(a), Some(b)) if b > 0.0 => serde_json::json!((a / b * 100.0).round() / 100.0),
                _ => serde_json::Value::Null,
            };
            let entry = serde_json::json!({
                "shape": shape.name(),
                "quant": quant.name(),
                "file_mib": (file_mib * 10.0).round() / 10.0,
                "ours": ours,
                "candle": candle,
                "speedup_vs_candle": {"prefill": ratio("prefill_tok_s"), "decode": ratio("decode_tok_s")},
            });
            eprintln!("{entry}");
            results.push(entry);
        }
    }
    let report = serde_json::json!({
        "benchmark": "llm",
        "machine": {"cpu": cpu_name(), "threads_used": 1},
        "build": {
            "target": std::env::consts::ARCH,
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "candle_reference": cfg!(feature = "candle-reference"),
        },
        "prompt_tokens": o.prompt,
        "decode_tokens": o.decode,
        "second_turn_tokens": o.turn,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
