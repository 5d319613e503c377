//! A token sequence with its KV cache, and the token-by-token generation loop over it.

use super::chat_model::ChatModel;
use super::kv_cache::KvCache;
use super::sampling::{Sampler, SamplingParams};
use super::think::{self, ThinkFilter};
use super::{now_ms, LlmError};

/// How to generate a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Upper bound on generated tokens.
    pub max_tokens: usize,
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// Generation stops before any of these strings (which are not returned).
    pub stop_strings: Vec<String>,
    /// For a [`super::Conversation`]: the ids its prompt and reply may take together, 0 for the
    /// model's whole context. Past it the oldest exchanges are forgotten, in one step down to
    /// half of it, and the KV cache reserves it at the first turn, so that a long session's
    /// memory stops growing there (a voice session of 200 turns grew by 370 MiB without it).
    pub conversation_tokens: usize,
}

/// [`GenerateOptions::conversation_tokens`]'s default: about 20 short spoken exchanges, 47 MiB of
/// KV cache on SmolLM2-135M.
pub const DEFAULT_CONVERSATION_TOKENS: usize = 1024;

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            sampling: SamplingParams::default(),
            stop_strings: Vec::new(),
            conversation_tokens: DEFAULT_CONVERSATION_TOKENS,
        }
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-turn token.
    EndToken,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` or the context was reached.
    Length,
    /// The caller stopped pulling tokens.
    Cancelled,
}

/// Counters and timings of one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationStats {
    /// Tokens of the whole prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens actually computed (the rest came from the KV cache).
    pub prefilled_tokens: usize,
    /// Prefill wall time.
    pub prefill_ms: f64,
    /// Generated token ids.
    pub tokens: Vec<u32>,
    /// Decode wall time (sampling and forward passes after the first token).
    pub decode_ms: f64,
}

/// Token ids fed to the model so far and their KV cache.
#[derive(Debug, Clone)]
pub struct Session {
    cache: KvCache,
    fed: Vec<u32>,
}

impl Session {
    /// An empty session for `chat`'s model.
    pub fn new(chat: &ChatModel) -> Self {
        Session {
            cache: chat.model.new_cache(),
            fed: Vec::new(),
        }
    }

    /// Makes room in the KV cache for `positions` positions in all, now (see
    /// [`GenerateOptions::conversation_tokens`]).
    pub fn reserve(&mut self, positions: usize) {
        self.cache.reserve_positions(positions);
    }

    /// Ids whose keys and values are cached.
    pub fn fed(&self) -> &[u32] {
        &self.fed
    }

    /// The KV cache.
    pub fn cache(&self) -> &KvCache {
        &self.cache
    }

    /// Makes the cache hold exactly `ids`: keeps the longest common prefix, rewinds the rest and
    /// prefills what is new (at least the last token, to have its logits). Returns the logits of the
    /// last id and how many ids were computed.
    pub fn sync(&mut self, chat: &ChatModel, ids: &[u32]) -> Result<(Vec<f32>, usize), LlmError> {
        if ids.is_empty() {
            return Err(LlmError::Shape("empty prompt".into()));
        }
        let context = chat.model.config.context_length;
        if ids.len() > context {
            return Err(LlmError::PromptTooLong {
                tokens: ids.len(),
                context,
            });
        }
        let common = self.fed.iter().zip(ids).take_while(|(a, b)| a == b).count();
        let keep = common.min(ids.len() - 1);
        self.cache.truncate(keep);
        self.fed.truncate(keep);
        let logits = chat.model.forward(&ids[keep..], &mut self.cache, false)?;
        self.fed.extend_from_slice(&ids[keep..]);
        Ok((logits, ids.len() - keep))
    }

    /// Feeds one more token and returns its logits.
    pub fn push(&mut self, chat: &ChatModel, token: u32) -> Result<Vec<f32>, LlmError> {
        let logits = chat.model.forward(&[token], &mut self.cache, false)?;
        self.fed.push(token);
        Ok(logits)
    }
}

/// The state of one generation: sampler, incremental detokenizer and stop-string guard.
#[derive(Debug)]
pub struct Generation {
    options: GenerateOptions,
    sampler: Sampler,
    logits: Option<Vec<f32>>,
    /// A sampled token not yet fed to the model (fed lazily, so cancelling costs nothing).
    pending: Option<u32>,
    prefix_offset: usize,
    read_offset: usize,
    /// Text handed to the caller.
    pub emitted: String,
    held: String,
    /// Removes think blocks, for models whose vocabulary has `<think>`.
    think: Option<ThinkFilter>,
    /// Counters and timings.
    pub stats: GenerationStats,
    /// Set once the generation has ended.
    pub finish: Option<FinishReason>,
}

impl Generation {
    /// Prefills `prompt` into `session` and prepares to generate.
    pub fn start(
        chat: &ChatModel,
        session: &mut Session,
        prompt: &[u32],
        options: GenerateOptions,
    ) -> Result<Self, LlmError> {
        let t0 = now_ms();
        let (logits, prefilled) = session.sync(chat, prompt)?;
        let stats = GenerationStats {
            prompt_tokens: prompt.len(),
            prefilled_tokens: prefilled,
            prefill_ms: now_ms() - t0,
            ..Default::default()
        };
        Ok(Generation {
            think: think_filter(chat, prompt)?,
            sampler: Sampler::new(options.sampling.clone()),
            options,
            logits: Some(logits),
            pending: None,
            prefix_offset: 0,
            read_offset: 0,
            emitted: String::new(),
            held: String::new(),
            stats,
            finish: None,
        })
    }

    /// Produces the next piece of text (possibly empty while bytes of a character are pending), or
    /// `None` once finished.
    pub fn step(
        &mut self,
        chat: &ChatModel,
        session: &mut Session,
    ) -> Option<Result<String, LlmError>> {
        if self.finish.is_some() {
            return None;
        }
        let t0 = now_ms();
        let result = self.step_inner(chat, session);
        self.stats.decode_ms += now_ms() - t0;
        match result {
            Ok(Some(text)) => Some(Ok(text)),
            Ok(None) => None,
            Err(e) => {
                self.finish = Some(FinishReason::Cancelled);
                Some(Err(e))
            }
        }
    }

    fn step_inner(
        &mut self,
        chat: &ChatModel,
        session: &mut Session,
    ) -> Result<Option<String>, LlmError> {
        if let Some(token) = self.pending.take() {
            if session.fed().len() >= chat.model.config.context_length {
                return self.end(chat, FinishReason::Length);
            }
            self.logits = Some(session.push(chat, token)?);
        }
        if self.stats.tokens.len() >= self.options.max_tokens {
            return self.end(chat, FinishReason::Length);
        }
        let mut logits = self
            .logits
            .take()
            .expect("logits are set after prefill and each push");
        let token = self.sampler.sample(&mut logits, session.fed());
        if chat.end_tokens.contains(&token) {
            return self.end(chat, FinishReason::EndToken);
        }
        self.stats.tokens.push(token);
        self.pending = Some(token);
        let mut piece = self.detokenize(chat)?;
        if let Some(filter) = self.think.as_mut() {
            piece = filter.push(&piece);
        }
        Ok(Some(self.guard_stop_strings(piece)))
    }

    /// HF `TextStreamer`-style incremental decoding: decode from a slightly earlier offset so that
    /// decoders that strip a leading space still see the context, and wait while the text ends in
    /// an incomplete UTF-8 sequence (U+FFFD).
    fn detokenize(&mut self, chat: &ChatModel) -> Result<String, LlmError> {
        let ids = &self.stats.tokens;
        let prev = chat
            .tokenizer
            .decode(&ids[self.prefix_offset..self.read_offset], true)?;
        let text = chat.tokenizer.decode(&ids[self.prefix_offset..], true)?;
        if text.len() > prev.len()
            && !text.ends_with('\u{FFFD}')
            && text.is_char_boundary(prev.len())
        {
            self.prefix_offset = self.read_offset;
            self.read_offset = ids.len();
            Ok(text[prev.len()..].to_string())
        } else {
            Ok(String::new())
        }
    }

    /// Emits text except a tail that could begin a stop string; ends at a complete stop string.
    fn guard_stop_strings(&mut self, piece: String) -> String {
        self.held.push_str(&piece);
        let stops = &self.options.stop_strings;
        if stops.is_empty() {
            let out = std::mem::take(&mut self.held);
            self.emitted.push_str(&out);
            return out;
        }
        if let Some(at) = stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            let out = self.held[..at].to_string();
            self.emitted.push_str(&out);
            self.held.clear();
            self.finish = Some(FinishReason::StopString);
            return out;
        }
        let keep_from = self
            .held
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| stops.iter().any(|s| s.starts_with(&self.held[i..])))
            .unwrap_or(self.held.len());
        let out = self.held[..keep_from].to_string();
        self.held.drain(..keep_from);
        self.emitted.push_str(&out);
        out
    }

    fn end(&mut self, chat: &ChatModel, reason: FinishReason) -> Result<Option<String>, LlmError> {
        let mut out = String::new();
        // Bytes still waiting for the rest of a character will never get it: emit them as decoded.
        if self.read_offset < self.stats.tokens.len() {
            let ids = &self.stats.tokens;
            let prev = chat
                .tokenizer
                .decode(&ids[self.prefix_offset..self.read_offset], true)?;
            let text = chat.tokenizer.decode(&ids[self.prefix_offset..], true)?;
            self.read_offset = ids.len();
            if let Some(tail) = text.get(prev.len()..) {
                let tail = match self.think.as_mut() {
                    Some(filter) => filter.push(tail),
                    None => tail.to_string(),
                };
                out = self.guard_stop_strings(tail);
                if self.finish.is_some() {
                    return Ok(Some(out));
                }
            }
        }
        // Text held as a possible `<think>` tag that never became one is real text.
        if let Some(rest) = self.think.as_mut().map(ThinkFilter::finish) {
            out.push_str(&self.guard_stop_strings(rest));
            if self.finish.is_some() {
                return Ok(Some(out));
            }
        }
        self.finish = Some(reason);
        // A held-back tail that never became a stop string is real text.
        let held = std::mem::take(&mut self.held);
        self.emitted.push_str(&held);
        out.push_str(&held);
        Ok((!out.is_empty()).then_some(out))
    }

    /// Marks the generation as cancelled by the caller (no more tokens are computed).
    pub fn cancel(&mut self) {
        if self.finish.is_none() {
            self.finish = Some(FinishReason::Cancelled);
        }
    }
}

/// A think-block filter when the model can think (its vocabulary has `<think>`): it starts
/// inside a block when the prompt ends by opening one.
fn think_filter(chat: &ChatModel, prompt: &[u32]) -> Result<Option<ThinkFilter>, LlmError> {
    if chat.tokenizer.token_id(think::OPEN).is_none() {
        return Ok(None);
    }
    let tail = chat
        .tokenizer
        .decode(&prompt[prompt.len().saturating_sub(4)..], true)?;
    Ok(Some(ThinkFilter::new(
        tail.trim_end().ends_with(think::OPEN),
    )))
}
