// What the engine worker needs to bring a crashed engine back: which errors mean the wasm
// instance is gone, and a record of everything the engine was told (settings, models, the
// conversation so far) to tell a new engine.
//
// A Rust panic aborts the wasm build, which traps the instance (a `WebAssembly.RuntimeError`);
// wasm-bindgen then never releases the `Engine`'s borrow, and every later call fails with
// "recursive use of an object". Either means: start a new instance and a new `Engine`.
import { EVENT, FROM_WORKER } from './protocol.js';

/** @typedef {import('./protocol.js').RecoveredEvent} RecoveredEvent */

/** Whether `err`, thrown by a call into the engine, means its wasm instance can no longer be used. */
export function isCrash(err) {
  if (err instanceof WebAssembly.RuntimeError) return true;
  const message = String(err?.message ?? '');
  if (err instanceof RangeError && /call stack/i.test(message)) return true;
  // The borrow a trap left behind, or the old engine used after a crash destroyed it.
  return /recursive use of an object|attempted to take ownership of Rust value while it was borrowed|null pointer passed to rust/i.test(message);
}

/**
 * The panic's message, which the panic hook left on this worker's global, taken so that the next
 * crash reports its own.
 */
function takePanicMessage() {
  const global = /** @type {any} */ (self);
  const message = global.sottoPanicMessage ?? null;
  delete global.sottoPanicMessage;
  return message;
}

// Microphone blocks kept while a new engine starts (the newest 15 s of 20 ms blocks), then fed to it.
const MAX_BUFFERED_FRAMES = 15 * 50;
// More crashes than this within CRASH_WINDOW_MS: the engine is not restarted again.
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

/**
 * Restarts the engine after a crash. The worker provides `post` (to the page), `helperPanic()`
 * (the message a helper thread's Worker sent, if any), `stop()` (leaves the old engine),
 * `restart(helperFailed)` (a new instance and engine with the old one's state; resolves with
 * what the `recovered` event reports) and `resume(frames)` (feeds the microphone frames that
 * came meanwhile to the new engine).
 */
export class CrashRecovery {
  /**
   * @param {{post: (message: import('./protocol.js').WorkerMessage) => void, helperPanic: () => string | null,
   *   stop: () => void, restart: (helperFailed: boolean) => Promise<Pick<RecoveredEvent, 'messages' | 'threads' | 'build' | 'singleThreadReason'>>,
   *   resume: (frames: import('./protocol.js').CaptureFrame[]) => void}} worker
   */
  constructor({ post, helperPanic, stop, restart, resume }) {
    /** @type {(message: import('./protocol.js').WorkerMessage) => void} */
    this.post = post;
    this.helperPanic = helperPanic;
    this.stop = stop;
    /** @type {(helperFailed: boolean) => Promise<Pick<RecoveredEvent, 'messages' | 'threads' | 'build' | 'singleThreadReason'>>} */
    this.restart = restart;
    this.resume = resume;
    this.active = null; // the restart in progress (a rejected promise once restarting was given up)
    /** @type {import('./protocol.js').CaptureFrame[]} */
    this.frames = [];
    this.crashes = [];
  }

  /**
   * Keeps a microphone block that came during the restart.
   * @param {import('./protocol.js').CaptureFrame} frame
   */
  buffer(frame) {
    this.frames.push(frame);
    if (this.frames.length > MAX_BUFFERED_FRAMES) this.frames.shift();
  }

  /**
   * The engine's instance trapped (`err`): tells the page (an `error` event with the code
   * `engine-crashed` and the panic's message), then restarts it (a `recovered` event follows).
   * Returns the message; a crash seen again while restarting starts nothing more.
   */
  crashed(err) {
    const panic = takePanicMessage() ?? this.helperPanic();
    const message = `The engine crashed: ${panic ?? err?.message ?? String(err)}`;
    if (this.active) return message;
    const crashedAt = performance.now();
    this.crashes = [...this.crashes.filter((at) => crashedAt - at < CRASH_WINDOW_MS), crashedAt];
    this.stop();
    this.post({ type: FROM_WORKER.EVENT, event: { type: EVENT.ERROR, stage: 'engine', code: 'engine-crashed', message, panic } });
    if (this.crashes.length > MAX_CRASHES) {
      this.#giveUp(`${message}. It crashed ${this.crashes.length} times within a minute, so it is not restarted again: reload the page.`);
      return message;
    }
    this.active = this.restart(/helper thread/i.test(message)).then((restored) => {
      this.active = null;
      this.post({ type: FROM_WORKER.EVENT, event: { type: EVENT.STATE, state: 'listening' } });
      this.post({ type: FROM_WORKER.EVENT, event: { type: EVENT.RECOVERED, message, panic, ms: performance.now() - crashedAt, ...restored } });
      const frames = this.frames;
      this.frames = [];
      this.resume(frames);
    }, (failed) => this.#giveUp(`${message}. Restarting it failed: ${failed?.message ?? failed}`));
    return message;
  }

  #giveUp(failure) {
    this.active = Promise.reject(Object.assign(new Error(failure), { code: 'engine-failed' }));
    this.active.catch(() => {});
    this.post({ type: FROM_WORKER.EVENT, event: { type: EVENT.ERROR, stage: 'engine', code: 'engine-failed', message: failure } });
  }
}

// The settings setters: each merges its fields over the engine's settings (Rust's one settings
// type); after each, the record keeps the engine's whole settings (`getSettings`), which a new
// engine gets back in one `setSettings` after its models load (a model's own decode settings
// would otherwise override what was set after it).
const SETTINGS_SETTERS = ['setConfig', 'setGeneration', 'setAsr', 'setVoice', 'setOutputRate', 'setSettings'];
// The audio device's rates (the microphone's, the speakers'): told again to a new engine before
// its settings, as they are not settings.
const DEVICE_SETTERS = ['setInputRate', 'setOutputRate'];

/** A record of what the engine was told, to tell a new one after a crash. */
export class EngineRecord {
  constructor() {
    this.settings = null; // the engine's whole settings after the last setter
    this.devices = new Map(); // device setter → its last argument
    this.systemPrompt = undefined; // the last setSystemPrompt argument, if any
    this.models = new Map(); // role → {id, model?, files?, chatTemplate}
    this.messages = []; // the conversation at the end of the last reply
    this.current = null; // the turn in progress: {turn, user, reply}
    this.lastTurn = 0;
  }

  /** Calls `engine[setter](value)` and remembers its effect. */
  apply(engine, setter, value) {
    const result = engine[setter](value);
    if (DEVICE_SETTERS.includes(setter)) this.devices.set(setter, value);
    if (SETTINGS_SETTERS.includes(setter)) this.settings = engine.getSettings();
    else if (setter === 'setSystemPrompt') this.systemPrompt = value;
    return result;
  }

  /**
   * Remembers the model now in `engine` for `role`: a cached model (`model`, read again from
   * the store) or the bytes the page sent (`files`, kept: they exist nowhere else); and the
   * settings with the model's own decode settings, which the engine applied as it loaded it.
   */
  loaded(engine, role, record) {
    this.models.set(role, record);
    if (this.settings) this.settings = engine.getSettings();
  }

  /** Follows the conversation through the engine's events; true when a reply ended. */
  observe(events) {
    let ended = false;
    for (const event of events) {
      if (Number.isFinite(event.turn) && event.turn > this.lastTurn) this.lastTurn = event.turn;
      if (event.type === EVENT.TRANSCRIPT && event.turn >= 0) this.current = { turn: event.turn, user: event.text, reply: '' };
      else if (event.type === EVENT.TOKEN && this.current?.turn === event.turn) this.current.reply += event.text;
      else if (event.type === EVENT.REPLY || event.type === EVENT.INTERRUPTED) ended = true;
      else if (event.type === EVENT.ERROR) this.current = null;
    }
    return ended;
  }

  /** Takes the conversation's messages from the engine (after a reply, or a new conversation). */
  snapshot(engine) {
    this.messages = engine.conversationMessages();
    this.current = null;
  }

  /**
   * The messages to restore: the conversation at the end of the last reply, and the turn the
   * crash cut, as far as the page saw it (its reply kept as far as it streamed; a turn without
   * a word of reply is dropped, as chat templates want users and assistants to alternate).
   */
  conversation() {
    const messages = [...this.messages];
    if (this.current?.reply) {
      messages.push({ role: 'user', content: this.current.user }, { role: 'assistant', content: this.current.reply });
    }
    return messages;
  }

  /**
   * Tells a new engine everything: settings, then the models (`load(engine, role, record)`,
   * which reads a cached model's files again), then the conversation. Returns how many messages
   * were restored.
   */
  async restore(engine, load) {
    // The system prompt before the dialog model loads; the settings after the models.
    // (Loading a model may apply its own settings and so replace the record's: keep it first.)
    const settings = this.settings;
    if (this.systemPrompt !== undefined) engine.setSystemPrompt(this.systemPrompt);
    for (const [role, record] of this.models) await load(engine, role, record);
    for (const [setter, value] of this.devices) engine[setter](value);
    if (settings) this.apply(engine, 'setSettings', settings);
    const messages = this.conversation();
    if (this.models.has('llm')) {
      engine.restoreConversation(messages, this.lastTurn);
      this.messages = messages;
    }
    this.current = null;
    return this.models.has('llm') ? messages.length : 0;
  }
}
