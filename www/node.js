// Sotto in Node 20: transcribe, chat and speak, in-process (no Worker, no microphone). The same
// class names and model sources as the browser entry (sotto.js), plus file paths; models given by
// URL or catalog id are downloaded once into a folder cache (`cacheDir`). The wasm engine is
// loaded from the package's own file.
//
//   import { Transcriber } from 'sotto';
//   const asr = await Transcriber.create({ model: './whisper-tiny.en' });
//   console.log((await asr.transcribe('./hello.wav')).text);
import { Engine, decodeWav, version as engineVersion } from './pkg/sotto.js';
import { SottoError, toError } from './errors.js';
import { bytesFrom, catalogDecode, filesOf, initEngine, nameOf } from './node-sources.js';
import { encodeWav } from './wav.js';

export { SottoError, encodeWav };

/** The engine's version (the crate version). */
export async function version() {
  await initEngine();
  return engineVersion();
}

async function newEngine() {
  await initEngine();
  return new Engine();
}

/** Every file of `files` (`{kind: {value, name}}`) as bytes, by kind. */
async function readAll(files, what) {
  const entries = await Promise.all(Object.entries(files).map(async ([kind, f]) => [kind, await bytesFrom(f.value, `${what} ${f.name}`)]));
  return Object.fromEntries(entries);
}

/** Runs an engine setter; a refused setting is a `settings` error (its message names `section.field`). */
function configure(set) {
  try {
    set();
  } catch (err) {
    throw new SottoError('settings', err.message ?? String(err));
  }
}

/** 16 kHz mono samples from a Float32Array, WAV bytes, a Blob or a WAV path. */
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
   * `model`: a Whisper folder (config.json, tokenizer.json, model.gguf or model.safetensors), its
   * weights' path with those files beside them, `{config, tokenizer, weights}` as paths, bytes or
   * Blobs, a URL or a catalog id (downloaded once into `cacheDir`, with `onProgress`).
   * `language`, `noSpeechThreshold` (1 disables the no-speech gate), `maxTokens`, `fullWindow`
   * tune decoding.
   * @param {{model?: any, cacheDir?: string, onProgress?: (progress: import('./common.js').ProgressInfo) => void}
   *   & import('./common.js').RecognitionOptions} [options]
   */
  static async create({ model, language, noSpeechThreshold, maxTokens, fullWindow, cacheDir, onProgress } = {}) {
    if (!model) throw new SottoError('source', 'Transcriber.create needs {model}: a Whisper folder path, a URL, a catalog id or {config, tokenizer, weights}.');
    const files = await filesOf('asr', model, { cacheDir, onProgress });
    const bytes = await readAll(files, 'Whisper');
    const engine = await newEngine();
    try {
      try {
        // A catalog model's own decode settings: the engine applies them as it loads it.
        engine.loadAsr(bytes.config, bytes.tokenizer, bytes.weights, files.weights.name, await catalogDecode(model));
      } catch (err) {
        const names = ['config', 'tokenizer', 'weights'].map((kind) => files[kind].name).join(', ');
        throw new SottoError('model', `${err.message ?? err} (loading Whisper from ${names}: pass a Whisper model's config.json, tokenizer.json and GGUF or safetensors weights)`);
      }
      const settings = Object.fromEntries(Object.entries({ language, noSpeechThreshold, maxTokens, fullWindow }).filter(([, v]) => v !== undefined));
      if (Object.keys(settings).length) configure(() => engine.setAsr(settings));
    } catch (err) {
      engine.free();
      throw toError(err, 'model');
    }
    return new Transcriber(engine);
  }

  constructor(engine) {
    this.engine = engine;
  }

  /** `{text, tokens, language, no_speech_prob, timings_ms}` of 16 kHz samples, WAV bytes, a Blob or a WAV path. */
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
   * `model`: a GGUF path, bytes, a Blob, a URL or a catalog id (downloaded once into `cacheDir`,
   * with `onProgress`); `tokenizer`/`tokenizerConfig`: optional tokenizer.json /
   * tokenizer_config.json; `chatTemplate`: a built-in template's name (`gemma`, `chatml`) or Jinja
   * source, for a GGUF without a chat template.
   * @param {{model?: any, tokenizer?: any, tokenizerConfig?: any, cacheDir?: string} & import('./common.js').ChatOptions} [options]
   */
  static async create({ model, tokenizer, tokenizerConfig, chatTemplate, systemPrompt, generation, cacheDir, onProgress } = {}) {
    if (!model) throw new SottoError('source', 'ChatModel.create needs {model}: a GGUF file path, bytes, a URL or a catalog id.');
    const files = await filesOf('llm', model, { cacheDir, onProgress });
    if (tokenizer) files.tokenizer = { value: tokenizer, name: nameOf(tokenizer, 'tokenizer.json') };
    if (tokenizerConfig) files.tokenizer_config = { value: tokenizerConfig, name: nameOf(tokenizerConfig, 'tokenizer_config.json') };
    const bytes = await readAll(files, 'chat model');
    const engine = await newEngine();
    try {
      try {
        engine.loadLlm(bytes.weights, bytes.tokenizer, bytes.tokenizer_config, chatTemplate ?? undefined);
      } catch (err) {
        throw new SottoError('model', `${files.weights.name}: ${err.message ?? err} (pass a GGUF chat model, with its tokenizer.json when the GGUF has no tokenizer)`);
      }
      if (systemPrompt !== undefined) engine.setSystemPrompt(systemPrompt);
      if (generation) configure(() => engine.setGeneration(generation));
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

  /**
   * Replies to `text` (the conversation goes on); `onToken` receives each piece as it comes.
   * @param {string} text
   * @param {{onToken?: (piece: string) => void}} [options]
   */
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
  async reset() {
    this.engine.resetConversation();
  }

  dispose() {
    this.engine?.free();
    this.engine = null;
  }
}

/** The embedded voice: `synthesize` returns PCM, `toWav` a WAV file's bytes. */
export class Voice {
  /**
   * `rate`, `pitch` (1 = normal), `sampleRate` (16000, 22050, 24000 or 48000; default 24000).
   * @param {import('./common.js').VoiceOptions} [options]
   */
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
