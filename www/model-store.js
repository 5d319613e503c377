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

/**
 * Runs a write into the cache; the browser's refusal to store more (a QuotaExceededError)
 * becomes a `quota` StoreError that names what was being stored.
 */
async function storing(what, write) {
  try {
    return await write();
  } catch (err) {
    if (err?.name !== 'QuotaExceededError') throw err;
    throw new StoreError('quota', `The browser refused to store ${what}: this site's storage quota is used up (${err.message})`);
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
    const name = decodeURIComponent(url.slice(url.indexOf(KEY_ROOT) + KEY_ROOT.length));
    await storing(name, () => this.cache.put(url, new Response(JSON.stringify(value), { headers: { 'Content-Type': 'application/json' } })));
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
    return storing(`${id}/${fileName} (part ${index}, ${blob.size} bytes)`, () => this.cache.put(key(id, fileName, `part-${index}`), new Response(blob)));
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

  /** Part `index` of a stored file, or null when it is missing. */
  async part(id, fileName, index) {
    const response = await this.cache.match(key(id, fileName, `part-${index}`));
    return response ? new Uint8Array(await response.arrayBuffer()) : null;
  }

  /** Bytes used and the quota the browser grants this origin. */
  async estimate() {
    const estimate = (await navigator.storage?.estimate?.()) ?? {};
    return { usage: estimate.usage ?? 0, quota: estimate.quota ?? Infinity };
  }
}
