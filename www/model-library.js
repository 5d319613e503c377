// Where models come from, for both hosts (the browser's engine worker and Node): catalog ids,
// models given by URL, the cache they are downloaded into, and each model's files, verified, by
// kind. The host brings the cache (Cache Storage in browsers, a folder in Node), the hasher, the
// catalog and how to ask whether a URL exists.
import { fileKind } from './catalog.js';
import { DownloadError, downloadModel, importFiles } from './downloader.js';
import { StoreError } from './model-store.js';

/** The weights a Whisper folder URL may hold, in the order they are looked for. */
const WHISPER_WEIGHTS = ['model.gguf', 'model.safetensors'];

const isWeights = (name) => /\.(gguf|safetensors)$/i.test(name);

/** A cache id for a URL: readable, and unique however long the URL (a hash of it ends the id). */
function urlId(href) {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < href.length; i++) hash = Math.imul(hash ^ href.charCodeAt(i), 0x01000193) >>> 0;
  const readable = href.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 100);
  return `url-${readable}-${hash.toString(16).padStart(8, '0')}`;
}

/**
 * A model store in memory, for one session: where a model goes when the cache cannot keep it
 * (its quota is used up), so that it still runs. Pins are read from and written to `cache`.
 */
class MemoryStore {
  constructor(cache) {
    this.cache = cache;
    this.parts = new Map(); // `${id}/${file}` → [Uint8Array]
    this.manifests = new Map();
  }

  manifest(id) {
    return Promise.resolve(this.manifests.get(id) ?? null);
  }

  pinnedHash(url) {
    return this.cache.pinnedHash(url);
  }

  async pinHash(url, sha256) {
    await this.cache.pinHash(url, sha256).catch(() => {}); // a full cache keeps no pin either
  }

  async putPart(id, fileName, index, blob) {
    const parts = this.parts.get(`${id}/${fileName}`) ?? [];
    parts[index] = new Uint8Array(await blob.arrayBuffer());
    this.parts.set(`${id}/${fileName}`, parts);
  }

  async commit(model, files) {
    this.manifests.set(model.id, { id: model.id, role: model.role, name: model.name, files, storedAt: new Date().toISOString() });
  }

  async remove(id) {
    this.manifests.delete(id);
    for (const name of [...this.parts.keys()]) if (name.startsWith(`${id}/`)) this.parts.delete(name);
  }

  async discardFile(id, fileName) {
    this.parts.delete(`${id}/${fileName}`);
  }

  async part(id, fileName, index) {
    return this.parts.get(`${id}/${fileName}`)?.[index] ?? null;
  }

  async estimate() {
    return { usage: 0, quota: Infinity };
  }
}

export class ModelLibrary {
  /**
   * `store`: the model cache (`ModelStore` or `FolderStore`); `createHasher`: a SHA-256 hasher;
   * `loadCatalog`: resolves with the catalog's entries (called once, again after a failure);
   * `onProgress`: download progress; `exists(url)`: whether a URL answers.
   */
  constructor({ store, createHasher, loadCatalog, onProgress, exists }) {
    this.store = store;
    this.createHasher = createHasher;
    this.loadCatalog = loadCatalog;
    this.onProgress = onProgress ?? (() => {});
    this.exists = exists;
    this.byUrl = new Map(); // id → entry of a model given by URL
    this.downloads = new Map(); // id → AbortController
    this.entries = null;
  }

  /** The catalog's entries. */
  catalog() {
    this.entries ??= this.loadCatalog().catch((err) => {
      this.entries = null;
      throw err;
    });
    return this.entries;
  }

  /** The entry of a catalog id, a model given by URL, or an imported model. */
  async find(id) {
    const model = this.byUrl.get(id) ?? (await this.catalog()).find((m) => m.id === id);
    if (model) return model;
    const manifest = await this.store.manifest(id);
    if (manifest) return { ...manifest, name: manifest.name ?? id, origin: 'imported' };
    throw new StoreError('unknown-model', `No model "${id}" in the catalog or the cache`);
  }

  /** Catalog entries, models given by URL and imported ones, each with its cache state. */
  async list() {
    const [catalog, cached] = await Promise.all([this.catalog(), this.store.list()]);
    const byId = new Map(cached.map((m) => [m.id, m]));
    const known = [...catalog, ...this.byUrl.values()];
    const ids = new Set(known.map((m) => m.id));
    const imported = cached
      .filter((m) => !ids.has(m.id))
      .map((m) => ({ id: m.id, name: m.name ?? m.id, role: m.role ?? 'llm', files: m.files, origin: 'imported' }));
    return [...known, ...imported].map((m) => ({ ...m, cached: byId.get(m.id) ?? null }));
  }

  /**
   * The entry for a model given by an absolute URL: a `.gguf` file, or for Whisper a folder (its
   * `config.json`, `tokenizer.json` and `model.gguf` or else `model.safetensors`) or the weights'
   * URL with those files beside it. Cached and pinned like a catalog model.
   */
  async fromUrl(role, href) {
    const id = urlId(href);
    const cached = this.byUrl.get(id);
    if (cached) return cached;
    const path = new URL(href).pathname;
    const last = decodeURIComponent(path.split('/').pop());
    const file = (name, url) => ({ name, url, kind: fileKind({ name }), size: null, sha256: null });
    let files;
    if (role !== 'asr') {
      if (!last) throw new StoreError('source', `${href} names no file: a chat model's URL is the URL of its .gguf file`);
      files = [file(last, href)];
    } else {
      // The weights' URL, or a folder: its weights are looked for (unless a download is cached).
      let weights = isWeights(last) ? file(last, href) : null;
      const folder = weights ? new URL('./', href).href : new URL(path.replace(/\/?$/, '/'), href).href;
      if (!weights) {
        const manifest = await this.store.manifest(id);
        const name = manifest?.files.find((f) => isWeights(f.name))?.name ?? (await this.#whisperWeights(folder));
        weights = file(name, folder + name);
      }
      files = [weights, file('config.json', `${folder}config.json`), file('tokenizer.json', `${folder}tokenizer.json`)];
    }
    const model = { id, role, name: href, origin: 'url', files };
    this.byUrl.set(id, model);
    return model;
  }

  async #whisperWeights(base) {
    for (const name of WHISPER_WEIGHTS) {
      if (await this.exists(base + name)) return name;
    }
    throw new DownloadError('http', `${base} holds neither ${WHISPER_WEIGHTS.join(' nor ')}: give the URL of the Whisper weights (config.json and tokenizer.json beside them)`);
  }

  /** Downloads a model into the cache (once at a time per model); resolves with its files. */
  async download(model, store = this.store) {
    if (this.downloads.has(model.id)) throw new DownloadError('busy', `${model.name} is already downloading`);
    const controller = new AbortController();
    this.downloads.set(model.id, controller);
    try {
      return await downloadModel(model, {
        store,
        createHasher: this.createHasher,
        signal: controller.signal,
        onProgress: this.onProgress,
      });
    } finally {
      this.downloads.delete(model.id);
    }
  }

  /** Cancels a download; resolves with whether one was running. */
  cancel(id) {
    this.downloads.get(id)?.abort();
    return this.downloads.has(id);
  }

  remove(id) {
    return this.store.remove(id);
  }

  /** Every file of a cached model, verified against its sha256, by kind: `{manifest, files}`. */
  async read(id, store = this.store) {
    const manifest = await store.manifest(id);
    if (!manifest) throw new StoreError('missing', `${id} is not downloaded yet`);
    const files = {};
    for (const file of manifest.files) {
      const bytes = await this.#readFile(id, file, store);
      files[file.kind ?? fileKind(file)] = { name: file.name, bytes, sha256: file.sha256 };
    }
    return { manifest, files };
  }

  /**
   * Reads a cached file into one buffer, hashing it again on the way: a file whose bytes no longer
   * match its pinned sha256 is reported and its model removed instead of being handed to the engine.
   */
  async #readFile(id, entry, store) {
    const where = `${id}/${entry.name}`;
    const bytes = new Uint8Array(entry.size);
    const hasher = this.createHasher();
    let offset = 0;
    try {
      for (let index = 0; index < entry.parts; index++) {
        const part = await store.part(id, entry.name, index);
        if (!part) throw new StoreError('corrupt', `${where}: part ${index} is missing from the cache`);
        if (offset + part.length > bytes.length) throw new StoreError('corrupt', `${where}: the cached parts are larger than the file`);
        bytes.set(part, offset);
        hasher.update(part);
        offset += part.length;
      }
      if (offset !== entry.size) throw new StoreError('corrupt', `${where}: the cache holds ${offset} of ${entry.size} bytes`);
      const digest = hasher.hexDigest();
      if (digest !== entry.sha256) {
        throw new StoreError('corrupt', `${where}: cached bytes no longer match sha256 ${entry.sha256} (got ${digest})`);
      }
    } catch (err) {
      if (err.code === 'corrupt') await store.remove(id);
      throw err;
    } finally {
      hasher.free?.();
    }
    return bytes;
  }

  /**
   * A model's files by kind, downloaded first when the cache lacks them. When the cache cannot
   * keep them (its quota is used up), they are downloaded and verified into memory for this
   * session instead, and `notes.warning` says so.
   */
  async files(model, notes = {}) {
    if (!(await this.store.manifest(model.id))) {
      try {
        await this.download(model);
      } catch (err) {
        if (err?.code !== 'quota') throw err;
        const memory = new MemoryStore(this.store);
        await this.download(model, memory);
        notes.warning = `${err.message.replace(/\.?\s*$/, '.')} ${model.name} was not kept: it runs from memory for this session and is downloaded again next time.`;
        return (await this.read(model.id, memory)).files;
      }
    }
    return (await this.read(model.id)).files;
  }

  /** Files picked or dropped on a page become a model: a catalog model when they match one. */
  async import(files) {
    const list = await this.catalog();
    const hubName = (file) => (file.url ? new URL(file.url).pathname.split('/').pop() : file.name);
    // A picked file stands for a catalog file when its name is the file's name or its hub name and
    // its size agrees where the catalog knows it. Sizes tell apart the many `model.gguf`s.
    const pickedFor = (entry) =>
      files.find((p) => (p.name === entry.name || p.name === hubName(entry)) && (entry.size == null || entry.size === p.size));
    const candidates = list.filter((m) => m.files.length > 0 && m.files.every(pickedFor));
    const match =
      candidates.find((m) => m.files.every((f) => f.size != null)) ??
      candidates.find((m) => m.files.some((f) => hubName(f) !== f.name && files.some((p) => p.name === hubName(f))));
    const store = { store: this.store, createHasher: this.createHasher };
    if (match) {
      const renamed = match.files.map((entry) => {
        const file = pickedFor(entry);
        return file.name === entry.name ? file : new File([file], entry.name);
      });
      return { model: match.id, files: await importFiles(match, renamed, store) };
    }
    const weights = files.find((f) => isWeights(f.name));
    if (!weights) throw new StoreError('import', 'None of the chosen files is a model (.gguf or .safetensors)');
    const id = `local-${weights.name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '-')}`;
    const role = files.some((f) => f.name === 'config.json') ? 'asr' : 'llm';
    const model = { id, name: weights.name, role, files: files.map((f) => ({ name: f.name, kind: fileKind(f), size: f.size, sha256: null })) };
    return { model: id, files: await importFiles(model, files, store) };
  }
}
