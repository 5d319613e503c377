// The model catalog: which models exist, their files, sizes and hashes.
//
// Two catalogs are merged: `models/catalog.json` (real models on the Hugging Face hub, pinned to a
// revision) and, when present, `models/local-catalog.json` (models served next to the page, such
// as the generated test models or a folder filled by `node models/fetch.mjs` for an offline demo).

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

async function fetchJson(url, optional) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    if (optional) return null;
    throw new CatalogError(`Could not fetch the model catalog ${url}: ${err.message}`);
  }
  if (response.status === 404 && optional) return null;
  if (!response.ok) throw new CatalogError(`Could not fetch the model catalog ${url}: HTTP ${response.status}`);
  try {
    return await response.json();
  } catch (err) {
    throw new CatalogError(`The model catalog ${url} is not valid JSON: ${err.message}`);
  }
}

/**
 * Loads the hub catalog and the local one (models served beside the page). A local entry with the
 * same id as a hub entry replaces its URLs, so an offline demo folder is used before the network.
 */
export async function loadCatalog(baseUrl) {
  const hubUrl = new URL('models/catalog.json', baseUrl).href;
  const localUrl = new URL('models/local-catalog.json', baseUrl).href;
  const [hub, local] = await Promise.all([fetchJson(hubUrl, true), fetchJson(localUrl, true)]);
  const models = new Map();
  for (const model of hub ? normalizeCatalog(hub, hubUrl, 'hub') : []) models.set(model.id, model);
  for (const model of local ? normalizeCatalog(local, localUrl, 'local') : []) {
    const known = models.get(model.id);
    const merged = known ? { ...known, ...model, name: model.name ?? known.name, hubFiles: known.files } : model;
    models.set(model.id, merged);
  }
  for (const model of models.values()) model.name ??= model.id;
  if (models.size === 0) throw new CatalogError(`No models: neither ${hubUrl} nor ${localUrl} could be read`);
  return [...models.values()];
}
