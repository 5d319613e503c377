// A model's files on their way into the engine, in the engine worker: the bytes the page sent,
// and the engine's load calls, whose refusals become errors that name the files.
import { isCrash } from './engine-recovery.js';
import { StoreError } from './model-store.js';

/** Files (by kind) from the bytes the page sent (ArrayBuffers or Blobs): `{weights, config?, ...}`. */
export async function filesFromBytes(source) {
  const files = {};
  for (const [kind, value] of Object.entries(source.files)) {
    const bytes = value.bytes instanceof Blob ? await value.bytes.arrayBuffer() : value.bytes;
    files[kind] = { name: value.name ?? kind, bytes: new Uint8Array(bytes) };
  }
  return files;
}

/**
 * Loads `files` (by kind) into `engine` for `role`; `decode` (asr only) is the catalog entry's own
 * patch of the `asr` settings, which the engine checks and applies as it loads the model. The
 * engine's refusal (a file cut short, not a GGUF, another model's config, a bad `decode`) becomes
 * a `model` error that names the files; a crash passes.
 */
export function loadIntoEngine(engine, role, files, chatTemplate, decode) {
  const need = (kind) => {
    if (!files[kind]) throw new StoreError('missing-file', `the ${role} model needs a ${kind} file`);
    return files[kind];
  };
  if (role !== 'asr' && role !== 'llm') throw new StoreError('role', `unknown model role ${role}`);
  const weights = need('weights');
  const config = role === 'asr' ? need('config') : null;
  const tokenizer = role === 'asr' ? need('tokenizer') : files.tokenizer;
  try {
    if (role === 'asr') return engine.loadAsr(config.bytes, tokenizer.bytes, weights.bytes, weights.name, decode ?? undefined);
    return engine.loadLlm(weights.bytes, tokenizer?.bytes, files.tokenizer_config?.bytes, chatTemplate ?? undefined);
  } catch (err) {
    if (isCrash(err)) throw err;
    const message = err?.message ?? String(err);
    if (role === 'llm') {
      throw new StoreError('model', `${weights.name}: ${message} (a chat model is a GGUF file, with its tokenizer.json when the GGUF has none)`);
    }
    throw new StoreError('model', `${message} (loading Whisper from ${config.name}, ${tokenizer.name} and ${weights.name}: a Whisper model is its config.json, tokenizer.json and GGUF or safetensors weights)`);
  }
}
