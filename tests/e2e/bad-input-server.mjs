// Servers for the browser bad-input tests: a proxy on 127.0.0.1 in front of `sotto serve` that
// also serves bad model and audio files under /bad/ (same origin, so the page's policy allows
// them), optionally as an embedding page without a Content-Security-Policy would; and a "foreign"
// server on another port that sends a good model without any CORS header.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './harness.mjs';

/** The bytes of file `name` of the generated test model `id` (where dist/models/local-catalog.json puts it). */
function modelFile(id, name) {
  const catalog = JSON.parse(readFileSync(join(repoRoot, 'dist/models/local-catalog.json'), 'utf8'));
  const file = catalog.models.find((m) => m.id === id)?.files.find((f) => f.name === name);
  if (!file) throw new Error(`dist/models/local-catalog.json has no ${id}/${name}: run \`cargo xtask build\``);
  return readFileSync(join(repoRoot, 'dist/models', file.url ?? `${id}/${name}`));
}

/** A copy of `bytes` with the little-endian u64 at `offset` set to `value` (a BigInt). */
function withU64(bytes, offset, value) {
  const copy = Buffer.from(bytes);
  copy.writeBigUInt64LE(value, offset);
  return copy;
}

/** Pseudo-random bytes (the same every run). */
function noise(length) {
  const out = Buffer.alloc(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Flips the bits of `mask` in byte `offset` of a copy of `bytes`. */
function flipped(bytes, offset, mask) {
  const copy = Buffer.from(bytes);
  copy[offset] ^= mask;
  return copy;
}

/** The bad files under /bad/, by path: bytes (a 404 is a path left out). */
export function badFiles() {
  const llm = modelFile('smollm2-test', 'model.gguf');
  const whisper = modelFile('whisper-tiny-test', 'model.gguf');
  const config = modelFile('whisper-tiny-test', 'config.json');
  const tokenizer = modelFile('whisper-tiny-test', 'tokenizer.json');
  return {
    // Chat models (a GGUF given by URL; no sha256 to check, so the engine meets them as they are).
    '/bad/truncated.gguf': llm.subarray(0, Math.floor(llm.length / 2)),
    '/bad/header-only.gguf': llm.subarray(0, 24),
    '/bad/empty.gguf': Buffer.alloc(0),
    '/bad/garbage.gguf': noise(64 * 1024),
    '/bad/page.gguf': Buffer.from('<!doctype html><title>Not found</title><p>This page does not exist.</p>'),
    '/bad/magic-flipped.gguf': flipped(llm, 1, 0x20),
    '/bad/version-flipped.gguf': flipped(llm, 4, 0x40),
    '/bad/huge-tensor-count.gguf': withU64(llm, 8, 1n << 40n),
    '/bad/huge-metadata-count.gguf': withU64(llm, 16, 1n << 40n),
    // Whisper folders: the weights cut short; a config of another model; a tokenizer that is not JSON.
    '/bad/whisper-truncated/model.gguf': whisper.subarray(0, Math.floor(whisper.length / 3)),
    '/bad/whisper-truncated/config.json': config,
    '/bad/whisper-truncated/tokenizer.json': tokenizer,
    '/bad/whisper-other-config/model.gguf': whisper,
    '/bad/whisper-other-config/config.json': modelFile('smollm2-test', 'tokenizer_config.json'),
    '/bad/whisper-other-config/tokenizer.json': tokenizer,
    '/bad/whisper-bad-tokenizer/model.gguf': whisper,
    '/bad/whisper-bad-tokenizer/config.json': config,
    '/bad/whisper-bad-tokenizer/tokenizer.json': Buffer.from('{"model": {"vocab": '),
    // A Whisper folder whose weights 404 (its config and tokenizer are there).
    '/bad/whisper-no-weights/config.json': config,
    '/bad/whisper-no-weights/tokenizer.json': tokenizer,
  };
}

/**
 * The storage of a browser whose quota for the site is `quota` bytes, in the engine worker (where
 * the model cache lives): `navigator.storage.estimate()` reports it, and a Cache Storage `put`
 * beyond it rejects with a QuotaExceededError, as Chromium's does. (Chromium's CDP override,
 * `Storage.overrideQuotaForOrigin`, did not change what a page of this headless build sees.)
 */
const quotaStub = (quota) => `// bad-input tests: a storage quota of ${quota} bytes
const QUOTA = ${quota};
let used = 0;
navigator.storage.estimate = async () => ({ usage: used, quota: QUOTA });
const open = CacheStorage.prototype.open;
CacheStorage.prototype.open = async function (name) {
  const cache = await open.call(this, name);
  const put = cache.put.bind(cache);
  cache.put = async (request, response) => {
    const size = (await response.clone().arrayBuffer()).byteLength;
    if (used + size > QUOTA) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    used += size;
    return put(request, response);
  };
  return cache;
};
`;

/**
 * A proxy to `targetOrigin` that answers `files` itself (200, or 404 for other /bad/ paths).
 * `embedding`: serves `/embed.html`, a page without a Content-Security-Policy, and drops the
 * policy header from every answer, as a site embedding the package without one would.
 * `quota`: the engine worker sees a storage quota of that many bytes (`quotaStub`); `missing`:
 * paths that answer 404 (a model file gone from the server).
 */
export async function startBadInputProxy(targetOrigin, files, { embedding = false, quota = null, missing = [] } = {}) {
  const isolation = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  const server = http.createServer((request, response) => {
    const path = new URL(request.url, 'http://x').pathname;
    if (embedding && path === '/embed.html') {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...isolation });
      response.end('<!doctype html><html><head><title>Embedding page</title></head><body><p>Sotto embedded</p></body></html>');
      return;
    }
    if (path.startsWith('/bad/') || missing.includes(path)) {
      const bytes = files[path];
      if (!bytes) {
        response.writeHead(404, { 'Content-Type': 'text/plain', ...isolation });
        response.end('not found');
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length, ...isolation });
      response.end(request.method === 'HEAD' ? undefined : bytes);
      return;
    }
    if (quota != null && path === '/bad-input-quota.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript', ...isolation });
      response.end(quotaStub(quota));
      return;
    }
    const upstream = http.request(new URL(request.url, targetOrigin), { method: request.method, headers: request.headers }, (answer) => {
      const headers = { ...answer.headers };
      if (embedding) delete headers['content-security-policy'];
      if (quota != null && path === '/engine-worker.js' && answer.statusCode === 200) {
        // The stub's import comes first, so it runs before the worker's own modules.
        const chunks = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat([Buffer.from("import './bad-input-quota.js';\n"), ...chunks]);
          delete headers['content-length'];
          delete headers.etag;
          response.writeHead(200, { ...headers, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
          response.end(body);
        });
        return;
      }
      response.writeHead(answer.statusCode, headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** A server on another 127.0.0.1 port that sends the tiny chat model with no CORS header at all. */
export async function startForeignServer() {
  const llm = modelFile('smollm2-test', 'model.gguf');
  const seen = [];
  const server = http.createServer((request, response) => {
    seen.push(request.url);
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': llm.length });
    response.end(request.method === 'HEAD' ? undefined : llm);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    seen,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** A 16-bit mono WAV of `samples` (numbers in [-1, 1]) at `rate`. */
export function wavBytes(samples, rate = 16000) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s * 32767))), i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
