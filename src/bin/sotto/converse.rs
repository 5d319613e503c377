//! `sotto converse`: a spoken conversation from a WAV file, through the same turn-taking state
//! machine as the browser (VAD, partial and final transcripts, the reply, the voice, barge-in).
//!
//! The WAV plays the microphone: its 20 ms frames are delivered no earlier than their audio time,
//! and between frames the assistant does its work one step at a time, as the engine worker does
//! between audio messages. The clock is real wall time, so the latencies are what a user would
//! wait. Playback is simulated: each reply chunk "sounds" in real time from when it was produced,
//! and its start, progress, level and stop are reported back, so speech in the file during a
//! reply barges in. The latency marks are the assistant's own record, as in the browser: the
//! frames' audio time is the capture clock, and the simulated playback renders on the same clock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::asr::Transcriber;
use sotto::assistant::{
    Assistant, AssistantEvent, ChatResponder, EmbeddedVoice, Latency, StageError, WhisperRecognizer,
};
use sotto::audio::{read_wav_file, write_wav_file, SAMPLE_RATE};
use sotto::llm::{ChatModel, Conversation};

use crate::model_files::{apply_chat_template, tokenizer_config, whisper_files};
use crate::settings_file::flag;
use sotto::settings::Settings;

/// Microphone frame length, as the capture worklet posts them.
const FRAME_MS: u64 = 20;
/// Silence appended after the file beyond the endpoint delay, so the last turn ends.
const TAIL_MARGIN_MS: u64 = 300;

/// Arguments of `sotto converse`.
#[derive(clap::Args)]
pub struct Args {
    /// Whisper model folder: config.json, tokenizer.json and model.safetensors or model.gguf.
    #[arg(long)]
    asr: PathBuf,
    /// The GGUF chat model.
    #[arg(long)]
    llm: PathBuf,
    /// A tokenizer.json for the chat model (default: the GGUF's own vocabulary).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A tokenizer_config.json with the chat template (default: next to --tokenizer, else the GGUF's).
    #[arg(long)]
    tokenizer_config: Option<PathBuf>,
    /// The chat template, for a GGUF without one (or to replace its own): a Jinja file, or a
    /// built-in one by name (`gemma` for Gemma's turns, `chatml`).
    #[arg(long, value_name = "FILE|NAME")]
    chat_template: Option<String>,
    /// System prompt (an empty text leaves the model's chat template its own).
    #[arg(long, default_value = sotto::llm::DEFAULT_SYSTEM_PROMPT)]
    system: String,
    /// A JSON settings file (see `sotto settings` for every field and its default; the same
    /// fields as the browser's setters); the flags below override it.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Most tokens per reply (default 256).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long)]
    temperature: Option<f32>,
    /// Random seed (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Silence that ends a turn, in ms (default 400).
    #[arg(long)]
    endpoint_ms: Option<u32>,
    /// Silence after which the final transcript and the reply's prompt are made speculatively,
    /// before the endpoint, in ms (0 = off; default 160).
    #[arg(long)]
    speculate_ms: Option<u32>,
    /// The voice stops after this many sentences of a reply (0: no limit; default 2).
    #[arg(long)]
    reply_sentences: Option<u32>,
    /// The voice stops once a reply has this many tokens (0: no limit; default 80).
    #[arg(long)]
    reply_tokens: Option<u32>,
    /// Write the whole reply (shown, not spoken) after the voice has stopped.
    #[arg(long)]
    full_reply: bool,
    /// Wait for the end of the turn before generating the reply, instead of generating it ahead
    /// from the speculative transcript (held back until the turn ends).
    #[arg(long)]
    no_reply_ahead: bool,
    /// Tokens Whisper decodes per final transcript at most (default 224).
    #[arg(long)]
    asr_max_tokens: Option<usize>,
    /// Whisper outputs no text when its no-speech probability exceeds this; 1 disables the gate
    /// (default 0.6).
    #[arg(long)]
    no_speech_threshold: Option<f32>,
    /// Print one JSON object: the turns (transcript, reply, latencies) and totals.
    #[arg(long)]
    json: bool,
    /// Where to write the replies' spoken audio (16-bit mono WAV at the voice's rate).
    #[arg(long, short)]
    out: PathBuf,
    /// The user's side of the conversation, a WAV file (any rate; resampled to 16 kHz).
    input: PathBuf,
}

/// One turn as it happened.
#[derive(Debug, Default, serde::Serialize)]
struct Turn {
    turn: u64,
    transcript: String,
    partials: Vec<String>,
    reply: String,
    interrupted: bool,
    /// What had been spoken of an interrupted reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    spoken: Option<String>,
    nothing_heard: bool,
    /// Milliseconds from the end of speech to each mark.
    latency_ms: LatencyMs,
    /// How the transcript and the reply's prompt were prepared ahead.
    preparation: Preparation,
    /// Reply audio that was played, in ms.
    audio_ms: f64,
    errors: Vec<StageError>,
}

/// Marks relative to the end of speech, in ms, from the assistant's latency record.
#[derive(Debug, Default, serde::Serialize)]
struct LatencyMs {
    endpoint: Option<f64>,
    transcript: Option<f64>,
    first_token: Option<f64>,
    /// The first chunk of speech was synthesized.
    first_chunk: Option<f64>,
    /// The reply started sounding.
    first_audio: Option<f64>,
    /// From the onset of the voice that cut this reply to its last played sample.
    barge_in: Option<f64>,
}

impl LatencyMs {
    fn of(record: &Latency) -> Self {
        let after = |mark| record.after_speech_end(mark);
        Self {
            endpoint: after(record.endpoint),
            transcript: after(record.transcript),
            first_token: after(record.first_token),
            first_chunk: after(record.first_chunk),
            first_audio: after(record.first_audio),
            barge_in: record.barge_in_ms(),
        }
    }
}

/// The record's account of the work done ahead of the end of the turn.
#[derive(Debug, Default, serde::Serialize)]
struct Preparation {
    speculations: u32,
    speculative_final: bool,
    tokens_ahead: u32,
    prompt_ids: Option<usize>,
    cached_ids: Option<usize>,
    read_ahead_ids: Option<usize>,
    computed_ids: Option<usize>,
}

impl Preparation {
    fn of(record: &Latency) -> Self {
        Self {
            speculations: record.speculations,
            speculative_final: record.speculative_final,
            tokens_ahead: record.tokens_ahead,
            prompt_ids: record.prompt.map(|p| p.ids),
            cached_ids: record.prompt.map(|p| p.cached),
            read_ahead_ids: record.prompt.map(|p| p.read_ahead),
            computed_ids: record.prompt.map(|p| p.computed),
        }
    }
}

/// The simulated loudspeaker: each turn's chunks play back to back in real time from when they
/// are produced; a gap in production is a gap in playback.
struct Playback {
    turn: u64,
    queued: Vec<f32>,
    rendered: usize,
    last_ms: f64,
    sample_rate: u32,
}

impl Playback {
    /// Advances playback to `now_ms`; returns the RMS of what sounded meanwhile (0 when idle).
    fn advance(&mut self, now_ms: f64) -> f32 {
        let elapsed = (now_ms - self.last_ms).max(0.0);
        self.last_ms = now_ms;
        let due = (elapsed * f64::from(self.sample_rate) / 1e3) as usize;
        let end = (self.rendered + due).min(self.queued.len());
        let played = &self.queued[self.rendered..end];
        self.rendered = end;
        if played.is_empty() {
            return 0.0;
        }
        (played.iter().map(|s| s * s).sum::<f32>() / played.len() as f32).sqrt()
    }
}

/// The settings file's settings (or the defaults) with the flags given applied over them.
fn settings_with_flags(args: &Args) -> anyhow::Result<Settings> {
    let mut settings = crate::settings_file::load(&args.settings)?;
    let generation = &mut settings.generation;
    flag(&mut generation.max_tokens, args.max_tokens);
    flag(&mut generation.temperature, args.temperature);
    flag(&mut generation.seed, args.seed);
    let turns = &mut settings.turns;
    flag(&mut turns.vad.endpoint_ms, args.endpoint_ms);
    flag(&mut turns.speculate_ms, args.speculate_ms);
    flag(&mut turns.reply.max_sentences, args.reply_sentences);
    flag(&mut turns.reply.max_tokens, args.reply_tokens);
    turns.reply.full_text |= args.full_reply;
    turns.reply_ahead &= !args.no_reply_ahead;
    flag(&mut settings.asr.max_tokens, args.asr_max_tokens);
    flag(
        &mut settings.asr.no_speech_threshold,
        args.no_speech_threshold,
    );
    settings.validate()?;
    Ok(settings)
}

/// Runs the conversation and writes the reply audio.
pub fn run(args: Args) -> anyhow::Result<()> {
    // Refuse a reply path that cannot be written before spending the conversation's time.
    let out_dir = match args.out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    anyhow::ensure!(
        out_dir.is_dir(),
        "{}: no such folder for the reply audio (-o)",
        out_dir.display()
    );
    let [config, tokenizer, weights] = whisper_files(&args.asr)?;
    let transcriber = Transcriber::from_files(&config, &tokenizer, &weights)?;
    match sotto::asr::SilenceCache::user() {
        Some(cache) => transcriber.warm_up_cached(&cache, &weights).map(drop)?,
        None => transcriber.warm_up()?,
    }
    sotto::tts::warm_up();
    let chat_config = tokenizer_config(&args.tokenizer_config, &args.tokenizer);
    let mut chat =
        ChatModel::from_files(&args.llm, args.tokenizer.as_deref(), chat_config.as_deref())?;
    apply_chat_template(&mut chat, &args.chat_template)?;
    chat.template()
        .map_err(|e| e.in_file(args.llm.display().to_string()))?;
    let settings = settings_with_flags(&args)?;
    let recognizer = WhisperRecognizer {
        transcriber: Some(transcriber),
        options: settings.asr.clone(),
    };
    let responder = ChatResponder {
        conversation: Some(Conversation::new(
            Arc::new(chat),
            Some(args.system.clone()).filter(|s| !s.trim().is_empty()),
        )),
        options: settings.generation.to_options(),
    };
    let voice = EmbeddedVoice {
        options: settings.voice,
        output_rate: None,
    };
    let sample_rate = voice.options.sample_rate;
    let config = settings.turns;
    let endpoint_ms = config.vad.endpoint_ms;
    let start = Instant::now();
    let mut assistant = Assistant::new(config, recognizer, responder, voice);
    // Marks of work are taken when each stage's call returns, on the simulation's clock.
    assistant.set_clock(move || start.elapsed().as_secs_f64() * 1e3);

    let mut input = read_wav_file(&args.input, sotto::audio::DEFAULT_MAX_SECONDS)?.samples;
    let tail_ms = u64::from(endpoint_ms) + TAIL_MARGIN_MS;
    input.resize(
        input.len() + (tail_ms * SAMPLE_RATE as u64 / 1000) as usize,
        0.0,
    );

    let mut sim = Simulation::new(start);
    sim.run(assistant, &input);
    write_wav_file(&args.out, &sim.reply_audio, sample_rate)?;

    let input_seconds = input.len() as f64 / f64::from(SAMPLE_RATE);
    if args.json {
        let totals = serde_json::json!({
            "turns": sim.turns.len(),
            "replies": sim.turns.iter().filter(|t| !t.reply.is_empty()).count(),
            "interrupted": sim.turns.iter().filter(|t| t.interrupted).count(),
            "errors": sim.turns.iter().map(|t| t.errors.len()).sum::<usize>(),
            "input_seconds": input_seconds,
            "reply_audio_seconds": sim.reply_audio.len() as f64 / f64::from(sample_rate),
            "wall_ms": sim.wall_ms,
        });
        let report = serde_json::json!({ "turns": sim.turns, "totals": totals });
        println!("{report}");
    } else {
        print_conversation(&sim, input_seconds, sample_rate);
    }
    Ok(())
}

fn print_conversation(sim: &Simulation, input_seconds: f64, sample_rate: u32) {
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
    for turn in &sim.turns {
        if turn.nothing_heard {
            println!("You: (nothing heard)");
        } else {
            println!("You: {}", turn.transcript);
        }
        if !turn.reply.is_empty() {
            let cut = if turn.interrupted {
                " [interrupted]"
            } else {
                ""
            };
            println!("Sotto: {}{cut}", turn.reply);
        }
        for error in &turn.errors {
            println!("  error ({:?}): {}", error.stage, error.message);
        }
        let l = &turn.latency_ms;
        println!(
            "  after end of speech: endpoint {}, transcript {}, first token {}, first chunk {}, \
             first audio {}",
            ms(l.endpoint),
            ms(l.transcript),
            ms(l.first_token),
            ms(l.first_chunk),
            ms(l.first_audio)
        );
        if let Some(barge_in) = l.barge_in {
            println!("  barge-in: playback stopped {barge_in:.0} ms after the voice began");
        }
    }
    println!(
        "{} turn(s), {input_seconds:.1} s of input, {:.1} s of reply audio, {:.0} ms wall time",
        sim.turns.len(),
        sim.reply_audio.len() as f64 / f64::from(sample_rate),
        sim.wall_ms
    );
}

/// The microphone, the clock and the loudspeaker around the assistant, and what they recorded.
struct Simulation {
    start: Instant,
    turns: Vec<Turn>,
    /// Each turn's latency record, the latest the assistant sent.
    records: BTreeMap<u64, Latency>,
    playback: Option<Playback>,
    reply_audio: Vec<f32>,
    wall_ms: f64,
}

impl Simulation {
    fn new(start: Instant) -> Self {
        Self {
            start,
            turns: Vec::new(),
            records: BTreeMap::new(),
            playback: None,
            reply_audio: Vec::new(),
            wall_ms: 0.0,
        }
    }

    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }

    fn run<R, L, V>(&mut self, mut assistant: Assistant<R, L, V>, input: &[f32])
    where
        R: sotto::assistant::Recognizer,
        L: sotto::assistant::Responder,
        V: sotto::assistant::Voice,
    {
        let frame = (SAMPLE_RATE as u64 * FRAME_MS / 1000) as usize;
        let mut frames = input.chunks(frame).enumerate().peekable();
        loop {
            let now = self.now_ms();
            // Report playback before the microphone frame, as the worklet posts its level.
            let events = self.report_playback(&mut assistant, now);
            self.record(&mut assistant, events, now);
            if let Some((index, _)) = frames.peek() {
                // The frame is captured at its audio time: that is its time on the clock of
                // the latency marks, however late the busy assistant takes it.
                let captured_ms = ((*index as u64 + 1) * FRAME_MS) as f64;
                if captured_ms <= now {
                    let (_, samples) = frames.next().expect("peeked");
                    let events = assistant.push_audio(samples, captured_ms);
                    self.record(&mut assistant, events, now);
                    continue;
                }
                if !assistant.has_work() {
                    std::thread::sleep(Duration::from_secs_f64((captured_ms - now) / 1e3));
                    continue;
                }
            }
            if !assistant.has_work() {
                break;
            }
            let events = assistant.step(now);
            let now = self.now_ms();
            self.record(&mut assistant, events, now);
        }
        self.wall_ms = self.now_ms();
        // The file is over: what is still queued would play to the end.
        if let Some(playback) = self.playback.take() {
            self.finish_playback(playback);
        }
        for (turn, record) in std::mem::take(&mut self.records) {
            let entry = self.turn_mut(turn);
            entry.latency_ms = LatencyMs::of(&record);
            entry.preparation = Preparation::of(&record);
        }
    }

    fn report_playback<R, L, V>(
        &mut self,
        assistant: &mut Assistant<R, L, V>,
        now: f64,
    ) -> Vec<AssistantEvent>
    where
        R: sotto::assistant::Recognizer,
        L: sotto::assistant::Responder,
        V: sotto::assistant::Voice,
    {
        let Some(playback) = self.playback.as_mut() else {
            return Vec::new();
        };
        let level = playback.advance(now);
        assistant.playback_level(level);
        assistant.playback_progress(playback.turn, playback.rendered, now)
    }

    fn finish_playback(&mut self, playback: Playback) {
        let turn = self.turn_mut(playback.turn);
        let played = if turn.interrupted {
            &playback.queued[..playback.rendered]
        } else {
            &playback.queued[..]
        };
        turn.audio_ms = played.len() as f64 * 1e3 / f64::from(playback.sample_rate);
        self.reply_audio.extend_from_slice(played);
    }

    fn turn_mut(&mut self, turn: u64) -> &mut Turn {
        if let Some(i) = self.turns.iter().position(|t| t.turn == turn) {
            return &mut self.turns[i];
        }
        self.turns.push(Turn {
            turn,
            ..Turn::default()
        });
        self.turns.last_mut().expect("just pushed")
    }

    /// Records what the assistant did and plays what it said; the loudspeaker's reports (a
    /// reply starting to sound, a cut reply's last sample) go back to it at once.
    fn record<R, L, V>(
        &mut self,
        assistant: &mut Assistant<R, L, V>,
        events: Vec<AssistantEvent>,
        now: f64,
    ) where
        R: sotto::assistant::Recognizer,
        L: sotto::assistant::Responder,
        V: sotto::assistant::Voice,
    {
        let mut queue = std::collections::VecDeque::from(events);
        while let Some(event) = queue.pop_front() {
            match event {
                AssistantEvent::SpeechStart { turn } => {
                    self.turn_mut(turn);
                }
                AssistantEvent::Partial { turn, text } => self.turn_mut(turn).partials.push(text),
                AssistantEvent::Transcript { turn, text } => self.turn_mut(turn).transcript = text,
                AssistantEvent::NothingHeard { turn } => self.turn_mut(turn).nothing_heard = true,
                AssistantEvent::Token { turn, text } => self.turn_mut(turn).reply.push_str(&text),
                AssistantEvent::Audio {
                    turn,
                    samples,
                    sample_rate,
                    ..
                } => {
                    if self.playback.as_ref().is_some_and(|p| p.turn != turn) {
                        let done = self.playback.take().expect("checked");
                        self.finish_playback(done);
                    }
                    let starts = self.playback.is_none();
                    let playback = self.playback.get_or_insert(Playback {
                        turn,
                        queued: Vec::new(),
                        rendered: 0,
                        last_ms: now,
                        sample_rate,
                    });
                    if playback.rendered == playback.queued.len() {
                        playback.last_ms = now; // playback was idle: this chunk starts now
                    }
                    playback.queued.extend_from_slice(&samples);
                    if starts {
                        queue.extend(assistant.playback_started(turn, now));
                    }
                }
                // Settings for a page's system voice (`turns.systemVoice`): there is none here,
                // so the embedded voice speaks the chunk.
                AssistantEvent::Chunk { turn, index, .. } => {
                    queue.extend(assistant.speak_chunk(turn, index))
                }
                AssistantEvent::Reply { turn, text } => self.turn_mut(turn).reply = text,
                AssistantEvent::Interrupted { turn, spoken } => {
                    let record = self.turn_mut(turn);
                    record.interrupted = true;
                    record.spoken = Some(spoken);
                    if self.playback.as_ref().is_some_and(|p| p.turn == turn) {
                        let mut cut = self.playback.take().expect("checked");
                        cut.advance(now);
                        queue.extend(assistant.playback_stopped(turn, cut.rendered, now));
                        self.finish_playback(cut);
                    }
                }
                AssistantEvent::Latency(record) => {
                    self.records.insert(record.turn, record);
                }
                AssistantEvent::Error(error) => {
                    let turn = self.turns.last().map_or(0, |t| t.turn);
                    self.turn_mut(turn).errors.push(error);
                }
                AssistantEvent::State { .. }
                | AssistantEvent::DigitalSilence { .. }
                | AssistantEvent::DigitalSilenceEnded => {}
            }
        }
    }
}
