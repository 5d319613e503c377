// Model delivery, end to end in headless Chromium, against the generated tiny models served in
// catalog form (dist/models/local-catalog.json) through a fault-injecting proxy on 127.0.0.1.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFaultProxy } from './fault-proxy.mjs';
import { openBrowser, repoRoot, startServer } from './harness.mjs';

let server;
let proxy;
let browser;
let models; // local test models, from the catalog the build wrote

before(async () => {
  const catalog = JSON.parse(await readFile(join(repoRoot, 'dist/models/local-catalog.json'), 'utf8'));
  models = catalog.models;
  server = await startServer();
  proxy = await startFaultProxy(server.origin);
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  server?.stop();
});

const page = () => browser.page;
const llm = () => models.find((m) => m.role === 'llm');
const asr = () => models.find((m) => m.role === 'asr') ?? models.find((m) => m !== llm());
/** Where a catalog file is served (its `url` is relative to the catalog in /models/). */
const filePath = (model, file) => `/models/${file.url ?? `${model.id}/${file.name}`}`;

/** Opens the page through the proxy and waits for the models list. */
async function openPage() {
  await page().goto(`${proxy.origin}/?manual`);
  await page().waitForSelector('#models[data-models]', { timeout: 60_000 });
  assert.equal(await page().getAttribute('body', 'data-engine'), 'ready');
}

/** Downloads a model through the engine, collecting every progress event on the page. */
async function download(model) {
  return page().evaluate(async (id) => {
    const events = [];
    const off = window.sotto.on('progress', (progress) => events.push(progress));
    try {
      const result = await window.sotto.models.download(id);
      return { result, events };
    } catch (err) {
      return { error: { code: err.code, message: err.message }, events };
    } finally {
      off();
    }
  }, model.id);
}

/** Calls `window.sotto.models[method](id)` on the page: the public API. */
const request = (method, id) =>
  page().evaluate(async ([method, id]) => {
    try {
      return { result: await window.sotto.models[method](id) };
    } catch (err) {
      return { error: { code: err.code, message: err.message } };
    }
  }, [method, id]);

const cached = async (id) => {
  const { result } = await request('list');
  return result.models.find((m) => m.id === id)?.cached ?? null;
};

test('progress is monotonic and ends at the exact byte size', async () => {
  await openPage();
  const model = llm();
  const expected = model.files.reduce((sum, f) => sum + f.size, 0);
  const { result, error, events } = await download(model);
  assert.equal(error, undefined, error?.message);
  assert.ok(events.length >= 1, 'progress events were sent');
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].loaded >= events[i - 1].loaded, `progress went back at event ${i}`);
    for (const file of events[i].files) {
      const before = events[i - 1].files.find((f) => f.name === file.name);
      assert.ok(file.loaded >= before.loaded, `${file.name} progress went back`);
    }
  }
  const last = events.at(-1);
  assert.equal(last.loaded, expected);
  assert.equal(last.total, expected);
  assert.equal(last.percent, 100);
  assert.deepEqual(result.files.map((f) => f.size), model.files.map((f) => f.size));
  assert.deepEqual(result.files.map((f) => f.sha256), model.files.map((f) => f.sha256));
});

test('a dropped connection resumes with a Range request', async () => {
  const model = asr();
  const big = [...model.files].sort((a, b) => b.size - a.size)[0];
  const cut = Math.floor(big.size / 3);
  proxy.dropConnection(filePath(model, big), cut);
  const { error } = await download(model);
  assert.equal(error, undefined, error?.message);
  const resumed = proxy.seen.filter((r) => r.path === filePath(model, big) && r.range);
  assert.ok(resumed.length >= 1, 'a Range request followed the drop');
  assert.match(resumed[0].range, /^bytes=\d+-$/);
  assert.ok(Number(resumed[0].range.match(/\d+/)[0]) > 0);
  const entry = await cached(model.id);
  assert.ok(entry, 'the resumed model is cached');
  assert.equal(entry.files.find((f) => f.name === big.name).sha256, big.sha256);
  const loaded = await request('verify', model.id);
  assert.equal(loaded.error, undefined, loaded.error?.message);
});

test('a corrupted byte fails the hash check and nothing is kept or loaded', async () => {
  const model = llm();
  await request('remove', model.id);
  const file = model.files.find((f) => f.sha256);
  proxy.corruptByte(filePath(model, file), Math.floor(file.size / 2));
  const { error } = await download(model);
  assert.equal(error?.code, 'integrity');
  assert.match(error.message, /sha256 mismatch/);
  assert.equal(await cached(model.id), null);
  const loaded = await request('verify', model.id);
  assert.equal(loaded.error?.code, 'missing');
  const leftovers = await page().evaluate(async (id) => {
    const cache = await caches.open('sotto-models-v1');
    return (await cache.keys()).map((r) => r.url).filter((u) => u.includes(`/${encodeURIComponent(id)}/`));
  }, model.id);
  assert.deepEqual(leftovers, []);
  // The next, clean download succeeds, so the failure left nothing behind that gets in the way.
  const again = await download(model);
  assert.equal(again.error, undefined, again.error?.message);
});

test('files picked on the page are verified and kept as the catalog model they match', async () => {
  const model = llm();
  await request('remove', model.id);
  await page().reload();
  await page().waitForSelector('#models[data-models]', { timeout: 60_000 });
  const paths = model.files.map((f) => join(repoRoot, 'dist', filePath(model, f)));
  await page().setInputFiles('#model-files', paths);
  await page().waitForFunction(() => !/^Reading/.test(document.querySelector('#models-message').textContent));
  const message = await page().textContent('#models-message');
  assert.match(message, /^Stored/, message);
  const entry = await cached(model.id);
  assert.deepEqual(entry.files.map((f) => f.sha256), model.files.map((f) => f.sha256));
});

test('a model given by URL has no catalog hash: its first download is pinned, and a changed byte is refused later', async () => {
  await openPage();
  const model = llm();
  const file = model.files.find((f) => f.name.endsWith('.gguf'));
  const href = `${proxy.origin}${filePath(model, file)}`;
  const first = await page().evaluate(async (url) => {
    try {
      return { result: await window.sotto.load('llm', url) };
    } catch (err) {
      return { error: { code: err.code, message: err.message } };
    }
  }, href);
  assert.equal(first.error, undefined, first.error?.message);
  const { result } = await request('list');
  const entry = result.models.find((m) => m.name === href);
  assert.ok(entry?.cached, 'the model given by URL is cached');
  assert.equal(entry.files[0].sha256 ?? null, null, 'no hash was known before the download');
  assert.equal(entry.cached.files[0].sha256, file.sha256, 'the first download is kept with its own sha256');
  // Gone from the cache, its pin stays: the server now sends another byte, and it is refused.
  await request('remove', entry.id);
  proxy.corruptByte(filePath(model, file), Math.floor(file.size / 2));
  const changed = await download(entry);
  assert.equal(changed.error?.code, 'integrity', JSON.stringify(changed.error));
  assert.match(changed.error.message, new RegExp(`sha256 mismatch \\(expected ${file.sha256}`));
  assert.equal(await cached(entry.id), null, 'nothing of the changed file was kept');
  // The same bytes as the first time download again.
  const again = await download(entry);
  assert.equal(again.error, undefined, again.error?.message);
});

test('with the server stopped, the service worker serves the app and models load from the cache', async () => {
  await page().reload();
  await page().waitForSelector('body[data-offline-ready="true"]', { timeout: 30_000 });
  await proxy.stop();
  server.stop();
  await page().reload();
  await page().waitForSelector('#models[data-models]', { timeout: 60_000 });
  assert.equal(await page().getAttribute('body', 'data-engine'), 'ready');
  for (const model of [llm(), asr()]) {
    assert.ok(await cached(model.id), `${model.id} is still cached`);
    const loaded = await request('verify', model.id);
    assert.equal(loaded.error, undefined, loaded.error?.message);
    assert.deepEqual(loaded.result.files.map((f) => f.sha256), model.files.map((f) => f.sha256));
  }
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
});
