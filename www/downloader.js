// Downloads a model's files into the model cache: streamed, with byte-accurate progress, resumed
// with Range requests after a dropped connection, verified against the catalog's sha256 (or the
// one pinned on the first download), cancelable. A model is committed to the cache only when every
// one of its files is complete and verified; on any failure its partial files are discarded.

import { PART_BYTES, StoreError } from './model-store.js';

/** Download problems carry a `code`: network, http, size, short, integrity, quota, cancelled. */
export class DownloadError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'DownloadError';
    this.code = code;
  }
}

// A request this page's Content-Security-Policy refuses fails like a dropped network; the
// `securitypolicyviolation` event (in browsers, also in workers) tells which origin was refused.
const refusedOrigins = new Map(); // origin → the directive that refused it
globalThis.addEventListener?.('securitypolicyviolation', (/** @type {any} */ event) => {
  try {
    refusedOrigins.set(new URL(event.blockedURI).origin, event.effectiveDirective);
  } catch {
    // not a URL ('inline', 'eval'): not a request
  }
});

/** The directive that refused requests to `url`'s origin, waiting a moment for its event; or null. */
async function refusedByPolicy(url) {
  const origin = new URL(url).origin;
  for (let wait = 0; wait < 3 && !refusedOrigins.has(origin); wait++) await new Promise((r) => setTimeout(r, 20));
  return refusedOrigins.get(origin) ?? null;
}

const RESUME_ATTEMPTS = 5;
const PARALLEL_FILES = 3;

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(cancelled());
    }, { once: true });
  });

const cancelled = () => new DownloadError('cancelled', 'The download was cancelled');

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Progress of one model: per file and in total, with a rate over the last few seconds. */
class Progress {
  constructor(model, emit) {
    this.model = model;
    this.emit = emit;
    this.files = new Map(model.files.map((f) => [f.name, { loaded: 0, total: f.size }]));
    this.samples = [];
    this.lastEmit = 0;
  }

  setTotal(name, total) {
    this.files.get(name).total = total;
  }

  update(name, loaded) {
    const file = this.files.get(name);
    file.loaded = Math.max(file.loaded, loaded); // monotonic even if a server forces a restart
    this.report(false);
  }

  report(force) {
    const now = performance.now();
    if (!force && now - this.lastEmit < 100) return;
    this.lastEmit = now;
    let loaded = 0;
    let total = 0;
    let totalKnown = true;
    const files = [];
    for (const [name, f] of this.files) {
      loaded += f.loaded;
      if (f.total == null) totalKnown = false;
      else total += f.total;
      files.push({ name, loaded: f.loaded, total: f.total });
    }
    this.samples.push({ t: now, loaded });
    while (this.samples.length > 2 && now - this.samples[0].t > 3000) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    const rate = seconds > 0.2 ? (loaded - first.loaded) / seconds : null;
    const remaining = totalKnown ? total - loaded : null;
    this.emit({
      model: this.model.id,
      loaded,
      total: totalKnown ? total : null,
      percent: totalKnown && total > 0 ? (100 * loaded) / total : null,
      bytesPerSecond: rate,
      secondsLeft: rate && remaining != null ? remaining / rate : null,
      files,
    });
  }
}

/** Checks the quota before a download, with a message that says what to do. */
async function checkQuota(model, store) {
  const needed = model.files.reduce((sum, f) => sum + (f.size ?? f.sizeHint ?? 0), 0);
  const { usage, quota } = await store.estimate();
  const free = quota - usage;
  if (needed > free) {
    throw new DownloadError(
      'quota',
      `Not enough storage for ${model.name}: it needs ${formatBytes(needed)}, this site may store ${formatBytes(free)} more. ` +
        'Remove cached models you do not use, free disk space, or allow this site more storage.',
    );
  }
}

async function downloadFile(model, file, { store, createHasher, signal, progress }) {
  const expected = file.sha256 ?? (await store.pinnedHash(file.url));
  const hasher = createHasher();
  let received = 0;
  let total = file.size;
  let partIndex = 0;
  let pending = [];
  let pendingBytes = 0;
  let failures = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    await store.putPart(model.id, file.name, partIndex++, new Blob(pending));
    pending = [];
    pendingBytes = 0;
  };
  const restart = async () => {
    await store.discardFile(model.id, file.name);
    hasher.reset();
    received = 0;
    partIndex = 0;
    pending = [];
    pendingBytes = 0;
  };
  const retryOrFail = async (code, message) => {
    if (signal.aborted) throw cancelled();
    if (++failures > RESUME_ATTEMPTS) throw new DownloadError(code, message);
    await sleep(250 * 2 ** failures, signal);
  };
  try {
    for (;;) {
      let response;
      try {
        const headers = received > 0 ? { Range: `bytes=${received}-` } : {};
        response = await fetch(file.url, { headers, signal, cache: 'no-store' });
      } catch (err) {
        const directive = signal.aborted ? null : await refusedByPolicy(file.url);
        if (directive) {
          throw new DownloadError(
            'network',
            `${file.url}: this page's Content-Security-Policy (${directive}) does not allow requests to ${new URL(file.url).origin}: ` +
              'serve the model from this site, or add its host to the policy',
          );
        }
        await retryOrFail(
          'network',
          `${file.url}: the request failed (${err.message}). The network is down, or the server does not allow cross-origin requests (CORS).`,
        );
        continue;
      }
      if (received > 0 && response.status === 200) {
        await restart(); // the server ignored the Range header and sends the whole file again
      } else if (received > 0 && response.status !== 206) {
        throw new DownloadError('http', `${file.url}: resuming at byte ${received} failed with HTTP ${response.status}`);
      } else if (!response.ok) {
        throw new DownloadError('http', `${file.url}: HTTP ${response.status} ${response.statusText}`.trim());
      }
      if (response.status === 206) {
        const range = response.headers.get('Content-Range')?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
        if (!range || Number(range[1]) !== received) {
          throw new DownloadError('http', `${file.url}: the server resumed at the wrong offset (${response.headers.get('Content-Range')})`);
        }
      }
      const length = Number(response.headers.get('Content-Length'));
      const reported = response.headers.has('Content-Length') && Number.isSafeInteger(length) ? received + length : null;
      if (total == null && reported != null) total = reported;
      if (total != null && reported != null && reported !== total) {
        throw new DownloadError('size', `${file.url}: the server sends ${formatBytes(reported)}, the catalog expects ${total} bytes`);
      }
      if (total != null) progress.setTotal(file.name, total);
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (total != null && received + value.length > total) {
            throw new DownloadError('size', `${file.url}: the server sent more than the expected ${total} bytes`);
          }
          hasher.update(value);
          pending.push(value);
          pendingBytes += value.length;
          received += value.length;
          progress.update(file.name, received);
          if (pendingBytes >= PART_BYTES) await flush();
        }
      } catch (err) {
        if (err instanceof DownloadError || err instanceof StoreError) throw err; // a full cache is no dropped connection
        await retryOrFail('network', `${file.url}: the connection dropped at byte ${received} and ${RESUME_ATTEMPTS} resumes failed`);
        continue;
      }
      if (total != null && received < total) {
        await retryOrFail('short', `${file.url}: the server sent ${received} of ${total} bytes`);
        continue;
      }
      break;
    }
    await flush();
    const digest = hasher.hexDigest();
    if (expected && digest !== expected) {
      throw new DownloadError(
        'integrity',
        `${model.id}/${file.name}: sha256 mismatch (expected ${expected}, got ${digest}): the file is damaged or changed on the server, so nothing was kept`,
      );
    }
    if (!expected) await store.pinHash(file.url, digest);
    progress.setTotal(file.name, received);
    return { name: file.name, kind: file.kind, size: received, sha256: digest, parts: partIndex, url: file.url };
  } catch (err) {
    await store.discardFile(model.id, file.name);
    throw signal.aborted ? cancelled() : err;
  } finally {
    hasher.free?.();
  }
}

/**
 * Downloads every file of `model` (a few at a time), verifies them, and commits the model to the
 * cache. Resolves with the manifest's files; rejects with a DownloadError or StoreError.
 */
export async function downloadModel(model, { store, createHasher, signal, onProgress }) {
  await checkQuota(model, store);
  const progress = new Progress(model, onProgress);
  const inner = new AbortController();
  const abort = () => inner.abort();
  signal?.addEventListener('abort', abort, { once: true });
  const queue = [...model.files];
  const done = [];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      done.push(await downloadFile(model, file, { store, createHasher, signal: inner.signal, progress }));
    }
  };
  try {
    const workers = Array.from({ length: Math.min(PARALLEL_FILES, queue.length) }, worker);
    const results = await Promise.allSettled(workers);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      inner.abort();
      await Promise.all(model.files.map((f) => store.discardFile(model.id, f.name)));
      throw failed.reason;
    }
    const files = model.files.map((f) => done.find((d) => d.name === f.name));
    await store.commit(model, files);
    progress.report(true);
    return files;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** Stores files the user picked or dropped (File objects) as a model, hashing them on the way. */
export async function importFiles(model, files, { store, createHasher }) {
  const stored = [];
  try {
    for (const file of files) {
      const entry = model.files.find((f) => f.name === file.name) ?? { name: file.name, kind: 'other' };
      const hasher = createHasher();
      let partIndex = 0;
      let pending = [];
      let pendingBytes = 0;
      const reader = file.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hasher.update(value);
        pending.push(value);
        pendingBytes += value.length;
        if (pendingBytes >= PART_BYTES) {
          await store.putPart(model.id, file.name, partIndex++, new Blob(pending));
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) await store.putPart(model.id, file.name, partIndex++, new Blob(pending));
      const digest = hasher.hexDigest();
      hasher.free?.();
      if (entry.size != null && entry.size !== file.size) {
        throw new StoreError('integrity', `${file.name}: ${file.size} bytes, but ${model.name} expects ${entry.size}`);
      }
      if (entry.sha256 && entry.sha256 !== digest) {
        throw new StoreError('integrity', `${file.name}: sha256 ${digest} does not match ${model.name}'s ${entry.sha256}`);
      }
      stored.push({ name: file.name, kind: entry.kind, size: file.size, sha256: digest, parts: partIndex, url: null });
    }
  } catch (err) {
    await store.remove(model.id);
    await Promise.all(files.map((f) => store.discardFile(model.id, f.name)));
    throw err;
  }
  await store.commit(model, stored);
  return stored;
}
