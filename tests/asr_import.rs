//! `sotto import` on CTranslate2 Whisper checkpoints: the generated tiny Whisper written as
//! CTranslate2 would store it (f32, f16, int8), imported, and compared with the original
//! safetensors tensor by tensor and in transcription; malformed files are clear errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use safetensors::SafeTensors;
use sotto::asr::ctranslate2::whisper::import_whisper;
use sotto::asr::ctranslate2::Ct2Model;
use sotto::asr::{Config, DecodeOptions, Transcriber, Weights};
use sotto::testmodels::{
    ct2_model_bin, ct2_whisper_variables, write_ct2_whisper, write_tiny_whisper, Ct2Quantization,
    Ct2Var,
};

const HELLO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/asr/hello_16k.wav"
);

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sotto-import-{tag}-{}", std::process::id()))
}

fn import_cli(ct2: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
        .arg("import")
        .arg(ct2)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Every tensor of a safetensors file as (shape, dtype, f32 values).
fn tensors(path: &Path) -> HashMap<String, (Vec<usize>, safetensors::Dtype, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, t)| {
            let values = match t.dtype() {
                safetensors::Dtype::F32 => t
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                safetensors::Dtype::F16 => t
                    .data()
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                other => panic!("{name}: unexpected {other:?}"),
            };
            (name, (t.shape().to_vec(), t.dtype(), values))
        })
        .collect()
}

/// Weights CTranslate2 quantizes in int8 mode: linear, convolution and embedding weights.
fn quantizable(name: &str) -> bool {
    name.ends_with(".weight") && !name.contains("layer_norm") && !name.contains("embed_positions")
}

fn transcribe(dir: &Path, weights: &str) -> Vec<u32> {
    let t = Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join(weights),
    )
    .unwrap();
    let pcm = sotto::audio::read_wav_file(Path::new(HELLO), 60.0)
        .unwrap()
        .samples;
    let opts = DecodeOptions {
        language: Some("en".into()),
        no_speech_threshold: 1.0,
        max_tokens: 12,
        full_window: true,
        ..DecodeOptions::default()
    };
    t.transcribe(&pcm, &opts).unwrap().tokens
}

#[test]
fn ctranslate2_checkpoints_import_to_the_original_model() {
    let root = temp("roundtrip");
    let hf = root.join("hf");
    write_tiny_whisper(&hf).unwrap();
    let original = tensors(&hf.join("model.safetensors"));
    let original_tokens = transcribe(&hf, "model.safetensors");
    let read_config = |dir: &Path| {
        let bytes = std::fs::read(dir.join("config.json")).unwrap();
        Config::from_json(&bytes, "config.json").unwrap()
    };
    for quantization in [
        Ct2Quantization::Float32,
        Ct2Quantization::Float16,
        Ct2Quantization::Int8,
    ] {
        let tag = format!("{quantization:?}");
        let ct2 = root.join(format!("ct2-{tag}"));
        let out = root.join(format!("out-{tag}"));
        write_ct2_whisper(&hf, &ct2, quantization).unwrap();
        let run = import_cli(&ct2, &out);
        assert!(
            run.status.success(),
            "{tag}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(read_config(&out), read_config(&hf), "{tag}: config.json");

        let imported = tensors(&out.join("model.safetensors"));
        let mut names: Vec<_> = imported.keys().collect();
        names.sort();
        let mut expected: Vec<_> = original.keys().collect();
        expected.sort();
        assert_eq!(names, expected, "{tag}: tensor names");
        for (name, (shape, dtype, values)) in &imported {
            let (orig_shape, _, orig) = &original[name];
            assert_eq!(shape, orig_shape, "{tag}: {name}");
            match quantization {
                Ct2Quantization::Float32 => {
                    assert_eq!(*dtype, safetensors::Dtype::F32, "{name}");
                    assert_eq!(values, orig, "{tag}: {name} changed");
                }
                Ct2Quantization::Float16 => {
                    assert_eq!(*dtype, safetensors::Dtype::F16, "{name}");
                    let rounded: Vec<f32> = orig
                        .iter()
                        .map(|&x| half::f16::from_f32(x).to_f32())
                        .collect();
                    assert_eq!(values, &rounded, "{tag}: {name} is not the f16 original");
                }
                Ct2Quantization::Int8 => {
                    assert_eq!(*dtype, safetensors::Dtype::F32, "{name}: dequantized");
                    if !quantizable(name) {
                        assert_eq!(values, orig, "{tag}: {name} changed");
                        continue;
                    }
                    // Per output row: within half a quantization step (max |x| / 127 / 2).
                    let cols = orig.len() / shape[0];
                    for (row, (got, want)) in values.chunks(cols).zip(orig.chunks(cols)).enumerate()
                    {
                        let step = want.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
                        let worst = got
                            .iter()
                            .zip(want)
                            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                        assert!(
                            worst <= step * 0.5001 + 1e-7,
                            "{tag}: {name} row {row} off by {worst}, step {step}"
                        );
                    }
                }
            }
        }
        // The q8_0 GGUF holds the same tensors, within q8_0's own rounding.
        let gguf = Weights::from_file(&out.join("model-q8_0.gguf")).unwrap();
        for (name, (shape, _, values)) in &imported {
            let got = gguf.tensor(name, shape).unwrap();
            let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
            let amax = values.iter().fold(0f32, |m, x| m.max(x.abs()));
            let worst = got
                .iter()
                .zip(values)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            // Half a q8_0 step, plus the f16 rounding of the block's scale (127 × 2⁻¹¹ steps).
            assert!(
                worst <= amax / 127.0 * 0.57 + 1e-7,
                "{tag}: GGUF {name} off by {worst}"
            );
        }
        let tokens = transcribe(&out, "model.safetensors");
        assert!(!tokens.is_empty(), "{tag}");
        if quantization == Ct2Quantization::Float32 {
            assert_eq!(
                tokens, original_tokens,
                "{tag}: f32 import transcribes differently"
            );
        }
        assert!(
            !transcribe(&out, "model-q8_0.gguf").is_empty(),
            "{tag}: GGUF"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_imported_generation_config_follows_openai_whisper() {
    let root = temp("generation");
    let hf = root.join("hf");
    write_tiny_whisper(&hf).unwrap();
    write_ct2_whisper(&hf, &root.join("ct2"), Ct2Quantization::Float32).unwrap();
    assert!(import_cli(&root.join("ct2"), &root.join("out"))
        .status
        .success());
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let got = read(root.join("out/generation_config.json"));
    let want = read(hf.join("generation_config.json"));
    for key in [
        "suppress_tokens",
        "begin_suppress_tokens",
        "decoder_start_token_id",
        "eos_token_id",
        "no_timestamps_token_id",
        "prev_sot_token_id",
        "max_length",
    ] {
        assert_eq!(got[key], want[key], "{key}");
    }
    // openai-whisper: multilingual means a vocabulary of 51865 tokens or more. The tiny test
    // vocabulary is smaller, so it is English-only by that rule, whatever its tokenizer holds.
    let vocab = read(hf.join("config.json"))["vocab_size"].as_u64().unwrap();
    assert!(vocab < 51865);
    assert_eq!(got["is_multilingual"], false);
    assert!(got.get("lang_to_id").is_none() && got.get("task_to_id").is_none());
    // CTranslate2's default alignment heads: every head of the last half of the decoder layers.
    assert_eq!(
        got["alignment_heads"],
        serde_json::json!([[1, 0], [1, 1], [1, 2], [1, 3]])
    );
    std::fs::remove_dir_all(&root).unwrap();
}

fn var(name: &str, shape: &[usize], dtype_id: u8, data: Vec<u8>) -> Ct2Var {
    Ct2Var {
        name: name.into(),
        shape: shape.to_vec(),
        dtype_id,
        data,
    }
}

fn parse_error(bytes: &[u8]) -> String {
    Ct2Model::parse(bytes, "bad/model.bin")
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_model_bin_files_are_clear_errors() {
    let vars = [
        var("a/weight", &[2, 2], 1, vec![1, 2, 3, 4]),
        var(
            "a/weight_scale",
            &[2],
            0,
            [2f32, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        var("b/bias", &[3], 4, vec![0; 6]),
        var("num_heads", &[], 2, 6i16.to_le_bytes().to_vec()),
    ];
    let alias = [("c/weight".to_string(), "a/weight".to_string())];
    let good = ct2_model_bin("WhisperSpec", 3, &vars, &alias);
    let model = Ct2Model::parse(&good, "good").unwrap();
    assert_eq!(
        (model.binary_version, model.spec.as_str()),
        (6, "WhisperSpec")
    );
    assert_eq!(model.to_f32("a/weight").unwrap(), [0.5, 1.0, 0.75, 1.0]);
    assert_eq!(
        model.to_f32("c/weight").unwrap(),
        [0.5, 1.0, 0.75, 1.0],
        "alias + its scale"
    );
    assert_eq!(model.scalar_int("num_heads").unwrap(), 6);

    // Every truncation is an error naming the file, never a panic.
    for len in 0..good.len() {
        let e = parse_error(&good[..len]);
        assert!(e.starts_with("bad/model.bin: "), "{len}: {e}");
    }
    let mut bad = good.clone();
    bad[..4].copy_from_slice(&7u32.to_le_bytes());
    assert!(
        parse_error(&bad).contains("binary version 4 to 6"),
        "{}",
        parse_error(&bad)
    );
    bad[..4].copy_from_slice(&3u32.to_le_bytes());
    assert!(parse_error(&bad).contains("version 3"));

    // The variable count sits after the version (4), the spec name (2 + 12) and the revision (4).
    let count_at = 4 + 2 + "WhisperSpec".len() + 1 + 4;
    let mut huge = good.clone();
    huge[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse_error(&huge);
    assert!(e.contains("claims 4294967295 variables"), "{e}");

    let var_at = count_at + 4;
    let name_len = 2 + "a/weight".len() + 1;
    let dtype_at = var_at + name_len + 1 + 2 * 4;
    let mut dtype = good.clone();
    dtype[dtype_at] = 9;
    let e = parse_error(&dtype);
    assert!(e.contains("a/weight has unknown type id 9"), "{e}");
    let mut bytes = good.clone();
    bytes[dtype_at + 1..dtype_at + 5].copy_from_slice(&5u32.to_le_bytes());
    let e = parse_error(&bytes);
    assert!(e.contains("should have 4 bytes, the file says 5"), "{e}");
    let mut shape = good.clone();
    shape[var_at + name_len + 1..var_at + name_len + 5].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(parse_error(&shape).contains("a/weight"));

    let mut trailing = good.clone();
    trailing.push(0);
    assert!(parse_error(&trailing).contains("1 unexpected bytes after the last alias"));
    let dangling = ct2_model_bin("WhisperSpec", 3, &vars, &[("x".into(), "nowhere".into())]);
    assert!(parse_error(&dangling).contains("alias x points to nowhere"));
    let duplicate = ct2_model_bin("WhisperSpec", 3, &[vars[2].clone(), vars[2].clone()], &[]);
    assert!(parse_error(&duplicate).contains("b/bias is stored twice"));

    let unscaled = ct2_model_bin("WhisperSpec", 3, &vars[..1], &[]);
    let model = Ct2Model::parse(&unscaled, "u/model.bin").unwrap();
    let e = model.to_f32("a/weight").unwrap_err().to_string();
    assert!(e.contains("without its scale a/weight_scale"), "{e}");
}

type Aliases = Vec<(String, String)>;

/// `import_whisper` on the tiny model's variables and aliases after `edit`; the error text.
fn whisper_error_with(edit: impl FnOnce(&mut Vec<Ct2Var>, &mut Aliases)) -> String {
    let root = temp(&format!("edit-{:?}", std::thread::current().id()));
    let hf = root.join("hf");
    write_tiny_whisper(&hf).unwrap();
    write_ct2_whisper(&hf, &root.join("ct2"), Ct2Quantization::Float32).unwrap();
    let mut vars = ct2_whisper_variables(&hf, Ct2Quantization::Float32).unwrap();
    let mut aliases = vec![(
        "decoder/projection/weight".to_string(),
        "decoder/embeddings/weight".to_string(),
    )];
    edit(&mut vars, &mut aliases);
    let bin = ct2_model_bin("WhisperSpec", 3, &vars, &aliases);
    let config = std::fs::read(root.join("ct2/config.json")).unwrap();
    let tokenizer = tokenizers::Tokenizer::from_file(hf.join("tokenizer.json")).unwrap();
    let result = Ct2Model::parse(&bin, "w/model.bin").and_then(|model| {
        import_whisper(&model, (&config, "w/config.json"), &tokenizer).map(|_| ())
    });
    std::fs::remove_dir_all(&root).unwrap();
    result.unwrap_err().to_string()
}

fn whisper_error(edit: impl FnOnce(&mut Vec<Ct2Var>)) -> String {
    whisper_error_with(|vars, _| edit(vars))
}

fn find<'v>(vars: &'v mut [Ct2Var], name: &str) -> &'v mut Ct2Var {
    vars.iter_mut().find(|v| v.name == name).unwrap()
}

#[test]
fn checkpoints_that_are_not_plain_whisper_are_refused() {
    let e = whisper_error(|vars| {
        let bias = find(vars, "encoder/layer_1/self_attention/linear_0/bias");
        bias.data[64 * 4..64 * 4 + 4].copy_from_slice(&0.5f32.to_le_bytes());
    });
    assert!(e.contains("the key bias is not zero"), "{e}");
    let e = whisper_error(|vars| vars.retain(|v| v.name != "decoder/layer_1/ffn/linear_0/weight"));
    assert!(
        e.contains("decoder/layer_1/ffn/linear_0/weight is missing"),
        "{e}"
    );
    let e = whisper_error(|vars| {
        let mut extra = vars[0].clone();
        extra.name = "encoder/layer_0/extra/weight".into();
        vars.push(extra);
    });
    assert!(
        e.contains("encoder/layer_0/extra/weight has no counterpart"),
        "{e}"
    );
    let e = whisper_error(|vars| find(vars, "decoder/activation").data = vec![1]);
    assert!(e.contains("decoder/activation"), "{e}");
    let e = whisper_error(|vars| find(vars, "decoder/scale_embeddings").data = vec![1]);
    assert!(e.contains("decoder/scale_embeddings"), "{e}");
    let e = whisper_error_with(|vars, aliases| {
        let mut projection = find(vars, "decoder/embeddings/weight").clone();
        projection.name = "decoder/projection/weight".into();
        projection.data[0] ^= 1;
        vars.push(projection);
        aliases.clear();
    });
    assert!(e.contains("decoder/projection/weight differs"), "{e}");
    assert!(e.starts_with("w/model.bin: "), "{e}");
    // A stored projection equal to the embedding is as good as the alias.
    let e = whisper_error_with(|vars, aliases| {
        let mut projection = find(vars, "decoder/embeddings/weight").clone();
        projection.name = "decoder/projection/weight".into();
        vars.push(projection);
        aliases.clear();
        find(vars, "decoder/alibi").data = vec![1];
    });
    assert!(e.contains("decoder/alibi"), "{e}");
}

#[test]
fn the_cli_names_the_broken_file() {
    let root = temp("cli-bad");
    let hf = root.join("hf");
    write_tiny_whisper(&hf).unwrap();
    let ct2 = root.join("ct2");
    write_ct2_whisper(&hf, &ct2, Ct2Quantization::Float16).unwrap();
    let bin = ct2.join("model.bin");
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() / 2]).unwrap();
    let run = import_cli(&ct2, &root.join("out"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains(&format!("{}: truncated", bin.display())),
        "{stderr}"
    );
    assert!(!root.join("out/model.safetensors").exists());
    std::fs::remove_dir_all(&root).unwrap();
}
