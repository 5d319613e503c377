// The spoken conversation end to end in headless Chromium, with the generated tiny models: an
// espeak-ng WAV is the microphone (Chromium loops it, so the second utterance talks over the
// reply: barge-in). Also the text box, without a microphone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventLog, openBrowserWithMicrophone, startServer, twoPlusTwoWav, loadPage } from './harness.mjs';

let server;
let browser;
let speechWav;

before(async () => {
  speechWav = twoPlusTwoWav();
  server = await startServer();
  browser = await openBrowserWithMicrophone(speechWav, { loop: true });
  const { page } = browser;
  await loadPage(page, `${server.origin}/`);
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 120_000 });
  // Record every event the public API emits.
  await page.evaluate(() => {
    window.recorded = [];
    window.rendered = 0;
    for (const type of ['state', 'speech-start', 'partial', 'transcript', 'nothing-heard', 'token', 'audio', 'reply',
      'speaking', 'speaking-stopped', 'interrupted', 'latency', 'error', 'digital-silence']) {
      window.sotto.on(type, (event) => window.recorded.push({ ...event, type, at: performance.now() }));
    }
    window.sotto.on('playback', ({ rendered }) => (window.rendered = rendered));
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const { events, waitFor } = eventLog(() => browser.page);

test('a typed question gets a streamed, spoken reply', async () => {
  const { page } = browser;
  await page.fill('#ask-input', 'Hello there, who are you?');
  await page.press('#ask-input', 'Enter');
  await waitFor(() => window.recorded.some((e) => e.type === 'reply'), 'the reply');
  const seen = await events();
  assert.ok(seen.some((e) => e.type === 'transcript' && e.text === 'Hello there, who are you?'));
  assert.ok(seen.filter((e) => e.type === 'token').length > 1, 'the reply streamed token by token');
  assert.equal(await page.textContent('#conversation li.user'), 'Hello there, who are you?');
  const reply = seen.find((e) => e.type === 'reply');
  assert.equal(await page.textContent('#conversation li.assistant'), reply.text, 'shown as text, exactly');
  assert.equal(await page.locator('#conversation li.assistant *').count(), 0, 'model output is never HTML');
  await page.click('#stop-button').catch(() => {});
  await page.evaluate(() => window.sotto.interrupt());
});

test('speech is heard, transcribed, answered and spoken; talking over the reply interrupts it', async () => {
  const { page } = browser;
  await page.evaluate(() => (window.recorded = []));
  await page.click('#mic-button');
  await waitFor(() => window.recorded.some((e) => e.type === 'speech-start'), 'the utterance to be detected');
  await waitFor(() => window.recorded.some((e) => e.type === 'transcript'), 'the final transcript');
  await waitFor(() => window.recorded.some((e) => e.type === 'latency'), 'the latency marks');
  await waitFor(() => window.rendered > 0, 'audio from the playback worklet');
  await waitFor(() => window.recorded.some((e) => e.type === 'interrupted'), 'the looped speech to interrupt the reply');
  await waitFor(() => window.recorded.some((e) => e.type === 'speaking-stopped' && e.interrupted), 'playback to stop');

  const seen = await events();
  const firstTurn = seen.find((e) => e.type === 'transcript').turn;
  const order = (type) => seen.findIndex((e) => e.type === type && (e.turn === undefined || e.turn === firstTurn));
  assert.ok(order('speech-start') < order('transcript'));
  assert.ok(seen.some((e) => e.type === 'partial'), 'a partial transcript appeared while speaking');
  assert.ok(order('transcript') < order('token'), 'the reply streams after the transcript');
  assert.ok(seen.some((e) => e.type === 'audio' && e.samples > 0), 'speech was synthesized');
  const latency = seen.find((e) => e.type === 'latency');
  for (const mark of ['speechEnd', 'endpoint', 'transcript', 'firstToken', 'firstChunk', 'firstAudio']) {
    assert.equal(typeof latency[mark], 'number', `latency mark ${mark}`);
  }
  assert.ok(latency.firstChunk <= latency.firstAudio, 'the first audio sounds after it was synthesized');
  assert.ok(Number(await page.getAttribute('#waterfall', 'data-marks')) >= 5, 'the waterfall shows the five marks');
  console.log(`latency (ms from end of speech): endpoint ${Math.round(latency.endpoint - latency.speechEnd)}, ` +
    `transcript ${Math.round(latency.transcript - latency.speechEnd)}, first token ${Math.round(latency.firstToken - latency.speechEnd)}, ` +
    `voice ready ${Math.round(latency.firstChunk - latency.speechEnd)}, first audio ${Math.round(latency.firstAudio - latency.speechEnd)}`);

  const interrupted = seen.find((e) => e.type === 'interrupted');
  const cut = seen.indexOf(interrupted);
  assert.ok(!seen.slice(cut + 1).some((e) => e.type === 'token' && e.turn === interrupted.turn), 'generation was cancelled');
  await waitFor((turn) => window.recorded.some((e) => e.type === 'latency' && e.turn === turn && e.playbackStop != null),
    'the barge-in marks', interrupted.turn);
  const bargeIn = (await events()).findLast((e) => e.type === 'latency' && e.turn === interrupted.turn);
  assert.ok(bargeIn.playbackStop > bargeIn.interruptOnset, JSON.stringify(bargeIn));
  console.log(`barge-in: playback stopped ${Math.round(bargeIn.playbackStop - bargeIn.interruptOnset)} ms after the interrupting voice began`);
  assert.ok(seen.slice(cut).some((e) => e.type === 'speech-start' && e.turn > interrupted.turn), 'the new turn is heard');
  assert.equal(await page.getAttribute(`#conversation li.assistant[data-turn="${interrupted.turn}"]`, 'data-interrupted'), 'true');
  await page.click('#mic-button'); // stop listening
});

test('the system voice setting: with no local system voice here, the built-in voice speaks', async () => {
  const { page } = browser;
  await page.selectOption('#voice-select', 'system');
  await page.click('#apply-button');
  await waitFor(() => document.querySelector('#voice-status').textContent !== '', 'the voice status');
  // Headless Chromium has no voices at all (getVoices() is empty): every chunk falls back.
  assert.match(await page.textContent('#voice-status'), /No local system voice for .+ the built-in voice speaks/);
  const systemVoice = await page.evaluate(() => window.sotto.systemVoice);
  assert.equal(systemVoice.local, false);
  assert.equal(systemVoice.name, null);
  await page.evaluate(() => (window.recorded = []));
  const renderedBefore = await page.evaluate(() => window.rendered);
  await page.fill('#ask-input', 'Say something, please.');
  await page.press('#ask-input', 'Enter');
  await waitFor(() => window.recorded.some((e) => e.type === 'speaking-stopped'), 'the reply to be spoken');
  await waitFor(() => window.recorded.some((e) => e.type === 'state' && e.state === 'listening'), 'the turn to end');
  const seen = await events();
  const chunks = seen.filter((e) => e.type === 'audio');
  // Without a local voice the engine keeps its own: chunks are synthesized and played at once,
  // without a round trip through the page (tests/e2e/voice-route.test.mjs covers a local voice).
  assert.ok(chunks.length > 0 && chunks.every((e) => !e.system && e.samples > 0), 'the built-in voice spoke every chunk');
  assert.ok((await page.evaluate(() => window.rendered)) > renderedBefore, 'the playback worklet played the reply');
  assert.ok(!seen.some((e) => e.type === 'interrupted' || e.type === 'error'));
  await page.selectOption('#voice-select', 'embedded');
  await page.click('#apply-button');
  await waitFor(() => document.querySelector('#voice-status').textContent === '', 'the built-in voice again');
});

test('no console error, no page error, no request off the machine', () => {
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.consoleErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
});
