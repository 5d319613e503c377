// The npm package in the bundlers people use, each a real project made from the packed tarball
// (tests/npm/consumers/): Vite 8 and 7, webpack 5, and a page without a bundler (an import map).
// Each built app runs the README's example in one headless Chromium on the real models, loaded
// from URLs (same-origin, or cross-origin with CORS), with the page cross-origin isolated and
// not: the fake microphone asks a question, the transcript and the reply are checked, then a
// typed `ask()` is timed to its first sound. Vite's dev and preview servers and webpack's dev
// server run the README's configuration (types.test.mjs checks that it is these projects' own)
// and must be cross-origin isolated. The build sizes and timings are printed as JSON (and kept in
// target/npm-consumers/report.json). Needs `cargo xtask build` (the packed package) and the real
// models (`cargo xtask real-models`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, loadPage, openBrowserWithMicrophone } from '../e2e/harness.mjs';
import {
  QUESTION, REAL, buildSizes, npmRun, prepareProject, questionWav, realModelMounts, requireRealModels, workDir, words,
} from './consumer.mjs';
import { serveStatic } from './static-server.mjs';

const BUNDLED = ['vite8', 'vite7', 'webpack'];
/** Where each project's built site is. */
const SITE = { vite8: 'dist', vite7: 'dist', webpack: 'dist', importmap: '.' };
const LOCAL_WHISPER = 'real-whisper-tiny.en';
/**
 * The question transcribed in one go (`Transcriber.transcribe` of the whole WAV): whisper-tiny.en
 * hears this espeak-ng clip's "of" as "on" or "and" that way (in Node too, with `fullWindow` or
 * not), where the microphone's endpointed turn hears it right; the other words must be there.
 */
const ONE_SHOT = /^what is the capital \w+ france$/;

/** Each run: a project, its page isolated or not, where the models come from, extra sources. */
const RUNS = [
  { project: 'vite8', isolate: true, models: 'same-origin', catalog: true },
  { project: 'vite8', isolate: false, models: 'same-origin' },
  { project: 'vite7', isolate: true, models: 'cross-origin' },
  { project: 'vite7', isolate: false, models: 'same-origin' },
  { project: 'webpack', isolate: true, models: 'cross-origin' },
  { project: 'webpack', isolate: false, models: 'same-origin' },
  { project: 'importmap', isolate: true, models: 'same-origin', blobs: true },
  { project: 'importmap', isolate: false, models: 'cross-origin' },
];

/**
 * What the report keeps: each bundle's build time and sizes (the import-map page's: the package
 * as installed), each passing run, and the first audio after a typed `ask()` by project and build.
 */
const report = { builds: {}, runs: [], firstAudioMs: {} };
const dirs = {};
let browser;
let modelServer; // the cross-origin host of the models (CORS)
let localCatalog;
let question; // the fake microphone's WAV

/** A local catalog listing the real Whisper by its files under `/models/`, with their sha256. */
async function writeLocalCatalog() {
  const manifest = JSON.parse(await readFile(join(REAL.folder, 'manifest.json'), 'utf8'));
  const sha = (path) => manifest.files.find((f) => f.path === path)?.sha256;
  const file = (name, path) => ({ name, url: path, sha256: sha(path) });
  const catalog = {
    models: [{
      id: LOCAL_WHISPER,
      role: 'asr',
      name: 'Whisper tiny.en (served by the app)',
      files: [file('model.gguf', REAL.asr), file('config.json', 'whisper-tiny.en/config.json'), file('tokenizer.json', 'whisper-tiny.en/tokenizer.json')],
    }],
  };
  const path = join(workDir, 'local-catalog.json');
  await writeFile(path, JSON.stringify(catalog, null, 2));
  return path;
}

before(async () => {
  requireRealModels();
  const started = performance.now();
  // Install and build the projects in parallel; the builds are the slow part.
  await Promise.all(['importmap', ...BUNDLED].map(async (name) => {
    dirs[name] = await prepareProject(name);
    if (!BUNDLED.includes(name)) {
      report.builds[name] = { seconds: 0, ...(await buildSizes(join(dirs[name], 'node_modules/sotto'))) };
      return;
    }
    const t0 = performance.now();
    await npmRun(dirs[name], 'build');
    report.builds[name] = { seconds: +((performance.now() - t0) / 1000).toFixed(1), ...(await buildSizes(join(dirs[name], 'dist'))) };
  }));
  // webpack emits no page: the app's own index.html loads its bundle (its dev server serves the
  // page from public/).
  await cp(join(dirs.webpack, 'index.html'), join(dirs.webpack, 'dist/index.html'));
  await mkdir(join(dirs.webpack, 'public'), { recursive: true });
  await cp(join(dirs.webpack, 'index.html'), join(dirs.webpack, 'public/index.html'));
  report.prepareSeconds = +((performance.now() - started) / 1000).toFixed(1);
  localCatalog = await writeLocalCatalog();
  question = await questionWav();
  modelServer = await serveStatic({ mounts: realModelMounts('/'), cors: true });
  browser = await openBrowserWithMicrophone(question);
});

after(async () => {
  await browser?.close();
  await modelServer?.close();
  console.log(JSON.stringify(report, null, 2));
  await writeFile(join(workDir, 'report.json'), JSON.stringify(report, null, 2)).catch(() => {});
});

/** Opens `url` in a new tab and resolves with the app's `window.result`. */
async function runPage(url, timeout = 300_000) {
  const page = await browser.context.newPage();
  const logs = [];
  page.on('console', (message) => logs.push(message.text()));
  try {
    await loadPage(page, url);
    await page.waitForFunction(() => window.result, null, { timeout, polling: 250 });
    const result = await page.evaluate(() => window.result);
    assert.equal(result.error, undefined, `${url} failed: ${result.error} (code ${result.code})\n${logs.join('\n')}`);
    return result;
  } finally {
    await page.close();
  }
}

/** Serves a project's site with the models same-origin under /models/ (and the local catalog). */
function serveSite(project, isolate) {
  return serveStatic({
    root: join(dirs[project], SITE[project]),
    mounts: { ...realModelMounts('/models/'), '/models/local-catalog.json': localCatalog, '/question.wav': question },
    isolate,
  });
}

function checkProblems() {
  const { problems } = browser;
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.offMachineRequests, []);
}

test('the bundles carry the engine worker, its helper, both wasm builds and the catalog', async () => {
  for (const project of BUNDLED) {
    const built = report.builds[project];
    assert.equal(built.wasm > 2 * 1024 * 1024, true, `${project}: both engine builds (${built.wasm} bytes of wasm)`);
    // The catalog is emitted as an asset (webpack names it by its hash alone): a JSON file of it.
    const files = await readdir(join(dirs[project], 'dist'), { recursive: true });
    const catalogs = [];
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const json = JSON.parse(await readFile(join(dirs[project], 'dist', file), 'utf8'));
      if (json.models?.some((m) => m.id === 'whisper-tiny.en-q8_0')) catalogs.push(file);
    }
    assert.equal(catalogs.length, 1, `${project} emits the model catalog once: ${catalogs} among ${files}`);
  }
});

for (const run of RUNS) {
  const name = `${run.project}: the README example on the real models, ${run.models} URLs, ${run.isolate ? 'cross-origin isolated' : 'not isolated'}`;
  test(name, async () => {
    const site = await serveSite(run.project, run.isolate);
    try {
      const models = run.models === 'same-origin' ? '/models/' : `${modelServer.origin}/`;
      const query = new URLSearchParams({ asr: `${models}${REAL.asr}`, llm: `${models}${REAL.llm}`, wav: '/question.wav', ask: QUESTION.typed });
      if (run.catalog) query.set('catalog', LOCAL_WHISPER);
      if (run.blobs) query.set('blobs', '');
      const result = await runPage(`${site.origin}/index.html?${query}`);
      const transcript = words(result.transcript).join(' ');
      console.log(`${run.project} (${run.isolate ? 'isolated' : 'not isolated'}): heard "${result.transcript}", replied "${result.reply}", asked "${result.typedReply}", first audio ${Math.round(result.firstAudioMs)} ms (${result.engine.build}, ${result.engine.threads} threads)`);
      assert.match(transcript, /capital of france/, `the transcript "${result.transcript}"`);
      assert.ok(words(result.transcript).length <= 10, `the transcript stops: "${result.transcript}"`);
      assert.match(result.reply, /paris/i, `the spoken reply "${result.reply}"`);
      assert.match(result.typedReply, /blue/i, `the typed reply "${result.typedReply}"`);
      assert.equal(result.engine.crossOriginIsolated, run.isolate);
      assert.equal(result.engine.build, run.isolate ? 'threads' : 'single', result.engine.singleThreadReason);
      if (run.isolate) assert.ok(result.engine.threads >= 2, `the engine's helper threads joined: ${JSON.stringify(result.engine)}`);
      assert.ok(result.models.includes('whisper-tiny.en-q8_0'), `the package's catalog is in the bundle: ${result.models}`);
      assert.ok(result.models.includes(LOCAL_WHISPER), `the app's local catalog is merged: ${result.models}`);
      assert.deepEqual(result.unknownModel, { sotto: true, code: 'unknown-model' });
      assert.deepEqual(result.badSource, { sotto: true, code: 'source' });
      assert.deepEqual(result.errors, []);
      if (run.catalog) {
        assert.match(words(result.catalogTranscript.text).join(' '), ONE_SHOT, `a catalog id: "${result.catalogTranscript.text}"`);
      }
      if (run.blobs) {
        assert.match(words(result.blobTranscript.text).join(' '), ONE_SHOT, `Blobs: "${result.blobTranscript.text}"`);
        assert.match(result.fileReply, /blue/i, `a File: "${result.fileReply}"`);
      }
      const firstAudioMs = Math.round(result.firstAudioMs);
      report.runs.push({ ...run, firstAudioMs, threads: result.engine.threads, transcript: result.transcript, reply: result.reply });
      (report.firstAudioMs[run.project] ??= {})[result.engine.build] = firstAudioMs;
      checkProblems();
    } finally {
      await site.close();
    }
  });
}

/** The dev servers (and Vite's preview server) each project's configuration isolates. */
const SERVERS = { vite8: ['dev', 'preview'], vite7: ['dev', 'preview'], webpack: ['dev'] };

for (const [project, scripts] of Object.entries(SERVERS)) {
  test(`${project}: the README's configuration isolates the ${scripts.join(' and ')} server${scripts.length > 1 ? 's' : ''}`, async () => {
    for (const script of scripts) {
      const server = await devServer(project, script);
      try {
        const result = await runPage(`${server.origin}/?smoke`, 120_000);
        assert.equal(result.engine.crossOriginIsolated, true, `${script}: ${JSON.stringify(result.engine)}`);
        assert.equal(result.engine.build, 'threads', `${script}: ${result.engine.singleThreadReason}`);
        assert.ok(result.models.includes('whisper-tiny.en-q8_0'), `${script}: the catalog loads: ${result.models}`);
        assert.ok(result.spokenSamples > 0);
      } finally {
        server.stop();
      }
    }
    checkProblems();
  });
}

/**
 * Starts a project's dev server (`vite`, `webpack serve`) or `vite preview` on a free port, as
 * its package.json scripts would; resolves once it answers.
 */
async function devServer(project, script) {
  const dir = dirs[project];
  const port = String(await freePort());
  const [bin, args] = project === 'webpack'
    ? ['webpack', ['serve', '--port', port, '--host', '127.0.0.1']]
    : ['vite', [...(script === 'preview' ? ['preview'] : []), '--port', port, '--strictPort', '--host', '127.0.0.1']];
  const child = spawn(join(dir, 'node_modules/.bin', bin), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`${bin} ${args[0]} exited: ${output}`);
    if (await fetch(origin).then((r) => r.ok, () => false)) return { origin, stop: () => child.kill() };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill();
  throw new Error(`${project} ${script} did not answer on ${origin}: ${output}`);
}
