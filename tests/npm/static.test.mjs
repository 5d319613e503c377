// The package from a plain `<script type="module">` on a static host (`sotto serve`, with
// COOP/COEP), installed from the tarball: the voice speaks and Whisper loads from fetched bytes.
import assert from 'node:assert/strict';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadPage, openBrowser, startServer } from '../e2e/harness.mjs';
import { modelsDir, projectWith } from './consumer.mjs';

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>sotto on a static host</title>
<link rel="icon" href="data:,">
<script type="module">
  import { Sotto, Transcriber, Voice, SottoError } from './node_modules/sotto/sotto.js';
  window.result = (async () => {
    const voice = await Voice.create({ sampleRate: 16000 });
    const speech = await voice.synthesize('hello from a static page');
    const bytes = (name) => fetch('./whisper/' + name).then((r) => r.arrayBuffer());
    const asr = await Transcriber.create({ model: { weights: await bytes('model.gguf'), config: await bytes('config.json'), tokenizer: await bytes('tokenizer.json') }, noSpeechThreshold: 1 });
    const transcript = await asr.transcribe(speech.samples);
    let badSource = null;
    try { await Transcriber.create({ model: 42 }); } catch (e) { badSource = { sotto: e instanceof SottoError, code: e.code }; }
    const assistant = await Sotto.create();
    await assistant.say('ready'); // loads the audio worklets
    const worklets = assistant.audio != null;
    voice.dispose();
    asr.dispose();
    assistant.dispose();
    return { sampleRate: speech.sampleRate, samples: speech.samples.length, transcript, badSource, worklets };
  })().catch((e) => ({ error: String(e), code: e.code }));
</script>`;

let site;
let server;
let browser;
before(async () => {
  site = await projectWith();
  await cp(join(modelsDir, 'whisper-tiny-test'), join(site, 'whisper'), { recursive: true });
  await writeFile(join(site, 'index.html'), PAGE);
  server = await startServer({ root: site });
  browser = await openBrowser({ extraFlags: ['--autoplay-policy=no-user-gesture-required'] });
});
after(async () => {
  await browser?.close();
  server?.stop();
  if (site) await rm(site, { recursive: true, force: true });
});

test('static host: Voice synthesizes and Transcriber loads bytes, nothing leaves the machine', async () => {
  const { page, problems } = browser;
  // Headless Chromium now and then stalls a navigation: the harness loads it again.
  await loadPage(page, `${server.origin}/index.html`);
  const result = await page.waitForFunction(() => window.result, null, { timeout: 120_000 }).then(() => page.evaluate(() => window.result));
  assert.equal(result.error, undefined, `the page failed: ${result.error}`);
  assert.equal(result.sampleRate, 16000);
  assert.ok(result.samples > 1600, `${result.samples} samples of speech`);
  assert.equal(typeof result.transcript.text, 'string');
  assert.ok(result.transcript.tokens.length > 0, 'with the no-speech gate off the random model decodes tokens');
  assert.equal(result.worklets, true, 'the audio worklets loaded');
  assert.deepEqual(result.badSource, { sotto: true, code: 'source' });
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.offMachineRequests, []);
});
