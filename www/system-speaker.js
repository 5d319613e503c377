/**
 * system-speaker.js — speaks reply chunks with the browser's own *local* voices (main thread only:
 * `speechSynthesis` does not exist in Workers), and hands chunks back to Sotto's embedded voice
 * whenever the system cannot speak them promptly.
 *
 * Only voices with `localService === true` whose language matches the reply's are used: network
 * voices (e.g. Chrome's "Google …" voices) would send the reply off the device.
 *
 * API
 *
 *   import { SystemSpeaker } from './system-speaker.js';
 *   const speaker = new SystemSpeaker({
 *     lang: 'en-US',                   // the reply's language (BCP 47); primary subtag must match
 *     fallback: (chunk) => { ... },    // required: speak `chunk` with the embedded voice instead
 *     startTimeoutMs: 1500,            // fall back if an utterance has not started by then
 *     rate: 1, pitch: 1, volume: 1,    // SpeechSynthesisUtterance settings
 *     onstart: (chunk) => {},          // optional: a chunk started playing on the system voice
 *     onend: (chunk) => {},            // optional: a chunk finished on the system voice
 *     synth: window.speechSynthesis,   // injectable for tests
 *   });
 *   await speaker.ready();             // resolves to true if a local voice exists for `lang`
 *   speaker.speak({ turn, index, text });  // one chunk = one utterance; chunks play in order
 *   speaker.cancel(turn);              // interruption: drop queued and future chunks of turns <= turn
 *   speaker.setLang('fr-FR');          // a reply in another language picks another voice
 *   speaker.voice                      // the chosen SpeechSynthesisVoice, or null
 *   speaker.speaking                   // true while an utterance is playing or queued
 *
 * Chunks are `{ turn: number, index: number, text: string }`, as produced by the engine's
 * streaming chunker (`sotto::tts::chunker::Chunk`).
 *
 * Fallback rules: when there is no local voice for the language, every chunk goes straight to
 * `fallback`. When an utterance fails (`error` other than a cancel) or has not fired `start`
 * within `startTimeoutMs`, the system voice is cancelled and that chunk plus the rest of its turn
 * go to `fallback`, so one reply is never spoken by two voices in alternation.
 */

/** Default wait for an utterance's `start` event before falling back, in milliseconds. */
export const START_TIMEOUT_MS = 1500;

/** How long `ready()` waits for the browser to load its voice list, in milliseconds. */
const VOICES_WAIT_MS = 1000;

/** Whether voice language `voiceLang` serves reply language `lang` (same primary subtag). */
export function languageMatches(voiceLang, lang) {
  const primary = (tag) => String(tag || '').toLowerCase().replace('_', '-').split('-')[0];
  return primary(voiceLang) !== '' && primary(voiceLang) === primary(lang);
}

/**
 * Picks the best local voice for `lang` from `voices`: exact tag match first, then the
 * platform default among matches, then any match. Returns null when none is local.
 */
export function pickLocalVoice(voices, lang) {
  const wanted = String(lang || '').toLowerCase().replace('_', '-');
  const local = voices.filter((v) => v.localService && languageMatches(v.lang, wanted));
  if (local.length === 0) return null;
  const norm = (v) => String(v.lang).toLowerCase().replace('_', '-');
  return local.find((v) => norm(v) === wanted && v.default)
    || local.find((v) => norm(v) === wanted)
    || local.find((v) => v.default)
    || local[0];
}

export class SystemSpeaker {
  /** @param {object} options see the module header */
  constructor(options = {}) {
    if (typeof options.fallback !== 'function') {
      throw new TypeError('SystemSpeaker: options.fallback(chunk) is required');
    }
    this.synth = options.synth ?? globalThis.speechSynthesis ?? null;
    this.fallback = options.fallback;
    this.startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
    this.rate = options.rate ?? 1;
    this.pitch = options.pitch ?? 1;
    this.volume = options.volume ?? 1;
    this.onstart = options.onstart ?? null;
    this.onend = options.onend ?? null;
    this.lang = options.lang ?? 'en-US';
    this.voice = null;
    this.queue = [];
    this.current = null; // { chunk, utterance, timer, started }
    this.droppedUpTo = -Infinity; // chunks of turns <= this are dropped (interrupted)
    this.fallbackTurns = new Set(); // turns handed over to the embedded voice
    this.voicesLoaded = null;
    this.refreshVoice();
  }

  /** True while a chunk is playing or waiting. */
  get speaking() {
    return this.current !== null || this.queue.length > 0;
  }

  /** Resolves to whether a local voice for the current language exists (after voices load). */
  ready() {
    if (!this.synth) return Promise.resolve(false);
    if (this.refreshVoice()) return Promise.resolve(true);
    if (!this.voicesLoaded) {
      // Chrome fills getVoices() asynchronously and announces it with `voiceschanged`.
      this.voicesLoaded = new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.synth.removeEventListener?.('voiceschanged', done);
          resolve(this.refreshVoice() !== null);
        };
        const timer = setTimeout(done, VOICES_WAIT_MS);
        this.synth.addEventListener?.('voiceschanged', done);
      });
    }
    return this.voicesLoaded;
  }

  /** Switches the reply language; the voice is re-chosen. */
  setLang(lang) {
    this.lang = lang;
    this.voicesLoaded = null;
    this.refreshVoice();
  }

  /** Re-reads the browser's voices and picks a local one for the language (or null). */
  refreshVoice() {
    const voices = this.synth?.getVoices?.() ?? [];
    this.voice = pickLocalVoice(voices, this.lang);
    return this.voice;
  }

  /** Queues one chunk `{turn, index, text}`; it plays after the chunks queued before it. */
  speak(chunk) {
    if (chunk.turn <= this.droppedUpTo) return;
    if (!this.synth || !this.voice || this.fallbackTurns.has(chunk.turn)) {
      this.fallback(chunk);
      return;
    }
    this.queue.push(chunk);
    if (!this.current) this.next();
  }

  /**
   * Interruption: stops the current utterance and drops queued chunks of turns up to `turn`
   * (default: every turn seen so far), and any that arrive later for those turns.
   */
  cancel(turn) {
    const seen = [this.current?.chunk.turn, ...this.queue.map((c) => c.turn)].filter((t) => t !== undefined);
    const upTo = turn ?? Math.max(this.droppedUpTo, ...seen);
    this.droppedUpTo = Math.max(this.droppedUpTo, upTo);
    this.queue = this.queue.filter((c) => c.turn > upTo);
    if (this.current && this.current.chunk.turn <= upTo) {
      this.stopCurrent();
      this.synth.cancel();
      this.next();
    }
  }

  /** Starts the next queued chunk, if nothing is playing. */
  next() {
    if (this.current || this.queue.length === 0) return;
    const chunk = this.queue.shift();
    if (this.fallbackTurns.has(chunk.turn)) {
      this.fallback(chunk);
      this.next();
      return;
    }
    const utterance = new SpeechSynthesisUtterance(chunk.text);
    utterance.voice = this.voice;
    utterance.lang = this.voice.lang;
    utterance.rate = this.rate;
    utterance.pitch = this.pitch;
    utterance.volume = this.volume;
    // Keep a reference to the utterance: some browsers drop events of collected utterances.
    const current = { chunk, utterance, timer: null, started: false };
    this.current = current;
    utterance.onstart = () => {
      if (this.current !== current) return;
      current.started = true;
      clearTimeout(current.timer);
      this.onstart?.(chunk);
    };
    utterance.onend = () => {
      if (this.current !== current) return;
      this.stopCurrent();
      this.onend?.(chunk);
      this.next();
    };
    utterance.onerror = (event) => {
      if (this.current !== current) return;
      if (event?.error === 'interrupted' || event?.error === 'canceled') return;
      this.handOver(current);
    };
    current.timer = setTimeout(() => {
      if (this.current === current && !current.started) this.handOver(current);
    }, this.startTimeoutMs);
    this.synth.speak(utterance);
  }

  /** Gives the chunk being played, and the rest of its turn, to the embedded voice. */
  handOver(current) {
    const turn = current.chunk.turn;
    this.fallbackTurns.add(turn);
    this.stopCurrent();
    this.synth.cancel();
    const rest = this.queue.filter((c) => c.turn === turn);
    this.queue = this.queue.filter((c) => c.turn !== turn);
    this.fallback(current.chunk);
    rest.forEach((c) => this.fallback(c));
    this.next();
  }

  stopCurrent() {
    if (!this.current) return;
    clearTimeout(this.current.timer);
    const { utterance } = this.current;
    utterance.onstart = utterance.onend = utterance.onerror = null;
    this.current = null;
  }
}
