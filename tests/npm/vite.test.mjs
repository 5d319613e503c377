// The package in a Vite-built app (installed from the tarball): Vite must bundle the worker, the
// worklets and the wasm through their `new URL(..., import.meta.url)`, and the built app must run
// from a static host in headless Chromium.
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadPage, openBrowser, startServer } from '../e2e/harness.mjs';
import { projectWith, run } from './consumer.mjs';

const VITE = 'vite@7.3.8';

const INDEX = `<!doctype html>
<meta charset="utf-8">
<title>sotto in a Vite app</title>
<link rel="icon" href="data:,">
<script type="module" src="/main.js"></script>`;

const MAIN = `import { Sotto, Voice } from 'sotto';
window.result = (async () => {
  const assistant = await Sotto.create({ systemPrompt: 'Be brief.', endpointMs: 600 });
  const voice = await Voice.create({ rate: 1.1, sampleRate: 24000 });
  const speech = await voice.synthesize('built with vite');
  const spoken = await assistant.say('ready'); // loads the playback and capture worklets
  const result = { version: assistant.engine.version, simd: assistant.engine.simd, sampleRate: speech.sampleRate,
    samples: speech.samples.length, spokenSamples: spoken.samples.length, worklets: assistant.audio != null };
  voice.dispose();
  assistant.dispose();
  return result;
})().catch((e) => ({ error: String(e), code: e.code }));
`;

const CONFIG = `export default { worker: { format: 'es' }, build: { outDir: 'dist' } };`;

let app;
let server;
let browser;
before(async () => {
  app = await projectWith([VITE]);
  await writeFile(join(app, 'index.html'), INDEX);
  await writeFile(join(app, 'main.js'), MAIN);
  await writeFile(join(app, 'vite.config.js'), CONFIG);
  await run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], { cwd: app, timeout: 300_000 });
  server = await startServer({ root: join(app, 'dist') });
  browser = await openBrowser({ extraFlags: ['--autoplay-policy=no-user-gesture-required'] });
});
after(async () => {
  await browser?.close();
  server?.stop();
  if (app) await rm(app, { recursive: true, force: true });
});

test('Vite: the build carries the worker and wasm as assets, the worklets as assets or inlined', async () => {
  const assets = await readdir(join(app, 'dist/assets'));
  for (const pattern of [/^engine-worker-.*\.js$/, /^sotto_bg-.*\.wasm$/]) {
    assert.ok(assets.some((name) => pattern.test(name)), `${pattern} among ${assets.join(', ')}`);
  }
  // Vite inlines assets under 4 kB as data: URLs; the worklets are that small.
  const scripts = await Promise.all(assets.filter((n) => n.endsWith('.js')).map((n) => readFile(join(app, 'dist/assets', n), 'utf8')));
  const inlined = scripts.join('').split('data:text/javascript;base64').length - 1;
  const emitted = assets.filter((n) => /^(capture|playback)-worklet-.*\.js$/.test(n)).length;
  assert.equal(inlined + emitted, 2, `the two worklets (${inlined} inlined, ${emitted} emitted)`);
});

test('Vite: the built app starts the engine and the voice speaks, nothing leaves the machine', async () => {
  const { page, problems } = browser;
  // Headless Chromium now and then stalls a navigation: the harness loads it again.
  await loadPage(page, `${server.origin}/index.html`);
  await page.waitForFunction(() => window.result, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.result);
  assert.equal(result.error, undefined, `the app failed: ${result.error}`);
  assert.match(result.version, /^\d+\.\d+\.\d+/);
  assert.equal(result.simd.build, true);
  assert.equal(result.sampleRate, 24000);
  assert.ok(result.samples > 2400, `${result.samples} samples of speech`);
  assert.ok(result.spokenSamples > 0);
  assert.equal(result.worklets, true, 'the audio worklets loaded from the bundle');
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.offMachineRequests, []);
});
