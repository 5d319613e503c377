// Sotto in Node 20: transcribe, chat and speak on files, in-process (no Worker, no microphone).
// The same class names as the browser entry (sotto.js); the wasm engine is loaded once from the
// package's own file, so nothing goes to the network.
//
//   import { Transcriber } from 'sotto';
//   const asr = await Transcriber.create({ model: './whisper-tiny.en' });
//   console.log((await asr.transcribe('./hello.wav')).text);
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import init, { Engine, decodeWav, version as engineVersion } from './pkg/sotto.js';

/** Every error the API throws: `code` says what failed, the message says how to fix it. */
export class SottoError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SottoError';
    this.code = code;
  }
}

const toError = (err, code = 'engine') => (err instanceof SottoError ? err : new SottoError(err?.code ?? code, err?.message ?? String(err)));

let ready = null;
/** Instantiates the wasm engine once, from the bytes of `pkg/sotto_bg.wasm`. */
function initEngine() {
  ready ??= readFile(new URL('./pkg/sotto_bg.wasm', import.meta.url)).then((bytes) => init({ module_or_path: bytes }));
  return ready;
}

/** The engine's version (the crate version). */
export async function version() {
  await initEngine();
  return engineVersion();
}

async function newEngine() {
  await initEngine();
  return new Engine();
}

/** Bytes from a path (string or URL) or bytes; `what` names the file in errors. */
async function bytesFrom(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string' || value instanceof URL) {
    try {
      return new Uint8Array(await readFile(value));
    } catch (err) {
      throw new SottoError('file', `Cannot read the ${what} "${value}" (${err.code ?? err.message}): check the path.`);
    }
  }
  throw new SottoError('source', `The ${what} must be a file path or bytes (Uint8Array, ArrayBuffer), not ${typeof value}.`);
}

async function isFile(path) {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** Whisper's three files from a folder path or `{config, tokenizer, weights}`. */
async function whisperFiles(model) {
  if (typeof model === 'string' || model instanceof URL) {
    const folder = model instanceof URL ? model.pathname : model;
    const info = await stat(folder).catch(() => null);
    if (!info?.isDirectory()) {
      throw new SottoError('file', `The Whisper model folder "${folder}" does not exist: pass a folder holding config.json, tokenizer.json and model.gguf (or model.safetensors).`);
    }
    const gguf = join(folder, 'model.gguf');
    const weights = (await isFile(gguf)) ? gguf : join(folder, 'model.safetensors');
    if (!(await isFile(weights))) {
      throw new SottoError('file', `The Whisper model folder "${folder}" has neither model.gguf nor model.safetensors: put the weights there or pass {config, tokenizer, weights}.`);
    }
    return { config: join(folder, 'config.json'), tokenizer: join(folder, 'tokenizer.json'), weights };
  }
  if (!model?.config || !model?.tokenizer || !model?.weights) {
    throw new SottoError('source', 'A Whisper model is a folder path or {config, tokenizer, weights} (paths or bytes).');
  }
  return model;
}

const nameOf = (value, fallback) => (typeof value === 'string' ? value : value instanceof URL ? value.pathname : fallback);

/** 16 kHz mono samples from a Float32Array, WAV bytes or a WAV path. */
async function samplesFrom(input) {
  if (input instanceof Float32Array) return input;
  const name = nameOf(input, 'audio.wav');
  const bytes = await bytesFrom(input, 'audio file');
  try {
    return decodeWav(bytes, name);
  } catch (err) {
    throw new SottoError('audio', `${err.message ?? err} (pass a WAV file, or 16 kHz mono samples as a Float32Array)`);
  }
}

/** Speech to text: `await (await Transcriber.create({model: './whisper'})).transcribe('a.wav')`. */
export class Transcriber {
  /**
   * `model`: a folder (config.json, tokenizer.json, model.gguf or model.safetensors) or
   * `{config, tokenizer, weights}` as paths or bytes. `language`, `noSpeechThreshold` (1 disables
   * the no-speech gate), `maxTokens` tune decoding.
   */
  static async create({ model, language, noSpeechThreshold, maxTokens } = {}) {
    if (!model) throw new SottoError('source', 'Transcriber.create needs {model}: a Whisper folder path or {config, tokenizer, weights}.');
    const files = await whisperFiles(model);
    const [config, tokenizer, weights] = await Promise.all([
      bytesFrom(files.config, 'Whisper config.json'),
      bytesFrom(files.tokenizer, 'Whisper tokenizer.json'),
      bytesFrom(files.weights, 'Whisper weights'),
    ]);
    const engine = await newEngine();
    try {
      try {
        engine.loadAsr(config, tokenizer, weights, nameOf(files.weights, 'model.gguf'));
      } catch (err) {
        const names = ['config', 'tokenizer', 'weights'].map((key) => nameOf(files[key], `${key} bytes`)).join(', ');
        throw new SottoError('model', `${err.message ?? err} (loading Whisper from ${names}: pass a Whisper model's config.json, tokenizer.json and GGUF or safetensors weights)`);
      }
      const settings = {};
      if (language !== undefined) settings.language = language;
      if (noSpeechThreshold !== undefined) settings.noSpeechThreshold = noSpeechThreshold;
      if (maxTokens !== undefined) settings.maxTokens = maxTokens;
      if (Object.keys(settings).length) engine.setAsr(settings);
    } catch (err) {
      engine.free();
      throw toError(err, 'model');
    }
    return new Transcriber(engine);
  }

  constructor(engine) {
    this.engine = engine;
  }

  /** `{text, tokens, language, noSpeechProb, timingsMs}` of a Float32Array (16 kHz), WAV bytes or a WAV path. */
  async transcribe(input) {
    const samples = await samplesFrom(input);
    try {
      return this.engine.transcribe(samples);
    } catch (err) {
      throw toError(err);
    }
  }

  dispose() {
    this.engine?.free();
    this.engine = null;
  }
}

/** A text chat with a local GGUF model: `await chat.reply('Hi', {onToken})` resolves with the reply. */
export class ChatModel {
  /**
   * `model`: a GGUF path or bytes; `tokenizer`/`tokenizerConfig`: optional tokenizer.json /
   * tokenizer_config.json; `chatTemplate`: a built-in template's name (`gemma`, `chatml`) or Jinja
   * source, for a GGUF without a chat template.
   */
  static async create({ model, tokenizer, tokenizerConfig, chatTemplate, systemPrompt, generation } = {}) {
    if (!model) throw new SottoError('source', 'ChatModel.create needs {model}: a GGUF file path or its bytes.');
    const gguf = await bytesFrom(model, 'GGUF chat model');
    const tokenizerBytes = tokenizer ? await bytesFrom(tokenizer, 'tokenizer.json') : undefined;
    const configBytes = tokenizerConfig ? await bytesFrom(tokenizerConfig, 'tokenizer_config.json') : undefined;
    const engine = await newEngine();
    try {
      try {
        engine.loadLlm(gguf, tokenizerBytes, configBytes, chatTemplate ?? undefined);
      } catch (err) {
        throw new SottoError('model', `${nameOf(model, 'the model bytes')}: ${err.message ?? err} (pass a GGUF chat model, with its tokenizer.json when the GGUF has no tokenizer)`);
      }
      if (systemPrompt !== undefined) engine.setSystemPrompt(systemPrompt);
      if (generation) engine.setGeneration(generation);
      engine.resetConversation();
    } catch (err) {
      engine.free();
      throw toError(err, 'model');
    }
    return new ChatModel(engine);
  }

  constructor(engine) {
    this.engine = engine;
  }

  /** Replies to `text` (the conversation goes on); `onToken` receives each piece as it comes. */
  async reply(text, { onToken } = {}) {
    try {
      this.engine.chatBegin(text);
      let reply = '';
      for (let piece = this.engine.chatNext(); piece !== undefined; piece = this.engine.chatNext()) {
        reply += piece;
        onToken?.(piece);
        await new Promise((resolve) => setImmediate(resolve)); // let timers and I/O run between tokens
      }
      return reply;
    } catch (err) {
      throw toError(err);
    }
  }

  /** Forgets the conversation (keeps the model). */
  reset() {
    this.engine.resetConversation();
  }

  dispose() {
    this.engine?.free();
    this.engine = null;
  }
}

/** A 16-bit PCM mono WAV file of `samples` (floats in [-1, 1]). */
export function encodeWav(samples, sampleRate) {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset, text) => [...text].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return bytes;
}

/** The embedded voice: `synthesize` returns PCM, `toWav` a WAV file's bytes. */
export class Voice {
  /** `rate`, `pitch` (1 = normal), `sampleRate` (16000, 22050, 24000 or 48000; default 24000). */
  static async create({ rate, pitch, sampleRate } = {}) {
    const engine = await newEngine();
    try {
      engine.setVoice({ rate: rate ?? 1, pitch: pitch ?? 1, sampleRate: sampleRate ?? 24000 });
    } catch (err) {
      engine.free();
      throw toError(err, 'voice');
    }
    return new Voice(engine);
  }

  constructor(engine) {
    this.engine = engine;
  }

  /** `{samples: Float32Array, sampleRate}`. */
  async synthesize(text) {
    try {
      return { samples: this.engine.say(text), sampleRate: this.engine.voiceSampleRate() };
    } catch (err) {
      throw toError(err, 'voice');
    }
  }

  /** The speech as a 16-bit mono WAV file's bytes. */
  async toWav(text) {
    const { samples, sampleRate } = await this.synthesize(text);
    return encodeWav(samples, sampleRate);
  }

  dispose() {
    this.engine?.free();
    this.engine = null;
  }
}
