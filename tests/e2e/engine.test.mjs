// The first browser test: the page loads, the engine worker instantiates the wasm and reports its
// version and SIMD, with no console error, no page error and no request leaving 127.0.0.1.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openBrowser, repoRoot, startServer } from './harness.mjs';

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
  await page.goto(`${server.origin}/`);
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
