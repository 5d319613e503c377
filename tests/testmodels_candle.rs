//! The generated tiny models load and run in candle-transformers' reference implementations
//! (quantized Llama / Qwen2 GGUF loaders, Whisper from safetensors and from the q8_0 GGUF).
//! Needs `--features candle-reference`.
#![cfg(all(not(target_arch = "wasm32"), feature = "candle-reference"))]

use std::fs::File;
use std::path::PathBuf;

use candle_core::quantized::gguf_file::Content;
use candle_core::{DType, Device, Tensor, D};
use candle_transformers::models::{quantized_llama, quantized_qwen2, whisper};
use sotto::testmodels::{write_tiny_llm, write_tiny_whisper, LlmFamily};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-candle-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn finite_max(t: &Tensor) -> f32 {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    v.iter().fold(0f32, |m, x| m.max(x.abs()))
}

#[test]
fn candle_runs_the_tiny_llms() {
    let dev = Device::Cpu;
    for family in [LlmFamily::Llama, LlmFamily::Qwen2] {
        let dir = temp_dir(&format!("{family:?}"));
        write_tiny_llm(&dir, family).unwrap();
        let mut last = Vec::new();
        for file in ["model-f32.gguf", "model-q8_0.gguf"] {
            let mut reader = File::open(dir.join(file)).unwrap();
            let content = Content::read(&mut reader).unwrap();
            let input = Tensor::new(&[[5u32, 70, 300, 999]], &dev).unwrap();
            let logits = match family {
                LlmFamily::Llama => {
                    let mut m =
                        quantized_llama::ModelWeights::from_gguf(content, &mut reader, &dev)
                            .unwrap();
                    m.forward(&input, 0).unwrap()
                }
                LlmFamily::Qwen2 => {
                    let mut m =
                        quantized_qwen2::ModelWeights::from_gguf(content, &mut reader, &dev)
                            .unwrap();
                    m.forward(&input, 0).unwrap()
                }
            };
            let logits = logits.flatten_all().unwrap();
            assert_eq!(logits.dims(), [1024], "{family:?} {file}");
            assert!(finite_max(&logits) > 0.0);
            last.push(
                logits
                    .argmax(D::Minus1)
                    .unwrap()
                    .to_scalar::<u32>()
                    .unwrap(),
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("{family:?}: next token f32 {} q8_0 {}", last[0], last[1]);
    }
}

#[test]
fn candle_runs_the_tiny_whisper_from_both_files() {
    let dev = Device::Cpu;
    let dir = temp_dir("whisper");
    write_tiny_whisper(&dir).unwrap();
    let config: whisper::Config =
        serde_json::from_reader(File::open(dir.join("config.json")).unwrap()).unwrap();
    let mel = Tensor::randn(0f32, 1.0, (1, 80, 3000), &dev).unwrap();
    // <|startoftranscript|><|en|><|transcribe|><|notimestamps|>
    let prompt = Tensor::new(&[[1025u32, 1026, 1126, 1130]], &dev).unwrap();

    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &dev,
        )
    }
    .unwrap();
    let mut f32_model = whisper::model::Whisper::load(&vb, config.clone()).unwrap();
    let audio = f32_model.encoder.forward(&mel, true).unwrap();
    assert_eq!(audio.dims(), [1, 1500, 64]);
    let hidden = f32_model.decoder.forward(&prompt, &audio, true).unwrap();
    let f32_logits = f32_model.decoder.final_linear(&hidden).unwrap();
    assert_eq!(f32_logits.dims(), [1, 4, 2632]);

    let qvb = candle_transformers::quantized_var_builder::VarBuilder::from_gguf(
        dir.join("model.gguf"),
        &dev,
    )
    .unwrap();
    let mut q_model = whisper::quantized_model::Whisper::load(&qvb, config).unwrap();
    let q_audio = q_model.encoder.forward(&mel, true).unwrap();
    let q_hidden = q_model.decoder.forward(&prompt, &q_audio, true).unwrap();
    let q_logits = q_model.decoder.final_linear(&q_hidden).unwrap();

    let scale = finite_max(&f32_logits);
    let diff = finite_max(&(f32_logits - q_logits).unwrap());
    eprintln!("whisper logits: max {scale}, f32 vs q8_0 max diff {diff}");
    assert!(
        diff < 0.1 * scale,
        "q8_0 GGUF and f32 safetensors disagree: {diff} vs {scale}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
