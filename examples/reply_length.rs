//! How long a chat model's spoken replies are, and how long they take to say: chooses the
//! defaults of the assistant's reply policy (`sotto::assistant::ReplyPolicy`). Native, one thread.
//!
//! `cargo run --release --example reply_length -- MODEL.gguf [--questions FILE] [--system TEXT]
//! [--max-tokens N] [--seed S] [--out FILE.json]`
//!
//! Each question is a fresh typed turn through the real assistant (chat model, chunker, embedded
//! voice) with the browser's sampling settings and no limit: the reply's length in sentences and
//! tokens, its sentences for reading, and when the spoken reply would end with all of it or its
//! first 1, 2 or 3 sentences (each chunk plays from when it is ready, after the one before).
//! Prints a summary and, with `--out`, the JSON of every reply.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sotto::assistant::{
    spoken_sentences, Assistant, AssistantConfig, AssistantEvent, ChatResponder, EmbeddedVoice,
    ReplyPolicy, WhisperRecognizer,
};
use sotto::llm::{ChatModel, Conversation, GenerateOptions, SamplingParams};

/// The sentence limits compared (0: none).
const LIMITS: [u32; 4] = [0, 1, 2, 3];

struct Options {
    model: PathBuf,
    questions: PathBuf,
    system: String,
    max_tokens: usize,
    seed: u64,
    out: Option<PathBuf>,
}

fn parse_args() -> Options {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        model: PathBuf::from(
            args.next()
                .expect("usage: reply_length MODEL.gguf [options]"),
        ),
        questions: PathBuf::from("examples/reply_length_questions.txt"),
        system: sotto::llm::DEFAULT_SYSTEM_PROMPT.into(),
        max_tokens: 256,
        seed: 0,
        out: None,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--questions" => o.questions = value.into(),
            "--system" => o.system = value,
            "--max-tokens" => o.max_tokens = value.parse().expect("--max-tokens N"),
            "--seed" => o.seed = value.parse().expect("--seed N"),
            "--out" => o.out = Some(value.into()),
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

/// One reply, spoken whole: its text, and each chunk's words and when it would stop sounding
/// (ms after the question; each chunk plays from when it is ready, after the one before).
struct Spoken {
    text: String,
    first_audio_ms: f64,
    chunks: Vec<(usize, f64)>,
}

impl Spoken {
    /// When the voice would stop with the first `sentences` sentences (0: all). A limited reply
    /// is a prefix of the whole one (the same sampling), so its chunks come at the same times.
    fn end_ms(&self, sentences: &[String], limit: usize) -> f64 {
        let words: usize = (sentences
            .iter()
            .take(if limit == 0 { usize::MAX } else { limit }))
        .map(|s| s.split_whitespace().count())
        .sum();
        let mut end = 0.0;
        for &(covered, chunk_end) in &self.chunks {
            end = chunk_end;
            if covered >= words {
                break;
            }
        }
        end
    }
}

fn speak(chat: &Arc<ChatModel>, o: &Options, question: &str) -> Spoken {
    let responder = ChatResponder {
        conversation: Some(Conversation::new(chat.clone(), Some(o.system.clone()))),
        // The browser's defaults (src/web/engine.rs `GenerationSettings`).
        options: GenerateOptions {
            max_tokens: o.max_tokens,
            sampling: SamplingParams {
                temperature: 0.7,
                top_k: 40,
                top_p: 0.9,
                repetition_penalty: 1.1,
                seed: o.seed,
                ..Default::default()
            },
            stop_strings: Vec::new(),
            conversation_tokens: sotto::llm::session::DEFAULT_CONVERSATION_TOKENS,
        },
    };
    let config = AssistantConfig {
        reply: ReplyPolicy::unlimited(),
        ..AssistantConfig::default()
    };
    let start = Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1e3;
    let mut assistant = Assistant::new(
        config,
        WhisperRecognizer::default(),
        responder,
        EmbeddedVoice::default(),
    );
    let mut events = assistant.ask(question, 0.0);
    let (mut text, mut first_audio_ms, mut end_ms) = (String::new(), f64::NAN, 0.0);
    let (mut chunks, mut words) = (Vec::new(), 0);
    loop {
        for event in events.drain(..) {
            match event {
                AssistantEvent::Reply { text: reply, .. } => text = reply,
                AssistantEvent::Audio {
                    text,
                    samples,
                    sample_rate,
                    ..
                } => {
                    let ready = now();
                    if first_audio_ms.is_nan() {
                        first_audio_ms = ready;
                    }
                    let duration = samples.len() as f64 * 1e3 / f64::from(sample_rate);
                    end_ms = f64::max(end_ms, ready) + duration;
                    words += text.split_whitespace().count();
                    chunks.push((words, end_ms));
                }
                AssistantEvent::Error(e) => panic!("{}", e.message),
                _ => {}
            }
        }
        if !assistant.has_work() || !text.is_empty() {
            break;
        }
        events = assistant.step(now());
    }
    Spoken {
        text,
        first_audio_ms,
        chunks,
    }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let o = parse_args();
    let chat = Arc::new(ChatModel::from_files(&o.model, None, None).expect("load the model"));
    let questions: Vec<String> = std::fs::read_to_string(&o.questions)
        .expect("read the questions")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for question in &questions {
        let spoken = speak(&chat, &o, question);
        let full = &spoken.text;
        let sentences = spoken_sentences(full);
        let tokens = chat.tokenizer.encode(full, false).expect("tokenize").len();
        let words = full.split_whitespace().count();
        eprintln!(
            "Q: {question}\n   {} sentences, {tokens} tokens",
            sentences.len()
        );
        for (i, s) in sentences.iter().enumerate() {
            eprintln!("   [{}] {s}", i + 1);
        }
        let row = serde_json::json!({
            "question": question,
            "reply": full,
            "sentences": sentences,
            "sentence_count": sentences.len(),
            "tokens": tokens,
            "words": words,
            "is_list": full.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("- ") || l.starts_with("* ")
                    || l.split_once(". ").is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            }),
            "first_audio_ms": spoken.first_audio_ms,
            "spoken_end_ms": LIMITS.iter()
                .map(|&n| (n.to_string(), serde_json::json!(spoken.end_ms(&sentences, n as usize))))
                .collect::<serde_json::Map<_, _>>(),
        });
        eprintln!("{row}");
        rows.push(row);
    }
    let column =
        |key: &str| -> Vec<f64> { rows.iter().map(|r| r[key].as_f64().unwrap()).collect() };
    let end = |n: u32| -> Vec<f64> {
        rows.iter()
            .map(|r| r["spoken_end_ms"][n.to_string()].as_f64().unwrap())
            .collect()
    };
    let summary = serde_json::json!({
        "model": o.model.display().to_string(),
        "questions": rows.len(),
        "system": o.system,
        "sampling": {"temperature": 0.7, "top_k": 40, "top_p": 0.9, "repetition_penalty": 1.1, "seed": o.seed, "max_tokens": o.max_tokens},
        "machine": format!("{} {}, native, one thread", std::env::consts::OS, std::env::consts::ARCH),
        "sentences": {"p50": percentile(&column("sentence_count"), 0.5), "p90": percentile(&column("sentence_count"), 0.9), "max": percentile(&column("sentence_count"), 1.0)},
        "tokens": {"p50": percentile(&column("tokens"), 0.5), "p90": percentile(&column("tokens"), 0.9), "max": percentile(&column("tokens"), 1.0)},
        "lists": rows.iter().filter(|r| r["is_list"] == true).count(),
        "first_audio_ms_p50": percentile(&column("first_audio_ms"), 0.5),
        "spoken_end_ms": LIMITS.iter().map(|&n| {
            let v = end(n);
            (if n == 0 { "all".to_string() } else { n.to_string() },
             serde_json::json!({"p50": percentile(&v, 0.5), "p90": percentile(&v, 0.9)}))
        }).collect::<serde_json::Map<_, _>>(),
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap());
    if let Some(out) = &o.out {
        let doc = serde_json::json!({"summary": summary, "replies": rows});
        std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).expect("write --out");
    }
}
