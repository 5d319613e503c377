//! Whisper: weights (safetensors, GGUF, CTranslate2 `model.bin`), config.json and tokenizer.json
//! that are broken or belong to another model.

use sotto::asr::ctranslate2::Ct2Model;
use sotto::asr::{Transcriber, Weights};
use sotto::testmodels::{write_ct2_whisper, Ct2Quantization};

use super::llm_common::fixture;
use super::{load_whisper, scratch, tiny_whisper, Corpus};

fn good() -> Result<(), String> {
    load_whisper().map(|_| ())
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(tiny_whisper().join(name)).unwrap()
}

/// Loads with the good files except the ones given.
fn load(
    config: (&[u8], &str),
    tokenizer: (&[u8], &str),
    weights: (&[u8], &str),
) -> Result<(), String> {
    Transcriber::from_bytes(config, tokenizer, weights)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn bad_whisper_files() {
    let (cfg, tok) = (read("config.json"), read("tokenizer.json"));
    let (st, gguf) = (read("model.safetensors"), read("model.gguf"));
    let cfg = (cfg.as_slice(), "config.json");
    let tok = (tok.as_slice(), "tokenizer.json");
    let mut corpus = Corpus::default();
    let mut weights = |name: &str, bytes: Vec<u8>, needles: &[&str]| {
        let mut all = vec![name];
        all.extend_from_slice(needles);
        corpus.case(name, || load(cfg, tok, (&bytes, name)), &all, good);
    };
    weights(
        "cut.safetensors",
        st[..st.len() / 2].to_vec(),
        &["safetensors"],
    );
    weights("cut-header.safetensors", st[..5].to_vec(), &["safetensors"]);
    let mut huge = st.clone();
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    weights("huge-header.safetensors", huge, &["header"]);
    let mut not_json = 8u64.to_le_bytes().to_vec();
    not_json.extend_from_slice(b"not json");
    weights("not-json.safetensors", not_json, &["header"]);
    weights(
        "cut.gguf",
        gguf[..gguf.len() / 2].to_vec(),
        &["invalid GGUF", "past the end"],
    );

    // A config of the same family but other sizes: the first tensor of the wrong shape is named.
    let mut wide: serde_json::Value = serde_json::from_slice(cfg.0).unwrap();
    wide["d_model"] = 128.into();
    let wide = serde_json::to_vec(&wide).unwrap();
    corpus.case(
        "config.json wider than the weights",
        || load((&wide, "wide/config.json"), tok, (&st, "model.safetensors")),
        &["model.safetensors", "shape"],
        good,
    );
    let llama_config = br#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1024}"#;
    corpus.case(
        "config.json of a chat model",
        || {
            load(
                (llama_config, "llama/config.json"),
                tok,
                (&st, "model.safetensors"),
            )
        },
        &["llama/config.json"],
        good,
    );
    corpus.case(
        "config.json not JSON",
        || {
            load(
                (b"{\"d_model\": 64,", "broken/config.json"),
                tok,
                (&st, "model.safetensors"),
            )
        },
        &["broken/config.json"],
        good,
    );
    let chat_tok = std::fs::read(fixture("qwen2-tokenizer.json")).unwrap();
    corpus.case(
        "tokenizer.json of a chat model",
        || {
            load(
                cfg,
                (&chat_tok, "qwen2/tokenizer.json"),
                (&st, "model.safetensors"),
            )
        },
        &[
            "qwen2/tokenizer.json",
            "not a Whisper tokenizer",
            "<|startoftranscript|>",
        ],
        good,
    );
    corpus.case(
        "tokenizer.json not JSON",
        || {
            load(
                cfg,
                (b"\x00\x01 not json", "binary/tokenizer.json"),
                (&st, "model.safetensors"),
            )
        },
        &["binary/tokenizer.json"],
        good,
    );
    corpus.finish(10);
}

#[test]
fn bad_ctranslate2_model_bin() {
    let dir = scratch("ct2");
    write_ct2_whisper(tiny_whisper(), &dir, Ct2Quantization::Float32).unwrap();
    let full = std::fs::read(dir.join("model.bin")).unwrap();
    let good = || {
        Ct2Model::parse(&full, "good/model.bin")
            .map(|m| assert_eq!(m.spec, "WhisperSpec"))
            .map_err(|e| e.to_string())
    };
    let mut corpus = Corpus::default();
    for (name, len) in [
        ("cut-in-version/model.bin", 2),
        ("cut-in-spec/model.bin", 9),
        ("cut-in-variables/model.bin", 200),
        ("cut-in-data/model.bin", full.len() / 2),
        ("cut-at-end/model.bin", full.len() - 1),
    ] {
        corpus.case(name, || Ct2Model::parse(&full[..len], name), &[name], good);
    }
    let mut b = full.clone();
    b[..4].copy_from_slice(&99u32.to_le_bytes());
    corpus.case(
        "version-99/model.bin",
        || Ct2Model::parse(&b, "version-99/model.bin"),
        &["version-99/model.bin", "binary version", "99"],
        good,
    );
    corpus.case(
        "gguf-as/model.bin",
        || Ct2Model::parse(b"GGUF\x03\0\0\0\0\0\0\0", "gguf-as/model.bin"),
        &["gguf-as/model.bin", "not a CTranslate2 model.bin"],
        good,
    );
    std::fs::remove_dir_all(&dir).unwrap();
    corpus.finish(7);
}

/// A GGUF whose tensors start at odd addresses (here the whole file does; a `general.alignment`
/// of 1 or a bad offset does the same to one tensor) loads the same values as an aligned one.
/// Candle reads a tensor's blocks in place as `f32`, `f16` and block structs, which must be
/// aligned, so the loader copies such a tensor first. Found by the `gguf` fuzz target, whose
/// build (debug assertions on) panicked without the copy: "unsafe precondition(s) violated:
/// slice::from_raw_parts requires the pointer to be aligned" in candle's `qtensor_from_ggml`; a
/// release build read misaligned memory instead. The debug-assertion check is what makes this
/// test fail without the copy; the fuzz smoke run replays the same case from its seed
/// `fuzz/corpus/gguf/unaligned-f32.gguf` under debug assertions in CI.
#[test]
fn unaligned_gguf_tensors_load_the_same() {
    let gguf = read("model.gguf");
    let mut shifted = vec![0u8; gguf.len() + 1];
    shifted[1..].copy_from_slice(&gguf);
    let odd = &shifted[1..];
    assert_ne!(
        odd.as_ptr() as usize % 2,
        0,
        "the copy starts at an odd address"
    );
    let aligned = Weights::from_bytes(&gguf, "model.gguf").unwrap();
    let unaligned = Weights::from_bytes(odd, "odd/model.gguf").unwrap();
    for (name, shape) in [
        ("model.encoder.layer_norm.weight", vec![64]),
        ("model.encoder.conv1.weight", vec![64, 80, 3]),
        ("model.encoder.layers.0.fc1.weight", vec![256, 64]),
        ("model.decoder.embed_tokens.weight", vec![2632, 64]),
    ] {
        let values = |w: &Weights| {
            w.tensor(name, &shape)
                .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        assert_eq!(values(&aligned), values(&unaligned), "{name}");
    }
    let (cfg, tok) = (read("config.json"), read("tokenizer.json"));
    load(
        (&cfg, "config.json"),
        (&tok, "tokenizer.json"),
        (odd, "odd/model.gguf"),
    )
    .unwrap();
}

/// A `tokenizer.json` that breaks off inside its `decoder` is an error, for Whisper and for the
/// chat model: tokenizers 0.23 panicked there (`expect("Helper")`); found by the
/// `chat_tokenizer` and `whisper_json` fuzz targets.
#[test]
fn tokenizer_json_broken_in_its_decoder_is_an_error() {
    let cfg = read("config.json");
    let cfg = sotto::asr::Config::from_json(&cfg, "config.json").unwrap();
    for bad in [
        &br#"{"decoder": {"type": "ByteLevel", 1: 2}}"#[..],
        &br#"{"decoder": {"type": "#[..],
        &br#"{"decoder": [}"#[..],
        &br#"{"decoder": "\ud800"}"#[..],
    ] {
        let whisper = sotto::asr::WhisperTokenizer::from_bytes(bad, "bad/tokenizer.json", &cfg);
        let error = whisper.err().expect("an error").to_string();
        assert!(error.contains("bad/tokenizer.json"), "{error}");
        assert!(error.contains("not a valid tokenizer.json"), "{error}");
        let chat = sotto::llm::tokenizer::TextTokenizer::from_json(bad);
        assert!(chat.is_err());
    }
    let (good, _) = (read("tokenizer.json"), ());
    sotto::asr::WhisperTokenizer::from_bytes(&good, "tokenizer.json", &cfg).unwrap();
}

/// A post-processor whose template names a special token it does not define is an error: read
/// untagged (its `type` misspelt, inside a `Sequence`), tokenizers 0.23 loaded it and panicked
/// on the first encode; found by the `chat_tokenizer` fuzz target.
#[test]
fn a_template_naming_an_undefined_special_token_is_an_error() {
    let good: serde_json::Value = serde_json::from_slice(&read("tokenizer.json")).unwrap();
    let mut bad = good.clone();
    bad["post_processor"] = serde_json::json!({"type": "Sequence", "processors": [
        {"ypet": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|missing|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [1], "tokens": ["<|endoftext|>"]}}}
    ]});
    let bytes = serde_json::to_vec(&bad).unwrap();
    let Err(error) = sotto::llm::tokenizer::TextTokenizer::from_json(&bytes) else {
        panic!("a template naming an undefined special token loaded");
    };
    let error = error.to_string();
    assert!(error.contains("<|missing|>"), "{error}");
    let good = serde_json::to_vec(&good).unwrap();
    sotto::llm::tokenizer::TextTokenizer::from_json(&good).unwrap();
}

/// A config whose sizes are far beyond any Whisper is an error that names the field, not an
/// overflow (`4 * d_model` panicked with overflow checks on; found by the `whisper_json` fuzz
/// target in the smoke run).
#[test]
fn a_config_with_huge_sizes_is_an_error() {
    let good: serde_json::Value = serde_json::from_slice(&read("config.json")).unwrap();
    for (field, value) in [
        ("d_model", serde_json::json!(8_888_888_888_888_888_884_u64)),
        ("vocab_size", serde_json::json!(1_u64 << 40)),
        ("decoder_ffn_dim", serde_json::json!(1_u64 << 62)),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        let bytes = serde_json::to_vec(&bad).unwrap();
        let error = sotto::asr::Config::from_json(&bytes, "huge/config.json")
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("huge/config.json") && error.contains(field),
            "{error}"
        );
    }
    sotto::asr::Config::from_json(&read("config.json"), "config.json").unwrap();
}
