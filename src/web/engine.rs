//! The engine the worker drives: the assistant's state machine over Whisper, the chat model and
//! the embedded voice, plus the lower-level calls (transcribe, chat, say) of the npm package.
//! Every call returns plain JS values; audio crosses as `Float32Array`.

use std::sync::Arc;

use js_sys::{Array, Float32Array, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::asr::Transcriber;
use crate::assistant::{
    Assistant, AssistantConfig, AssistantEvent, AudioClock, ChatResponder, EmbeddedVoice,
    WhisperRecognizer,
};
use crate::llm::{ChatModel, Conversation, Message, Role, DEFAULT_SYSTEM_PROMPT};

use super::settings::overlay;
use crate::settings::{GenerationSettings, Settings};

mod device;

type LiveAssistant = Assistant<WhisperRecognizer, ChatResponder, EmbeddedVoice>;

/// What a loaded model reports.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo {
    role: &'static str,
    summary: String,
}

/// Reply tokens `step` returns before the test hook's panic (see [`Engine::debug_panic`]).
const DEBUG_PANIC_AFTER_TOKENS: u32 = 2;

fn js_error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_error)
}

/// Assistant events as JS objects: `{type, ...}`; audio samples as a `Float32Array`.
fn events_to_js(events: Vec<AssistantEvent>) -> Result<Array, JsError> {
    let out = Array::new();
    for event in events {
        let value = match event {
            AssistantEvent::Audio {
                turn,
                index,
                text,
                samples,
                sample_rate,
            } => {
                let object = Object::new();
                let set = |key: &str, value: JsValue| {
                    Reflect::set(&object, &key.into(), &value).map(drop)
                };
                set("type", "audio".into()).map_err(|_| js_error("cannot build an event"))?;
                set("turn", (turn as f64).into()).map_err(|_| js_error("cannot build an event"))?;
                set("index", index.into()).map_err(|_| js_error("cannot build an event"))?;
                set("text", text.into()).map_err(|_| js_error("cannot build an event"))?;
                set("samples", Float32Array::from(samples.as_slice()).into())
                    .map_err(|_| js_error("cannot build an event"))?;
                set("sampleRate", sample_rate.into())
                    .map_err(|_| js_error("cannot build an event"))?;
                object.into()
            }
            AssistantEvent::Latency(record) => {
                let value = to_js(&AssistantEvent::Latency(record))?;
                // With the memory the engine holds then, for the soak's memory curve.
                let bytes = core::arch::wasm32::memory_size(0) as f64 * 65_536.0;
                Reflect::set(&value, &"wasmMemoryBytes".into(), &bytes.into())
                    .map_err(|_| js_error("cannot build an event"))?;
                value
            }
            other => to_js(&other)?,
        };
        out.push(&value);
    }
    Ok(out)
}

/// The engine: models, conversation and turn taking.
#[wasm_bindgen]
pub struct Engine {
    assistant: LiveAssistant,
    /// The worklets' AudioContext time, placed on the worker's `performance.now()`.
    audio_clock: AudioClock,
    /// The microphone's frames to 16 kHz mono, once `setInputRate` gave the device's rate.
    capture: Option<crate::audio::StreamResampler>,
    system_prompt: Option<String>,
    chat: Option<Arc<ChatModel>>,
    /// Test hook ([`Engine::debug_panic`]): reply tokens `step` still returns before the next
    /// `step` panics.
    panic_after_tokens: Option<u32>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Engine {
    /// An engine with no models loaded, default settings and the embedded voice.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        let responder = ChatResponder {
            conversation: None,
            options: GenerationSettings::default().to_options(),
        };
        let mut assistant = Assistant::new(
            AssistantConfig::default(),
            WhisperRecognizer::default(),
            responder,
            EmbeddedVoice::default(),
        );
        assistant.set_clock(performance_now);
        crate::tts::warm_up();
        Engine {
            assistant,
            audio_clock: AudioClock::default(),
            capture: None,
            system_prompt: Some(DEFAULT_SYSTEM_PROMPT.to_string()),
            chat: None,
            panic_after_tokens: None,
        }
    }

    /// Loads Whisper from `config.json`, `tokenizer.json` and weights (safetensors or GGUF; the
    /// name tells errors which file is meant). `decode`, if given, is the model's own patch of the
    /// `asr` settings (a catalog entry's `decode`), checked first and applied once it loaded.
    #[wasm_bindgen(js_name = loadAsr)]
    pub fn load_asr(
        &mut self,
        config: &[u8],
        tokenizer: &[u8],
        weights: &[u8],
        weights_name: &str,
        decode: JsValue,
    ) -> Result<JsValue, JsError> {
        let options = overlay(&self.assistant.recognizer_mut().options, decode)?;
        let transcriber = Transcriber::from_bytes(
            (config, "config.json"),
            (tokenizer, "tokenizer.json"),
            (weights, weights_name),
        )
        .map_err(js_error)?;
        // The silence tail's encoder pass belongs to loading, not to the first turn.
        transcriber.warm_up().map_err(js_error)?;
        let summary = if transcriber.tokenizer.is_multilingual() {
            "Whisper, multilingual"
        } else {
            "Whisper, English only"
        }
        .to_string();
        self.assistant.recognizer_mut().transcriber = Some(transcriber);
        self.assistant.recognizer_mut().options = options;
        to_js(&ModelInfo {
            role: "asr",
            summary,
        })
    }

    /// Loads a GGUF chat model; the bytes become the model's weight buffer (not copied again).
    /// `tokenizer` and `tokenizerConfig` are optional `tokenizer.json` / `tokenizer_config.json`;
    /// `chatTemplate` replaces the model's chat template (a built-in name such as `gemma`, or
    /// Jinja source). A model left without a template cannot chat, so it does not load.
    #[wasm_bindgen(js_name = loadLlm)]
    pub fn load_llm(
        &mut self,
        gguf: Vec<u8>,
        tokenizer: Option<Vec<u8>>,
        tokenizer_config: Option<Vec<u8>>,
        chat_template: Option<String>,
    ) -> Result<JsValue, JsError> {
        let mut chat =
            ChatModel::from_bytes(gguf, tokenizer.as_deref(), tokenizer_config.as_deref())
                .map_err(js_error)?;
        if let Some(template) = chat_template {
            chat.use_chat_template(&template).map_err(js_error)?;
        }
        chat.template().map_err(js_error)?;
        let chat = Arc::new(chat);
        let config = &chat.model.config;
        let summary = format!(
            "{:?}, {} layers, {} context",
            config.architecture, config.block_count, config.context_length
        );
        self.chat = Some(chat.clone());
        self.assistant.responder_mut().conversation =
            Some(Conversation::new(chat, self.system_prompt.clone()));
        to_js(&ModelInfo {
            role: "llm",
            summary,
        })
    }

    /// Starts a new conversation (keeps the models).
    #[wasm_bindgen(js_name = resetConversation)]
    pub fn reset_conversation(&mut self) {
        let conversation = self
            .chat
            .clone()
            .map(|chat| Conversation::new(chat, self.system_prompt.clone()));
        self.assistant.interrupt();
        self.assistant.responder_mut().conversation = conversation;
    }

    /// Sets the system prompt and starts a new conversation: `null` restores the default
    /// ([`DEFAULT_SYSTEM_PROMPT`]), an empty text leaves the model's template its own.
    #[wasm_bindgen(js_name = setSystemPrompt)]
    pub fn set_system_prompt(&mut self, prompt: Option<String>) {
        self.system_prompt = match prompt {
            None => Some(DEFAULT_SYSTEM_PROMPT.to_string()),
            Some(text) => Some(text).filter(|p| !p.trim().is_empty()),
        };
        self.reset_conversation();
    }

    /// Turn taking and endpointing settings (the `turns` section of [`crate::settings`]):
    /// fields left out keep their values.
    #[wasm_bindgen(js_name = setConfig)]
    pub fn set_config(&mut self, config: JsValue) -> Result<(), JsError> {
        let config: AssistantConfig = overlay(self.assistant.config(), config)?;
        self.assistant.set_config(config);
        Ok(())
    }

    /// Reply generation settings (the `generation` section: maxTokens, temperature, topK, topP,
    /// repetitionPenalty, seed, stop). Fields left out keep their values (greedy by default, as
    /// in the CLI).
    #[wasm_bindgen(js_name = setGeneration)]
    pub fn set_generation(&mut self, settings: JsValue) -> Result<(), JsError> {
        let responder = self.assistant.responder_mut();
        let current = GenerationSettings::from(&responder.options);
        responder.options = overlay(&current, settings)?.to_options();
        Ok(())
    }

    /// Speech decoding settings (the `asr` section: language, a code or null to detect;
    /// noSpeechThreshold, 1 disables the no-speech gate; maxTokens; fullWindow; ...). Fields
    /// left out keep their values.
    #[wasm_bindgen(js_name = setAsr)]
    pub fn set_asr(&mut self, settings: JsValue) -> Result<(), JsError> {
        let options = &mut self.assistant.recognizer_mut().options;
        *options = overlay(options, settings)?;
        Ok(())
    }

    /// Voice settings (the `voice` section: sampleRate, 16000, 22050, 24000 or 48000; rate;
    /// pitch). Fields left out keep their values.
    #[wasm_bindgen(js_name = setVoice)]
    pub fn set_voice(&mut self, settings: JsValue) -> Result<(), JsError> {
        let options = &mut self.assistant.voice_mut().options;
        *options = overlay(options, settings)?;
        Ok(())
    }

    /// Every setting in force, as the one settings type's JSON (`{turns, generation, asr,
    /// voice}`, see [`crate::settings::Settings`]): what a restarted engine is given back.
    #[wasm_bindgen(js_name = getSettings)]
    pub fn get_settings(&mut self) -> Result<JsValue, JsError> {
        let settings = self.settings();
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        settings.serialize(&serializer).map_err(js_error)
    }

    /// Patches any sections at once (`{turns?, generation?, asr?, voice?}`), all or nothing:
    /// an invalid field leaves every setting as it was.
    #[wasm_bindgen(js_name = setSettings)]
    pub fn set_settings(&mut self, patch: JsValue) -> Result<(), JsError> {
        let patch: serde_json::Value = serde_wasm_bindgen::from_value(patch)
            .map_err(|e| js_error(format!("settings: {e}")))?;
        let settings = self.settings().patched(patch).map_err(js_error)?;
        self.assistant.set_config(settings.turns);
        self.assistant.responder_mut().options = settings.generation.to_options();
        self.assistant.recognizer_mut().options = settings.asr;
        self.assistant.voice_mut().options = settings.voice;
        Ok(())
    }

    /// Feeds 16 kHz mono samples (`pushCapture` takes the device's frames) whose last one was
    /// captured at `captured_at` (the AudioContext's time, in seconds; NaN if unknown), handed
    /// over at `now_ms` (the worker's `performance.now()`); returns the events they caused.
    #[wasm_bindgen(js_name = pushAudio)]
    pub fn push_audio(
        &mut self,
        samples: &[f32],
        captured_at: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        let captured_ms = self.audio_clock.to_caller_ms(captured_at, now_ms);
        events_to_js(self.assistant.push_audio(samples, captured_ms))
    }

    /// Does one unit of work (a transcript, one reply token, a partial); returns its events.
    pub fn step(&mut self, now_ms: f64) -> Result<Array, JsError> {
        if self.panic_after_tokens == Some(0) {
            self.panic_after_tokens = None;
            panic!("debugPanic: the engine panicked mid-reply, as a test asked");
        }
        let events = self.assistant.step(now_ms);
        if let Some(left) = self.panic_after_tokens {
            let tokens = events
                .iter()
                .filter(|e| matches!(e, AssistantEvent::Token { .. }))
                .count() as u32;
            let ended = events.iter().any(|e| {
                matches!(
                    e,
                    AssistantEvent::Reply { .. } | AssistantEvent::Interrupted { .. }
                )
            });
            // A reply that ended first does not count: the panic cuts one in progress.
            self.panic_after_tokens = Some(if ended {
                DEBUG_PANIC_AFTER_TOKENS
            } else {
                left.saturating_sub(tokens)
            });
        }
        events_to_js(events)
    }

    /// Whether `step` has work to do.
    #[wasm_bindgen(js_name = hasWork)]
    pub fn has_work(&self) -> bool {
        self.assistant.has_work()
    }

    /// A typed turn.
    pub fn ask(&mut self, text: &str, now_ms: f64) -> Result<Array, JsError> {
        events_to_js(self.assistant.ask(text, now_ms))
    }

    /// Cuts the reply in progress.
    pub fn interrupt(&mut self) -> Result<Array, JsError> {
        events_to_js(self.assistant.interrupt())
    }

    /// Push-to-talk pressed.
    #[wasm_bindgen(js_name = pressToTalk)]
    pub fn press_to_talk(&mut self, now_ms: f64) -> Result<Array, JsError> {
        events_to_js(self.assistant.press_to_talk(now_ms))
    }

    /// Push-to-talk released.
    #[wasm_bindgen(js_name = releaseToTalk)]
    pub fn release_to_talk(&mut self, now_ms: f64) -> Result<Array, JsError> {
        events_to_js(self.assistant.release_to_talk(now_ms))
    }

    /// Playback has rendered `rendered` samples of `turn`.
    #[wasm_bindgen(js_name = playbackProgress)]
    pub fn playback_progress(
        &mut self,
        turn: f64,
        rendered: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        events_to_js(
            self.assistant
                .playback_progress(turn as u64, rendered as usize, now_ms),
        )
    }

    /// Playback rendered the first sample of `turn` at `rendered_at` (the AudioContext's time in
    /// seconds; NaN for a voice without one, which counts as `now_ms`).
    #[wasm_bindgen(js_name = playbackStarted)]
    pub fn playback_started(
        &mut self,
        turn: f64,
        rendered_at: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        let at = self.audio_clock.to_caller_ms(rendered_at, now_ms);
        events_to_js(self.assistant.playback_started(turn as u64, at))
    }

    /// Playback of `turn` ended after `rendered` samples, the last of them rendered just before
    /// `rendered_at` (AudioContext seconds; NaN counts as `now_ms`).
    #[wasm_bindgen(js_name = playbackStopped)]
    pub fn playback_stopped(
        &mut self,
        turn: f64,
        rendered: f64,
        rendered_at: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        let at = self.audio_clock.to_caller_ms(rendered_at, now_ms);
        events_to_js(
            self.assistant
                .playback_stopped(turn as u64, rendered as usize, at),
        )
    }

    /// With `turns.systemVoice` on: the page's system voice started (`ended`: finished) chunk
    /// `index` of `turn`; what was heard of the reply counts in chunks it started.
    #[wasm_bindgen(js_name = systemVoiceProgress)]
    pub fn system_voice_progress(
        &mut self,
        turn: f64,
        index: u32,
        ended: bool,
    ) -> Result<Array, JsError> {
        let events = self
            .assistant
            .system_voice_progress(turn as u64, index, ended);
        events_to_js(events)
    }

    /// The page's system voice handed chunk `index` of `turn` back: synthesizes it with the
    /// embedded voice (an `audio` event for playback; none if the turn is over).
    #[wasm_bindgen(js_name = speakChunk)]
    pub fn speak_chunk(&mut self, turn: f64, index: u32) -> Result<Array, JsError> {
        events_to_js(self.assistant.speak_chunk(turn as u64, index))
    }

    /// The level playback plays (RMS), for the echo-aware speech threshold.
    #[wasm_bindgen(js_name = playbackLevel)]
    pub fn playback_level(&mut self, rms: f32) {
        self.assistant.playback_level(rms);
    }

    /// The microphone level of the last frame, in dBFS.
    #[wasm_bindgen(js_name = levelDb)]
    pub fn level_db(&self) -> f32 {
        self.assistant.level_db()
    }

    /// Transcribes 16 kHz mono samples: `{text, tokens, language, noSpeechProb, timingsMs}`.
    pub fn transcribe(&mut self, pcm: &[f32]) -> Result<JsValue, JsError> {
        let recognizer = self.assistant.recognizer_mut();
        let transcriber = recognizer
            .transcriber
            .as_ref()
            .ok_or_else(|| js_error("no speech recognition model is loaded"))?;
        let transcript = transcriber
            .transcribe(pcm, &recognizer.options)
            .map_err(js_error)?;
        to_js(&transcript)
    }

    /// Speaks `text` with the embedded voice at the current settings.
    pub fn say(&mut self, text: &str) -> Result<Float32Array, JsError> {
        let options = self.assistant.voice_mut().options;
        let samples = crate::tts::synthesize(text, &options).map_err(js_error)?;
        Ok(Float32Array::from(samples.as_slice()))
    }

    /// The voice's sample rate.
    #[wasm_bindgen(js_name = voiceSampleRate)]
    pub fn voice_sample_rate(&mut self) -> u32 {
        self.assistant.voice_mut().options.sample_rate
    }

    /// Starts a text-only reply in the conversation (the npm `ChatModel`); pull it with `chatNext`.
    #[wasm_bindgen(js_name = chatBegin)]
    pub fn chat_begin(&mut self, user: &str) -> Result<(), JsError> {
        let responder = self.assistant.responder_mut();
        let options = responder.options.clone();
        let conversation = responder
            .conversation
            .as_mut()
            .ok_or_else(|| js_error("no dialog model is loaded"))?;
        conversation.begin_reply(user, options).map_err(js_error)
    }

    /// The next piece of the text-only reply, or `undefined` when it is complete.
    #[wasm_bindgen(js_name = chatNext)]
    pub fn chat_next(&mut self) -> Result<Option<String>, JsError> {
        let conversation = self.conversation_mut()?;
        conversation.next_piece().transpose().map_err(js_error)
    }

    /// The conversation's turns so far (without the system prompt, without a reply still being
    /// generated): `[{role: 'user' | 'assistant', content}]`; empty without a dialog model.
    #[wasm_bindgen(js_name = conversationMessages)]
    pub fn conversation_messages(&self) -> Result<JsValue, JsError> {
        let conversation = self.assistant.responder().conversation.as_ref();
        to_js(&conversation.map_or(&[][..], |c| c.messages()))
    }

    /// Replaces the conversation's turns with `messages` (as `conversationMessages` returns
    /// them), continuing the turn numbers after `lastTurn`: how a conversation is restored into
    /// a new engine after a crash. Needs the dialog model loaded; the system prompt is the
    /// engine's own.
    #[wasm_bindgen(js_name = restoreConversation)]
    pub fn restore_conversation(
        &mut self,
        messages: JsValue,
        last_turn: f64,
    ) -> Result<(), JsError> {
        let messages: Vec<Message> = serde_wasm_bindgen::from_value(messages).map_err(js_error)?;
        if messages.iter().any(|m| m.role == Role::System) {
            return Err(js_error(
                "a restored conversation holds user and assistant messages only",
            ));
        }
        self.assistant.interrupt();
        self.assistant
            .continue_after_turn(last_turn.max(0.0) as u64);
        self.conversation_mut()?.restore(messages);
        Ok(())
    }

    /// Test hook, reachable only from a page opened for tests: `"reply"` makes the engine panic
    /// in the `step` after the one that returned the second token of a reply still in progress,
    /// so the crash cuts a reply the page has begun to show (a Rust panic, which under `panic=abort`
    /// traps the wasm instance, as a real bug would); `"now"` panics at once; `"helper"` and
    /// `"helper-hang"` make the next piece of parallel work on a helper thread panic or never
    /// finish (threaded build only).
    #[wasm_bindgen(js_name = debugPanic)]
    pub fn debug_panic(&mut self, what: &str) -> Result<(), JsError> {
        match what {
            "reply" => self.panic_after_tokens = Some(DEBUG_PANIC_AFTER_TOKENS),
            "now" => panic!("debugPanic: the engine panicked, as a test asked"),
            "helper" => crate::parallel::debug_fault(crate::parallel::DebugFault::Panic),
            "helper-hang" => crate::parallel::debug_fault(crate::parallel::DebugFault::Hang),
            other => return Err(js_error(format!("debugPanic: unknown fault {other:?}"))),
        }
        Ok(())
    }

    /// Stops the text-only reply, keeping it as far as it went.
    #[wasm_bindgen(js_name = chatCancel)]
    pub fn chat_cancel(&mut self) {
        if let Some(conversation) = self.assistant.responder_mut().conversation.as_mut() {
            conversation.cancel_reply(None);
        }
    }
}

impl Engine {
    /// The settings now in force, gathered from the stages that hold them.
    fn settings(&mut self) -> Settings {
        Settings {
            turns: self.assistant.config().clone(),
            generation: GenerationSettings::from(&self.assistant.responder().options),
            asr: self.assistant.recognizer_mut().options.clone(),
            voice: self.assistant.voice_mut().options,
        }
    }

    /// The conversation with the loaded dialog model, or an error that says none is loaded.
    fn conversation_mut(&mut self) -> Result<&mut Conversation, JsError> {
        let responder = self.assistant.responder_mut();
        responder
            .conversation
            .as_mut()
            .ok_or_else(|| js_error("no dialog model is loaded"))
    }
}

/// `performance.now()` of the worker (or window): the clock the worker passes as `now_ms`.
fn performance_now() -> f64 {
    let global = js_sys::global();
    let performance = Reflect::get(&global, &"performance".into()).unwrap_or(JsValue::UNDEFINED);
    Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|now| now.dyn_into::<js_sys::Function>().ok())
        .and_then(|now| now.call0(&performance).ok())
        .and_then(|value| value.as_f64())
        .unwrap_or(0.0)
}

/// Decodes a WAV file (any common layout and rate) to 16 kHz mono samples, as `transcribe`
/// expects them; `name` names the file in errors.
#[wasm_bindgen(js_name = decodeWav)]
pub fn decode_wav(bytes: &[u8], name: &str) -> Result<Float32Array, JsError> {
    let audio = crate::audio::decode_wav_16k(bytes, name, crate::audio::DEFAULT_MAX_SECONDS)
        .map_err(js_error)?;
    Ok(Float32Array::from(audio.samples.as_slice()))
}
