// The engine worker: owns the WebAssembly engine (VAD, ASR, LLM, TTS) and the model cache, off
// the main thread. The page talks to it with requests `{id, type, ...}` answered by
// `{type: 'reply', id, result}` or `{type: 'reply', id, error: {code, message}}`, and receives
// events such as `{type: 'progress', ...}`.
import init, { version, simdEnabled, Sha256Hasher, inspectModelFile } from './pkg/sotto.js';
import { loadCatalog } from './catalog.js';
import { DownloadError, downloadModel, importFiles } from './downloader.js';
import { ModelStore, StoreError } from './model-store.js';

// A minimal module whose body uses a v128 instruction: if the browser validates it, it has
// WebAssembly SIMD. (i8x16.splat then i8x16.popcnt, returning a v128.)
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

const pageUrl = new URL('./', import.meta.url).href;
const createHasher = () => new Sha256Hasher();
let engine = null;
let catalog = null;
const downloads = new Map(); // model id → AbortController

async function startEngine() {
  const started = performance.now();
  const browserSimd = WebAssembly.validate(SIMD_PROBE);
  if (!browserSimd) {
    throw new Error('this browser lacks WebAssembly SIMD, which the engine needs (Chrome 91+, Firefox 89+, Safari 16.4+)');
  }
  await init({ module_or_path: new URL('./pkg/sotto_bg.wasm', import.meta.url) });
  const store = await ModelStore.open();
  return {
    store,
    facts: {
      version: version(),
      simd: { build: simdEnabled(), browser: browserSimd },
      crossOriginIsolated: self.crossOriginIsolated === true,
      startupMs: performance.now() - started,
    },
  };
}

async function models() {
  catalog ??= await loadCatalog(pageUrl);
  return catalog;
}

async function findModel(id) {
  const model = (await models()).find((m) => m.id === id);
  if (!model) throw new StoreError('unknown-model', `No model "${id}" in the catalog`);
  return model;
}

/** Catalog entries with their cache state, plus the storage figures. */
async function describeModels() {
  const [list, cached, storage] = await Promise.all([models(), engine.store.list(), ModelStore.estimate()]);
  const byId = new Map(cached.map((m) => [m.id, m]));
  const known = new Set(list.map((m) => m.id));
  const imported = cached
    .filter((m) => !known.has(m.id))
    .map((m) => ({ id: m.id, name: m.name ?? m.id, role: m.role ?? 'llm', files: m.files, origin: 'imported' }));
  return {
    models: [...list, ...imported].map((m) => ({ ...m, cached: byId.get(m.id) ?? null })),
    storage,
  };
}

async function download({ model: id }) {
  const model = await findModel(id);
  if (downloads.has(id)) throw new DownloadError('busy', `${model.name} is already downloading`);
  const controller = new AbortController();
  downloads.set(id, controller);
  try {
    const files = await downloadModel(model, {
      store: engine.store,
      createHasher,
      signal: controller.signal,
      onProgress: (progress) => self.postMessage({ type: 'progress', ...progress }),
    });
    return { model: id, files };
  } finally {
    downloads.delete(id);
  }
}

/**
 * Loads a cached model: every file is read back and verified against its sha256 before the engine
 * sees a byte, then checked by the engine's header reader.
 */
async function load({ model: id }) {
  const manifest = await engine.store.manifest(id);
  if (!manifest) throw new StoreError('missing', `${id} is not downloaded yet`);
  const files = [];
  for (const file of manifest.files) {
    const bytes = await engine.store.read(id, file.name, createHasher);
    files.push({ name: file.name, size: bytes.length, sha256: file.sha256, header: inspectModelFile(file.name, bytes) });
  }
  return { model: id, files };
}

/** Files picked or dropped on the page become a model: a catalog model when their names match one. */
async function importPicked({ files }) {
  const list = await models();
  const hubName = (file) => (file.url ? new URL(file.url).pathname.split('/').pop() : file.name);
  // A picked file stands for a catalog file when its name is the file's name or its hub name and
  // its size agrees where the catalog knows it. Sizes tell apart the many `model.gguf`s.
  const pickedFor = (entry) =>
    files.find((p) => (p.name === entry.name || p.name === hubName(entry)) && (entry.size == null || entry.size === p.size));
  const candidates = list.filter((m) => m.files.length > 0 && m.files.every(pickedFor));
  const match =
    candidates.find((m) => m.files.every((f) => f.size != null)) ??
    candidates.find((m) => m.files.some((f) => hubName(f) !== f.name && files.some((p) => p.name === hubName(f))));
  if (match) {
    const renamed = match.files.map((entry) => {
      const file = pickedFor(entry);
      return file.name === entry.name ? file : new File([file], entry.name);
    });
    return { model: match.id, files: await importFiles(match, renamed, { store: engine.store, createHasher }) };
  }
  const weights = files.find((f) => /\.(gguf|safetensors)$/i.test(f.name));
  if (!weights) throw new StoreError('import', 'None of the chosen files is a model (.gguf or .safetensors)');
  const id = `local-${weights.name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '-')}`;
  const role = files.some((f) => f.name === 'config.json') ? 'asr' : 'llm';
  const model = { id, name: weights.name, role, files: files.map((f) => ({ name: f.name, size: f.size, sha256: null })) };
  return { model: id, files: await importFiles(model, files, { store: engine.store, createHasher }) };
}

const handlers = {
  init: async () => engine.facts,
  models: describeModels,
  download,
  cancel: async ({ model }) => {
    downloads.get(model)?.abort();
    return { model, cancelled: downloads.has(model) };
  },
  remove: async ({ model }) => {
    await engine.store.remove(model);
    return { model };
  },
  load,
  import: importPicked,
};

let ready = null;

self.addEventListener('message', async ({ data }) => {
  const handler = handlers[data?.type];
  if (!handler) {
    self.postMessage({ type: 'reply', id: data?.id, error: { code: 'unknown-request', message: `unknown request ${data?.type}` } });
    return;
  }
  try {
    ready ??= startEngine().then((started) => (engine = started));
    await ready;
    self.postMessage({ type: 'reply', id: data.id, result: await handler(data) });
  } catch (err) {
    self.postMessage({ type: 'reply', id: data.id, error: { code: err?.code ?? 'engine', message: err?.message ?? String(err) } });
  }
});
