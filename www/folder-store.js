// Node's model cache: the browser's `ModelStore` interface on a folder. Layout (versioned, like
// the browser's keys):
//   <dir>/v1/<id>/<file>/part-<n>   the file's bytes, in parts
//   <dir>/v1/<id>/manifest.json     written last, once every file is complete and verified
//   <dir>/v1/pins.json              sha256 pinned on first download, by URL
// A model without a manifest does not exist, so the engine never sees a partial file.
import { mkdir, readFile, readdir, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './model-store.js';

/** A path segment for an id or file name (encoded: nothing can climb out of the folder). */
const segment = (name) => encodeURIComponent(name).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));

export class FolderStore {
  /** The store in `dir` (created when missing). */
  static async open(dir) {
    const root = join(dir, 'v1');
    try {
      await mkdir(root, { recursive: true });
    } catch (err) {
      throw new StoreError('storage', `Cannot create the model cache ${root} (${err.code ?? err.message}): pass another cacheDir`);
    }
    return new FolderStore(root);
  }

  constructor(root) {
    this.root = root;
  }

  #path(...parts) {
    return join(this.root, ...parts.map(segment));
  }

  async #json(path) {
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw new StoreError('corrupt', `${path} is unreadable (${err.message}): delete it and download again`);
    }
  }

  /** Writes JSON by renaming a complete temporary file over the target. */
  async #putJson(path, value) {
    await writeFile(`${path}.tmp`, JSON.stringify(value));
    await rename(`${path}.tmp`, path);
  }

  /** The manifest of a complete, verified model, or null. */
  manifest(id) {
    return this.#json(this.#path(id, 'manifest.json'));
  }

  /** Every complete model in the cache. */
  async list() {
    const ids = await readdir(this.root).catch(() => []);
    const manifests = await Promise.all(ids.map((id) => this.#json(join(this.root, id, 'manifest.json'))));
    return manifests.filter(Boolean).map((m) => ({ ...m, bytes: m.files.reduce((s, f) => s + f.size, 0) }));
  }

  async pinnedHash(url) {
    const pins = (await this.#json(this.#path('pins.json'))) ?? {};
    return pins[url] ?? null;
  }

  async pinHash(url, sha256) {
    const pins = (await this.#json(this.#path('pins.json'))) ?? {};
    if (pins[url] === sha256) return;
    pins[url] = sha256;
    await this.#putJson(this.#path('pins.json'), pins);
  }

  /** Stores one part of a file (a Blob). */
  async putPart(id, fileName, index, blob) {
    const folder = this.#path(id, fileName);
    await mkdir(folder, { recursive: true });
    try {
      await writeFile(join(folder, `part-${index}`), new Uint8Array(await blob.arrayBuffer()));
    } catch (err) {
      throw new StoreError('storage', `Cannot write to the model cache ${folder} (${err.code ?? err.message})`);
    }
  }

  /** Marks a model complete; only called after every file was verified. */
  commit(model, files) {
    const manifest = { id: model.id, role: model.role, name: model.name, files, storedAt: new Date().toISOString() };
    return this.#putJson(this.#path(model.id, 'manifest.json'), manifest);
  }

  /** Removes a model's manifest first (so it stops existing at once), then its files. */
  async remove(id) {
    await rm(this.#path(id, 'manifest.json'), { force: true });
    await rm(this.#path(id), { recursive: true, force: true });
  }

  discardFile(id, fileName) {
    return rm(this.#path(id, fileName), { recursive: true, force: true });
  }

  /** Part `index` of a stored file, or null when it is missing. */
  part(id, fileName, index) {
    return readFile(join(this.#path(id, fileName), `part-${index}`)).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.length), () => null);
  }

  /** The disk space left, as the browser's storage estimate. */
  async estimate() {
    const disk = await statfs(this.root).catch(() => null);
    return { usage: 0, quota: disk ? disk.bavail * disk.bsize : Infinity };
  }
}
