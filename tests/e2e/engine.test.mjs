// The first browser test: the page loads, the engine worker instantiates the wasm and reports its
// version and SIMD, with no console error, no page error and no request leaving 127.0.0.1.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openBrowser, repoRoot, startServer, loadPage } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function crateVersion() {
  const manifest = await readFile(join(repoRoot, 'Cargo.toml'), 'utf8');
  return manifest.match(/^version = "([^"]+)"/m)[1];
}

test('the server sends the isolation headers and the wasm MIME type', async () => {
  const page = await fetch(`${server.origin}/`);
  assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const wasm = await fetch(`${server.origin}/pkg/sotto_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
});

test('the engine worker starts the wasm engine and reports its version and SIMD', async () => {
  const { page, problems } = browser;
  await loadPage(page, `${server.origin}/`);
  await page.waitForSelector('body[data-engine="ready"], body[data-engine="error"]', { timeout: 60_000 });
  const status = await page.textContent('#engine-status');
  assert.equal(await page.getAttribute('body', 'data-engine'), 'ready', `engine status: ${status}`);
  assert.equal(await page.textContent('#engine-version'), await crateVersion());
  assert.equal(await page.textContent('#engine-simd'), 'yes');
  assert.equal(await page.textContent('#engine-isolated'), 'yes');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.offMachineRequests, []);
});

test('an isolated page runs the threaded build with a helper, and its replies equal the single-threaded build\'s', async () => {
  const { page, problems } = browser;
  await loadPage(page, `${server.origin}/?manual`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  // The tiny model's prompt (about 40 tokens) makes its FFN products large enough to be split.
  const question = 'Tell me everything you know about the weather on the coast this week, please, in detail.';
  const runs = await page.evaluate(async ([text]) => {
    const { ChatModel } = await import('./sotto.js');
    const results = {};
    for (const [label, threads] of [['single', 0], ['threaded', undefined]]) {
      const chat = await ChatModel.create({ model: 'smollm2-test', generation: { maxTokens: 24 }, threads });
      results[label] = { engine: chat.sotto.engine, first: await chat.reply(text), second: await chat.reply('And tomorrow?') };
      chat.dispose();
    }
    return results;
  }, [question]);
  assert.equal(runs.single.engine.build, 'single');
  assert.equal(runs.single.engine.threads, 1);
  assert.match(runs.single.engine.singleThreadReason, /threads: 0/);
  if (cores > 1) {
    assert.equal(runs.threaded.engine.build, 'threads', `threaded engine: ${JSON.stringify(runs.threaded.engine)}`);
    assert.equal(runs.threaded.engine.threads, Math.min(4, cores), 'one helper per spare core, at most three');
  }
  assert.ok(runs.single.first.length > 0);
  assert.equal(runs.threaded.first, runs.single.first, 'the same greedy reply');
  assert.equal(runs.threaded.second, runs.single.second, 'the same second turn (cached prefix)');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.offMachineRequests, []);
});
