//! `sotto chat` end to end on the fixture models: one prompt, raw mode, a multi-turn session.

use std::io::Write;
use std::process::{Command, Stdio};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/llm/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn sotto(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn one_prompt_as_json() {
    let model = fixture("qwen2-q8_0.gguf");
    let (ok, out, err) = sotto(
        &[
            "chat",
            "--model",
            &model,
            "--prompt",
            "Hello",
            "--max-tokens",
            "5",
            "--json",
        ],
        "",
    );
    assert!(ok, "{err}");
    let v = &json_lines(&out)[0];
    assert_eq!(v["tokens"].as_array().unwrap().len(), 5);
    // ChatML with the template's default system prompt: far more than the word itself.
    assert!(v["prompt_tokens"].as_u64().unwrap() > 20);
    assert!(v["text"].is_string() && v["prefill_ms"].is_number() && v["decode_ms"].is_number());
}

#[test]
fn raw_prompt_skips_the_template() {
    let (model, tok) = (fixture("llama-f32.gguf"), fixture("llama-tokenizer.json"));
    let args = [
        "chat",
        "--model",
        &model,
        "--tokenizer",
        &tok,
        "--raw",
        "--prompt",
        "The quick brown",
    ];
    let (ok, out, err) = sotto(&[&args[..], &["--max-tokens", "4", "--json"]].concat(), "");
    assert!(ok, "{err}");
    let v = &json_lines(&out)[0];
    // BOS + 10 pieces (`T he Ġ qu ic k Ġb ro w n` in this tiny vocabulary, as in the reference
    // prompt ids), with no chat markup around them.
    assert_eq!(v["prompt_tokens"], 11);
}

#[test]
fn interactive_multi_turn_session_reuses_the_cache() {
    let model = fixture("llama-q4_0.gguf");
    let args = [
        "chat",
        "--model",
        &model,
        "--system",
        "Be nice",
        "--max-tokens",
        "6",
        "--json",
    ];
    let (ok, out, err) = sotto(&args, "Hi there\nHow are you?\nBye\n\n");
    assert!(ok, "{err}");
    let turns = json_lines(&out);
    assert_eq!(turns.len(), 3);
    for pair in turns.windows(2) {
        assert!(pair[1]["prompt_tokens"].as_u64() > pair[0]["prompt_tokens"].as_u64());
        assert!(pair[1]["prefilled_tokens"].as_u64() < pair[1]["prompt_tokens"].as_u64());
    }
}

#[test]
fn bad_model_fails_with_its_name() {
    let (ok, _, err) = sotto(
        &[
            "chat",
            "--model",
            &fixture("llama-tokenizer.json"),
            "--prompt",
            "x",
        ],
        "",
    );
    assert!(!ok);
    assert!(
        err.contains("llama-tokenizer.json") && err.contains("not a GGUF"),
        "{err}"
    );
}

/// A GGUF without a chat template, written to a temporary folder: the fixture with its
/// `tokenizer.chat_template` key renamed (same length, so the file stays valid).
fn template_less_model(name: &str) -> std::path::PathBuf {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    let key = b"tokenizer.chat_template";
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap();
    bytes[at + key.len() - 1] = b'X';
    let dir = std::env::temp_dir().join(format!("sotto-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("no-template-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_model_without_a_template_names_the_fix_and_takes_one() {
    let model = template_less_model("qwen2-q8_0.gguf");
    let model = model.to_str().unwrap();
    let chat = ["chat", "--model", model, "--max-tokens", "3", "--json"];
    // Chat mode fails before reading any message, naming the file and both fixes.
    let (ok, out, err) = sotto(&chat, "Hi\n\n");
    assert!(!ok && out.is_empty());
    for needle in [
        model,
        "no chat template",
        "--chat-template",
        "--raw",
        "gemma",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let (ok, out, err) = sotto(&[&chat[..], &["--raw", "--prompt", "Hi"]].concat(), "");
    assert!(ok, "{err}");
    let raw_tokens = json_lines(&out)[0]["prompt_tokens"].as_u64().unwrap();
    // A built-in template, or one from a file.
    let (ok, out, err) = sotto(
        &[&chat[..], &["--chat-template", "chatml", "--prompt", "Hi"]].concat(),
        "",
    );
    assert!(ok, "{err}");
    // `<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n`
    let builtin_tokens = json_lines(&out)[0]["prompt_tokens"].as_u64().unwrap();
    assert!(builtin_tokens > raw_tokens + 5, "{builtin_tokens}");
    let file = std::path::Path::new(model).with_file_name("template.jinja");
    std::fs::write(&file, "{{ messages[0]['content'] }}").unwrap();
    let args = ["--chat-template", file.to_str().unwrap(), "--prompt", "Hi"];
    let (ok, out, err) = sotto(&[&chat[..], &args].concat(), "");
    assert!(ok, "{err}");
    assert_eq!(json_lines(&out)[0]["prompt_tokens"], raw_tokens);
    let (ok, _, err) = sotto(
        &[&chat[..], &["--chat-template", "nope", "--prompt", "Hi"]].concat(),
        "",
    );
    assert!(!ok && err.contains("gemma, chatml"), "{err}");
}
