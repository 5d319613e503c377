// Recovery from an engine crash, in headless Chromium with the generated tiny models. The page is
// opened with `?test`, which enables the test hooks: `debugPanic` makes the Rust engine panic
// (under panic=abort that traps the wasm instance, as a real bug would). The engine must report
// the crash with the panic's message, restart with its models, settings and conversation, and
// answer the next turn, spoken through the fake microphone that kept running.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventLog, loadPage, openBrowserWithMicrophone, startServer, twoPlusTwoWav } from './harness.mjs';

let server;
let browser;

const EVENTS = ['state', 'speech-start', 'transcript', 'token', 'reply', 'interrupted', 'error', 'recovered', 'degraded'];

/** Opens `path` and waits for its models. */
async function navigate(path) {
  const { page } = browser;
  await loadPage(page, `${server.origin}${path}`);
  await page.waitForSelector('body[data-models="loaded"]', { timeout: 120_000 });
  return page;
}

/** Opens the page with the test hooks and records the API's events in `window.recorded`. */
async function openPage() {
  const page = await navigate('/?test');
  await page.evaluate(async (types) => {
    // The random model's replies run to their token limit: with the default conversation budget
    // the oldest turns would be forgotten before the crash, and the restored conversation is
    // compared from its first turn. (A budget is a setting, so the restart must keep it too.)
    await window.sotto.configure({ generation: { conversationTokens: 0 } });
    window.recorded = [];
    for (const type of types) window.sotto.on(type, (event) => window.recorded.push({ ...event, type }));
  }, EVENTS);
  return page;
}

before(async () => {
  const speechWav = twoPlusTwoWav();
  server = await startServer();
  browser = await openBrowserWithMicrophone(speechWav, { loop: true });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const { events, waitFor } = eventLog(() => browser.page, {
  describe: (e) => `${e.type}${e.turn != null ? `:${e.turn}` : ''}`,
  details: async () => `; status: ${await browser.page.textContent('#engine-status')}`,
});

/** Asks by text; resolves with `{text}` or, if the reply failed, `{error: {code, message}}`. */
const ask = (text) => browser.page.evaluate(async (question) => {
  try {
    return { text: await window.sotto.ask(question) };
  } catch (err) {
    return { error: { code: err.code, message: err.message } };
  }
}, text);

const conversation = () => browser.page.evaluate(() => window.sotto.debugConversation());

// Long prompts: their matrix products are split among the threads. A helper may still wake too
// late to take a chunk of a prompt this small, so the armed fault can wait for a later one.
const LONG_QUESTIONS = [
  'Tell me everything you know about the weather on the coast this week, please, in detail.',
  'Describe the mountains, the rivers and the old towns of the north, and what grows in the valleys there.',
  'Explain how a sailing boat turns against the wind, what the crew does, and why the keel matters so much.',
  'List the birds you might see in a city park in spring, and say which of them sing early in the morning.',
  'Compare the trains, buses and ferries of a large harbour city, and say which one a visitor should take first.',
];

/**
 * Asks long questions until `done(answer)` or none is left (each twice: a fault set for the
 * next chunk a helper runs waits until a product is large enough to share, which failed to
 * come in five questions in one run of five); returns the last answer.
 */
async function askUntil(done) {
  let answer;
  for (const question of [...LONG_QUESTIONS, ...LONG_QUESTIONS]) {
    answer = await ask(question);
    if (await done(answer)) break;
  }
  return answer;
}

test('the test hooks answer only on a page opened for tests', async () => {
  const page = await navigate('/');
  const refused = await page.evaluate(() => window.sotto.debugPanic('now').then(() => null, (err) => err.code));
  assert.equal(refused, 'unknown-request');
});

test('a panic mid-reply: the page shows it, the engine restarts with the conversation and answers the next spoken turn', async () => {
  const page = await openPage();
  const first = await ask('Hello there, who are you?');
  assert.ok(first.text, `the first turn is answered: ${JSON.stringify(first)}`);
  const before = await conversation();
  assert.deepEqual(before.map((m) => m.role), ['user', 'assistant']);
  assert.equal(before[0].content, 'Hello there, who are you?');

  // The next reply panics at its third token; the microphone is on, and stays on.
  await page.evaluate(() => window.sotto.debugPanic('reply'));
  await page.click('#mic-button');
  await waitFor(() => window.recorded.some((e) => e.type === 'recovered'), 'the engine to restart');
  const seen = await events();
  const crash = seen.find((e) => e.type === 'error');
  assert.equal(crash.code, 'engine-crashed', JSON.stringify(crash));
  assert.match(crash.panic, /debugPanic: the engine panicked mid-reply/);
  assert.match(crash.message, /The engine crashed: .*debugPanic: the engine panicked mid-reply/s);
  const crashedTurn = seen.findLast((e) => e.type === 'transcript' && seen.indexOf(e) < seen.indexOf(crash)).turn;
  const recovered = seen.find((e) => e.type === 'recovered');
  console.log(`restarted in ${Math.round(recovered.ms)} ms (${recovered.build}, ${recovered.threads} thread(s)), ${recovered.messages} message(s) restored`);

  // The page says what happened, as text.
  const status = await page.textContent('#engine-status');
  assert.match(status, /The engine crashed: .*debugPanic: the engine panicked mid-reply.*restarted with the same models and settings/s);
  assert.equal(await page.getAttribute('body', 'data-engine'), 'ready');

  // The conversation came back: the typed turn, and the cut turn as far as it was shown.
  const restored = await conversation();
  assert.deepEqual(restored.slice(0, 2), before, 'the earlier turn is restored');
  const settings = await page.evaluate(() => window.sotto.settings());
  assert.equal(settings.generation.conversationTokens, 0, 'the settings came back with the engine');
  const shown = seen.filter((e) => e.type === 'token' && e.turn === crashedTurn).map((e) => e.text).join('');
  const cut = seen.find((e) => e.type === 'transcript' && e.turn === crashedTurn).text;
  assert.ok(shown, 'the reply was cut after it began to stream');
  // (A spoken turn whose reply ended before the hook's two tokens comes before the cut one.)
  assert.deepEqual(restored.slice(-2), [{ role: 'user', content: cut }, { role: 'assistant', content: shown }]);
  assert.equal(await page.getAttribute(`#conversation li.assistant[data-turn="${crashedTurn}"]`, 'data-crashed'), 'true');
  assert.equal(recovered.messages, restored.length);

  // The microphone kept flowing into the new engine: the looped question is heard and answered.
  await waitFor((turn) => window.recorded.some((e) => e.type === 'token' && e.turn > turn), 'a reply after the restart', crashedTurn);
  await waitFor((turn) => window.recorded.some((e) => (e.type === 'reply' || e.type === 'interrupted') && e.turn > turn),
    'that reply to end', crashedTurn);
  const after = await events();
  const next = after.find((e) => e.type === 'transcript' && e.turn > crashedTurn);
  assert.ok(after.indexOf(next) > after.indexOf(recovered), 'the new turn was heard by the new engine');
  const now = await conversation();
  assert.deepEqual(now.slice(0, 2), before, 'the earlier turn is still there');
  assert.ok(now.some((m, i) => i >= 2 && m.role === 'user' && m.content === next.text), 'the new turn joined the conversation');
  assert.equal(after.filter((e) => e.type === 'error').length, 1, 'one crash, nothing else failed');
  await page.click('#mic-button'); // stop listening
});

test('a helper thread that panics: the engine goes on single-threaded and the reply completes', async (t) => {
  const { page } = browser;
  const facts = await page.evaluate(() => window.sotto.engine);
  if (facts.build !== 'threads' || facts.threads < 2) {
    assert.fail(`this test needs the threaded build with a helper: ${JSON.stringify(facts)}`);
  }
  await page.evaluate(() => (window.recorded = []));
  await page.evaluate(() => window.sotto.debugPanic('helper'));
  const reply = await askUntil(async (answer) => answer.error || (await events()).some((e) => e.type === 'degraded'));
  assert.ok(reply.text !== undefined, `the reply completes: ${JSON.stringify(reply)}`);
  const seen = await events();
  const degraded = seen.find((e) => e.type === 'degraded');
  assert.ok(degraded, `a degraded event: ${seen.map((e) => e.type).join(' ')}`);
  assert.match(degraded.reason, /helper thread 1 trapped/);
  assert.equal((await page.evaluate(() => window.sotto.engine)).threads, 1);
  assert.match(await page.textContent('#engine-status'), /single-threaded now: helper thread 1 trapped/);
  assert.ok(!seen.some((e) => e.type === 'error'), 'no crash');
  const again = await ask('And tomorrow?');
  assert.ok(again.text !== undefined, `the next turn is answered single-threaded: ${JSON.stringify(again)}`);
  t.diagnostic(`degraded: ${degraded.reason}`);
});

test('a helper thread that never finishes: past the deadline the engine restarts single-threaded', async () => {
  const page = await openPage();
  const facts = await page.evaluate(() => window.sotto.engine);
  if (facts.build !== 'threads' || facts.threads < 2) {
    assert.fail(`this test needs the threaded build with a helper: ${JSON.stringify(facts)}`);
  }
  await page.evaluate(() => window.sotto.debugPanic('helper-hang'));
  const cut = await askUntil((answer) => answer.error);
  assert.equal(cut.error?.code, 'engine-crashed', JSON.stringify(cut));
  assert.match(cut.error.message, /a helper thread did not finish its share of the work within 5 s/);
  await waitFor(() => window.recorded.some((e) => e.type === 'recovered'), 'the engine to restart');
  const recovered = (await events()).find((e) => e.type === 'recovered');
  assert.equal(recovered.build, 'single');
  assert.match(recovered.singleThreadReason, /helper thread failed/);
  const next = await ask('Hello again?');
  assert.ok(next.text !== undefined, `the next turn is answered: ${JSON.stringify(next)}`);
});

test('no page error, no request off the machine; the only console errors are the panics asked for', () => {
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
  const unexpected = browser.problems.consoleErrors.filter((text) => !/debugPanic|did not finish its share/.test(text));
  assert.deepEqual(unexpected, []);
});
