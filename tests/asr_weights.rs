//! Weight formats and bad input: GGUF (q8_0, q4_0) with the safetensors tensor names, corrupt and
//! truncated files, configs that do not match the weights, tokenizers of another vocabulary.

use std::collections::HashMap;
use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sotto::asr::whisper::Whisper;
use sotto::asr::{AsrError, Config, Weights, WhisperTokenizer};
use sotto::audio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asr");

fn read(f: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{f}")).unwrap()
}

fn config() -> Config {
    Config::from_json(&read("config.json"), "config.json").unwrap()
}

/// The fixture model as GGUF: matrices quantized to `dtype`, the rest (convs, norms, biases) f32,
/// as candle's quantized Whisper files are laid out.
fn to_gguf(dtype: GgmlDType) -> Vec<u8> {
    let tensors: HashMap<String, Tensor> =
        candle_core::safetensors::load_buffer(&read("model.safetensors"), &Device::Cpu).unwrap();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let quantized: Vec<(String, QTensor)> = names
        .iter()
        .map(|&name| {
            let t = &tensors[name];
            let dims = t.dims();
            let q = if dims.len() == 2 && dims[1] % 32 == 0 {
                QTensor::quantize(t, dtype)
            } else {
                QTensor::quantize(t, GgmlDType::F32)
            };
            (name.clone(), q.unwrap())
        })
        .collect();
    let refs: Vec<(&str, &QTensor)> = quantized.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &[], &refs).unwrap();
    out.into_inner()
}

fn prompt_logits(model: &Whisper) -> Vec<f32> {
    let pcm = audio::decode_wav_16k(&read("hello_16k.wav"), "hello", 60.0)
        .unwrap()
        .samples;
    let mel = audio::log_mel_spectrogram(&pcm, 80);
    let encoded = model.encoder.forward(&mel.frames(600), 80, 600).unwrap();
    let mut state = model.decoder.start(&encoded).unwrap();
    let logits = model.decoder.forward(&mut state, &[3, 1, 2, 0]).unwrap();
    logits.get(3).unwrap().to_vec1().unwrap()
}

#[test]
fn gguf_q8_0_and_q4_0_load_with_the_same_names_and_stay_close() {
    let cfg = config();
    let dense = Weights::from_bytes(&read("model.safetensors"), "model.safetensors").unwrap();
    let reference = prompt_logits(&Whisper::load(&dense, &cfg).unwrap());
    for (dtype, tolerance) in [
        (GgmlDType::F32, 1e-4),
        (GgmlDType::Q8_0, 0.5),
        (GgmlDType::Q4_0, 6.0),
    ] {
        let bytes = to_gguf(dtype);
        let weights = Weights::from_bytes(&bytes, "model.gguf").unwrap();
        drop(bytes);
        let logits = prompt_logits(&Whisper::load(&weights, &cfg).unwrap());
        let diff = logits
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < tolerance, "{dtype:?}: logits differ by {diff}");
        let corr = correlation(&logits, &reference);
        eprintln!("{dtype:?}: max |Δ| {diff}, correlation {corr}");
        if dtype == GgmlDType::F32 {
            continue;
        }
        assert!(diff > 0.0, "{dtype:?} must actually be quantized");
        // Random weights of std 0.25 are harsh on 4-bit blocks; the logits must still track.
        assert!(
            corr > if dtype == GgmlDType::Q8_0 { 0.999 } else { 0.8 },
            "{dtype:?}: {corr}"
        );
    }
}

/// Quantized matrices run on the project's integer kernels (`kernels::quant`); they agree with
/// candle's quantized matmul (same q8_0 activations, only f32 rounding differs), for one row (the
/// decoder's step) and for many (the encoder's frames, four at a time plus a remainder).
#[test]
fn quantized_matrices_agree_with_candles_quantized_matmul() {
    use candle_core::quantized::QMatMul;
    use candle_core::Module;
    use sotto::asr::Matrix;
    let (out, inp) = (48, 96);
    let values = |n: usize, seed: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
            .collect()
    };
    let w = Tensor::from_vec(values(out * inp, 1), (out, inp), &Device::Cpu).unwrap();
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
        let q = std::sync::Arc::new(QTensor::quantize(&w, dtype).unwrap());
        let weights = Weights::from_qtensors(HashMap::from([("w".to_string(), q.clone())]), "m");
        let ours = weights.matmul("w", out, inp).unwrap();
        assert!(
            matches!(ours, Matrix::Blocks(_)),
            "{dtype:?} uses the block kernels"
        );
        let candle = QMatMul::from_arc(q).unwrap();
        for rows in [1, 7] {
            let x =
                Tensor::from_vec(values(rows * inp, 2 + rows), (rows, inp), &Device::Cpu).unwrap();
            let a = ours.forward(&x).unwrap();
            assert_eq!(a.dims(), [rows, out]);
            let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = candle
                .forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for (i, (a, b)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{dtype:?} rows {rows} [{i}]: {a} vs candle {b}"
                );
            }
        }
    }
}

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f32], m: f32| v.iter().map(|x| (x - m) * (x - m)).sum::<f32>().sqrt();
    cov / (var(a, ma) * var(b, mb))
}

fn load_error(bytes: &[u8], name: &str, cfg: &Config) -> AsrError {
    match Weights::from_bytes(bytes, name) {
        Err(e) => e,
        Ok(w) => match Whisper::load(&w, cfg) {
            Err(e) => e,
            Ok(_) => panic!("{name} loaded"),
        },
    }
}

#[test]
fn corrupt_and_truncated_weights_are_errors_naming_the_file() {
    let cfg = config();
    let st = read("model.safetensors");
    let gguf = to_gguf(GgmlDType::Q8_0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("cut.safetensors", st[..st.len() / 2].to_vec()),
        ("header.safetensors", st[..4].to_vec()),
        (
            "garbage.safetensors",
            b"\xff\xff\xff\xff\xff\xff\xff\x7fnot json".to_vec(),
        ),
        ("cut.gguf", gguf[..gguf.len() / 2].to_vec()),
        ("header.gguf", gguf[..10].to_vec()),
        ("huge-count.gguf", {
            let mut g = gguf.clone();
            g[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            g
        }),
    ];
    for (name, bytes) in cases {
        let err = load_error(&bytes, name, &cfg);
        assert!(matches!(err, AsrError::Weights { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // GGUF goes through the crate's one reader, whose errors say what is wrong.
    for (name, bytes, problem) in [
        (
            "cut.gguf",
            gguf[..gguf.len() / 2].to_vec(),
            "lies past the end",
        ),
        (
            "header.gguf",
            gguf[..10].to_vec(),
            "truncated: tensor count",
        ),
        (
            "version-9.gguf",
            {
                let mut g = gguf.clone();
                g[4..8].copy_from_slice(&9u32.to_le_bytes());
                g
            },
            "GGUF version 9",
        ),
        // A `.gguf` without the magic is judged as GGUF (it was read as safetensors and said so).
        (
            "garbage.gguf",
            b"not a model at all, only text".to_vec(),
            "not a GGUF file",
        ),
    ] {
        let err = load_error(&bytes, name, &cfg).to_string();
        assert!(
            err.starts_with(&format!("{name}: invalid GGUF: ")) && err.contains(problem),
            "{err}"
        );
    }
}

#[test]
fn config_not_matching_the_weights_names_the_tensor() {
    let st = read("model.safetensors");
    let mut wide = config();
    wide.d_model = 128;
    let err = load_error(&st, "model.safetensors", &wide);
    assert!(matches!(err, AsrError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"));

    let mut deep = config();
    deep.encoder_layers = 3;
    let err = load_error(&st, "model.safetensors", &deep);
    assert!(
        err.to_string().contains("model.encoder.layers.2") && err.to_string().contains("missing"),
        "{err}"
    );

    let err = Config::from_json(b"{\"d_model\": 64}", "config.json").unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn tokenizer_of_another_vocabulary_is_refused() {
    let json = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
        "normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,
        "model":{"type":"WordLevel","vocab":{"<|endoftext|>":0,"<|startoftranscript|>":1,"a":2},
        "unk_token":"a"}}"#;
    let err = WhisperTokenizer::from_bytes(json.as_bytes(), "other.json", &config())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("other.json") && err.to_string().contains("another vocabulary"),
        "{err}"
    );
    let err = WhisperTokenizer::from_bytes(b"{", "broken.json", &config())
        .err()
        .unwrap();
    assert!(err.to_string().contains("broken.json"), "{err}");
}
