// Typings of the `sotto` package in Node 20 (node.js); the browser's are index.d.ts. What both
// share is in common.d.ts, and exported from here as it is.
import type { ChatModelApi, ChatOptions, ProgressInfo, RecognitionOptions, Transcript, VoiceApi, VoiceOptions } from './common.js';

export * from './common.js';

/** A file: a path, a `file:` URL, its bytes, or a `Blob`. */
export type FileInput = string | URL | ArrayBuffer | ArrayBufferView | Blob;

/**
 * A model source: a path (for Whisper a folder holding `config.json`, `tokenizer.json` and
 * `model.gguf` or `model.safetensors`, or the weights' path with the JSON files beside it), an
 * http(s) URL (the same shapes; downloaded once into `cacheDir`), a catalog id (downloaded once),
 * or bytes / a `Blob` of a GGUF chat model.
 */
export type ModelSource = FileInput;

/** Where downloaded models are kept, and download progress. */
export interface DownloadOptions {
  /** The model cache's folder (default `$SOTTO_CACHE_DIR`, else `~/.cache/sotto`). */
  cacheDir?: string;
  /** Called while the model downloads (URL and catalog sources). */
  onProgress?: (progress: ProgressInfo) => void;
}

export interface TranscriberOptions extends RecognitionOptions, DownloadOptions {
  /** A model source, or Whisper's files one by one. */
  model: ModelSource | { config: FileInput; tokenizer: FileInput; weights: FileInput };
}

/** Speech to text. */
export class Transcriber {
  static create(options: TranscriberOptions): Promise<Transcriber>;
  /** 16 kHz mono samples, or a WAV file (path, bytes or Blob). */
  transcribe(input: Float32Array | FileInput): Promise<Transcript>;
  dispose(): void;
}

export interface ChatModelOptions extends ChatOptions, DownloadOptions {
  /** A GGUF chat model's source. */
  model: ModelSource;
  /** `tokenizer.json`, when the GGUF has no tokenizer. */
  tokenizer?: FileInput;
  /** `tokenizer_config.json` (its chat template). */
  tokenizerConfig?: FileInput;
}

/** A text chat with a local model (its methods: `ChatModelApi`). */
export class ChatModel {
  static create(options: ChatModelOptions): Promise<ChatModel>;
}
export interface ChatModel extends ChatModelApi {}

/** The embedded voice (its methods: `VoiceApi`). */
export class Voice {
  static create(options?: VoiceOptions): Promise<Voice>;
}
export interface Voice extends VoiceApi {}

/** The engine's version. */
export function version(): Promise<string>;

/** A 16-bit PCM mono WAV file of `samples` (floats in [-1, 1]). */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array;
