// The worker protocol, written once: every message between the page (sotto.js, audio-io.js), the
// engine worker (engine-worker.js, with engine-recovery.js), its helper threads (engine-helper.js)
// and the audio worklets (capture-worklet.js, playback-worklet.js): the message type names as
// constants, and each message's payload as a JSDoc type that `tsc --checkJs` checks at the senders
// and receivers (tests/npm/checkjs.test.mjs). Node's entry (node.js) calls the engine in-process
// and sends no messages.
//
//   page ──request {id, type, ...}──▶ engine worker ──{type: 'reply', id, result | error}──▶ page
//                                     engine worker ──{type: 'event' | 'progress' | 'level' | 'playback'}──▶ page
//   capture worklet ──{type: 'audio'}──▶ engine worker   (a MessagePort the page hands both)
//   engine worker ──{type: 'chunk' | 'flush'}──▶ playback worklet ──{type: 'started' | 'stopped' | 'level'}──▶ engine worker
//   engine worker ──{module, memory}──▶ helper ──{ready} | {error, panic, died}──▶ engine worker
//
// The worklets use only this file's types (`import('./protocol.js')` in JSDoc, erased at run
// time): a bundler copies or inlines a worklet as one file, so it cannot import a module.

/** The requests the page sends the engine worker (`{id, type, ...payload}`; payloads: `Requests`). */
export const REQUEST = Object.freeze({
  INIT: 'init',
  MODELS: 'models',
  DOWNLOAD: 'download',
  CANCEL: 'cancel',
  REMOVE: 'remove',
  VERIFY: 'verify',
  /** The same as `verify` (an older name; the package does not send it). */
  LOAD: 'load',
  IMPORT: 'import',
  USE: 'use',
  CONFIGURE: 'configure',
  /** The settings in force (`{turns, generation, asr, voice}`, Rust's one settings type). */
  SETTINGS: 'settings',
  SYSTEM_VOICE: 'system-voice',
  CAPTURE_PORT: 'capture-port',
  PLAYBACK_PORT: 'playback-port',
  ASK: 'ask',
  INTERRUPT: 'interrupt',
  PRESS_TO_TALK: 'press-to-talk',
  RELEASE_TO_TALK: 'release-to-talk',
  SAY: 'say',
  TRANSCRIBE: 'transcribe',
  CHAT: 'chat',
  CHAT_RESET: 'chat-reset',
  DEBUG_PANIC: 'debug-panic',
  DEBUG_CONVERSATION: 'debug-conversation',
});

/** What the engine worker sends the page (`WorkerMessage`). */
export const FROM_WORKER = Object.freeze({
  /** The answer to a request: `{id, result}` or `{id, error: {code, message}}`. */
  REPLY: 'reply',
  /** An assistant event: `{event}` (`EngineEvent`). */
  EVENT: 'event',
  /** Download progress (`ProgressInfo`). */
  PROGRESS: 'progress',
  /** The microphone's level (`{db}`), about 15 times a second while it is open. */
  LEVEL: 'level',
  /** Samples the playback worklet has played so far (`{rendered}`). */
  PLAYBACK: 'playback',
});

/**
 * The assistant events (`EngineEvent`'s `type`): the engine's own (Rust `AssistantEvent`), and
 * those the worker adds (`speaking`, `speaking-stopped`, `recovered`, `degraded`, `error` with a
 * code). `Sotto` emits each under its own name.
 */
export const EVENT = Object.freeze({
  STATE: 'state',
  SPEECH_START: 'speech-start',
  PARTIAL: 'partial',
  TRANSCRIPT: 'transcript',
  NOTHING_HEARD: 'nothing-heard',
  TOKEN: 'token',
  AUDIO: 'audio',
  REPLY: 'reply',
  SPEAKING: 'speaking',
  SPEAKING_STOPPED: 'speaking-stopped',
  INTERRUPTED: 'interrupted',
  LATENCY: 'latency',
  DIGITAL_SILENCE: 'digital-silence',
  DIGITAL_SILENCE_ENDED: 'digital-silence-ended',
  ERROR: 'error',
  RECOVERED: 'recovered',
  DEGRADED: 'degraded',
});

/** The messages on the worklets' ports (`CaptureCommand`, `CaptureFrame`, `PlaybackCommand`, `PlaybackReport`). */
export const WORKLET = Object.freeze({
  /** Page → worklet: the MessagePort to the engine worker. */
  CONNECT: 'connect',
  /** Page → capture worklet: stop / start sending frames. */
  PAUSE: 'pause',
  RESUME: 'resume',
  /** Capture worklet → engine worker: about 20 ms of the microphone's frames, as the device gives them. */
  AUDIO: 'audio',
  /** Engine worker → playback worklet: queue a chunk of a turn's reply; drop queued audio. */
  CHUNK: 'chunk',
  FLUSH: 'flush',
  /** Playback worklet → engine worker: a turn started / stopped sounding; the played level. */
  STARTED: 'started',
  STOPPED: 'stopped',
  LEVEL: 'level',
});

/**
 * The engine's event (`StepEvent`, Rust `AssistantEvent::Chunk`) for a reply chunk the page's
 * system voice speaks: its text only, nothing synthesized. The worker sends it on to the page as
 * an `audio` event with `system: true` and no samples.
 */
export const SYSTEM_CHUNK = 'chunk';

/** The states of a chunk the page's system voice speaks (`system-voice` requests). */
export const SYSTEM_VOICE_STATE = Object.freeze({ START: 'start', END: 'end', FALLBACK: 'fallback' });

/**
 * Every `SottoError` code (a reply's `error.code`, an `error` event's `code`, what the API throws);
 * pkg-config/common.d.ts's `SottoErrorCode` lists the same (tests/npm/checkjs.test.mjs).
 */
export const ERROR_CODES = Object.freeze(/** @type {const} */ ([
  'source', 'file', 'audio', 'model', 'voice', 'engine', 'unsupported', 'worker', 'engine-crashed', 'engine-failed',
  'disposed', 'asr', 'llm', 'tts', 'denied', 'no-device', 'busy', 'catalog', 'network', 'http', 'size', 'short',
  'quota', 'cancelled', 'unknown-model', 'missing', 'missing-file', 'corrupt', 'integrity', 'storage', 'import',
  'role', 'settings',
]));

/** The error code of the worker's answer to a request it does not know or, without the test hooks, does not take (`debug-*`). */
export const UNKNOWN_REQUEST = 'unknown-request';

/** @typedef {typeof ERROR_CODES[number]} ErrorCode */
/** @typedef {typeof REQUEST[keyof typeof REQUEST]} RequestType */
/** @typedef {typeof EVENT[keyof typeof EVENT]} EventType */

// --- Requests (page → engine worker) ----------------------------------------------------------

/**
 * A model source as the worker takes it: a catalog id, `{url}`, or `{files}` by kind (`weights`,
 * `config`, `tokenizer`, `tokenizer_config`), each `{name, bytes}` (an ArrayBuffer or a Blob).
 * @typedef {string | {url: string, files?: undefined}
 *   | {files: {[kind: string]: {name?: string, bytes: ArrayBufferLike | Blob}}, url?: undefined}} ModelSourceMessage
 */

/**
 * `configure`: settings, each optional (left out: unchanged). `config`: the assistant's turn
 * taking (Rust `AssistantConfig`); `asr`: decoding (`RecognitionOptions`); `voice`: the embedded
 * voice (`rate`, `pitch`, `sampleRate`) and `system` (replies spoken by the page's system voice).
 * @typedef {{config?: object, systemPrompt?: string | null, generation?: object, asr?: object,
 *   voice?: {rate?: number, pitch?: number, sampleRate?: number, system?: boolean}}} ConfigureRequest
 */

/**
 * The payload of each request, by type.
 * @typedef {{
 *   'init': {page?: string, testHooks?: boolean, threads?: number},
 *   'models': {},
 *   'download': {model: string},
 *   'cancel': {model: string},
 *   'remove': {model: string},
 *   'verify': {model: string},
 *   'load': {model: string},
 *   'import': {files: File[]},
 *   'use': {role: 'asr' | 'llm', source: ModelSourceMessage, chatTemplate?: string},
 *   'configure': ConfigureRequest,
 *   'settings': {},
 *   'system-voice': {turn: number, index: number, state: 'start' | 'end' | 'fallback', idle?: boolean},
 *   'capture-port': {port: MessagePort, sampleRate: number},
 *   'playback-port': {port: MessagePort, sampleRate: number},
 *   'ask': {text: string},
 *   'interrupt': {},
 *   'press-to-talk': {},
 *   'release-to-talk': {},
 *   'say': {text: string, play: boolean},
 *   'transcribe': {pcm: Float32Array, wav?: undefined, name?: undefined} | {wav: ArrayBufferLike, name: string, pcm?: undefined},
 *   'chat': {text: string, stream: boolean},
 *   'chat-reset': {},
 *   'debug-panic': {what: 'reply' | 'now' | 'helper' | 'helper-hang'},
 *   'debug-conversation': {},
 * }} Requests
 */

/**
 * One request as it travels: its payload, `type` and `id` (0 for the audio ports, whose replies
 * nobody waits for).
 * @template {RequestType} K
 * @typedef {Requests[K] & {type: K, id: number}} RequestOf
 */

/** @typedef {{[K in RequestType]: RequestOf<K>}[RequestType]} RequestMessage */

/**
 * The `result` of each request's reply. The shapes the package's typings promise are taken from
 * them (`./common.js`, `./index.js`: pkg-config/, beside this file in the package).
 * @typedef {Awaited<ReturnType<import('./index.js').ModelManager['verify']>>} VerifyResult
 * @typedef {{
 *   'init': import('./index.js').EngineFacts,
 *   'models': {models: import('./index.js').ModelEntry[], storage: {usage: number, quota: number}},
 *   'download': {model: string, files: unknown[]},
 *   'cancel': {model: string, cancelled: boolean},
 *   'remove': {model: string},
 *   'verify': VerifyResult,
 *   'load': VerifyResult,
 *   'import': {model: string, files: unknown[]},
 *   'use': {role: 'asr' | 'llm', model: string, summary: string, cached?: false, warning?: string},
 *   'configure': {},
 *   'settings': import('./index.js').EngineSettings,
 *   'system-voice': void,
 *   'capture-port': {},
 *   'playback-port': {voiceSampleRate: number},
 *   'ask': {},
 *   'interrupt': {},
 *   'press-to-talk': void,
 *   'release-to-talk': void,
 *   'say': import('./common.js').Speech,
 *   'transcribe': import('./common.js').Transcript,
 *   'chat': {text: string},
 *   'chat-reset': void,
 *   'debug-panic': {},
 *   'debug-conversation': {messages: {role: 'user' | 'assistant', content: string}[]},
 * }} Results
 */

/**
 * The worker's request handlers: one per request type; each resolves with its reply's `result`
 * (nothing: the reply's result is `{}`).
 * @typedef {{[K in RequestType]: (request: RequestOf<K>) => Promise<Results[K]>}} RequestHandlers
 */

/**
 * What the page's audio plumbing (audio-io.js) sends the worker, without an id.
 * @typedef {Omit<RequestOf<'capture-port'>, 'id'> | Omit<RequestOf<'playback-port'>, 'id'>} PortRequest
 */

// --- Worker → page --------------------------------------------------------------------------------

/** @typedef {{code: string, message: string}} ErrorMessage */

/**
 * The answer to request `id`: its `result`, or the `error` it failed with.
 * @typedef {{type: 'reply', id: number, result?: any, error?: ErrorMessage}} ReplyMessage
 */

/**
 * Download progress of a model (common.d.ts's `ProgressInfo`).
 * @typedef {{model: string, loaded: number, total: number | null, percent: number | null,
 *   bytesPerSecond: number | null, secondsLeft: number | null,
 *   files: {name: string, loaded: number, total: number | null}[]}} ProgressInfo
 */

/**
 * @typedef {ReplyMessage
 *   | {type: 'event', event: EngineEvent}
 *   | ({type: 'progress'} & ProgressInfo)
 *   | {type: 'level', db: number}
 *   | {type: 'playback', rendered: number}} WorkerMessage
 */

// --- Assistant events (in `{type: 'event', event}`) ----------------------------------------------

/**
 * A chunk of a reply's audio as the page hears of it: `samples` is its length in the embedded
 * voice (the samples go to the playback worklet); `system`: the page's system voice speaks it,
 * and nothing was synthesized (`samples` is 0). A chunk the system voice hands back comes again,
 * synthesized, without `system`.
 * @typedef {{type: 'audio', turn: number, index: number, text: string, samples: number, sampleRate: number, system?: boolean}} AudioEvent
 */

/**
 * A turn's latency record (Rust `Latency`), in ms on the engine worker's clock.
 * @typedef {{type: 'latency', turn: number, speechEnd: number | null, endpoint: number | null,
 *   transcript: number | null, firstToken: number | null, firstChunk: number | null,
 *   firstAudio: number | null, interruptOnset: number | null, playbackStop: number | null,
 *   speculations: number, speculativeFinal: boolean, tokensAhead: number,
 *   prompt: {ids: number, cached: number, readAhead: number, computed: number} | null,
 *   wasmMemoryBytes: number}} LatencyEvent
 */

/**
 * A stage failed (`stage`, from the engine), or the engine crashed or gave up (`code`:
 * `engine-crashed` with the Rust `panic`, `engine-failed`).
 * @typedef {{type: 'error', stage?: 'asr' | 'llm' | 'tts' | 'engine', code?: ErrorCode, message: string, panic?: string | null}} StageErrorEvent
 */

/**
 * A new engine took over after a crash (engine-recovery.js).
 * @typedef {{type: 'recovered', message: string, panic: string | null, ms: number, messages: number,
 *   threads: number, build: 'threads' | 'single', singleThreadReason: string | null}} RecoveredEvent
 */

/**
 * Every event the worker sends the page.
 * @typedef {{type: 'state', state: 'listening' | 'hearing-you' | 'thinking' | 'speaking'}
 *   | {type: 'speech-start', turn: number}
 *   | {type: 'partial', turn: number, text: string}
 *   | {type: 'transcript', turn: number, text: string}
 *   | {type: 'nothing-heard', turn: number}
 *   | {type: 'token', turn: number, text: string}
 *   | AudioEvent
 *   | {type: 'reply', turn: number, text: string}
 *   | {type: 'speaking', turn: number, at: number}
 *   | {type: 'speaking-stopped', turn: number, interrupted: boolean}
 *   | {type: 'interrupted', turn: number, spoken: string}
 *   | LatencyEvent
 *   | {type: 'digital-silence', for_ms: number}
 *   | {type: 'digital-silence-ended'}
 *   | StageErrorEvent
 *   | RecoveredEvent
 *   | {type: 'degraded', threads: number, reason: string}} EngineEvent
 */

/**
 * The events the wasm engine returns (`Engine.step`, `pushAudio`, `speakChunk`...): its audio
 * chunks carry their samples; a chunk for the system voice (`SYSTEM_CHUNK`) only its text.
 * @typedef {Exclude<EngineEvent, AudioEvent> | (Omit<AudioEvent, 'samples' | 'system'> & {samples: Float32Array})
 *   | {type: 'chunk', turn: number, index: number, text: string}} StepEvent
 */

// --- Worklets --------------------------------------------------------------------------------------

/**
 * Page → a worklet's own port: `connect` hands it the port to the engine worker.
 * @typedef {{type: 'connect', port: MessagePort}} ConnectCommand
 */
/**
 * Page → capture worklet.
 * @typedef {ConnectCommand | {type: 'pause'} | {type: 'resume'}} CaptureCommand
 */

/**
 * Capture worklet → engine worker: about 20 ms of the microphone's frames as the device delivers
 * them (`channels` interleaved, at the context's rate, which `capture-port` gave; transferred),
 * and the AudioContext time just after the last one (`at`, seconds). The engine downmixes and
 * resamples them to 16 kHz (`Engine.pushCapture`).
 * @typedef {{type: 'audio', samples: Float32Array, channels: number, at: number}} CaptureFrame
 */

/**
 * Engine worker → playback worklet: a chunk of `turn` (-1: `say`) at `sampleRate`, the context's
 * own (the engine resamples the voice to it); or drop the queued audio (of `turn`, or all).
 * @typedef {{type: 'chunk', turn: number, samples: Float32Array, sampleRate: number}
 *   | {type: 'flush', turn?: number}} PlaybackCommand
 */

/**
 * Playback worklet → engine worker: a turn started sounding (`at`: AudioContext time of its
 * first sample), stopped (`rendered`: its samples played, `at`: the end of the last), and about
 * every 20 ms the played level (`rms`), the playing turn's progress and every sample played (`total`).
 * @typedef {{type: 'started', turn: number, at: number}
 *   | {type: 'stopped', turn: number, interrupted: boolean, rendered: number, at: number}
 *   | {type: 'level', rms: number, turn: number | null, rendered: number, total: number}} PlaybackReport
 */

/**
 * A MessagePort whose messages are typed: it sends `Out` and receives `In`.
 * @template Out, In
 * @typedef {Omit<MessagePort, 'postMessage' | 'onmessage'> & {
 *   postMessage(message: Out, transfer?: Transferable[]): void,
 *   onmessage: ((event: MessageEvent<In>) => void) | null}} Port
 */

// --- Helper threads ----------------------------------------------------------------------------------

/**
 * Engine worker → helper: the compiled threaded build and its shared memory.
 * @typedef {{module: WebAssembly.Module, memory: WebAssembly.Memory}} HelperStart
 */
/**
 * Helper → engine worker: it joined the engine (`{ready: true}`), or it failed (`error`; `panic`:
 * the Rust panic's message; `died`: after it had joined).
 * @typedef {{ready?: true, error?: string, panic?: string | null, died?: boolean}} HelperReport
 */
