// Sotto's public JavaScript API (the npm package's entry in browsers; the demo page uses nothing
// else). Everything runs on the device: the engine in a module Worker, audio in AudioWorklets.
//
//   import { Sotto } from 'sotto';
//   const assistant = await Sotto.create({ asr: 'whisper-tiny.en-q8_0', llm: 'smollm2-360m-instruct-q8_0',
//     systemPrompt: 'You are a helpful assistant.', onProgress: (p) => console.log(p.percent) });
//   assistant.on('transcript', (e) => console.log('you:', e.text));
//   assistant.on('token', (e) => process(e.text));
//   await assistant.start(); // microphone, hands-free
import { AudioIo } from './audio-io.js';
import { SystemSpeaker } from './system-speaker.js';
import { encodeWav } from './wav.js';
import { SottoError, toError } from './errors.js';
import { EVENT, FROM_WORKER, REQUEST, SYSTEM_VOICE_STATE } from './protocol.js';

/** @typedef {import('./protocol.js').EngineEvent} EngineEvent */
/** @typedef {import('./protocol.js').Requests} Requests */
/** @typedef {import('./protocol.js').Results} Results */
/** @typedef {import('./protocol.js').RequestType} RequestType */
/** @typedef {import('./protocol.js').WorkerMessage} WorkerMessage */

export { SottoError };

/** Requests to the engine worker and the events it sends. */
class EngineClient extends EventTarget {
  constructor(worker) {
    super();
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    worker.addEventListener('message', (/** @type {MessageEvent<WorkerMessage>} */ { data }) => {
      if (data.type === FROM_WORKER.REPLY) {
        const pending = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (data.error) pending?.reject(toError(data.error));
        else pending?.resolve(data.result);
      } else {
        this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
      }
    });
    worker.addEventListener('error', (event) => {
      const error = new SottoError('worker', `The engine worker failed: ${event.message || 'engine-worker.js could not be loaded'}`);
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      this.dispatchEvent(new CustomEvent('fatal', { detail: error }));
    });
  }

  /**
   * Sends request `type` with its payload (protocol.js `Requests`); resolves with the reply's result.
   * @template {RequestType} K
   * @param {K} type
   * @param {Requests[K]} [payload]
   * @param {Transferable[]} [transfer]
   * @returns {Promise<Results[K]>}
   */
  request(type, payload = /** @type {Requests[K]} */ ({}), transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...payload, type, id }, transfer);
    });
  }

  terminate() {
    this.worker.terminate();
    for (const pending of this.pending.values()) pending.reject(new SottoError('disposed', 'The engine was disposed'));
    this.pending.clear();
  }
}

/** The URL relative model URLs and the local catalog resolve against: the page's (or a worker's). */
const baseUrl = () => globalThis.document?.baseURI ?? globalThis.location.href;

/**
 * Starts the engine worker. `threads` caps the helper threads (0: the single-threaded build);
 * `testHooks` lets the `debug*` calls through (tests only).
 */
async function startEngine(onProgress, threads, testHooks) {
  let worker;
  try {
    worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'sotto-engine' });
  } catch (err) {
    throw new SottoError('unsupported', `This browser cannot start module workers (${err.message}): use a current Chrome, Edge, Firefox or Safari.`);
  }
  const client = new EngineClient(worker);
  if (onProgress) client.addEventListener(FROM_WORKER.PROGRESS, (e) => onProgress(/** @type {CustomEvent} */ (e).detail));
  // The page's URL: relative model URLs and the local catalog resolve against it, not the worker's.
  const facts = await client.request(REQUEST.INIT, { page: baseUrl(), testHooks: testHooks === true, ...(threads === undefined ? {} : { threads }) });
  return { client, facts };
}

/** A copy of `value`'s bytes; `what` names them in the error when `value` holds none. */
async function bytesOf(value, what = 'model bytes') {
  if (value instanceof ArrayBuffer) return value.slice(0); // the caller's buffer stays usable
  if (ArrayBuffer.isView(value)) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  if (value instanceof Blob) return value.arrayBuffer();
  const got = value === null ? 'null' : typeof value;
  throw new SottoError('source', `${what} must be an ArrayBuffer, a typed array, a Blob or a File, not ${got}`);
}

/**
 * A model source for the engine: a catalog id, a URL (absolute, or relative to the page; a folder
 * URL for Whisper), bytes (`ArrayBuffer`, typed array, `Blob`, `File`: a GGUF chat model or a
 * Whisper GGUF with `config`/`tokenizer`), or `{weights, config, tokenizer, tokenizerConfig}` of
 * those. Blobs go to the worker as they are (read there, not on the page); other bytes are copied.
 */
async function resolveSource(source) {
  const url = (href) => ({ source: { url: new URL(href, baseUrl()).href }, transfer: [] });
  if (typeof source === 'string') return /[/:]|\.(gguf|safetensors)$/i.test(source) ? url(source) : { source, transfer: [] };
  if (source instanceof URL) return url(source.href);
  const parts = source instanceof Blob || source instanceof ArrayBuffer || ArrayBuffer.isView(source) ? { weights: source } : source;
  if (!parts?.weights) throw new SottoError('source', 'a model source is a catalog id, a URL, bytes, or {weights, config, tokenizer}');
  const kinds = { weights: 'weights', config: 'config', tokenizer: 'tokenizer', tokenizerConfig: 'tokenizer_config' };
  /** @type {{[kind: string]: {name: string, bytes: ArrayBufferLike | Blob}}} */
  const files = {};
  const transfer = [];
  for (const [key, kind] of Object.entries(kinds)) {
    if (!parts[key]) continue;
    const bytes = parts[key] instanceof Blob ? parts[key] : await bytesOf(parts[key]);
    files[kind] = { name: parts[key].name ?? (kind === 'weights' ? 'model.gguf' : `${kind}.json`), bytes };
    if (!(bytes instanceof Blob)) transfer.push(bytes);
  }
  return { source: { files }, transfer };
}

/** Events the assistant emits: the engine's events (protocol.js `EVENT`), each under its own name. */
const EVENT_NAMES = new Set(Object.values(EVENT));

/** The conversation loop: microphone in, spoken replies out, all on the device. */
export class Sotto extends EventTarget {
  /**
   * Starts the engine and loads the models. Options: `asr`, `llm` (model sources), `systemPrompt`,
   * `endpointMs`, `speculateMs` (silence after which the turn is read ahead; 0 disables),
   * `replyAhead` (also generate the reply to that speculative transcript, held back until the
   * turn ends; default true), `mode` ('hands-free' | 'push-to-talk'), `bargeIn`,
   * `partialIntervalMs`, `reply` ({maxSentences, maxTokens, fullText}: how much of a reply is
   * spoken), `chatTemplate` (for a GGUF without one), `generation` ({maxTokens,
   * temperature, topK, topP, repetitionPenalty, seed, stop, conversationTokens}), `voice` ({rate, pitch, system, lang}:
   * `system: true` speaks replies with a local system voice for `lang`, falling back to the
   * embedded voice when there is none),
   * `recognition` ({language, noSpeechThreshold, maxTokens}), `onProgress` (download progress),
   * `threads` (most helper threads for the models' matrix products; used only on a cross-origin
   * isolated page; 0 keeps the engine single-threaded), `testHooks` (tests only: enables
   * `debugPanic` and `debugConversation`).
   *
   * If the engine crashes (a bug in the wasm), an `error` event with the code `engine-crashed`
   * and the panic's message says so (a reply in progress rejects with it); the engine restarts
   * with the same models, settings and conversation and keeps listening, then a `recovered`
   * event follows (`{message, panic, messages, threads, build, singleThreadReason, ms}`). A
   * `degraded` event (`{threads, reason}`) says the engine gave up its helper threads.
   */
  static async create(options = {}) {
    const { client, facts } = await startEngine(options.onProgress, options.threads, options.testHooks);
    const sotto = new Sotto(client, facts);
    try {
      await sotto.configure(options);
      if (options.asr) await sotto.load('asr', options.asr);
      if (options.llm) await sotto.load('llm', options.llm, { chatTemplate: options.chatTemplate });
    } catch (err) {
      sotto.dispose();
      throw toError(err);
    }
    return sotto;
  }

  /**
   * @param {EngineClient} client
   * @param {import('./index.js').EngineFacts} facts
   */
  constructor(client, facts) {
    super();
    this.client = client;
    /** `{version, simd: {build, browser}, crossOriginIsolated, threads, build, singleThreadReason?, startupMs}` */
    this.engine = facts;
    this.audio = null;
    this.replies = new Map(); // turn → {resolve, text}
    this.vad = {};
    this.speaker = null; // the SystemSpeaker when replies use a system voice
    /** `{local, name, lang}` while replies use a system voice (`local`: one exists here), else null. */
    this.systemVoice = null;
    client.addEventListener(FROM_WORKER.EVENT, (/** @type {any} */ { detail }) => this.#onEvent(detail.event));
    client.addEventListener(FROM_WORKER.LEVEL, (/** @type {any} */ { detail }) => this.#emit('level', { db: detail.db }));
    client.addEventListener(FROM_WORKER.PLAYBACK, (/** @type {any} */ { detail }) => this.#emit('playback', { rendered: detail.rendered }));
    client.addEventListener(FROM_WORKER.PROGRESS, (/** @type {any} */ { detail }) => this.#emit('progress', detail));
    client.addEventListener('fatal', (/** @type {any} */ { detail }) => this.#emit('error', { code: detail.code, message: detail.message }));
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @param {EngineEvent} event */
  #onEvent(event) {
    if (!EVENT_NAMES.has(event.type)) return;
    if (event.type === EVENT.TRANSCRIPT && event.turn >= 0) this.replies.get(event.turn) ?? this.replies.set(event.turn, { text: '' });
    if (event.type === EVENT.REPLY || event.type === EVENT.INTERRUPTED) {
      const pending = this.replies.get(event.turn);
      pending?.resolve?.(event.type === EVENT.REPLY ? event.text : event.spoken);
      this.replies.delete(event.turn);
    }
    if (event.type === EVENT.AUDIO && event.system) this.speaker?.speak({ turn: event.turn, index: event.index, text: event.text });
    if (event.type === EVENT.INTERRUPTED) this.speaker?.cancel(event.turn);
    if (event.type === EVENT.ERROR) {
      const pending = [...this.replies.values()].find((r) => r.resolve);
      pending?.reject?.(new SottoError(event.code ?? event.stage ?? 'engine', event.message));
    }
    if (event.type === EVENT.RECOVERED || event.type === EVENT.DEGRADED) {
      const { singleThreadReason: _, ...facts } = this.engine;
      const reason = event.type === EVENT.DEGRADED ? event.reason : event.singleThreadReason;
      const build = event.type === EVENT.RECOVERED ? event.build : undefined;
      this.engine = { ...facts, threads: event.threads, ...(build ? { build } : {}), ...(reason ? { singleThreadReason: reason } : {}) };
    }
    this.#emit(event.type, event);
  }

  /** Listens to an event; returns a function that stops listening. */
  on(type, listener) {
    const wrapped = (event) => listener(event.detail);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  /**
   * Loads a model for `role` ('asr' or 'llm') from a source (see `resolveSource`). `chatTemplate`
   * (llm): a built-in template's name (`gemma`, `chatml`) or Jinja source, for a GGUF without one.
   *
   * @param {'asr' | 'llm'} role
   * @param {import('./index.js').ModelSource} source
   * @param {{chatTemplate?: string}} [options]
   */
  async load(role, source, { chatTemplate } = {}) {
    const { source: resolved, transfer } = await resolveSource(source);
    try {
      return await this.client.request(REQUEST.USE, { role, source: resolved, chatTemplate }, transfer);
    } catch (err) {
      throw toError(err);
    }
  }

  /** Changes settings; any of `create`'s options but the models. */
  async configure(options = {}) {
    // What this call asks for is kept only once the engine took it: a rejected value is not
    // sent again with the next call.
    /** @type {{endpointMs?: number}} */
    const vad = { ...this.vad };
    if (options.endpointMs != null) vad.endpointMs = options.endpointMs;
    const config = {};
    if (Object.keys(vad).length) config.vad = vad;
    if (options.mode) config.mode = options.mode;
    if (options.bargeIn != null) config.bargeIn = options.bargeIn;
    if (options.partialIntervalMs != null) config.partialIntervalMs = options.partialIntervalMs;
    if (options.speculateMs != null) config.speculateMs = options.speculateMs;
    if (options.reply) config.reply = { ...this.config?.reply, ...options.reply };
    if (options.replyAhead != null) config.replyAhead = options.replyAhead;
    const request = {};
    if (Object.keys(config).length) request.config = { ...this.config, ...config };
    if (options.systemPrompt !== undefined) request.systemPrompt = options.systemPrompt;
    if (options.generation) request.generation = options.generation;
    if (options.voice) {
      const { lang, ...voice } = options.voice;
      if (voice.system !== undefined || lang !== undefined) {
        await this.#routeVoice(voice.system ?? this.speaker != null, lang);
        // The engine hands chunks to the page only when a local system voice can speak them.
        voice.system = this.systemVoice?.local === true;
      }
      if (this.speaker && voice.rate != null) this.speaker.rate = voice.rate;
      request.voice = voice;
    }
    if (options.recognition) request.asr = options.recognition;
    if (!Object.keys(request).length) return;
    try {
      await this.client.request(REQUEST.CONFIGURE, request);
    } catch (err) {
      throw toError(err);
    }
    this.vad = vad;
    this.config = request.config ?? this.config;
  }

  /**
   * The settings in force, by section: `{turns, generation, asr, voice}` (Rust's one settings
   * type; what `configure` changed, over the defaults and the models' own).
   */
  async settings() {
    try {
      return await this.client.request(REQUEST.SETTINGS);
    } catch (err) {
      throw toError(err);
    }
  }

  /**
   * Speaks replies with a local system voice (`on`) or the embedded one. With a local voice, the
   * engine sends each chunk's text only (nothing is synthesized); the speaker reports the chunks
   * it starts and ends (what was heard), and hands back a chunk it cannot speak, which the engine
   * then synthesizes and plays. `this.systemVoice` tells the page which voice speaks.
   */
  async #routeVoice(on, lang) {
    this.speaker?.cancel();
    this.speaker = null;
    this.systemVoice = null;
    if (!on) return;
    /** @type {(state: Requests['system-voice']['state'], chunk: {turn: number, index: number}, extra?: {idle?: boolean}) => Promise<void>} */
    const report = (state, chunk, extra = {}) =>
      this.client.request(REQUEST.SYSTEM_VOICE, { turn: chunk.turn, index: chunk.index, state, ...extra }).catch(() => {});
    const speaker = new SystemSpeaker({
      lang: lang ?? 'en-US',
      fallback: (chunk) => report(SYSTEM_VOICE_STATE.FALLBACK, chunk),
      onstart: (chunk) => report(SYSTEM_VOICE_STATE.START, chunk),
      onend: (chunk) => report(SYSTEM_VOICE_STATE.END, chunk, { idle: !speaker.speaking }),
    });
    this.speaker = speaker;
    const local = await speaker.ready();
    this.systemVoice = { local, name: speaker.voice?.name ?? null, lang: speaker.lang };
  }

  async #ensureAudio() {
    this.audio ??= await AudioIo.create((message, transfer) => this.client.worker.postMessage({ ...message, id: 0 }, transfer));
    return this.audio;
  }

  /** Opens the microphone and starts listening (call from a user gesture). */
  async start() {
    try {
      const audio = await this.#ensureAudio();
      await audio.startMicrophone();
    } catch (err) {
      const error = toError(err);
      this.#emit('error', { code: error.code, message: error.message });
      throw error;
    }
  }

  /** Closes the microphone; a reply in progress goes on. */
  stop() {
    this.audio?.stopMicrophone();
  }

  /** Whether the microphone is open. */
  get listening() {
    return this.audio?.microphoneOn ?? false;
  }

  /** Sends typed text; resolves with the reply's text (as far as it was spoken if interrupted). */
  async ask(text) {
    await this.#ensureAudio().catch(() => null); // replies are spoken when audio output is possible
    return new Promise((resolve, reject) => {
      const off = this.on(EVENT.TRANSCRIPT, (event) => {
        off();
        this.replies.set(event.turn, { resolve, reject });
      });
      this.client.request(REQUEST.ASK, { text }).catch((err) => {
        off();
        reject(toError(err));
      });
    });
  }

  /** Speaks text with the embedded voice; resolves with `{samples, sampleRate}` once queued. */
  async say(text) {
    const audio = await this.#ensureAudio().catch(() => null);
    return this.client.request(REQUEST.SAY, { text, play: audio != null });
  }

  /** Stops the reply in progress. */
  interrupt() {
    this.speaker?.cancel();
    return this.client.request(REQUEST.INTERRUPT);
  }

  /** Push-to-talk: the button (or Space) went down / came up. */
  pressToTalk() {
    return this.client.request(REQUEST.PRESS_TO_TALK);
  }

  releaseToTalk() {
    return this.client.request(REQUEST.RELEASE_TO_TALK);
  }

  /** Transcribes 16 kHz mono samples (`Float32Array`) or WAV bytes (`ArrayBuffer`, `Blob`, `File`). */
  async transcribe(input) {
    try {
      if (input instanceof Float32Array) return await this.client.request(REQUEST.TRANSCRIBE, { pcm: input.slice() });
      const wav = await bytesOf(input, 'audio to transcribe (16 kHz mono samples as a Float32Array, or a WAV file)');
      return await this.client.request(REQUEST.TRANSCRIBE, { wav, name: input.name ?? 'audio.wav' }, [wav]);
    } catch (err) {
      throw toError(err);
    }
  }

  /** The model catalog and cache: list, download, cancel, remove, import, verify. */
  get models() {
    /** @type {<K extends RequestType>(type: K, payload?: Requests[K]) => Promise<Results[K]>} */
    const request = (type, payload) => this.client.request(type, payload).catch((err) => { throw toError(err); });
    return {
      list: () => request(REQUEST.MODELS),
      download: (id) => request(REQUEST.DOWNLOAD, { model: id }),
      cancel: (id) => request(REQUEST.CANCEL, { model: id }),
      remove: (id) => request(REQUEST.REMOVE, { model: id }),
      import: (files) => request(REQUEST.IMPORT, { files: [...files] }),
      verify: (id) => request(REQUEST.VERIFY, { model: id }),
    };
  }

  /**
   * Test hook (needs `testHooks: true`): makes the engine panic. `what`: 'reply' (once the next
   * reply has streamed two tokens), 'now', 'helper' (a helper thread, threaded build), 'helper-hang'.
   * @param {'reply' | 'now' | 'helper' | 'helper-hang'} [what]
   */
  debugPanic(what = 'reply') {
    return this.client.request(REQUEST.DEBUG_PANIC, { what });
  }

  /** Test hook (needs `testHooks: true`): the conversation the engine holds, `[{role, content}]`. */
  async debugConversation() {
    return (await this.client.request(REQUEST.DEBUG_CONVERSATION)).messages;
  }

  /** Stops everything and frees the engine. */
  dispose() {
    this.speaker?.cancel();
    this.audio?.close();
    this.audio = null;
    this.client.terminate();
  }
}

/** Speech to text without a microphone: `await (await Transcriber.create({model})).transcribe(wav)`. */
export class Transcriber {
  /**
   * `model`: a model source; `language`, `noSpeechThreshold`, `maxTokens`, `fullWindow` tune
   * decoding (as `Sotto`'s `recognition`); `onProgress`, `threads` as for `Sotto.create`.
   * @param {import('./index.js').TranscriberOptions} [options]
   */
  static async create({ model, onProgress, language, noSpeechThreshold, maxTokens, fullWindow, threads } = /** @type {any} */ ({})) {
    if (!model) throw new SottoError('source', 'Transcriber.create needs {model}: a catalog id, a URL or the Whisper files');
    const { client, facts } = await startEngine(onProgress, threads);
    const sotto = new Sotto(client, facts);
    try {
      await sotto.load('asr', model);
      // After loading: a catalog model's own decode settings apply first, the caller's override them.
      const settings = { language, noSpeechThreshold, maxTokens, fullWindow };
      const recognition = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
      if (Object.keys(recognition).length) await sotto.configure({ recognition });
    } catch (err) {
      sotto.dispose();
      throw err;
    }
    return new Transcriber(sotto);
  }

  constructor(sotto) {
    this.sotto = sotto;
  }

  transcribe(input) {
    return this.sotto.transcribe(input);
  }

  dispose() {
    this.sotto.dispose();
  }
}

/** A text chat with a local model: `await chat.reply('Hi', {onToken})` resolves with the reply. */
export class ChatModel {
  /** @param {import('./index.js').ChatModelOptions} [options] */
  static async create({ model, chatTemplate, systemPrompt, generation, onProgress, threads } = /** @type {any} */ ({})) {
    if (!model) throw new SottoError('source', 'ChatModel.create needs {model}: a catalog id, a URL or a GGUF file');
    const { client, facts } = await startEngine(onProgress, threads);
    const sotto = new Sotto(client, facts);
    try {
      await sotto.configure({ systemPrompt, generation });
      await sotto.load('llm', model, { chatTemplate });
    } catch (err) {
      sotto.dispose();
      throw err;
    }
    return new ChatModel(sotto);
  }

  constructor(sotto) {
    this.sotto = sotto;
  }

  /**
   * @param {string} text
   * @param {{onToken?: (piece: string) => void}} [options]
   */
  async reply(text, { onToken } = {}) {
    const off = onToken ? this.sotto.on(EVENT.TOKEN, (e) => e.turn === -1 && onToken(e.text)) : null;
    try {
      const { text: reply } = await this.sotto.client.request(REQUEST.CHAT, { text, stream: Boolean(onToken) });
      return reply;
    } catch (err) {
      throw toError(err);
    } finally {
      off?.();
    }
  }

  /** Forgets the conversation (keeps the model). */
  async reset() {
    await this.sotto.client.request(REQUEST.CHAT_RESET);
  }

  dispose() {
    this.sotto.dispose();
  }
}

/** The embedded voice: `synthesize` returns PCM, `toWav` a WAV file's bytes; `speak` plays it. */
export class Voice {
  /** @param {import('./index.js').VoiceOptions} [options] */
  static async create({ rate, pitch, sampleRate } = {}) {
    const { client, facts } = await startEngine();
    const sotto = new Sotto(client, facts);
    try {
      await sotto.configure({ voice: { rate: rate ?? 1, pitch: pitch ?? 1, sampleRate: sampleRate ?? 24000 } });
    } catch (err) {
      sotto.dispose();
      throw toError(err);
    }
    return new Voice(sotto);
  }

  constructor(sotto) {
    this.sotto = sotto;
  }

  /** `{samples: Float32Array, sampleRate}` without playing. */
  synthesize(text) {
    return this.sotto.client.request(REQUEST.SAY, { text, play: false });
  }

  /** The speech as a 16-bit mono WAV file's bytes. */
  async toWav(text) {
    const { samples, sampleRate } = await this.synthesize(text);
    return encodeWav(samples, sampleRate);
  }

  /** Speaks through the speakers (call from a user gesture the first time). */
  speak(text) {
    return this.sotto.say(text);
  }

  dispose() {
    this.sotto.dispose();
  }
}
