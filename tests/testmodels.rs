//! The generated test models: byte-identical on every run, readable by candle and `tokenizers`,
//! and consistent with themselves (vocab sizes, special ids, tensor shapes).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sotto::testmodels::{
    hash_files, write_gguf, write_tiny_llm, write_tiny_whisper, GgufTensor, LlmFamily,
};
use tokenizers::Tokenizer;

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sotto-testmodels-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_gguf(path: &Path) -> (Content, File) {
    let mut file = File::open(path).unwrap();
    let content = Content::read(&mut file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (content, file)
}

fn meta_u32(c: &Content, key: &str) -> u32 {
    c.metadata
        .get(key)
        .unwrap_or_else(|| panic!("missing {key}"))
        .to_u32()
        .unwrap()
}

fn meta_str<'a>(c: &'a Content, key: &str) -> &'a str {
    c.metadata
        .get(key)
        .unwrap_or_else(|| panic!("missing {key}"))
        .to_string()
        .unwrap()
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn two_runs_write_identical_bytes() {
    let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
    for root in [&a.0, &b.0] {
        write_tiny_whisper(&root.join("whisper")).unwrap();
        write_tiny_llm(&root.join("llama"), LlmFamily::Llama).unwrap();
        write_tiny_llm(&root.join("qwen2"), LlmFamily::Qwen2).unwrap();
    }
    for model in ["whisper", "llama", "qwen2"] {
        let names = all_files(&a.0.join(model));
        assert_eq!(names, all_files(&b.0.join(model)));
        let hashes_a = hash_files(&a.0.join(model), &names).unwrap();
        let hashes_b = hash_files(&b.0.join(model), &names).unwrap();
        assert_eq!(hashes_a, hashes_b, "{model} differs between two runs");
    }
}

/// Metadata, tensor types and values of one tiny LLM's GGUF pair.
fn check_llm(family: LlmFamily, arch: &str, specials: [u32; 3]) {
    let dir = TempDir::new(arch);
    write_tiny_llm(&dir.0, family).unwrap();
    assert_eq!(
        all_files(&dir.0),
        [
            "model-f32.gguf",
            "model-q8_0.gguf",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );

    let tokenizer = Tokenizer::from_file(dir.0.join("tokenizer.json")).unwrap();
    let vocab = tokenizer.get_vocab_size(true);
    assert_eq!(vocab, 1024);
    for (token, id) in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        .iter()
        .zip(specials)
    {
        assert_eq!(tokenizer.token_to_id(token), Some(id), "{token}");
    }
    let text = "Hello, how are you today?";
    let encoding = tokenizer.encode(text, true).unwrap();
    assert!(
        (5..=12).contains(&encoding.len()),
        "{:?}",
        encoding.get_tokens()
    );
    assert_eq!(tokenizer.decode(encoding.get_ids(), true).unwrap(), text);
    let chat = tokenizer
        .encode("<|im_start|>user\nhi<|im_end|>", false)
        .unwrap();
    assert_eq!(chat.get_ids()[0], specials[1]);
    assert_eq!(*chat.get_ids().last().unwrap(), specials[2]);

    let config: serde_json::Value =
        serde_json::from_reader(File::open(dir.0.join("tokenizer_config.json")).unwrap()).unwrap();
    let template = config["chat_template"].as_str().unwrap();
    assert!(template.contains("<|im_start|>") && template.contains("add_generation_prompt"));

    let (f32_file, mut f32_reader) = read_gguf(&dir.0.join("model-f32.gguf"));
    let (q8_file, mut q8_reader) = read_gguf(&dir.0.join("model-q8_0.gguf"));
    for (c, file_type) in [(&f32_file, 0), (&q8_file, 7)] {
        assert_eq!(meta_str(c, "general.architecture"), arch);
        assert_eq!(meta_u32(c, "general.file_type"), file_type);
        assert_eq!(meta_u32(c, &format!("{arch}.block_count")), 2);
        assert_eq!(meta_u32(c, &format!("{arch}.embedding_length")), 64);
        assert_eq!(meta_u32(c, &format!("{arch}.feed_forward_length")), 192);
        assert_eq!(meta_u32(c, &format!("{arch}.attention.head_count")), 4);
        assert_eq!(meta_u32(c, &format!("{arch}.attention.head_count_kv")), 2);
        assert_eq!(meta_u32(c, &format!("{arch}.context_length")), 2048);
        assert_eq!(meta_str(c, "tokenizer.ggml.model"), "gpt2");
        assert_eq!(meta_u32(c, "tokenizer.ggml.eos_token_id"), specials[2]);
        let tokens = c.metadata["tokenizer.ggml.tokens"].to_vec().unwrap();
        assert_eq!(tokens.len(), vocab);
        assert_eq!(
            tokens[specials[1] as usize].to_string().unwrap(),
            "<|im_start|>"
        );
        let merges = c.metadata["tokenizer.ggml.merges"].to_vec().unwrap();
        assert_eq!(merges.len(), 765);
        assert_eq!(meta_str(c, "tokenizer.chat_template"), template);
        let embd = &c.tensor_infos["token_embd.weight"];
        assert_eq!(embd.shape.dims(), [vocab, 64]);
        assert!(
            !c.tensor_infos.contains_key("output.weight"),
            "embeddings are tied"
        );
        let has_bias = c.tensor_infos.contains_key("blk.0.attn_q.bias");
        assert_eq!(has_bias, arch == "qwen2");
    }
    let rope = f32_file.metadata[&format!("{arch}.rope.freq_base")]
        .to_f32()
        .unwrap();
    assert_eq!(rope, if arch == "qwen2" { 1e6 } else { 1e5 });
    assert_eq!(f32_file.tensor_infos.len(), q8_file.tensor_infos.len());
    for (name, info) in &q8_file.tensor_infos {
        let expected = if info.shape.rank() == 2 {
            GgmlDType::Q8_0
        } else {
            GgmlDType::F32
        };
        assert_eq!(info.ggml_dtype, expected, "{name}");
        assert_eq!(
            f32_file.tensor_infos[name].ggml_dtype,
            GgmlDType::F32,
            "{name}"
        );
        // Same weights in both files, up to q8_0's rounding.
        let exact = dequantize(&f32_file, &mut f32_reader, name);
        let approx = dequantize(&q8_file, &mut q8_reader, name);
        let diff = (exact.clone() - approx)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        let scale = exact.abs().unwrap().max_all().unwrap();
        let (diff, scale) = (
            diff.to_scalar::<f32>().unwrap(),
            scale.to_scalar::<f32>().unwrap(),
        );
        assert!(
            diff <= scale / 120.0,
            "{name}: q8_0 differs by {diff} (max {scale})"
        );
    }
    // Weights look like the parity models: std about 0.25, norms about 1.
    let q = dequantize(&f32_file, &mut f32_reader, "blk.0.attn_q.weight");
    let std = q
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        .sqrt();
    assert!((0.22..0.28).contains(&std), "std {std}");
    let norm = dequantize(&f32_file, &mut f32_reader, "output_norm.weight");
    let mean = norm.mean_all().unwrap().to_scalar::<f32>().unwrap();
    assert!((0.95..1.05).contains(&mean), "norm mean {mean}");
}

fn dequantize(content: &Content, file: &mut File, name: &str) -> Tensor {
    let q: QTensor = content.tensor(file, name, &Device::Cpu).unwrap();
    q.dequantize(&Device::Cpu).unwrap()
}

#[test]
fn tiny_llama_family_reads_back() {
    check_llm(LlmFamily::Llama, "llama", [0, 1, 2]);
}

#[test]
fn tiny_qwen2_family_reads_back() {
    check_llm(LlmFamily::Qwen2, "qwen2", [1021, 1022, 1023]);
}

#[test]
fn tiny_whisper_is_consistent_and_in_hf_layout() {
    let dir = TempDir::new("whisper");
    write_tiny_whisper(&dir.0).unwrap();
    let json = |name: &str| -> serde_json::Value {
        serde_json::from_reader(File::open(dir.0.join(name)).unwrap()).unwrap()
    };
    let (config, generation) = (json("config.json"), json("generation_config.json"));

    let tokenizer = Tokenizer::from_file(dir.0.join("tokenizer.json")).unwrap();
    let vocab = tokenizer.get_vocab_size(true);
    assert_eq!(config["vocab_size"], vocab);
    assert_eq!(vocab, 1024 + 1608);
    let id = |t: &str| {
        tokenizer
            .token_to_id(t)
            .unwrap_or_else(|| panic!("{t} missing"))
    };
    assert_eq!(id("<|endoftext|>"), 1024);
    assert_eq!(id("<|startoftranscript|>"), 1025);
    assert_eq!(id("<|en|>"), 1026);
    assert_eq!(id("<|su|>"), 1124);
    assert_eq!(id("<|translate|>"), 1125);
    assert_eq!(id("<|transcribe|>"), 1126);
    assert_eq!(id("<|nospeech|>"), 1129);
    assert_eq!(id("<|notimestamps|>"), 1130);
    assert_eq!(id("<|0.00|>"), 1131);
    assert_eq!(id("<|0.02|>"), 1132);
    assert_eq!(id("<|30.00|>") as usize, vocab - 1);
    for c in [&config, &generation] {
        assert_eq!(c["decoder_start_token_id"], id("<|startoftranscript|>"));
        assert_eq!(c["eos_token_id"], id("<|endoftext|>"));
        assert_eq!(c["bos_token_id"], id("<|endoftext|>"));
        assert_eq!(c["pad_token_id"], id("<|endoftext|>"));
        assert_eq!(
            c["begin_suppress_tokens"],
            serde_json::json!([id("Ġ"), id("<|endoftext|>")])
        );
        let suppress: Vec<u64> = serde_json::from_value(c["suppress_tokens"].clone()).unwrap();
        assert!(suppress.len() > 20 && suppress.iter().all(|&t| (t as usize) < vocab));
        assert!(suppress.contains(&u64::from(id("<|transcribe|>"))));
        assert!(suppress.contains(&u64::from(id("\""))));
        assert!(
            !suppress.contains(&u64::from(id("Ġ"))),
            "plain spaces stay allowed"
        );
    }
    assert_eq!(generation["no_timestamps_token_id"], id("<|notimestamps|>"));
    assert_eq!(generation["lang_to_id"]["<|en|>"], id("<|en|>"));

    // The prompt the ASR decoder starts from, and a text round trip.
    let prompt =
        "<|startoftranscript|><|en|><|transcribe|><|notimestamps|> hello, how are you today?";
    let ids = tokenizer.encode(prompt, false).unwrap().get_ids().to_vec();
    assert_eq!(ids[..4], [1025, 1026, 1126, 1130]);
    let text = tokenizer.decode(&ids[4..], true).unwrap();
    assert_eq!(text, " hello, how are you today?");
    let with_template = tokenizer.encode(" hello", true).unwrap();
    assert_eq!(with_template.get_ids()[..2], [1025, 1130]);

    // Names and shapes of the parity model (a real HF checkpoint), with our vocabulary.
    let layout: serde_json::Value = serde_json::from_str(include_str!(
        "fixtures/testmodels/whisper_parity_layout.json"
    ))
    .unwrap();
    let mut expected: BTreeMap<String, Vec<usize>> =
        serde_json::from_value(layout["tensors"].clone()).unwrap();
    expected.insert("model.decoder.embed_tokens.weight".into(), vec![vocab, 64]);
    let weights: HashMap<String, Tensor> =
        candle_core::safetensors::load(dir.0.join("model.safetensors"), &Device::Cpu).unwrap();
    let actual: BTreeMap<String, Vec<usize>> = weights
        .iter()
        .map(|(n, t)| (n.clone(), t.dims().to_vec()))
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(config["d_model"], 64);
    assert_eq!(config["encoder_layers"], 2);
    assert_eq!(config["decoder_ffn_dim"], 256);

    // Encoder positions are Whisper's sinusoids (what candle computes instead of reading them).
    let positions = weights["model.encoder.embed_positions.weight"]
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(positions[0][0], 0.0);
    assert_eq!(positions[0][32], 1.0);
    assert!((positions[100][0] - 100f32.sin()).abs() < 1e-5);

    // The GGUF: the same names, q8_0 where rows divide by 32, values within q8_0 rounding.
    let (gguf, mut reader) = read_gguf(&dir.0.join("model.gguf"));
    let gguf_names: BTreeMap<String, Vec<usize>> = gguf
        .tensor_infos
        .iter()
        .map(|(n, t)| (n.clone(), t.shape.dims().to_vec()))
        .collect();
    assert_eq!(gguf_names, actual);
    for (name, info) in &gguf.tensor_infos {
        let dims = info.shape.dims();
        let q8 = dims.len() == 2 && dims[1] % 32 == 0;
        let expected = if q8 { GgmlDType::Q8_0 } else { GgmlDType::F32 };
        assert_eq!(info.ggml_dtype, expected, "{name}");
        let from_gguf = dequantize(&gguf, &mut reader, name);
        let diff = (from_gguf - &weights[name])
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        let diff = diff.to_scalar::<f32>().unwrap();
        assert!(
            diff < if q8 { 0.01 } else { 0.0 } + f32::EPSILON,
            "{name}: {diff}"
        );
    }
}

#[test]
fn streaming_gguf_writer_matches_candles_writer() {
    let dir = TempDir::new("writer");
    let device = Device::Cpu;
    let a = Tensor::arange(0f32, 64.0 * 3.0, &device)
        .unwrap()
        .reshape((3, 64))
        .unwrap();
    let b = Tensor::new(&[1f32, -2.0, 3.5], &device).unwrap();
    let tensors = [
        ("a.weight", QTensor::quantize(&a, GgmlDType::Q8_0).unwrap()),
        ("b.bias", QTensor::quantize(&b, GgmlDType::F32).unwrap()),
    ];
    let metadata = [
        (
            "general.architecture".to_string(),
            Value::String("test".into()),
        ),
        ("answer".to_string(), Value::U32(42)),
        (
            "list".to_string(),
            Value::Array(vec![Value::I32(1), Value::I32(-1)]),
        ),
    ];
    let ours = dir.0.join("ours.gguf");
    let specs: Vec<GgufTensor> = tensors
        .iter()
        .map(|(name, t)| GgufTensor {
            name: name.to_string(),
            shape: t.shape().dims().to_vec(),
            dtype: t.dtype(),
        })
        .collect();
    write_gguf(&ours, &metadata, &specs, |spec, out| {
        let (_, t) = tensors.iter().find(|(n, _)| *n == spec.name).unwrap();
        out.write_all(&t.data().unwrap()).unwrap();
        Ok(())
    })
    .unwrap();
    let mut theirs = std::io::Cursor::new(Vec::new());
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    gguf_file::write(&mut theirs, &meta_refs, &tensor_refs).unwrap();
    let mut theirs = theirs.into_inner();
    theirs[4..8].copy_from_slice(&3u32.to_le_bytes()); // candle writes v2, llama.cpp (and we) v3
    assert_eq!(std::fs::read(&ours).unwrap(), theirs);
}
