// Model sources in Node: the browser's sources (catalog ids, URLs, bytes, Blobs) and paths. What
// is downloaded goes through the same `ModelLibrary` as in browsers, cached in a folder.
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HUB_CATALOG_URL, mergeCatalogs } from './catalog.js';
import { SottoError } from './errors.js';
import { FolderStore } from './folder-store.js';
import { ModelLibrary } from './model-library.js';
import init, { Sha256Hasher } from './pkg/sotto.js';

let ready = null;
/**
 * Instantiates the wasm engine once, from the bytes of `pkg/sotto_bg.wasm`: the engine and the
 * downloads' SHA-256 hasher both need it.
 */
export function initEngine() {
  ready ??= readFile(new URL('./pkg/sotto_bg.wasm', import.meta.url)).then((bytes) => init({ module_or_path: bytes }));
  return ready;
}

/** The model cache's folder: `cacheDir`, else `$SOTTO_CACHE_DIR`, else `~/.cache/sotto`. */
export function cacheFolder(cacheDir) {
  return cacheDir ?? process.env.SOTTO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sotto');
}

const parseOrNull = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** The package's catalog and `models/local-catalog.json` in the working directory, when there is one. */
async function nodeCatalog() {
  const hub = JSON.parse(await readFile(HUB_CATALOG_URL, 'utf8'));
  const localUrl = pathToFileURL(join(process.cwd(), 'models/local-catalog.json'));
  const local = await readFile(localUrl, 'utf8').then(parseOrNull, () => null);
  return mergeCatalogs(hub, HUB_CATALOG_URL.href, local, localUrl.href);
}

let catalog = null;
const loadCatalog = () => (catalog ??= nodeCatalog().catch((err) => {
  catalog = null;
  throw err;
}));

const isFile = (path) => stat(path).then((s) => s.isFile(), () => false);
const isHttp = (source) => /^https?:\/\//i.test(source instanceof URL ? source.href : String(source));

/** Bytes from a path, a `file:` URL, bytes or a Blob; `what` names the file in errors. */
export async function bytesFrom(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (typeof value === 'string' || value instanceof URL) {
    try {
      return new Uint8Array(await readFile(value));
    } catch (err) {
      throw new SottoError('file', `Cannot read the ${what} "${value}" (${err.code ?? err.message}): check the path.`);
    }
  }
  throw new SottoError('source', `The ${what} must be a file path, bytes (Uint8Array, ArrayBuffer) or a Blob, not ${typeof value}.`);
}

/** A display name for a file given as a path, a URL, a File or bytes. */
export const nameOf = (value, fallback) =>
  typeof value === 'string' ? value
    : value instanceof URL ? (value.protocol === 'file:' ? fileURLToPath(value) : value.href)
    : (value?.name ?? fallback);

/** Whisper's files of a folder: `model.gguf`, else `model.safetensors`, with the JSON files. */
async function whisperFolder(folder) {
  for (const name of ['model.gguf', 'model.safetensors']) {
    if (await isFile(join(folder, name))) return { weights: join(folder, name), config: join(folder, 'config.json'), tokenizer: join(folder, 'tokenizer.json') };
  }
  throw new SottoError('file', `The Whisper model folder "${folder}" has neither model.gguf nor model.safetensors: put the weights there or pass {config, tokenizer, weights}.`);
}

/** Files by kind from the library's `{kind: {name, bytes}}`. */
const named = (files) => Object.fromEntries(Object.entries(files).map(([kind, f]) => [kind, { value: f.bytes, name: f.name }]));

/**
 * The catalog model's own decode settings (its entry's `decode`, which `Engine.loadAsr` applies)
 * when `source` is a catalog id rather than a path; else undefined.
 */
export async function catalogDecode(source) {
  if (typeof source !== 'string' || isHttp(source) || (await stat(source).catch(() => null))) return undefined;
  return (await loadCatalog()).find((m) => m.id === source)?.decode;
}

/** A catalog model's files, read where they are (`file:` URLs of a local catalog) or downloaded. */
async function catalogFiles(model, options) {
  if (!model.files.every((f) => f.url.startsWith('file:'))) {
    const library = await libraryFor(options);
    return named(await library.files(model));
  }
  return Object.fromEntries(model.files.map((f) => [f.kind, { value: new URL(f.url), name: f.name }]));
}

/** Names for files given as bytes (the engine tells GGUF from safetensors by the name). */
const DEFAULT_NAMES = { weights: 'model.gguf', config: 'config.json', tokenizer: 'tokenizer.json', tokenizer_config: 'tokenizer_config.json' };

/** `{kind: path-or-bytes}` as `{kind: {value, name}}`. */
const withNames = (files) =>
  Object.fromEntries(Object.entries(files).filter(([, v]) => v).map(([kind, v]) => [kind, { value: v, name: nameOf(v, DEFAULT_NAMES[kind]) }]));

async function libraryFor({ cacheDir, onProgress }) {
  await initEngine();
  return new ModelLibrary({
    store: await FolderStore.open(cacheFolder(cacheDir)),
    createHasher: () => new Sha256Hasher(),
    loadCatalog,
    onProgress,
    exists: (url) => fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false),
  });
}

/**
 * A model's files by kind (`weights`, `config`, `tokenizer`, `tokenizer_config`), each `{value,
 * name}` with `value` a path, `file:` URL, bytes or Blob, from a source: a catalog id, an http(s) URL (downloaded into the cache),
 * a path or `file:` URL (for Whisper a folder, or the weights with `config.json` and
 * `tokenizer.json` beside them), bytes or a Blob (a GGUF), or `{weights, config, tokenizer,
 * tokenizerConfig}`. `options`: `{cacheDir, onProgress}`.
 */
export async function filesOf(role, source, options) {
  if (isHttp(source)) {
    const library = await libraryFor(options);
    return named(await library.files(await library.fromUrl(role, new URL(source).href)));
  }
  if (source instanceof URL && source.protocol === 'file:') source = fileURLToPath(source);
  if (typeof source === 'string') {
    const info = await stat(source).catch(() => null);
    if (info?.isDirectory() && role === 'asr') return withNames(await whisperFolder(source));
    if (info?.isFile()) {
      if (role !== 'asr') return withNames({ weights: source });
      const folder = dirname(source);
      return withNames({ weights: source, config: join(folder, 'config.json'), tokenizer: join(folder, 'tokenizer.json') });
    }
    const model = (await loadCatalog()).find((m) => m.id === source);
    if (model) {
      if (model.role !== role) throw new SottoError('role', `${model.name} is an ${model.role} model, not ${role}`);
      return catalogFiles(model, options);
    }
    const what = role === 'asr'
      ? 'pass a Whisper folder holding config.json, tokenizer.json and model.gguf (or model.safetensors)'
      : 'pass the path of a GGUF chat model';
    throw new SottoError('file', `"${source}" is neither a file nor a folder (nor a catalog id): ${what}, a URL or a catalog id.`);
  }
  if (source instanceof Blob || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    if (role === 'asr') throw new SottoError('source', 'Whisper bytes come with their config and tokenizer: pass {config, tokenizer, weights}.');
    return withNames({ weights: source });
  }
  if (source?.weights) {
    const { weights, config, tokenizer, tokenizerConfig } = source;
    if (role === 'asr' && !(config && tokenizer)) {
      throw new SottoError('source', 'A Whisper model is a folder path, a URL, a catalog id or {config, tokenizer, weights} (paths or bytes).');
    }
    return withNames({ weights, config, tokenizer, tokenizer_config: tokenizerConfig });
  }
  throw new SottoError('source', role === 'asr'
    ? 'A Whisper model is a folder path, a URL, a catalog id or {config, tokenizer, weights} (paths or bytes).'
    : 'A chat model is a GGUF file path, a URL, a catalog id, bytes or a Blob.');
}
