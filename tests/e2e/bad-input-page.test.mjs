// The bad-input corpus in the browser, part two: what the network, the storage and the
// microphone can do to the page. A model host without CORS headers (a second server on another
// port, loaded from a page embedding the package without a Content-Security-Policy, and from the
// demo page, whose policy refuses that host); a storage quota too small for the models (stubbed in
// the engine worker, bad-input-server.mjs: the model still runs, from memory, with a warning);
// a microphone of digital zeros (the page says so). After each, the same engine answers.
// The API's own corpus: bad-input.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { badFiles, startBadInputProxy, startForeignServer } from './bad-input-server.mjs';
import { loadPage, openBrowser, openBrowserWithMicrophone, repoRoot, startServer } from './harness.mjs';

let server;
let embedding; // the package on a page without a Content-Security-Policy
let demo; // the demo page, with its policy
let foreign;
let small; // the demo page in a browser that lets the site store QUOTA bytes
const QUOTA = 100 * 1024;
const browsers = [];
let cases = 0;

before(async () => {
  server = await startServer();
  const files = badFiles();
  embedding = await startBadInputProxy(server.origin, files, { embedding: true });
  demo = await startBadInputProxy(server.origin, files);
  small = await startBadInputProxy(server.origin, files, { quota: QUOTA });
  foreign = await startForeignServer();
});

after(async () => {
  console.log(`bad-input corpus (browser, network, storage, microphone): ${cases} cases`);
  for (const browser of browsers) await browser.close();
  await embedding?.stop();
  await demo?.stop();
  await small?.stop();
  await foreign?.stop();
  server?.stop();
});

async function browser(open = openBrowser) {
  const opened = await open();
  browsers.push(opened);
  return opened;
}

/** Installs `window.attempt(work)`: `{result}` or `{error: {name, code, message}}`. */
const installAttempt = (page) => page.evaluate(() => {
  window.attempt = async (work) => {
    try {
      return { result: await work() };
    } catch (err) {
      return { error: { name: err?.constructor?.name, code: err?.code, message: err?.message ?? String(err) } };
    }
  };
});

/** A Sotto with the tiny chat model on `page` as `window.assistant`, its error events in `window.engineErrors`. */
const createAssistant = (page, options = { llm: 'smollm2-test' }) => page.evaluate(async (options) => {
  const { Sotto } = await import('./sotto.js');
  window.engineErrors = [];
  window.assistant = await Sotto.create({ ...options, generation: { maxTokens: 4 } });
  window.assistant.on('error', (event) => window.engineErrors.push(event));
}, options);

async function stillAnswers(page, after) {
  const answer = await page.evaluate(() => attempt(() => assistant.ask('Hello, are you there?')));
  assert.equal(answer.error, undefined, `after ${after}: ${JSON.stringify(answer.error)}`);
  assert.equal(typeof answer.result, 'string');
  assert.deepEqual(await page.evaluate(() => window.engineErrors), [], `after ${after}: no error event`);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a model host without CORS headers: the error names the URL and CORS, and the engine answers', async (t) => {
  const { page, problems } = await browser();
  await loadPage(page, `${embedding.origin}/embed.html`);
  await installAttempt(page);
  await createAssistant(page);
  const model = `${foreign.origin}/models/chat.gguf`;
  const loaded = await page.evaluate((model) => attempt(() => assistant.load('llm', model)), model);
  cases++;
  assert.equal(loaded.error?.code, 'network', JSON.stringify(loaded));
  assert.match(loaded.error.message, new RegExp(escape(model)));
  assert.match(loaded.error.message, /CORS/);
  t.diagnostic(loaded.error.message);
  assert.ok(foreign.seen.length > 0, 'the request reached the foreign server (CORS, not an unreachable host)');
  await stillAnswers(page, 'a CORS failure');
  // ChatModel.create with that URL fails the same way and leaves nothing running.
  const chat = await page.evaluate(async (model) => {
    const { ChatModel } = await import('./sotto.js');
    return attempt(() => ChatModel.create({ model }));
  }, model);
  cases++;
  assert.equal(chat.error?.code, 'network', JSON.stringify(chat));
  assert.match(chat.error.message, new RegExp(escape(model)));
  await stillAnswers(page, 'ChatModel.create with a CORS failure');
  assert.deepEqual(problems.pageErrors, []);
});

test('on the demo page, a model host its policy refuses: the error names the URL and the policy, at once', async (t) => {
  const { page, problems } = await browser();
  await loadPage(page, `${demo.origin}/?manual`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  await installAttempt(page);
  await createAssistant(page);
  const model = `${foreign.origin}/models/refused.gguf`;
  const loaded = await page.evaluate((model) => attempt(() => assistant.load('llm', model)), model);
  cases++;
  assert.equal(loaded.error?.code, 'network', JSON.stringify(loaded));
  assert.match(loaded.error.message, new RegExp(escape(model)));
  assert.match(loaded.error.message, /Content-Security-Policy \(connect-src\) does not allow requests to/);
  assert.match(loaded.error.message, new RegExp(escape(foreign.origin)));
  t.diagnostic(loaded.error.message);
  await stillAnswers(page, 'a refused host');
  assert.deepEqual(problems.pageErrors, []);
});

test('a storage quota too small for the models: they run from memory this session, with a warning that says so', async (t) => {
  const { page, problems } = await browser();
  await loadPage(page, `${small.origin}/?manual`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  await installAttempt(page);
  await createAssistant(page, {});
  const { storage } = await page.evaluate(() => assistant.models.list());
  assert.equal(storage.quota, QUOTA, `the engine sees the small quota: ${JSON.stringify(storage)}`);
  // A catalog model (its size is known: the quota check refuses it before the download).
  const catalog = await page.evaluate(() => attempt(() => assistant.load('llm', 'smollm2-test')));
  cases++;
  assert.equal(catalog.error, undefined, JSON.stringify(catalog.error));
  assert.equal(catalog.result.cached, false);
  assert.match(catalog.result.warning, /smollm2/i);
  assert.match(catalog.result.warning, /storage/i);
  assert.match(catalog.result.warning, /memory/);
  t.diagnostic(catalog.result.warning);
  await stillAnswers(page, 'a model too big for the cache');
  // A model by URL (no size known: the cache itself refuses its bytes, a QuotaExceededError).
  const { models: listed } = await page.evaluate(() => assistant.models.list());
  const weightsUrl = listed.find((m) => m.id === 'smollm2-test').files.find((f) => f.kind === 'weights').url;
  const byUrl = await page.evaluate((href) => attempt(() => assistant.load('llm', href)), weightsUrl);
  cases++;
  assert.equal(byUrl.error, undefined, JSON.stringify(byUrl.error));
  assert.equal(byUrl.result.cached, false);
  assert.match(byUrl.result.warning, new RegExp(escape(weightsUrl.split('/').pop())));
  assert.match(byUrl.result.warning, /quota/);
  t.diagnostic(byUrl.result.warning);
  await stillAnswers(page, 'a model the cache refused');
  const { models } = await page.evaluate(() => assistant.models.list());
  assert.ok(!models.some((m) => m.cached && m.id === 'smollm2-test'), 'nothing half-stored is listed as cached');
  // The demo page shows the warning where it shows messages, and the models are usable.
  await page.click('#apply-button');
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 60_000 });
  cases++;
  assert.match(await page.textContent('#mic-message'), /runs from memory for this session/);
  assert.equal(await page.getAttribute('body', 'data-engine'), 'ready');
  assert.deepEqual(problems.pageErrors, []);
});

test('a microphone of digital zeros: the page says so, nothing crashes, and a typed question is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-zeros-'));
  const zeros = join(dir, 'zeros.wav');
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', zeros, 'trim', '0', '30']);
  const { page, problems } = await browser(() => openBrowserWithMicrophone(zeros, { loop: true }));
  await loadPage(page, `${demo.origin}/`);
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 120_000 });
  await page.click('#mic-button');
  cases++;
  await page.waitForFunction(() => /only silence/.test(document.querySelector('#mic-message').textContent), undefined, { timeout: 30_000 });
  assert.match(await page.textContent('#mic-message'), /muted, or is another device selected/);
  assert.equal(await page.getAttribute('body', 'data-engine'), 'ready');
  assert.equal(await page.getAttribute('#mic-button', 'aria-pressed'), 'true', 'still listening');
  await page.fill('#ask-input', 'Hello?');
  await page.press('#ask-input', 'Enter');
  await page.waitForSelector('#conversation li.assistant', { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('#state').dataset.state !== 'thinking', undefined, { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-engine'), 'ready');
  await page.click('#mic-button');
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
});

test('the demo page, when its chat model 404s: it names the URL, and another model loads with Apply', async () => {
  const catalog = JSON.parse(readFileSync(join(repoRoot, 'dist/models/local-catalog.json'), 'utf8'));
  // The page loads the first chat model beside it; its weights are gone.
  const first = catalog.models.find((m) => m.role === 'llm');
  const weights = first.files.find((f) => f.name.endsWith('.gguf'));
  const path = `/models/${weights.url ?? `${first.id}/${weights.name}`}`;
  const gone = await startBadInputProxy(server.origin, {}, { missing: [path] });
  try {
    const { page, problems } = await browser();
    await loadPage(page, `${gone.origin}/`);
    await page.waitForFunction(() => document.querySelector('#state').textContent === 'Models not loaded', undefined, { timeout: 60_000 });
    cases++;
    const message = await page.textContent('#mic-message');
    assert.match(message, new RegExp(`${escape(gone.origin + path)}: HTTP 404`));
    assert.equal(await page.getAttribute('body', 'data-engine'), 'ready');
    assert.equal(await page.getAttribute('#ask-input', 'disabled'), '', 'nothing to ask yet');
    assert.equal(await page.inputValue('#llm-select'), first.id);
    await page.selectOption('#llm-select', 'qwen2-test');
    await page.click('#apply-button');
    await page.waitForSelector('body[data-models="loaded"]', { timeout: 60_000 });
    await page.fill('#ask-input', 'Hello?');
    await page.press('#ask-input', 'Enter');
    await page.waitForSelector('#conversation li.assistant', { timeout: 60_000 });
    assert.deepEqual(problems.pageErrors, []);
  } finally {
    await gone.stop();
  }
});

test('nothing left the machine', () => {
  for (const { problems } of browsers) assert.deepEqual(problems.offMachineRequests, []);
  assert.ok(cases >= 7, `${cases} cases`);
});
