// The model catalog: which models exist, their files, sizes and hashes.
//
// Two catalogs are merged: the package's `models/catalog.json` (real models on the Hugging Face
// hub, pinned to a revision), which ships in the module graph (`HUB_CATALOG_URL` is a
// `new URL(..., import.meta.url)` that bundlers see and emit), and, when present,
// `models/local-catalog.json` beside the page (or, in Node, in the working directory): models
// served by the app itself, such as the generated test models or a folder filled by
// `node models/fetch.mjs` for an offline demo.

/** The package's catalog of hub models. */
export const HUB_CATALOG_URL = new URL('./models/catalog.json', import.meta.url);

/** Roles a model can play in the pipeline. */
export const ROLES = ['asr', 'llm', 'voice'];

/** A catalog problem names the catalog and the entry. */
export class CatalogError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CatalogError';
    this.code = 'catalog';
  }
}

/** What a file is for, from the catalog or else from its name. */
export function fileKind(file) {
  if (file.kind) return file.kind;
  const name = file.name.toLowerCase();
  if (name.endsWith('.gguf') || name.endsWith('.safetensors')) return 'weights';
  if (name === 'tokenizer_config.json') return 'tokenizer_config';
  if (name.startsWith('tokenizer') && name.endsWith('.json')) return 'tokenizer';
  if (name.startsWith('config') && name.endsWith('.json')) return 'config';
  if (name.startsWith('generation_config')) return 'generation_config';
  return 'other';
}

function validate(entry, source) {
  const where = `${source}: model ${JSON.stringify(entry?.id ?? '(no id)')}`;
  if (typeof entry?.id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(entry.id)) {
    throw new CatalogError(`${where}: "id" must be letters, digits, '.', '_' or '-'`);
  }
  if (!ROLES.includes(entry.role)) throw new CatalogError(`${where}: "role" must be one of ${ROLES.join(', ')}`);
  if (!Array.isArray(entry.files)) throw new CatalogError(`${where}: "files" must be a list`);
  for (const file of entry.files) {
    if (typeof file?.name !== 'string' || file.name.includes('/')) {
      throw new CatalogError(`${where}: every file needs a plain "name"`);
    }
    if (file.size != null && !(Number.isSafeInteger(file.size) && file.size >= 0)) {
      throw new CatalogError(`${where}: ${file.name}: "size" must be a whole number of bytes`);
    }
    if (file.sha256 != null && !/^[0-9a-f]{64}$/.test(file.sha256)) {
      throw new CatalogError(`${where}: ${file.name}: "sha256" must be 64 lowercase hex digits`);
    }
  }
}

/**
 * Normalises one catalog: every file gets an absolute `url` (relative ones resolve against the
 * catalog's own URL, defaulting to `<id>/<name>` beside it) and a `kind`.
 */
export function normalizeCatalog(json, catalogUrl, origin) {
  if (!Array.isArray(json?.models)) throw new CatalogError(`${catalogUrl}: expected {"models": [...]}`);
  return json.models.map((entry) => {
    validate(entry, catalogUrl);
    return {
      ...entry,
      origin,
      files: entry.files.map((file) => ({
        ...file,
        kind: fileKind(file),
        url: new URL(file.url ?? `${entry.id}/${file.name}`, catalogUrl).href,
        size: file.size ?? null,
        sha256: file.sha256 ?? null,
      })),
    };
  });
}

/** Known size of a model's download, or the catalog's hint where the exact size is not known. */
export function modelBytes(model) {
  return model.files.reduce((sum, f) => sum + (f.size ?? f.sizeHint ?? 0), 0);
}

/** The hub catalog, which must load: without it no catalog id resolves. */
async function fetchHubCatalog(url) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new CatalogError(`Could not fetch the model catalog ${url}: ${err.message}`);
  }
  if (!response.ok) {
    throw new CatalogError(`Could not fetch the model catalog ${url}: HTTP ${response.status} (a bundler must emit the package's models/catalog.json; see "Bundlers" in its README)`);
  }
  try {
    return await response.json();
  } catch (err) {
    throw new CatalogError(`The model catalog ${url} is not valid JSON (${err.message}): the server sent another file in its place`);
  }
}

/**
 * The optional local catalog, or null when there is none: a failed request, any error status, or
 * a body that is not JSON (a dev server answers unknown paths with its index.html) count as none.
 */
async function fetchLocalCatalog(url) {
  try {
    const response = await fetch(url, { cache: 'no-cache' });
    if (!response.ok || /html/i.test(response.headers.get('Content-Type') ?? '')) return null;
    return JSON.parse(await response.text());
  } catch {
    return null;
  }
}

/**
 * Merges the hub catalog and the local one (both parsed JSON; `local` may be null). A local entry
 * with the same id as a hub entry replaces its URLs, so an offline folder is used before the
 * network.
 */
export function mergeCatalogs(hub, hubUrl, local, localUrl) {
  const models = new Map();
  for (const model of normalizeCatalog(hub, hubUrl, 'hub')) models.set(model.id, model);
  for (const model of local ? normalizeCatalog(local, localUrl, 'local') : []) {
    const known = models.get(model.id);
    const merged = known ? { ...known, ...model, name: model.name ?? known.name, hubFiles: known.files } : model;
    models.set(model.id, merged);
  }
  for (const model of models.values()) model.name ??= model.id;
  return [...models.values()];
}

/** Loads the hub catalog and the local one, `models/local-catalog.json` relative to `pageUrl`. */
export async function loadCatalog(pageUrl) {
  const hubUrl = HUB_CATALOG_URL.href;
  const localUrl = new URL('models/local-catalog.json', pageUrl).href;
  const [hub, local] = await Promise.all([fetchHubCatalog(hubUrl), fetchLocalCatalog(localUrl)]);
  return mergeCatalogs(hub, hubUrl, local, localUrl);
}
