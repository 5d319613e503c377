//! A loaded Whisper checkpoint plus tokenizer, and the greedy transcription loop.

use candle_core::Tensor;

use super::context::SilenceTail;
use super::decode::{argmax, log_softmax, repetition_cut, token_budget, Rules};
use super::whisper::Whisper;
use super::{
    AsrError, Config, DecodeOptions, StopReason, TextStream, Transcript, TranscriptTimings,
    Weights, WhisperTokenizer,
};
use crate::audio::{self, N_SAMPLES};

/// Milliseconds on a monotonic clock (`performance`-free `Date.now()` in the browser).
fn now_ms() -> f64 {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        js_sys::Date::now()
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// Whisper ready to transcribe: model, tokenizer and config, all checked against each other.
pub struct Transcriber {
    /// The network.
    pub model: Whisper,
    /// The tokenizer.
    pub tokenizer: WhisperTokenizer,
    /// The encoded silence that completes a trimmed audio context.
    pub(super) silence: SilenceTail,
}

impl Transcriber {
    /// A transcriber of a loaded model and its tokenizer.
    pub fn new(model: Whisper, tokenizer: WhisperTokenizer) -> Self {
        Self {
            model,
            tokenizer,
            silence: SilenceTail::default(),
        }
    }

    /// Encodes the silence that completes a trimmed audio context now (one full-window encoder
    /// pass), so that the first utterance does not pay for it: call it while loading. Without
    /// it the first transcription that trims its context does it.
    pub fn warm_up(&self) -> Result<(), AsrError> {
        self.silence.cross_kv(&self.model)?;
        Ok(())
    }

    /// Loads from in-memory files; each `(bytes, name)` names its file in errors. The weight
    /// bytes are borrowed only while loading.
    pub fn from_bytes(
        config: (&[u8], &str),
        tokenizer: (&[u8], &str),
        weights: (&[u8], &str),
    ) -> Result<Self, AsrError> {
        let cfg = Config::from_json(config.0, config.1)?;
        let tokenizer = WhisperTokenizer::from_bytes(tokenizer.0, tokenizer.1, &cfg)?;
        let weights = Weights::from_bytes(weights.0, weights.1)?;
        let model = Whisper::load(&weights, &cfg)?;
        Ok(Self::new(model, tokenizer))
    }

    /// Loads `config.json`, `tokenizer.json` and a safetensors or GGUF weight file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_files(
        config: &std::path::Path,
        tokenizer: &std::path::Path,
        weights: &std::path::Path,
    ) -> Result<Self, AsrError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|source| AsrError::Io {
                name: p.display().to_string(),
                source,
            })
        };
        let cfg_name = config.display().to_string();
        let cfg = Config::from_json(&read(config)?, &cfg_name)?;
        let tok_name = tokenizer.display().to_string();
        let tokenizer = WhisperTokenizer::from_bytes(&read(tokenizer)?, &tok_name, &cfg)?;
        let weights = Weights::from_file(weights)?;
        let model = Whisper::load(&weights, &cfg)?;
        Ok(Self::new(model, tokenizer))
    }

    /// Transcribes 16 kHz mono samples (see [`Self::transcribe_streaming`]).
    pub fn transcribe(&self, pcm: &[f32], opts: &DecodeOptions) -> Result<Transcript, AsrError> {
        self.transcribe_streaming(pcm, opts, &mut |_| {})
    }

    /// Transcribes 16 kHz mono samples in successive 30 s windows, calling `on_text` with each
    /// completed piece of text as it is decoded.
    pub fn transcribe_streaming(
        &self,
        pcm: &[f32],
        opts: &DecodeOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Transcript, AsrError> {
        let seconds = pcm.len() as f64 / f64::from(audio::SAMPLE_RATE);
        if seconds > opts.max_seconds {
            return Err(AsrError::Option(format!(
                "{seconds:.0} s of audio is longer than the {:.0} s limit",
                opts.max_seconds
            )));
        }
        let mut language = self.requested_language(opts)?;
        let mut out = Transcript {
            text: String::new(),
            tokens: Vec::new(),
            language: None,
            no_speech_prob: 0.0,
            stop: StopReason::EndOfText,
            timings_ms: TranscriptTimings::default(),
        };
        let mut generated = 0usize;
        let mut stream = TextStream::new();
        let mut text_tokens = Vec::new();
        for (i, window) in pcm.chunks(N_SAMPLES).enumerate() {
            let w =
                self.transcribe_window(window, opts, language.as_deref(), &mut out.timings_ms)?;
            if i == 0 {
                out.no_speech_prob = w.no_speech_prob;
            }
            language = language.or(w.language);
            out.stop = out.stop.max(w.stop);
            generated += w.tokens.len();
            for &t in &w.tokens {
                if let Some(piece) = stream.push(&self.tokenizer, t)? {
                    on_text(&piece);
                }
            }
            text_tokens.extend(
                w.tokens
                    .iter()
                    .copied()
                    .filter(|&t| t < self.tokenizer.special.eot),
            );
            out.tokens.extend(w.tokens);
        }
        out.text = self.tokenizer.decode_text(&text_tokens)?.trim().to_string();
        out.language = language;
        out.timings_ms.per_token = out.timings_ms.decoder / generated.max(1) as f64;
        Ok(out)
    }

    /// The language the options ask for, checked against the model: a known code on multilingual
    /// models (`None` to detect it), and always `en` on English-only ones, which have no language
    /// to choose and cannot translate.
    fn requested_language(&self, opts: &DecodeOptions) -> Result<Option<String>, AsrError> {
        if !self.tokenizer.is_multilingual() {
            if let Some(code) = opts.language.as_deref().filter(|&code| code != "en") {
                return Err(AsrError::Option(format!(
                    "this Whisper model is English-only; it cannot transcribe language {code:?} \
                     (use a multilingual model, or language \"en\")"
                )));
            }
            if opts.translate {
                return Err(AsrError::Option(
                    "this Whisper model is English-only; it cannot translate".into(),
                ));
            }
            return Ok(Some("en".into()));
        }
        match &opts.language {
            Some(code) => {
                self.tokenizer
                    .language_token(code)
                    .ok_or_else(|| AsrError::Option(format!("unknown language code {code:?}")))?;
                Ok(Some(code.clone()))
            }
            None => Ok(None),
        }
    }

    /// Encoder positions to run for `n_computed` audio frames: the utterance and a margin
    /// ([`super::context`]), or the whole window.
    pub fn audio_ctx(&self, n_computed: usize, opts: &DecodeOptions) -> usize {
        let max = self.model.config.max_source_positions;
        if opts.full_window {
            max
        } else {
            (n_computed.div_ceil(2) + opts.audio_ctx_margin).min(max)
        }
    }

    /// Mel frames → encoder output for one window of at most 30 s: `[audio_ctx, d_model]`.
    pub fn encode(&self, window: &[f32], opts: &DecodeOptions) -> Result<Tensor, AsrError> {
        let n_mels = self.model.config.num_mel_bins;
        let mel = audio::log_mel_spectrogram(window, n_mels);
        let ctx = self.audio_ctx(mel.n_computed, opts);
        Ok(self
            .model
            .encoder
            .forward(&mel.frames(2 * ctx), n_mels, 2 * ctx)?)
    }

    fn transcribe_window(
        &self,
        window: &[f32],
        opts: &DecodeOptions,
        language: Option<&str>,
        timings: &mut TranscriptTimings,
    ) -> Result<WindowResult, AsrError> {
        let special = &self.tokenizer.special;
        let n_mels = self.model.config.num_mel_bins;
        let t0 = now_ms();
        let mel = audio::log_mel_spectrogram(window, n_mels);
        let ctx = self.audio_ctx(mel.n_computed, opts);
        let frames = mel.frames(2 * ctx);
        let t1 = now_ms();
        let encoded = self.model.encoder.forward(&frames, n_mels, 2 * ctx)?;
        let t2 = now_ms();
        timings.mel += t1 - t0;
        timings.encoder += t2 - t1;

        let decoder = &self.model.decoder;
        let mut cross_kv = decoder.cross_kv(&encoded)?;
        if ctx < self.model.config.max_source_positions {
            // The trimmed context, completed to the full window with encoded silence.
            cross_kv = cross_kv.followed_by(&self.silence.cross_kv(&self.model)?)?;
        }
        let mut state = decoder.start_with(cross_kv);
        // The start-of-transcript position gives both the language and the no-speech probability.
        let first: Vec<f32> = decoder
            .forward_last(&mut state, &[special.sot])?
            .to_vec1()?;
        let logprobs = log_softmax(&first);
        let no_speech_prob = special
            .no_speech
            .map_or(0.0, |t| logprobs[t as usize].exp());
        // English-only models always have `language` (`en`), so only multilingual ones detect.
        let language = match language {
            Some(code) => code.to_string(),
            None => {
                let ids: Vec<u32> = special.languages.iter().map(|&(_, id)| id).collect();
                let scores: Vec<f32> = ids.iter().map(|&id| first[id as usize]).collect();
                let best = ids[argmax(&scores) as usize];
                self.tokenizer
                    .language_code(best)
                    .unwrap_or("en")
                    .to_string()
            }
        };
        let mut result = WindowResult {
            tokens: Vec::new(),
            language: Some(language.clone()),
            no_speech_prob,
            stop: StopReason::NoSpeech,
        };
        if no_speech_prob > opts.no_speech_threshold {
            timings.decoder += now_ms() - t2;
            return Ok(result);
        }
        // openai-whisper's `sot_sequence`: language and task only for multilingual models.
        let mut prompt = Vec::new();
        if let Some(token) = self.tokenizer.language_token(&language) {
            prompt.push(token);
            prompt.push(if opts.translate {
                special.translate
            } else {
                special.transcribe
            });
        }
        if !opts.timestamps {
            prompt.push(special.no_timestamps);
        }
        let mut logits = if prompt.is_empty() {
            first
        } else {
            decoder.forward_last(&mut state, &prompt)?.to_vec1()?
        };
        let rules = self.rules(opts.timestamps);
        let seconds = window.len() as f64 / f64::from(audio::SAMPLE_RATE);
        let budget = opts
            .max_tokens
            .min(token_budget(seconds))
            .min(decoder.max_positions().saturating_sub(state.len()));
        result.stop = StopReason::TokenLimit;
        for _ in 0..budget {
            rules.apply(&mut logits, &result.tokens);
            let token = argmax(&logits);
            result.tokens.push(token);
            if token == special.eot {
                result.stop = StopReason::EndOfText;
                break;
            }
            if let Some(keep) = repetition_cut(&result.tokens) {
                result.tokens.truncate(keep);
                result.stop = StopReason::Repetition;
                break;
            }
            if result.tokens.len() == budget {
                break;
            }
            logits = decoder.forward_last(&mut state, &[token])?.to_vec1()?;
        }
        timings.decoder += now_ms() - t2;
        Ok(result)
    }

    fn rules(&self, timestamps: bool) -> Rules<'_> {
        let special = &self.tokenizer.special;
        let cfg = &self.model.config;
        let mut suppress = cfg.suppress_tokens.clone();
        suppress.extend([special.transcribe, special.translate, special.sot]);
        suppress.extend(special.start_of_prev);
        suppress.extend(special.start_of_lm);
        suppress.extend(special.no_speech);
        suppress.retain(|&t| (t as usize) < cfg.vocab_size);
        let mut begin_suppress = cfg.begin_suppress_tokens.clone();
        if begin_suppress.is_empty() {
            begin_suppress = self.tokenizer.encode(" ").unwrap_or_default();
            begin_suppress.push(special.eot);
        }
        Rules {
            special,
            suppress,
            begin_suppress,
            timestamps,
        }
    }
}

struct WindowResult {
    tokens: Vec<u32>,
    language: Option<String>,
    no_speech_prob: f32,
    stop: StopReason,
}
