// The persistent model cache, in Cache Storage (available in workers, survives reloads, works
// offline). Layout, under versioned keys so a format change never reads stale entries:
//   <origin>/__sotto__/models/v1/<id>/<file>/part-<n>   the file's bytes, in parts of ≤ PART_BYTES
//   <origin>/__sotto__/models/v1/<id>/manifest.json     written last, only once every file is
//                                                      complete and verified
//   <origin>/__sotto__/models/v1/pins.json              sha256 pinned on first download, by URL
// A model without a manifest does not exist for the engine, so it never sees a partial file.

const CACHE_NAME = 'sotto-models-v1';
const KEY_ROOT = '__sotto__/models/v1/';

/** Cache entries stay far below the 2 GB a single entry may hold in some browsers. */
export const PART_BYTES = 128 * 1024 * 1024;

/** Integrity or storage problems carry a `code` the UI can explain. */
export class StoreError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

function key(...parts) {
  return new URL(KEY_ROOT + parts.map(encodeURIComponent).join('/'), self.location.origin).href;
}

export class ModelStore {
  static async open() {
    if (!self.caches) {
      throw new StoreError('storage', 'This browser offers no Cache Storage here (a private window or an insecure origin?): models cannot be kept');
    }
    return new ModelStore(await caches.open(CACHE_NAME));
  }

  constructor(cache) {
    this.cache = cache;
  }

  async #json(url) {
    const response = await this.cache.match(url);
    return response ? response.json() : null;
  }

  async #putJson(url, value) {
    await this.cache.put(url, new Response(JSON.stringify(value), { headers: { 'Content-Type': 'application/json' } }));
  }

  /** The manifest of a complete, verified model, or null. */
  manifest(id) {
    return this.#json(key(id, 'manifest.json'));
  }

  /** Every complete model in the cache: `[{id, bytes, files, storedAt}]`. */
  async list() {
    const requests = await this.cache.keys();
    const ids = new Set();
    for (const request of requests) {
      const path = new URL(request.url).pathname;
      const match = path.match(/__sotto__\/models\/v1\/([^/]+)\/manifest\.json$/);
      if (match) ids.add(decodeURIComponent(match[1]));
    }
    const manifests = await Promise.all([...ids].map((id) => this.manifest(id)));
    return manifests.filter(Boolean).map((m) => ({ ...m, bytes: m.files.reduce((s, f) => s + f.size, 0) }));
  }

  /** The sha256 pinned for a URL on its first download, or null. */
  async pinnedHash(url) {
    const pins = (await this.#json(key('pins.json'))) ?? {};
    return pins[url] ?? null;
  }

  async pinHash(url, sha256) {
    const pins = (await this.#json(key('pins.json'))) ?? {};
    if (pins[url] === sha256) return;
    pins[url] = sha256;
    await this.#putJson(key('pins.json'), pins);
  }

  /** Stores one part of a file (parts are written as they complete, so memory stays bounded). */
  putPart(id, fileName, index, blob) {
    return this.cache.put(key(id, fileName, `part-${index}`), new Response(blob));
  }

  /** Marks a model complete; only called after every file was verified. */
  commit(model, files) {
    const manifest = { id: model.id, role: model.role, name: model.name, files, storedAt: new Date().toISOString() };
    return this.#putJson(key(model.id, 'manifest.json'), manifest);
  }

  /** Removes a model's manifest first (so it stops existing at once), then its parts. */
  async remove(id) {
    await this.cache.delete(key(id, 'manifest.json'));
    const prefix = key(id) + '/';
    const requests = await this.cache.keys();
    await Promise.all(requests.filter((r) => r.url.startsWith(prefix)).map((r) => this.cache.delete(r)));
  }

  /** Removes the parts of a file that failed (a cancelled or corrupt download). */
  async discardFile(id, fileName) {
    const prefix = key(id, fileName) + '/';
    const requests = await this.cache.keys();
    await Promise.all(requests.filter((r) => r.url.startsWith(prefix)).map((r) => this.cache.delete(r)));
  }

  /**
   * Reads a complete file into one buffer, hashing it again on the way: a file whose bytes no
   * longer match its pinned sha256 is reported and removed instead of being handed to the engine.
   */
  async read(id, fileName, createHasher) {
    const manifest = await this.manifest(id);
    const entry = manifest?.files.find((f) => f.name === fileName);
    if (!entry) throw new StoreError('missing', `${id}/${fileName} is not in the model cache`);
    const bytes = new Uint8Array(entry.size);
    const hasher = createHasher();
    let offset = 0;
    try {
      for (let index = 0; index < entry.parts; index++) {
        const response = await this.cache.match(key(id, fileName, `part-${index}`));
        if (!response) throw new StoreError('corrupt', `${id}/${fileName}: part ${index} is missing from the cache`);
        const part = new Uint8Array(await response.arrayBuffer());
        if (offset + part.length > bytes.length) throw new StoreError('corrupt', `${id}/${fileName}: the cached parts are larger than the file`);
        bytes.set(part, offset);
        hasher.update(part);
        offset += part.length;
      }
      if (offset !== entry.size) {
        throw new StoreError('corrupt', `${id}/${fileName}: the cache holds ${offset} of ${entry.size} bytes`);
      }
      const digest = hasher.hexDigest();
      if (digest !== entry.sha256) {
        throw new StoreError('corrupt', `${id}/${fileName}: cached bytes no longer match sha256 ${entry.sha256} (got ${digest})`);
      }
    } catch (err) {
      if (err.code === 'corrupt') await this.remove(id);
      throw err;
    } finally {
      hasher.free?.();
    }
    return bytes;
  }

  /** Bytes used and the quota the browser grants this origin. */
  static async estimate() {
    const estimate = (await navigator.storage?.estimate?.()) ?? {};
    return { usage: estimate.usage ?? 0, quota: estimate.quota ?? Infinity };
  }
}
