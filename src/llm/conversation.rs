//! A multi-turn chat that keeps its KV cache between turns.
//!
//! Each turn renders the whole conversation with the model's template and syncs the session to it:
//! the cached prefix is reused, so a new turn computes only its new tokens. When the conversation no
//! longer fits in its budget (a share of the context), the oldest exchanges are dropped, down to
//! half the budget, and the remainder is re-prefilled, while the user is silent when possible.

use std::sync::Arc;

use super::chat_model::ChatModel;
use super::session::{FinishReason, GenerateOptions, Generation, GenerationStats, Session};
use super::template::{Message, Role};
use super::LlmError;

/// The assistant's system prompt when none is given. Chosen by trying prompts on the real
/// SmolLM2-135M-Instruct Q4_1 (the demo's model): with "Answer briefly, in one or two sentences"
/// or a name ("You are Sotto, …") it answered "What is the capital of France?" in French
/// ("Le Grand Paris - la femme de la France!"), with this one "The capital of France is Paris.",
/// and stayed on topic over a three-question conversation. How much of a reply is spoken is the
/// reply policy's job, not the prompt's.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant. Keep answers short.";

/// Words of the question [`Conversation::warm_up`] plans the next turn for: more than most spoken
/// questions, so that the turn itself rarely has to forget exchanges (and re-read the rest).
const LONG_QUESTION_WORDS: usize = 40;

/// A conversation with one model.
#[derive(Debug)]
pub struct Conversation {
    chat: Arc<ChatModel>,
    system: Option<String>,
    messages: Vec<Message>,
    session: Session,
    /// The reply of [`Conversation::begin_reply`] while it is being generated.
    pending: Option<Generation>,
    /// The ids the session held when the current turn began (the last reply ended), and the ids
    /// computed since, for [`PromptStats`].
    turn_start: Vec<u32>,
    computed_since_turn_start: usize,
    last_prompt: Option<PromptStats>,
    /// The messages and the turn's start before the last reply of [`Conversation::begin_reply`],
    /// for [`Conversation::abandon_reply`].
    before_pending: Option<(Vec<Message>, Vec<u32>)>,
}

/// How a turn's prompt was read: what the KV cache kept from the conversation, what was read
/// ahead while the user spoke, and what it all cost. Ids, not tokens of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptStats {
    /// Ids of the prompt (the whole conversation, rendered).
    pub ids: usize,
    /// Of them, the leading ids the cache already held when the turn began (the end of the
    /// previous reply): the conversation so far, not computed again. `ids - cached` are new.
    pub cached: usize,
    /// Of the new ids, those already computed when the reply began (read ahead from the
    /// conversation's warm-up, partial transcripts and a speculative final transcript).
    pub read_ahead: usize,
    /// Ids the model computed for this prompt from the start of the turn to the reply's first
    /// token, read-ahead included: at least `ids - cached`; the excess was read ahead on words
    /// the user did not end up saying.
    pub computed: usize,
}

impl Conversation {
    /// A new conversation, with an optional system prompt.
    pub fn new(chat: Arc<ChatModel>, system: Option<String>) -> Self {
        let session = Session::new(&chat);
        Conversation {
            chat,
            system,
            messages: Vec::new(),
            session,
            pending: None,
            turn_start: Vec::new(),
            computed_since_turn_start: 0,
            last_prompt: None,
            before_pending: None,
        }
    }

    /// How the prompt of the last reply begun was read (see [`PromptStats`]).
    pub fn last_prompt_stats(&self) -> Option<PromptStats> {
        self.last_prompt
    }

    /// The turns so far (without the system prompt).
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Replaces the turns so far with `messages` (oldest first, without the system prompt), as
    /// when a conversation is restored into a new engine: a reply in progress is dropped, and the
    /// next turn reads the conversation again past what the KV cache shares with it.
    pub fn restore(&mut self, messages: Vec<Message>) {
        self.pending = None;
        self.before_pending = None;
        self.messages = messages;
        self.turn_start.clear();
        self.computed_since_turn_start = 0;
        self.last_prompt = None;
    }

    /// The session (ids fed and KV cache).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Token ids of the system prompt followed by `messages`, with the assistant's turn opened.
    fn render(&self, messages: &[Message]) -> Result<Vec<u32>, LlmError> {
        let mut all = Vec::with_capacity(messages.len() + 1);
        all.extend(
            self.system
                .iter()
                .map(|s| Message::new(Role::System, s.clone())),
        );
        all.extend(messages.iter().cloned());
        self.chat.chat_ids(&all, true)
    }

    /// Reads ahead what the next turn's prompt starts with (the system prompt, the conversation so
    /// far and the template's opening of a user message), so the next reply only has to read the
    /// user's words: call it while waiting for the user. When the next turn might pass the
    /// conversation's budget ([`GenerateOptions::conversation_tokens`]), the oldest exchanges
    /// are forgotten now, so that the re-reading this costs happens while the user is silent,
    /// not after they spoke. Returns how many ids were computed (0 when the cache already holds
    /// them, or while a reply is in progress).
    pub fn warm_up(&mut self, options: &GenerateOptions) -> Result<usize, LlmError> {
        self.warm_up_part(options, usize::MAX)
            .map(|part| part.computed)
    }

    /// [`Conversation::warm_up`] in slices of at most `max_ids` computed ids: call it again at
    /// the next free step until [`ReadAhead::done`].
    pub fn warm_up_part(
        &mut self,
        options: &GenerateOptions,
        max_ids: usize,
    ) -> Result<ReadAhead, LlmError> {
        if self.pending.is_some() {
            return Ok(ReadAhead::FINISHED);
        }
        self.reserve_budget(options);
        // A long spoken question: if it would not fit, the turn would forget exchanges itself.
        let long_question = "word ".repeat(LONG_QUESTION_WORDS);
        match self.plan_turn(&long_question, options) {
            Ok((dropped, _)) if dropped > 0 => {
                self.messages.drain(..dropped);
            }
            Ok(_) | Err(LlmError::PromptTooLong { .. }) => {}
            Err(e) => return Err(e),
        }
        // Two different user messages: their renderings agree up to where the user's text starts.
        let with_user = |text: &str| {
            let mut messages = self.messages.clone();
            messages.push(Message::new(Role::User, text));
            self.render(&messages)
        };
        let (a, b) = (with_user("a")?, with_user("b")?);
        let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        if common > self.limit(options) / 2 {
            return Ok(ReadAhead::FINISHED);
        }
        self.read_ahead_slice(&a[..common], max_ids)
    }

    /// The ids a turn's prompt and reply may take: the budget, within the model's context.
    fn limit(&self, options: &GenerateOptions) -> usize {
        let context = self.chat.model.config.context_length;
        match options.conversation_tokens {
            0 => context,
            budget => budget.min(context),
        }
    }

    /// With a budget, the KV cache takes its room for all of it at once (see
    /// [`GenerateOptions::conversation_tokens`]).
    fn reserve_budget(&mut self, options: &GenerateOptions) {
        if options.conversation_tokens > 0 {
            let limit = self.limit(options);
            self.session.reserve(limit);
        }
    }

    /// Reads the next slice of `ids`: at most `max_ids` ids past what the cache already shares
    /// with them (the warm-up's and a turn's read-ahead, whole or in slices).
    fn read_ahead_slice(&mut self, ids: &[u32], max_ids: usize) -> Result<ReadAhead, LlmError> {
        let shared = (self.session.fed().iter().zip(ids))
            .take_while(|(a, b)| a == b)
            .count();
        let end = shared.saturating_add(max_ids).min(ids.len());
        Ok(ReadAhead {
            computed: self.prefill_ahead(&ids[..end])?,
            done: end == ids.len(),
        })
    }

    /// Prefills `ids` into the session unless it already starts with them (`sync` would recompute
    /// the last id even then); returns how many ids were computed. The read-ahead of
    /// [`Conversation::warm_up`] and [`Conversation::read_ahead_turn`].
    fn prefill_ahead(&mut self, ids: &[u32]) -> Result<usize, LlmError> {
        if ids.is_empty() || self.session.fed().starts_with(ids) {
            return Ok(0);
        }
        let chat = self.chat.clone();
        let (_, computed) = self.session.sync(&chat, ids)?;
        self.computed_since_turn_start += computed;
        Ok(computed)
    }

    /// Adds the user's words and starts the reply. Pull text pieces from the returned stream; stop
    /// pulling (or drop it) to cancel: the reply is kept as far as it was generated.
    pub fn reply(
        &mut self,
        user: &str,
        options: GenerateOptions,
    ) -> Result<ReplyStream<'_>, LlmError> {
        let generation = self.start_turn(user, options)?;
        Ok(ReplyStream {
            conversation: self,
            generation,
            committed: false,
        })
    }

    /// Like [`Conversation::reply`], but the conversation holds the generation itself, for callers
    /// that interleave other work between tokens (the assistant's state machine): advance it with
    /// [`Conversation::next_piece`], stop it with [`Conversation::cancel_reply`]. A reply still in
    /// progress is cancelled first.
    pub fn begin_reply(&mut self, user: &str, options: GenerateOptions) -> Result<(), LlmError> {
        self.cancel_reply(None);
        let before = (self.messages.clone(), self.turn_start.clone());
        self.pending = Some(self.start_turn(user, options)?);
        self.before_pending = Some(before);
        Ok(())
    }

    /// Forgets the reply last begun with [`Conversation::begin_reply`], complete or not, as if it
    /// had never begun: the conversation is as it was before (the user's words and the reply are
    /// not kept; the KV cache keeps their ids until the next turn rewinds it). For a reply begun
    /// on a guess of the user's words that turned out wrong.
    pub fn abandon_reply(&mut self) {
        self.pending = None;
        // A reply that already ran to its end (or was cut) was recorded, and its ids began a
        // turn: both go too. Its prompt's reading counts as computed for the next turn's prompt.
        if let Some((messages, turn_start)) = self.before_pending.take() {
            self.messages = messages;
            self.turn_start = turn_start;
            if let Some(prompt) = self.last_prompt.take() {
                self.computed_since_turn_start = prompt.computed;
            }
        }
    }

    /// The next piece of the reply begun with [`Conversation::begin_reply`]; `None` once it is
    /// complete (it is then recorded in the conversation) or when there is none.
    pub fn next_piece(&mut self) -> Option<Result<String, LlmError>> {
        let generation = self.pending.as_mut()?;
        let piece = generation.step(&self.chat, &mut self.session);
        if piece.is_none() {
            self.commit_pending(None);
        }
        piece
    }

    /// Stops the pending reply between two tokens and records it as far as it was generated, or
    /// only as far as `spoken` (a prefix of it) when given: an interrupted reply is kept as far
    /// as the user heard it.
    pub fn cancel_reply(&mut self, spoken: Option<&str>) {
        if let Some(generation) = self.pending.as_mut() {
            generation.cancel();
            self.commit_pending(spoken);
        }
    }

    fn commit_pending(&mut self, spoken: Option<&str>) {
        if let Some(generation) = self.pending.take() {
            self.mark_turn_start();
            self.messages
                .push(Message::new(Role::Assistant, generation.emitted));
            if let Some(spoken) = spoken {
                self.truncate_last_reply(spoken);
            }
        }
    }

    /// The next turn begins (a reply ended): what the cache holds now is the conversation so far.
    fn mark_turn_start(&mut self) {
        self.turn_start = self.session.fed().to_vec();
        self.computed_since_turn_start = 0;
    }

    /// Adds the user's words, dropping the oldest exchanges while the conversation does not fit
    /// with room for the reply, and starts generating.
    fn start_turn(&mut self, user: &str, options: GenerateOptions) -> Result<Generation, LlmError> {
        // Only the reply this turn begins can be abandoned.
        self.before_pending = None;
        self.reserve_budget(&options);
        let (dropped, prompt) = self.plan_turn(user, &options)?;
        self.messages.drain(..dropped);
        self.messages.push(Message::new(Role::User, user));
        let chat = self.chat.clone();
        let shared = |fed: &[u32]| fed.iter().zip(&prompt).take_while(|(a, b)| a == b).count();
        let (cached, ready) = (shared(&self.turn_start), shared(self.session.fed()));
        let generation = Generation::start(&chat, &mut self.session, &prompt, options)
            .inspect_err(|_| {
                self.messages.pop();
            })?;
        self.last_prompt = Some(PromptStats {
            ids: prompt.len(),
            cached,
            read_ahead: ready.min(prompt.len()).saturating_sub(cached),
            computed: self.computed_since_turn_start + generation.stats.prefilled_tokens,
        });
        Ok(generation)
    }

    /// The prompt of a turn with the user's words `user` and a reply of up to
    /// `options.max_tokens`: how many of the oldest messages must go (whole exchanges) for it to
    /// fit the conversation's budget, and its ids. Changes nothing, so that
    /// [`Conversation::read_ahead_turn`] reads exactly what the turn will.
    fn plan_turn(
        &self,
        user: &str,
        options: &GenerateOptions,
    ) -> Result<(usize, Vec<u32>), LlmError> {
        let context = self.chat.model.config.context_length;
        let limit = self.limit(options);
        // Room for the reply, but never more than half the budget.
        let reserve = options.max_tokens.min(limit / 2);
        // The new turn alone must fit in the context, or nothing is dropped and the call fails
        // (a turn alone longer than the budget but within the context goes ahead alone).
        let needed = self.render(&[Message::new(Role::User, user)])?.len()
            + options.max_tokens.min(context / 2);
        if needed > context {
            return Err(LlmError::PromptTooLong {
                tokens: needed,
                context,
            });
        }
        let mut messages = self.messages.clone();
        messages.push(Message::new(Role::User, user));
        let ids = self.render(&messages)?;
        if ids.len() + reserve <= limit {
            return Ok((0, ids));
        }
        // Too long: the oldest exchanges (a user message and the replies after it) go, down to
        // half the budget at once, so that the re-reading of what stays (the cache holds it at
        // other positions) comes once in many turns, not at every turn.
        let mut dropped = 0;
        loop {
            let next_user = messages[dropped + 1..]
                .iter()
                .position(|m| m.role == Role::User);
            let Some(i) = next_user else {
                // Only the new turn is left; it fits the context.
                return Ok((dropped, self.render(&messages[dropped..])?));
            };
            dropped += i + 1;
            let ids = self.render(&messages[dropped..])?;
            if ids.len() <= limit / 2 && ids.len() + reserve <= limit {
                return Ok((dropped, ids));
            }
        }
    }

    /// Reads ahead the prompt of a turn with the user's words `user` (and a reply of up to
    /// `options.max_tokens`), exactly as [`Conversation::begin_reply`] will render it, all but its
    /// last id: a `begin_reply` with the same words then computes a single token, and one with
    /// other words reuses what they have in common. Call it with a speculative transcript while
    /// waiting to know whether the user has finished. The conversation does not change. Returns
    /// how many ids were computed: 0 while a reply is in progress, when the cache already holds
    /// them, or when the turn would not fit in the context (the reply will report that).
    pub fn read_ahead_turn(
        &mut self,
        user: &str,
        options: &GenerateOptions,
    ) -> Result<usize, LlmError> {
        self.read_ahead_turn_part(user, options, usize::MAX)
            .map(|part| part.computed)
    }

    /// [`Conversation::read_ahead_turn`] in slices: computes at most `max_ids` ids past what the
    /// cache already shares with the prompt, so a caller with other work to do (microphone
    /// frames, the end of the turn) can stop between slices. Call it again with the same words
    /// until [`ReadAhead::done`].
    pub fn read_ahead_turn_part(
        &mut self,
        user: &str,
        options: &GenerateOptions,
        max_ids: usize,
    ) -> Result<ReadAhead, LlmError> {
        if self.pending.is_some() {
            return Ok(ReadAhead::FINISHED);
        }
        let prompt = match self.plan_turn(user, options) {
            Ok((_, prompt)) => prompt,
            Err(LlmError::PromptTooLong { .. }) => return Ok(ReadAhead::FINISHED),
            Err(e) => return Err(e),
        };
        // `sync` always recomputes the last id (for its logits): leave it to the reply.
        let ahead = prompt.split_last().map_or(&[][..], |(_, ahead)| ahead);
        self.read_ahead_slice(ahead, max_ids)
    }

    /// Counters of the reply begun with [`Conversation::begin_reply`], while it is in progress.
    pub fn reply_stats(&self) -> Option<&GenerationStats> {
        self.pending.as_ref().map(|g| &g.stats)
    }

    /// Cuts the last reply down to what was actually spoken (barge-in): the next turn rewinds the
    /// KV cache to match. `spoken` must be a prefix of the reply; other text is ignored.
    pub fn truncate_last_reply(&mut self, spoken: &str) {
        if let Some(last) = self.messages.last_mut() {
            if last.role == Role::Assistant && last.content.starts_with(spoken) {
                last.content.truncate(spoken.len());
            }
        }
    }
}

/// What one slice of [`Conversation::read_ahead_turn_part`] or [`Conversation::warm_up_part`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAhead {
    /// Ids computed by this slice.
    pub computed: usize,
    /// Whether the whole prompt (all but its last id) is now read, or there is nothing to read.
    pub done: bool,
}

impl ReadAhead {
    /// Nothing (more) to read.
    const FINISHED: ReadAhead = ReadAhead {
        computed: 0,
        done: true,
    };
}

/// A reply being generated; an iterator of text pieces.
#[derive(Debug)]
pub struct ReplyStream<'a> {
    conversation: &'a mut Conversation,
    generation: Generation,
    committed: bool,
}

impl ReplyStream<'_> {
    /// Stops generating (between two tokens) and records the reply as far as it went.
    pub fn cancel(mut self) -> GenerationStats {
        self.generation.cancel();
        self.commit();
        self.generation.stats.clone()
    }

    /// Generates to the end and returns the whole text with statistics.
    pub fn finish(mut self) -> Result<(String, GenerationStats, FinishReason), LlmError> {
        for piece in self.by_ref() {
            piece?;
        }
        self.commit();
        let reason = self.generation.finish.unwrap_or(FinishReason::Cancelled);
        Ok((
            self.generation.emitted.clone(),
            self.generation.stats.clone(),
            reason,
        ))
    }

    /// Text so far.
    pub fn text(&self) -> &str {
        &self.generation.emitted
    }

    /// Counters and timings so far.
    pub fn stats(&self) -> &GenerationStats {
        &self.generation.stats
    }

    fn commit(&mut self) {
        if !self.committed {
            self.committed = true;
            self.generation.cancel();
            let text = self.generation.emitted.clone();
            self.conversation.mark_turn_start();
            self.conversation
                .messages
                .push(Message::new(Role::Assistant, text));
        }
    }
}

impl Iterator for ReplyStream<'_> {
    type Item = Result<String, LlmError>;

    fn next(&mut self) -> Option<Self::Item> {
        let conversation = &mut *self.conversation;
        self.generation
            .step(&conversation.chat, &mut conversation.session)
    }
}

impl Drop for ReplyStream<'_> {
    fn drop(&mut self) {
        self.commit();
    }
}
