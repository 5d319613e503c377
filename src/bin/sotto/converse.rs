//! `sotto converse`: a spoken conversation from a WAV file, through the same turn-taking state
//! machine as the browser (VAD, partial and final transcripts, the reply, the voice, barge-in).
//!
//! The WAV plays the microphone: its 20 ms frames are delivered no earlier than their audio time,
//! and between frames the assistant does its work one step at a time, as the engine worker does
//! between audio messages. The clock is real wall time, so the latencies are what a user would
//! wait. Playback is simulated: each reply chunk "sounds" in real time from when it was produced,
//! and its progress and level are reported back, so speech in the file during a reply barges in.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::assistant::{
    Assistant, AssistantConfig, AssistantEvent, ChatResponder, EmbeddedVoice, ReplyPolicy,
    StageError, WhisperRecognizer,
};
use sotto::audio::{read_wav_file, write_wav_file, SAMPLE_RATE};
use sotto::llm::{ChatModel, Conversation, GenerateOptions, SamplingParams};

use crate::model_files::{apply_chat_template, tokenizer_config, whisper_files};

mod timed;

use timed::{StageTimes, Timed};

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
    /// System prompt.
    #[arg(long)]
    system: Option<String>,
    /// Most tokens per reply.
    #[arg(long, default_value_t = 128)]
    max_tokens: usize,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Silence that ends a turn, in ms.
    #[arg(long, default_value_t = 400)]
    endpoint_ms: u32,
    /// Silence after which the final transcript and the reply's prompt are made speculatively,
    /// before the endpoint, in ms (0 = off).
    #[arg(long, default_value_t = AssistantConfig::default().speculate_ms)]
    speculate_ms: u32,
    /// The voice stops after this many sentences of a reply (0: no limit).
    #[arg(long, default_value_t = ReplyPolicy::default().max_sentences)]
    reply_sentences: u32,
    /// The voice stops once a reply has this many tokens (0: no limit).
    #[arg(long, default_value_t = ReplyPolicy::default().max_tokens)]
    reply_tokens: u32,
    /// Write the whole reply (shown, not spoken) after the voice has stopped.
    #[arg(long)]
    full_reply: bool,
    /// Tokens Whisper decodes per final transcript at most.
    #[arg(long, default_value_t = 224)]
    asr_max_tokens: usize,
    /// Whisper outputs no text when its no-speech probability exceeds this; 1 disables the gate.
    #[arg(long, default_value_t = 0.6)]
    no_speech_threshold: f32,
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
    /// Reply audio that was played, in ms.
    audio_ms: f64,
    errors: Vec<StageError>,
}

/// Marks relative to the end of speech, in ms.
#[derive(Debug, Default, serde::Serialize)]
struct LatencyMs {
    endpoint: Option<f64>,
    transcript: Option<f64>,
    first_token: Option<f64>,
    first_audio: Option<f64>,
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
    let chat_config = tokenizer_config(&args.tokenizer_config, &args.tokenizer);
    let mut chat =
        ChatModel::from_files(&args.llm, args.tokenizer.as_deref(), chat_config.as_deref())?;
    apply_chat_template(&mut chat, &args.chat_template)?;
    chat.template()
        .map_err(|e| e.in_file(args.llm.display().to_string()))?;
    let recognizer = WhisperRecognizer {
        transcriber: Some(transcriber),
        options: DecodeOptions {
            no_speech_threshold: args.no_speech_threshold,
            max_tokens: args.asr_max_tokens,
            ..DecodeOptions::default()
        },
    };
    let responder = ChatResponder {
        conversation: Some(Conversation::new(Arc::new(chat), args.system.clone())),
        options: GenerateOptions {
            max_tokens: args.max_tokens,
            sampling: SamplingParams {
                temperature: args.temperature,
                seed: args.seed,
                ..Default::default()
            },
            stop_strings: Vec::new(),
        },
    };
    let voice = EmbeddedVoice::default();
    let sample_rate = voice.options.sample_rate;
    let mut config = AssistantConfig::default();
    config.vad.endpoint_ms = args.endpoint_ms;
    config.speculate_ms = args.speculate_ms;
    config.reply = ReplyPolicy {
        max_sentences: args.reply_sentences,
        max_tokens: args.reply_tokens,
        full_text: args.full_reply,
    };
    let start = Instant::now();
    let times = StageTimes::shared(start);
    let assistant = Assistant::new(
        config,
        Timed {
            inner: recognizer,
            times: times.clone(),
        },
        Timed {
            inner: responder,
            times: times.clone(),
        },
        Timed {
            inner: voice,
            times: times.clone(),
        },
    );

    let mut input = read_wav_file(&args.input, sotto::audio::DEFAULT_MAX_SECONDS)?.samples;
    let tail_ms = u64::from(args.endpoint_ms) + TAIL_MARGIN_MS;
    input.resize(
        input.len() + (tail_ms * SAMPLE_RATE as u64 / 1000) as usize,
        0.0,
    );

    let mut sim = Simulation::new(args.endpoint_ms, start, times);
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
            "  after end of speech: endpoint {}, transcript {}, first token {}, first audio {}",
            ms(l.endpoint),
            ms(l.transcript),
            ms(l.first_token),
            ms(l.first_audio)
        );
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
    endpoint_ms: u32,
    start: Instant,
    /// When each stage's work finished, which the events' marks use.
    times: Rc<RefCell<StageTimes>>,
    turns: Vec<Turn>,
    /// Each turn's end of speech on the wall clock (NaN until its endpoint): the audio time of
    /// the frame that ended the turn, less the `endpoint_ms` of silence the endpointer waited. A
    /// frame is due on the wall clock at its audio time, so a backlog of frames behind slow
    /// work shows in the endpoint latency, as a user would feel it.
    speech_ends: Vec<f64>,
    /// Audio time of the end of the last frame delivered, in ms.
    audio_ms: f64,
    playback: Option<Playback>,
    reply_audio: Vec<f32>,
    wall_ms: f64,
}

impl Simulation {
    fn new(endpoint_ms: u32, start: Instant, times: Rc<RefCell<StageTimes>>) -> Self {
        Self {
            endpoint_ms,
            start,
            times,
            turns: Vec::new(),
            speech_ends: Vec::new(),
            audio_ms: 0.0,
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
            self.record(events, now);
            if let Some((index, _)) = frames.peek() {
                let due_ms = ((*index as u64 + 1) * FRAME_MS) as f64;
                if due_ms <= now {
                    let (_, samples) = frames.next().expect("peeked");
                    self.audio_ms = due_ms;
                    let events = assistant.push_audio(samples, now);
                    self.record(events, now);
                    continue;
                }
                if !assistant.has_work() {
                    std::thread::sleep(Duration::from_secs_f64((due_ms - now) / 1e3));
                    continue;
                }
            }
            if !assistant.has_work() {
                break;
            }
            let events = assistant.step(now);
            self.record(events, self.now_ms());
        }
        self.wall_ms = self.now_ms();
        // The file is over: what is still queued would play to the end.
        if let Some(playback) = self.playback.take() {
            self.finish_playback(playback);
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
        self.speech_ends.push(f64::NAN);
        self.turns.last_mut().expect("just pushed")
    }

    /// Sets a latency mark of `turn` from `at` (wall ms), once, relative to its end of speech.
    fn mark(&mut self, turn: u64, at: f64, which: fn(&mut LatencyMs) -> &mut Option<f64>) {
        self.turn_mut(turn);
        let i = self
            .turns
            .iter()
            .position(|t| t.turn == turn)
            .expect("turn");
        let speech_end = self.speech_ends[i];
        let slot = which(&mut self.turns[i].latency_ms);
        if slot.is_none() && speech_end.is_finite() {
            *slot = Some(at - speech_end);
        }
    }

    fn record(&mut self, events: Vec<AssistantEvent>, now: f64) {
        use sotto::assistant::State;
        for event in events {
            match event {
                AssistantEvent::SpeechStart { turn } => {
                    self.turn_mut(turn);
                }
                AssistantEvent::State {
                    state: State::Thinking,
                } => {
                    // The endpoint: the turn being heard is over.
                    if let Some(i) = self.speech_ends.iter().rposition(|e| e.is_nan()) {
                        self.speech_ends[i] = self.audio_ms - f64::from(self.endpoint_ms);
                        let turn = self.turns[i].turn;
                        self.mark(turn, now, |l| &mut l.endpoint);
                    }
                }
                AssistantEvent::Partial { turn, text } => self.turn_mut(turn).partials.push(text),
                AssistantEvent::Transcript { turn, text } => {
                    self.turn_mut(turn).transcript = text;
                    let at = self.times.borrow_mut().transcript.take().unwrap_or(now);
                    self.mark(turn, at, |l| &mut l.transcript);
                    // A speculative transcript is made before the endpoint: it is the turn's
                    // transcript only once the turn is known to be over.
                    let latency = &mut self.turn_mut(turn).latency_ms;
                    if let (Some(transcript), Some(endpoint)) =
                        (latency.transcript, latency.endpoint)
                    {
                        latency.transcript = Some(transcript.max(endpoint));
                    }
                }
                AssistantEvent::NothingHeard { turn } => self.turn_mut(turn).nothing_heard = true,
                AssistantEvent::Token { turn, text } => {
                    self.turn_mut(turn).reply.push_str(&text);
                    let at = self.times.borrow_mut().piece.take().unwrap_or(now);
                    self.mark(turn, at, |l| &mut l.first_token);
                }
                AssistantEvent::Audio {
                    turn,
                    samples,
                    sample_rate,
                    ..
                } => {
                    let at = self.times.borrow_mut().audio.pop_front().unwrap_or(now);
                    self.mark(turn, at, |l| &mut l.first_audio);
                    if self.playback.as_ref().is_some_and(|p| p.turn != turn) {
                        let done = self.playback.take().expect("checked");
                        self.finish_playback(done);
                    }
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
                }
                AssistantEvent::Reply { turn, text } => self.turn_mut(turn).reply = text,
                AssistantEvent::Interrupted { turn, spoken } => {
                    let record = self.turn_mut(turn);
                    record.interrupted = true;
                    record.spoken = Some(spoken);
                    if self.playback.as_ref().is_some_and(|p| p.turn == turn) {
                        let cut = self.playback.take().expect("checked");
                        self.finish_playback(cut);
                    }
                }
                AssistantEvent::Error(error) => {
                    let turn = self.turns.last().map_or(0, |t| t.turn);
                    self.turn_mut(turn).errors.push(error);
                }
                // The machine's `Latency` marks are its `now_ms` at the start of the step that did
                // the work; the marks above are taken when the work is done.
                AssistantEvent::State { .. }
                | AssistantEvent::Latency(_)
                | AssistantEvent::DigitalSilence { .. } => {}
            }
        }
    }
}
