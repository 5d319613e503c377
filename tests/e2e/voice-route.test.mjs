// The system-voice route end to end in headless Chromium, with the generated tiny models. Headless
// Chromium has no system voices, so the page gets a scripted `speechSynthesis` with one local
// English voice (an init script), whose utterances start and end on their own, fail (`fail`: the
// n-th utterance errors) or never end (`hang`: the n-th starts and stays). It proves that with the
// system voice on the engine synthesizes nothing, that only a chunk handed back is synthesized and
// played, and that a barge-in keeps what the system voice had begun to say.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventLog, loadPage, openBrowser, startServer } from './harness.mjs';

let server;
let browser;

/** Runs in the page before its scripts: the scripted speechSynthesis, steered by `window.fakeVoice`. */
function installScriptedVoice() {
  const fake = { spoken: [], started: 0, fail: 0, hang: 0 };
  window.fakeVoice = fake;
  const synth = {
    getVoices: () => [{ name: 'Scripted Local English', lang: 'en-US', localService: true, default: true }],
    addEventListener() {},
    removeEventListener() {},
    cancel() {},
    speak(utterance) {
      fake.spoken.push(utterance.text);
      const nth = fake.spoken.length;
      setTimeout(() => {
        if (nth === fake.fail) {
          utterance.onerror?.({ error: 'synthesis-failed' });
          return;
        }
        fake.started += 1;
        utterance.onstart?.();
        if (nth !== fake.hang) setTimeout(() => utterance.onend?.(), 20);
      }, 10);
    },
  };
  Object.defineProperty(window, 'speechSynthesis', { value: synth, configurable: true });
  // Chromium's own utterance takes only its own voices.
  window.SpeechSynthesisUtterance = class {
    constructor(text) {
      this.text = text;
    }
  };
}

before(async () => {
  server = await startServer();
  browser = await openBrowser({ extraFlags: ['--autoplay-policy=no-user-gesture-required'] });
  const { page } = browser;
  await page.addInitScript(installScriptedVoice);
  await loadPage(page, `${server.origin}/?test`);
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 120_000 });
  await page.evaluate(async () => {
    window.recorded = [];
    window.rendered = 0;
    for (const type of ['state', 'transcript', 'token', 'audio', 'reply', 'speaking', 'speaking-stopped', 'interrupted', 'error']) {
      window.sotto.on(type, (event) => window.recorded.push({ ...event, type }));
    }
    window.sotto.on('playback', ({ rendered }) => (window.rendered = rendered));
    // Every reply spoken whole, long enough for a few chunks.
    await window.sotto.configure({ voice: { system: true }, reply: { maxSentences: 0, maxTokens: 0 }, generation: { maxTokens: 48 } });
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const { events, waitFor } = eventLog(() => browser.page, { polling: 50 });

/** Asks a question with the scripted voice set up by `fake`; resolves with the turn's events. */
async function ask(fake, until) {
  const { page } = browser;
  await page.evaluate((settings) => {
    window.recorded = [];
    window.fakeVoice.spoken = [];
    window.fakeVoice.started = 0;
    Object.assign(window.fakeVoice, settings);
    window.renderedBefore = window.rendered;
    window.sotto.ask('Tell me about the sea, please.').catch(() => {});
  }, { fail: 0, hang: 0, ...fake });
  await until();
  const seen = await events();
  const turn = seen.find((e) => e.type === 'transcript').turn;
  return seen.filter((e) => e.turn === undefined || e.turn === turn);
}

const turnOver = () => waitFor(() => window.recorded.some((e) => e.type === 'reply')
  && window.recorded.some((e) => e.type === 'speaking-stopped')
  && window.recorded.findLast((e) => e.type === 'state')?.state === 'listening', 'the reply to be spoken to its end');

test('the page found the scripted local voice', async () => {
  const systemVoice = await browser.page.evaluate(() => window.sotto.systemVoice);
  assert.deepEqual(systemVoice, { local: true, name: 'Scripted Local English', lang: 'en-US' });
});

test('with the system voice speaking, the engine synthesizes no chunk', async () => {
  const seen = await ask({}, turnOver);
  const audio = seen.filter((e) => e.type === 'audio');
  assert.ok(audio.length >= 2, `a reply of a few chunks: ${JSON.stringify(audio)}`);
  assert.deepEqual(audio.map((e) => [e.system, e.samples]), audio.map(() => [true, 0]), 'text only, no samples');
  assert.deepEqual(await browser.page.evaluate(() => window.fakeVoice.spoken), audio.map((e) => e.text));
  assert.equal(await browser.page.evaluate(() => window.rendered - window.renderedBefore), 0, 'the worklet played nothing');
  assert.ok(!seen.some((e) => e.type === 'interrupted' || e.type === 'error'));
});

test('a chunk the system voice cannot speak, and the rest of its turn, are synthesized and played', async () => {
  const seen = await ask({ fail: 2 }, turnOver);
  const text = seen.filter((e) => e.type === 'audio' && e.system);
  const synthesized = seen.filter((e) => e.type === 'audio' && !e.system);
  assert.ok(text.length >= 2, JSON.stringify(text));
  assert.ok(text.every((e) => e.samples === 0));
  // Chunk 0 was spoken by the system voice; chunk 1 failed: it and every later chunk came back.
  assert.deepEqual(synthesized.map((e) => e.index), text.slice(1).map((e) => e.index));
  assert.deepEqual(synthesized.map((e) => e.text), text.slice(1).map((e) => e.text));
  assert.ok(synthesized.every((e) => e.samples > 0), 'synthesized by the embedded voice');
  await waitFor(() => window.rendered > window.renderedBefore, 'the playback worklet to play the fallback');
  assert.ok(!seen.some((e) => e.type === 'interrupted' || e.type === 'error'));
});

test('a barge-in keeps what the system voice had begun to say', async () => {
  const { page } = browser;
  // The first chunk is spoken whole, the second starts and is cut by the user.
  const seen = await ask({ hang: 2 }, async () => {
    await waitFor(() => window.fakeVoice.started === 2, 'the second chunk to start');
    await page.evaluate(() => window.sotto.interrupt());
    await waitFor(() => window.recorded.some((e) => e.type === 'interrupted'), 'the interruption');
  });
  const chunks = seen.filter((e) => e.type === 'audio');
  assert.ok(chunks.length >= 2, JSON.stringify(chunks));
  const interrupted = seen.find((e) => e.type === 'interrupted');
  assert.equal(interrupted.spoken, `${chunks[0].text} ${chunks[1].text}`);
  assert.ok(!seen.some((e) => e.type === 'audio' && !e.system), 'nothing was synthesized');
  // The conversation keeps the reply as far as it was heard.
  const messages = await page.evaluate(() => window.sotto.debugConversation());
  const last = messages.at(-1);
  assert.equal(last.role, 'assistant');
  const reply = seen.filter((e) => e.type === 'token').map((e) => e.text).join('');
  assert.ok(last.content.length > 0 && reply.startsWith(last.content.trimEnd()), JSON.stringify({ last, reply }));
});

test('no console error, no page error, no request off the machine', () => {
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.consoleErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
});
