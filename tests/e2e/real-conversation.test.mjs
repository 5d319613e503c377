// A real spoken conversation in headless Chromium: the real Whisper tiny.en and SmolLM2-135M
// (from `cargo xtask real-models`) served as the local catalog's defaults, as `cargo xtask demo`
// serves them, and a fake microphone that asks three questions (flite's voice): the first is
// transcribed and answered aloud; the second reuses the conversation's KV cache; the third talks
// over the second reply, which stops, and is answered. No console error, nothing off 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventLog, openBrowserWithMicrophone, startServer, loadPage } from './harness.mjs';
import { REAL, realModelsFolder, speechWav, wer } from './real-models.mjs';

const QUESTIONS = [
  'What is the capital of France?',
  'Tell me a little about its history.',
  'What food is it famous for?',
];

let server;
let browser;
let speech;

before(async () => {
  const models = realModelsFolder();
  // The third question starts while the second reply is being spoken.
  speech = speechWav([
    { silence: 1.0 },
    { say: QUESTIONS[0] },
    { silence: 14.0 },
    { say: QUESTIONS[1] },
    { silence: 3.0 },
    { say: QUESTIONS[2] },
    { silence: 20.0 },
  ]);
  server = await startServer({ models });
  browser = await openBrowserWithMicrophone(speech.path);
  const { page } = browser;
  await loadPage(page, `${server.origin}/`);
  // The page loads the models beside it by default: the real ones (downloaded into the cache,
  // verified, loaded).
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 300_000 });
  await page.evaluate(() => {
    window.recorded = [];
    window.records = {}; // turn → the latest latency record
    window.rendered = 0;
    for (const type of ['state', 'speech-start', 'partial', 'transcript', 'nothing-heard', 'token', 'audio', 'reply',
      'speaking', 'speaking-stopped', 'interrupted', 'latency', 'error', 'digital-silence', 'digital-silence-ended']) {
      window.sotto.on(type, (event) => window.recorded.push({ ...event, type, at: performance.now(), rendered: window.rendered }));
    }
    window.sotto.on('latency', (record) => (window.records[record.turn] = record));
    window.sotto.on('playback', ({ rendered }) => (window.rendered = rendered));
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const { events, waitFor } = eventLog(() => browser.page, {
  timeout: 180_000,
  polling: 200,
  describe: (e) => (e.type === 'token' || e.type === 'state' ? '' : `${e.type}${e.turn != null ? `#${e.turn}` : ''}${e.text ? `:${JSON.stringify(e.text)}` : ''}`),
});

test('the page chose the real models beside it', async () => {
  const { page } = browser;
  assert.equal(await page.inputValue('#asr-select'), REAL.asr);
  assert.equal(await page.inputValue('#llm-select'), REAL.llm);
});

test('three spoken questions: answered aloud, the cache reused, the third talks over the second reply', async () => {
  const { page } = browser;
  await page.click('#mic-button');
  await waitFor(() => window.recorded.filter((e) => e.type === 'transcript').length >= 3, 'three transcripts');
  const turns = (await events()).filter((e) => e.type === 'transcript').map((e) => e.turn);
  await waitFor((turn) => window.recorded.some((e) => e.type === 'latency' && e.turn === turn), 'the third reply to sound', turns[2]);
  const seen = await events();
  const records = await page.evaluate(() => window.records);
  const transcripts = seen.filter((e) => e.type === 'transcript');
  // The transcripts are checked last, so that a recognizer's slip does not hide the rest.
  const misheard = [];
  for (const [i, question] of QUESTIONS.entries()) {
    const error = wer(question, transcripts[i].text);
    console.log(`question ${i + 1}: ${JSON.stringify(transcripts[i].text)} (WER ${error.toFixed(2)})`);
    if (!(error <= 0.2)) misheard.push(`"${transcripts[i].text}" for "${question}": WER ${error.toFixed(2)}`);
  }
  const [first, second, third] = turns;

  // The first reply streams from the model, is spoken, and the worklet renders it.
  const tokens = seen.filter((e) => e.type === 'token' && e.turn === first);
  assert.ok(tokens.length > 3, `the reply streamed token by token (${tokens.length})`);
  // The real model answers, in English, with the page's default system prompt (greedy).
  const answer = tokens.map((e) => e.text).join('');
  console.log(`reply 1: ${JSON.stringify(answer)}`);
  assert.match(answer, /\bParis\b/, `the first answer names Paris: ${JSON.stringify(answer)}`);
  assert.ok(seen.some((e) => e.type === 'audio' && e.turn === first && e.samples > 0), 'speech was synthesized');
  const sounding = seen.find((e) => e.type === 'speaking' && e.turn === first);
  assert.ok(sounding, 'the playback worklet started the reply');
  const firstRecord = records[first];
  for (const mark of ['speechEnd', 'endpoint', 'transcript', 'firstToken', 'firstChunk', 'firstAudio']) {
    assert.equal(typeof firstRecord[mark], 'number', `mark ${mark}: ${JSON.stringify(firstRecord)}`);
  }
  assert.ok(firstRecord.speechEnd <= firstRecord.endpoint && firstRecord.endpoint <= firstRecord.transcript
    && firstRecord.transcript <= firstRecord.firstToken && firstRecord.firstToken <= firstRecord.firstChunk
    && firstRecord.firstChunk <= firstRecord.firstAudio, JSON.stringify(firstRecord));
  const rendered = await page.evaluate(() => window.rendered);
  assert.ok(rendered > 0, 'the worklet rendered the reply');
  const ms = (record, mark) => Math.round(record[mark] - record.speechEnd);
  console.log(`turn ${first} (ms after the end of speech): end of turn ${ms(firstRecord, 'endpoint')}, transcript ${ms(firstRecord, 'transcript')}, ` +
    `first token ${ms(firstRecord, 'firstToken')}, voice ready ${ms(firstRecord, 'firstChunk')}, first audio ${ms(firstRecord, 'firstAudio')}`);
  assert.ok(Number(await page.getAttribute('#waterfall', 'data-marks')) >= 5, 'the waterfall shows the marks');

  // The second question reuses the conversation's cache: only its new ids are prefilled.
  assert.ok(records[second]?.prompt, `the second reply sounded, with its prompt's record: ${JSON.stringify(records[second])}`);
  const prompt = records[second].prompt;
  console.log(`turn ${second} prompt: ${JSON.stringify(prompt)} (first turn: ${JSON.stringify(firstRecord.prompt)})`);
  assert.ok(prompt.cached >= firstRecord.prompt.ids, 'the first turn\'s prompt came from the cache');
  const fresh = prompt.ids - prompt.cached;
  // `computed` also counts partial transcripts read ahead and then revised (measured: 32 to 41
  // ids for 19 new ones, the turn before it 44 to 50 for 31), so the bound is the whole prompt:
  // fewer than that is the cache at work.
  assert.ok(prompt.computed >= fresh && prompt.computed < prompt.ids, `computed ${prompt.computed} ids for ${fresh} new ones of ${prompt.ids}`);

  // The third question talked over the second reply: playback stopped, the new question answered.
  const cut = seen.find((e) => e.type === 'interrupted' && e.turn === second);
  assert.ok(cut, 'the second reply was interrupted');
  assert.ok(seen.some((e) => e.type === 'speaking-stopped' && e.turn === second && e.interrupted), 'its playback stopped');
  const cutIndex = seen.indexOf(cut);
  assert.ok(!seen.slice(cutIndex + 1).some((e) => e.type === 'token' && e.turn === second), 'its generation stopped');
  const bargeIn = records[second];
  assert.equal(typeof bargeIn.interruptOnset, 'number', JSON.stringify(bargeIn));
  assert.ok(bargeIn.playbackStop > bargeIn.interruptOnset, JSON.stringify(bargeIn));
  console.log(`barge-in: playback stopped ${Math.round(bargeIn.playbackStop - bargeIn.interruptOnset)} ms after the interrupting voice began`);
  assert.ok(seen.some((e) => e.type === 'token' && e.turn === third), 'the third question is answered');
  assert.equal(typeof records[third].firstAudio, 'number', 'and the answer is spoken');
  assert.deepEqual(misheard, [], 'each question is transcribed within a WER of 0.2');
});

test('the microphone check does not cry wolf', async () => {
  // The file pauses in digital zeros: a warning may come in a long pause, but never while speech
  // is being heard, and it clears itself when sound comes back.
  const seen = await events();
  let hearing = false;
  let warned = false;
  for (const event of seen) {
    if (event.type === 'speech-start') {
      assert.ok(!warned, 'the warning cleared before the next utterance');
      hearing = true;
    }
    if (['transcript', 'nothing-heard'].includes(event.type)) hearing = false;
    if (event.type === 'digital-silence') {
      assert.ok(!hearing, 'no warning while speech is heard');
      warned = true;
    }
    if (event.type === 'digital-silence-ended') warned = false;
  }
});

test('no console error, no page error, no request off the machine', () => {
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.consoleErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
});
