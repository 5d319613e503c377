// Typings of the `sotto` package in browsers (sotto.js); Node's entry has its own (node.d.ts).
// What both share is in common.d.ts, and exported from here as it is.
import type { ChatModelApi, ChatOptions, GenerationOptions, ProgressInfo, RecognitionOptions, Speech, SottoErrorCode, Transcript, VoiceApi, VoiceOptions } from './common.js';

export * from './common.js';

/** Model bytes in the browser. */
export type ModelBytes = ArrayBuffer | ArrayBufferView | Blob;

/** The files of a model given one by one (bytes). */
export interface ModelFiles {
  /** The weights: GGUF (chat or Whisper) or safetensors (Whisper). */
  weights: ModelBytes;
  /** Whisper's `config.json`. */
  config?: ModelBytes;
  /** `tokenizer.json`. */
  tokenizer?: ModelBytes;
  /** A chat model's `tokenizer_config.json` (its chat template). */
  tokenizerConfig?: ModelBytes;
}

/**
 * A model source: a catalog id (`'whisper-tiny.en-q8_0'`); a URL, absolute (same-origin, or
 * cross-origin from a server that sends CORS headers) or relative to the page: a chat model's
 * `.gguf`, for Whisper its weights' URL (`config.json` and `tokenizer.json` beside them) or its
 * folder's; bytes (a GGUF file; a `Blob` without a name counts as GGUF); or its files one by one.
 */
export type ModelSource = string | URL | ModelBytes | ModelFiles;

/**
 * `Sotto`'s voice settings: the embedded voice's rate and pitch (its sample rate follows the
 * speakers'), and the system voice.
 */
export interface AssistantVoiceOptions extends Omit<VoiceOptions, 'sampleRate'> {
  /**
   * Speak replies with a *local* system voice (`speechSynthesis`, never a network voice) for
   * `lang`; any chunk it cannot speak is spoken by the embedded voice. Default false.
   */
  system?: boolean;
  /** The replies' language (BCP 47) for choosing the system voice; default 'en-US'. */
  lang?: string;
}

/** Which system voice speaks replies (`Sotto.systemVoice`). */
export interface SystemVoiceInfo {
  /** Whether a local voice for `lang` exists here; if not, the embedded voice speaks. */
  local: boolean;
  /** The chosen voice's name, or null. */
  name: string | null;
  lang: string;
}

export interface SottoOptions {
  /** The speech recognition model. */
  asr?: ModelSource;
  /** The chat model. */
  llm?: ModelSource;
  /**
   * The chat model's chat template, for a GGUF without one (or to replace its own): a built-in
   * template's name (`'gemma'` for a pre-trained Gemma 3, `'chatml'`) or Jinja source. A model
   * left without a template does not load.
   */
  chatTemplate?: string;
  /** The system prompt: null (the default) is "You are a helpful assistant. Keep answers short.", '' none. */
  systemPrompt?: string | null;
  /** Silence (ms) that ends a turn. */
  endpointMs?: number;
  /**
   * Silence (ms) after which the final transcript and the reply's prompt are prepared ahead,
   * before the end of the turn (default 160; 0 disables; kept below `endpointMs`).
   */
  speculateMs?: number;
  /**
   * How much of a reply is spoken: the voice stops after `maxSentences` sentences (default 2) or
   * `maxTokens` reply tokens (default 80), 0 for no limit; by default the model stops with it and
   * the conversation keeps the reply as spoken, with `fullText: true` the model writes the whole
   * reply for the text (`token` events) without speaking the rest.
   */
  reply?: { maxSentences?: number; maxTokens?: number; fullText?: boolean };
  /**
   * With `speculateMs` on, also generate the reply to the speculative transcript, held back
   * until the end of the turn confirms it (default true).
   */
  replyAhead?: boolean;
  mode?: 'hands-free' | 'push-to-talk';
  /** Whether speaking during a reply interrupts it (default true). */
  bargeIn?: boolean;
  /** How often (ms) a growing utterance is re-transcribed for `partial` events. */
  partialIntervalMs?: number;
  generation?: GenerationOptions;
  voice?: AssistantVoiceOptions;
  recognition?: RecognitionOptions;
  /** Called while models download. */
  onProgress?: (progress: ProgressInfo) => void;
  /**
   * Most helper threads for the models' matrix products (default: one per spare core, at most 3).
   * They are used only on a cross-origin isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
   * elsewhere, or with 0, the engine is single-threaded. See `Sotto.engine.threads`.
   */
  threads?: number;
  /** Tests only: enables `debugPanic` and `debugConversation`. */
  testHooks?: boolean;
}

export type AssistantState = 'listening' | 'hearing-you' | 'thinking' | 'speaking';

/** The payload of each event `Sotto.on` delivers. */
export interface SottoEventMap {
  state: { type: 'state'; state: AssistantState };
  'speech-start': { type: 'speech-start'; turn: number };
  partial: { type: 'partial'; turn: number; text: string };
  transcript: { type: 'transcript'; turn: number; text: string };
  'nothing-heard': { type: 'nothing-heard'; turn: number };
  /** A piece of the reply; `turn` is -1 for `ChatModel` replies. */
  token: { type: 'token'; turn: number; text: string };
  /** A chunk of the reply is ready to be heard (`samples`: its length in the embedded voice;
   *  `system`: the system voice speaks it, and nothing was synthesized: `samples` is 0; a chunk
   *  it cannot speak comes again, synthesized, without `system`). */
  audio: { type: 'audio'; turn: number; index: number; text: string; samples: number; sampleRate: number; system?: boolean };
  reply: { type: 'reply'; turn: number; text: string };
  speaking: { type: 'speaking'; turn: number };
  'speaking-stopped': { type: 'speaking-stopped'; turn: number };
  interrupted: { type: 'interrupted'; turn: number; spoken: string };
  /**
   * A turn's latency record, in milliseconds on the engine worker's `performance.now()` clock,
   * onto which the microphone's capture times and the playback's render times are mapped. Sent
   * when the reply starts sounding, and again, with the barge-in marks, after a user's voice cut
   * its playback (keep the latest per turn).
   */
  latency: {
    type: 'latency';
    turn: number;
    /** The end of the last voiced frame. */
    speechEnd: number | null;
    /** The end of the turn (the endpoint silence completed). */
    endpoint: number | null;
    transcript: number | null;
    firstToken: number | null;
    /** The first chunk of speech was synthesized. */
    firstChunk: number | null;
    /** The reply started sounding (the playback's first non-silent sample). */
    firstAudio: number | null;
    /** Barge-in: the onset of the voice that cut this reply. */
    interruptOnset: number | null;
    /** Barge-in: the end of the reply's last rendered sample. */
    playbackStop: number | null;
    /** Speculative final transcripts made during the utterance's pauses. */
    speculations: number;
    /** Whether the final transcript was a speculative one. */
    speculativeFinal: boolean;
    /** How the reply's prompt was read: its ids, those the cache kept from the conversation,
     *  those read ahead while the user spoke, and all computed for it. */
    prompt: { ids: number; cached: number; readAhead: number; computed: number } | null;
    /** The engine's wasm memory when the record was sent, in bytes (it never shrinks). */
    wasmMemoryBytes: number;
  };
  /** The microphone has delivered only zeros for a few seconds (muted or broken). */
  'digital-silence': { type: 'digital-silence'; for_ms: number };
  /** Sound arrives again after a `digital-silence`. */
  'digital-silence-ended': { type: 'digital-silence-ended' };
  /** A stage failed; `code: 'engine-crashed'` (with the Rust `panic` message) means the engine
   *  crashed and is being restarted: `recovered` follows. */
  error: { type?: 'error'; stage?: 'asr' | 'llm' | 'tts' | 'engine'; code?: SottoErrorCode; message: string; panic?: string | null };
  /** A new engine took over after a crash, with the old one's models, settings and conversation
   *  (`messages` restored) and the microphone still flowing in. */
  recovered: { type: 'recovered'; message: string; panic: string | null; messages: number; threads: number; build: 'threads' | 'single'; singleThreadReason: string | null; ms: number };
  /** A helper thread failed: the engine goes on single-threaded. */
  degraded: { type: 'degraded'; threads: number; reason: string };
  /** The microphone level, in dBFS. */
  level: { db: number };
  playback: { rendered: number };
  progress: ProgressInfo;
}

export type SottoEventType = keyof SottoEventMap;

/** What `create` learns about the engine. */
export interface EngineFacts {
  version: string;
  simd: { build: boolean; browser: boolean };
  crossOriginIsolated: boolean;
  /** Threads sharing the models' matrix products: 1 + the helper Workers that joined. */
  threads: number;
  /** Which wasm build runs: `threads` needs a cross-origin isolated page (COOP/COEP headers). */
  build: 'threads' | 'single';
  /** Why the single-threaded build runs, when the threaded one was not used. */
  singleThreadReason?: string;
  startupMs: number;
}

/**
 * Every setting in force, by section (Rust's one settings type, as `configure` sets it): `turns`
 * (turn taking: `vad`, `mode`, `reply`, ...), `generation`, `asr` (recognition) and `voice`.
 */
export interface EngineSettings {
  turns: Record<string, any>;
  generation: Record<string, any>;
  asr: Record<string, any>;
  voice: Record<string, any>;
}

/** A catalog or cached model, as `models.list()` reports it. */
export interface ModelEntry {
  id: string;
  name: string;
  role: 'asr' | 'llm';
  files: { name: string; size?: number; sha256?: string; url?: string }[];
  origin?: string;
  note?: string;
  languages?: string[];
  /** The cache's record of the model (`bytes`: its size), or null when it is not downloaded. */
  cached: { id: string; bytes: number; files: unknown[]; storedAt: string; [key: string]: unknown } | null;
  inUse: boolean;
  [key: string]: unknown;
}

/** The model catalog and cache (browser). */
export interface ModelManager {
  list(): Promise<{ models: ModelEntry[]; storage: { usage: number; quota: number } }>;
  download(id: string): Promise<{ model: string; files: unknown[] }>;
  cancel(id: string): Promise<{ model: string; cancelled: boolean }>;
  remove(id: string): Promise<{ model: string }>;
  import(files: Iterable<File>): Promise<{ model: string; files: unknown[] }>;
  /** Reads a cached model's files again, checks their hashes and headers (`header.format`: which format the file is). */
  verify(id: string): Promise<{ model: string; files: { name: string; size: number; sha256: string; header: { format: 'gguf' | 'safetensors' | 'json'; [key: string]: unknown } }[] }>;
}

/** The conversation loop (browser only): microphone in, spoken replies out, all on the device. */
export class Sotto extends EventTarget {
  static create(options?: SottoOptions): Promise<Sotto>;
  readonly engine: EngineFacts;
  /** The system voice in use (`voice.system`), or null when the embedded voice speaks. */
  readonly systemVoice: SystemVoiceInfo | null;
  /** Listens to an event; returns a function that stops listening. */
  on<K extends SottoEventType>(type: K, listener: (event: SottoEventMap[K]) => void): () => void;
  /**
   * Loads a model for a role (`chatTemplate`: see `SottoOptions.chatTemplate`); resolves with the
   * model's id and a summary such as `'Whisper, English only'`. A model the cache cannot keep
   * (its quota is used up) still loads, from memory for this session: `cached: false` and a
   * `warning` that says so.
   */
  load(role: 'asr' | 'llm', source: ModelSource, options?: { chatTemplate?: string }): Promise<{ role: 'asr' | 'llm'; model: string; summary: string; cached?: false; warning?: string }>;
  /** Changes any of `create`'s options but the models. */
  configure(options?: Omit<SottoOptions, 'asr' | 'llm' | 'chatTemplate' | 'onProgress' | 'threads'>): Promise<void>;
  /** The settings in force (what `configure` changed, over the defaults and the models' own). */
  settings(): Promise<EngineSettings>;
  /** Opens the microphone and starts listening (call from a user gesture). */
  start(): Promise<void>;
  /** Closes the microphone; a reply in progress goes on. */
  stop(): void;
  readonly listening: boolean;
  /** Typed text in; resolves with the reply (as far as it was spoken if interrupted). */
  ask(text: string): Promise<string>;
  /** Speaks text; resolves once queued. */
  say(text: string): Promise<Speech>;
  interrupt(): Promise<unknown>;
  pressToTalk(): Promise<unknown>;
  releaseToTalk(): Promise<unknown>;
  /** 16 kHz mono samples or WAV bytes. */
  transcribe(input: Float32Array | ArrayBuffer | ArrayBufferView | Blob): Promise<Transcript>;
  readonly models: ModelManager;
  /** Tests only (`testHooks: true`): makes the engine panic ('reply': once the next reply
   *  has streamed two tokens; 'now'; 'helper' / 'helper-hang': a helper thread of the threaded build). */
  debugPanic(what?: 'reply' | 'now' | 'helper' | 'helper-hang'): Promise<unknown>;
  /** Tests only (`testHooks: true`): the conversation the engine holds. */
  debugConversation(): Promise<{ role: 'user' | 'assistant'; content: string }[]>;
  dispose(): void;
}

export interface TranscriberOptions extends RecognitionOptions {
  /** A model source: a catalog id, a URL, or the Whisper files' bytes. */
  model: ModelSource;
  /** Called while the model downloads (URL and catalog sources). */
  onProgress?: (progress: ProgressInfo) => void;
  /** Most helper threads (see `SottoOptions.threads`). */
  threads?: number;
}

/** Speech to text without a microphone. */
export class Transcriber {
  static create(options: TranscriberOptions): Promise<Transcriber>;
  /** 16 kHz mono samples, or a WAV file's bytes (`ArrayBuffer`, typed array, `Blob`, `File`). */
  transcribe(input: Float32Array | ArrayBuffer | ArrayBufferView | Blob): Promise<Transcript>;
  dispose(): void;
}

export interface ChatModelOptions extends ChatOptions {
  /** A model source: a catalog id, a URL, a GGUF file's bytes, or its files (`tokenizer`...). */
  model: ModelSource;
  /** Most helper threads (see `SottoOptions.threads`). */
  threads?: number;
}

/** A text chat with a local model (its methods: `ChatModelApi`). */
export class ChatModel {
  static create(options: ChatModelOptions): Promise<ChatModel>;
}
export interface ChatModel extends ChatModelApi {}

/** The embedded voice (`VoiceApi`), which can also play through the speakers. */
export class Voice {
  static create(options?: VoiceOptions): Promise<Voice>;
}
export interface Voice extends VoiceApi {
  /** Plays through the speakers (call from a user gesture the first time); resolves once queued. */
  speak(text: string): Promise<Speech>;
}
