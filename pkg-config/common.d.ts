// Typings shared by the browser entry (index.d.ts) and the Node entry (node.d.ts); each exports
// all of this file as it is.

/** What a `SottoError` is about; the message explains the fix. */
export type SottoErrorCode =
  /** A model source, file or option has the wrong shape. */
  | 'source'
  /** Node: a path that cannot be read. */
  | 'file'
  /** Audio input is not a readable WAV file. */
  | 'audio'
  /** The model files are not valid (header, shapes, tokenizer). */
  | 'model'
  /** The voice settings are invalid. */
  | 'voice'
  /** The engine failed while working. */
  | 'engine'
  /** Browser: it lacks a needed feature (module workers, AudioWorklet, microphone). */
  | 'unsupported'
  /** Browser: the engine worker could not start or crashed. */
  | 'worker'
  /** Browser: the engine's wasm crashed (a panic or trap); it restarts with the same state. */
  | 'engine-crashed'
  /** Browser: the engine crashed again and again, or could not be restarted. */
  | 'engine-failed'
  /** Browser: the object was disposed while a request was pending. */
  | 'disposed'
  /** A pipeline stage failed during a conversation (from the `error` event). */
  | 'asr'
  | 'llm'
  | 'tts'
  /** Browser: the microphone was refused, is missing, or is in use by another program. */
  | 'denied'
  | 'no-device'
  /** A model is already downloading (or, from `start()`, the microphone is in use). */
  | 'busy'
  /** Model catalog: the package's catalog or the local one is malformed or cannot be read. */
  | 'catalog'
  /**
   * Downloads: the request failed (network down, or no CORS headers on a cross-origin server), an
   * HTTP error, a size other than the catalog's, a short body after every resume, too little
   * storage, or cancelled.
   */
  | 'network'
  | 'http'
  | 'size'
  | 'short'
  | 'quota'
  | 'cancelled'
  /** Model cache: unknown id, missing or corrupt files, failed hash check, storage unavailable,
   *  nothing importable, wrong role. */
  | 'unknown-model'
  | 'missing'
  | 'missing-file'
  | 'corrupt'
  | 'integrity'
  | 'storage'
  | 'import'
  | 'role'
  /** A setting has an unknown name, the wrong type or a value out of range (`section.field`). */
  | 'settings';

/** Every error the API throws or emits: `code` says what failed, the message how to fix it. */
export class SottoError extends Error {
  constructor(code: SottoErrorCode, message: string);
  readonly name: 'SottoError';
  readonly code: SottoErrorCode;
}

/**
 * Reply generation settings. A setting left out keeps its value; the defaults are greedy
 * decoding (temperature 0) with no repetition penalty and at most 256 tokens, as the CLI.
 */
export interface GenerationOptions {
  maxTokens?: number;
  /** 0 (the default) picks the most likely token; above 0 samples, with `seed`. */
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  /** Strings that end the reply. */
  stop?: string[];
  /**
   * Ids the conversation (prompt and reply) may take, default 1024; 0 for the model's whole
   * context. Past it the oldest exchanges are forgotten, down to half of it at once, and the
   * memory for all of it is taken at the first turn, so a long session does not grow.
   */
  conversationTokens?: number;
}

/** Speech recognition (decoding) settings. */
export interface RecognitionOptions {
  /** A language code (`'en'`), or null to detect it (multilingual models). */
  language?: string | null;
  /** Above this no-speech probability a turn counts as silence; 1 disables the gate. */
  noSpeechThreshold?: number;
  /** Most tokens per 30-second window. */
  maxTokens?: number;
  /** Decode over the whole 30-second window, as the reference implementation does, instead of
   *  only the audio's length (slower on short clips). */
  fullWindow?: boolean;
}

/** The embedded voice's settings. */
export interface VoiceOptions {
  /** Speaking rate, 1 = normal. */
  rate?: number;
  /** Pitch factor, 1 = normal. */
  pitch?: number;
  /** Output sample rate (default 24000). */
  sampleRate?: 16000 | 22050 | 24000 | 48000;
}

/** Download progress of a model. */
export interface ProgressInfo {
  model: string;
  loaded: number;
  total: number | null;
  percent: number | null;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  files: { name: string; loaded: number; total: number | null }[];
}

/** A transcription. */
export interface Transcript {
  text: string;
  tokens: number[];
  language: string | null;
  no_speech_prob: number;
  timings_ms: { mel: number; encoder: number; decoder: number; per_token: number };
}

/** PCM from the voice. */
export interface Speech {
  samples: Float32Array;
  sampleRate: number;
}

/** Options of `ChatModel.create` in both environments. */
export interface ChatOptions {
  /**
   * The chat template, for a GGUF without one (or to replace its own): a built-in template's name
   * (`'gemma'` for a pre-trained Gemma 3, `'chatml'`) or Jinja source. A model left without a
   * template does not load.
   */
  chatTemplate?: string;
  /** The system prompt: null (the default) is "You are a helpful assistant. Keep answers short.", '' none. */
  systemPrompt?: string | null;
  generation?: GenerationOptions;
  /** Called while the model downloads (URL and catalog sources). */
  onProgress?: (progress: ProgressInfo) => void;
}

/** A `ChatModel`'s methods, the same in both environments (for code that runs in either). */
export interface ChatModelApi {
  /** Replies to `text` (the conversation goes on); `onToken` receives each piece as it comes. */
  reply(text: string, options?: { onToken?: (piece: string) => void }): Promise<string>;
  /** Forgets the conversation (keeps the model). */
  reset(): Promise<void>;
  dispose(): void;
}

/** A `Voice`'s methods in both environments (the browser's also speaks). */
export interface VoiceApi {
  /** PCM, without playing. */
  synthesize(text: string): Promise<Speech>;
  /** The speech as a 16-bit mono WAV file's bytes. */
  toWav(text: string): Promise<Uint8Array>;
  dispose(): void;
}
