// The bad-input corpus in the browser, through the public API (sotto.js): models that 404, are cut
// short, flipped or garbage; unknown catalog ids; bad settings; audio that is empty, not a WAV or
// NaN. Each must reject with a SottoError whose code says what failed and whose message names the
// thing (the URL, the file, the `section.field`), and the same engine must answer a good request
// right after it. The generated tiny models serve as the good ones; the bad files come from a
// proxy beside `sotto serve` (bad-input-server.mjs). Storage quota, CORS and the microphone of
// zeros: bad-input-page.test.mjs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { badFiles, startBadInputProxy, wavBytes } from './bad-input-server.mjs';
import { loadPage, openBrowser, startServer } from './harness.mjs';

let server;
let proxy;
let browser;
let cases = 0;

before(async () => {
  server = await startServer();
  proxy = await startBadInputProxy(server.origin, badFiles());
  browser = await openBrowser();
  const { page } = browser;
  await loadPage(page, `${proxy.origin}/?manual`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  // One assistant for the whole corpus: every bad input meets the same engine.
  await page.evaluate(async () => {
    const { Sotto } = await import('./sotto.js');
    window.assistant = await Sotto.create({ asr: 'whisper-tiny-test', llm: 'smollm2-test', generation: { maxTokens: 4 } });
    window.engineErrors = [];
    window.assistant.on('error', (event) => window.engineErrors.push(event));
    window.attempt = async (work) => {
      try {
        return { result: await work() };
      } catch (err) {
        return { error: { name: err?.constructor?.name, code: err?.code, message: err?.message ?? String(err) } };
      }
    };
  });
});

after(async () => {
  console.log(`bad-input corpus (browser, API): ${cases} cases`);
  await browser?.close();
  await proxy?.stop();
  server?.stop();
});

const page = () => browser.page;
const GOOD_WAV = [...wavBytes(Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin(i / 5)))];

/** The engine still works: a typed question is answered and a WAV is transcribed, on the same instance. */
async function stillWorks(after) {
  const answer = await page().evaluate((wav) => attempt(async () => {
    const reply = await assistant.ask('Hello, are you there?');
    const transcript = await assistant.transcribe(new Uint8Array(wav).buffer);
    return { reply, transcript: transcript.text };
  }), GOOD_WAV);
  assert.equal(answer.error, undefined, `after ${after}, a good request failed: ${JSON.stringify(answer.error)}`);
  assert.equal(typeof answer.result.reply, 'string', `after ${after}: ${JSON.stringify(answer)}`);
  assert.equal(typeof answer.result.transcript, 'string', `after ${after}: ${JSON.stringify(answer)}`);
}

/** Asserts a SottoError with `code` whose message matches every pattern, then that the engine works. */
async function expectError(label, outcome, code, ...patterns) {
  cases++;
  if (process.env.SHOW_ERRORS) console.log(`${label}: ${JSON.stringify(outcome.error ?? outcome.result)}`);
  assert.ok(outcome.error, `${label}: expected an error, got ${JSON.stringify(outcome.result)}`);
  assert.equal(outcome.error.name, 'SottoError', `${label}: ${JSON.stringify(outcome.error)}`);
  assert.equal(outcome.error.code, code, `${label}: ${JSON.stringify(outcome.error)}`);
  for (const pattern of patterns) assert.match(outcome.error.message, pattern, label);
  await stillWorks(label);
}

const load = (role, source) => page().evaluate(([role, source]) => attempt(() => assistant.load(role, source)), [role, source]);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const url = (path) => `${proxy.origin}${path}`;

test('the good requests work before any bad input', async () => {
  await stillWorks('nothing');
});

test('a model URL that 404s names the URL and the status (chat model and Whisper)', async () => {
  const missing = url('/bad/missing.gguf');
  await expectError('llm 404', await load('llm', missing), 'http', new RegExp(escape(missing)), /404/);
  const weights = url('/bad/whisper-no-weights/model.gguf');
  await expectError('asr 404', await load('asr', weights), 'http', new RegExp(escape(weights)), /404/);
  const folder = url('/bad/nowhere/');
  await expectError('asr folder without weights', await load('asr', folder), 'http', new RegExp(escape(folder)), /model\.gguf/);
});

test('a relative model URL resolves against the page and its 404 names the full URL', async () => {
  await expectError('relative 404', await load('llm', 'bad/relative-missing.gguf'), 'http', new RegExp(escape(url('/bad/relative-missing.gguf'))));
});

test('GGUF chat models cut short, empty, garbage, flipped or with huge counts: the file is named', async () => {
  const files = [
    ['truncated.gguf', [/truncated/, /past the end/]],
    ['header-only.gguf', [/tensor count/]],
    ['empty.gguf', [/truncated/]],
    ['garbage.gguf', [/GGUF/]],
    ['page.gguf', [/GGUF/]],
    ['magic-flipped.gguf', [/GGUF/]],
    ['version-flipped.gguf', [/version/i]],
    ['huge-tensor-count.gguf', [/tensor count is 1099511627776/]],
    ['huge-metadata-count.gguf', [/metadata count is 1099511627776/]],
  ];
  for (const [name, patterns] of files) {
    const outcome = await load('llm', url(`/bad/${name}`));
    await expectError(name, outcome, 'model', new RegExp(`^${escape(name)}: `), ...patterns);
  }
});

test('broken model bytes given as a File or a Blob: the file is named', async () => {
  const outcome = await page().evaluate(async () => ({
    file: await attempt(() => assistant.load('llm', new File([new Uint8Array(4096).fill(7)], 'my-model.gguf'))),
    blob: await attempt(() => assistant.load('llm', new Blob([new TextEncoder().encode('GGUF but not really')]))),
    whisper: await attempt(async () => {
      const config = await (await fetch('bad/whisper-truncated/config.json')).blob();
      const tokenizer = await (await fetch('bad/whisper-truncated/tokenizer.json')).blob();
      return assistant.load('asr', { weights: new File([new Uint8Array(64)], 'whisper.gguf'), config, tokenizer });
    }),
  }));
  await expectError('a File of sevens', outcome.file, 'model', /^my-model\.gguf: .*not a GGUF/);
  await expectError('a Blob without a name', outcome.blob, 'model', /^model\.gguf: /);
  // (A `.gguf` without the GGUF magic was read as safetensors, and said so: now it is judged as a GGUF.)
  await expectError('Whisper bytes with garbage weights', outcome.whisper, 'model', /^whisper\.gguf: invalid GGUF: not a GGUF file/);
});

test('Whisper folders with cut weights, another model\'s config or a broken tokenizer name the file', async () => {
  // The message starts with the file at fault (and ends with the files that were loaded).
  await expectError('whisper truncated', await load('asr', url('/bad/whisper-truncated/model.gguf')), 'model', /^model\.gguf: .*truncated/);
  await expectError('whisper other config', await load('asr', url('/bad/whisper-other-config/model.gguf')), 'model', /^config\.json: .*num_mel_bins/);
  await expectError('whisper bad tokenizer', await load('asr', url('/bad/whisper-bad-tokenizer/model.gguf')), 'model', /^tokenizer\.json: /);
});

test('an unknown catalog id, a model of the other role and a source of the wrong type', async () => {
  await expectError('unknown id (load)', await load('llm', 'no-such-model-q8_0'), 'unknown-model', /no-such-model-q8_0/);
  const download = await page().evaluate(() => attempt(() => assistant.models.download('no-such-whisper')));
  await expectError('unknown id (download)', download, 'unknown-model', /no-such-whisper/);
  await expectError('asr model as llm', await load('llm', 'whisper-tiny-test'), 'role', /whisper-tiny-test/, /an asr model, not llm/);
  const number = await page().evaluate(() => attempt(() => assistant.load('llm', 42)));
  await expectError('a number as source', number, 'source', /catalog id/);
  const created = await page().evaluate(async () => {
    const { Transcriber, ChatModel } = await import('./sotto.js');
    return {
      transcriber: await attempt(() => Transcriber.create({ model: 'no-such-asr' })),
      chat: await attempt(() => ChatModel.create({ model: 'no-such-llm' })),
    };
  });
  await expectError('Transcriber.create unknown id', created.transcriber, 'unknown-model', /no-such-asr/);
  await expectError('ChatModel.create unknown id', created.chat, 'unknown-model', /no-such-llm/);
});

test('bad settings name section.field and what was expected, and change nothing', async () => {
  const before = await page().evaluate(() => assistant.settings());
  const bad = [
    [{ generation: { temperature: -1 } }, /generation\.temperature/, /-1/],
    [{ generation: { temprature: 0.5 } }, /temprature/, /generation/],
    [{ generation: { maxTokens: 'many' } }, /generation/, /maxTokens/],
    [{ generation: { topP: 1.5 } }, /generation\.topP/],
    [{ recognition: { noSpeechThreshold: 2 } }, /asr\.noSpeechThreshold/],
    [{ voice: { rate: -1 } }, /voice\.rate/],
    [{ voice: { sampleRate: 12345 } }, /voice\.sampleRate/, /12345/],
    [{ endpointMs: -5 }, /turns/, /endpointMs/],
    [{ mode: 'telepathy' }, /turns/, /telepathy/],
    [{ reply: { maxSentences: -1 } }, /turns/, /maxSentences/],
    // A good section beside a bad one: neither applies.
    [{ generation: { maxTokens: 9 }, recognition: { maxTokens: -3 } }, /asr\.maxTokens/],
  ];
  for (const [options, ...patterns] of bad) {
    const outcome = await page().evaluate((options) => attempt(() => assistant.configure(options)), options);
    const label = `configure(${JSON.stringify(options)})`;
    await expectError(label, outcome, 'settings', ...patterns);
    assert.deepEqual(await page().evaluate(() => assistant.settings()), before, `${label} changed the settings`);
  }
  // A good change afterwards applies (the bad ones left nothing behind that fails it again).
  const good = await page().evaluate(() => attempt(() => assistant.configure({ mode: 'push-to-talk', endpointMs: 500 })));
  assert.equal(good.error, undefined, JSON.stringify(good.error));
  const now = await page().evaluate(() => assistant.settings());
  assert.equal(now.turns.mode, 'push-to-talk');
  assert.equal(now.turns.vad.endpointMs, 500);
  await page().evaluate(([mode, ms]) => assistant.configure({ mode, endpointMs: ms }), [before.turns.mode, before.turns.vad.endpointMs]);
});

test('audio that is empty, not a WAV, cut short or of the wrong type names the file', async () => {
  const transcribe = (make) => page().evaluate(async (make) => {
    const inputs = {
      empty: () => new ArrayBuffer(0),
      text: () => new File(['Dear diary, today I'], 'notes.txt'),
      mp3: () => new File([new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0x21, 1, 2, 3])], 'song.mp3'),
      header: () => {
        const bytes = new Uint8Array(44);
        const view = new DataView(bytes.buffer);
        bytes.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0);
        view.setUint32(4, 36 + 2000, true);
        bytes.set([...'WAVEfmt '].map((c) => c.charCodeAt(0)), 8);
        view.setUint32(16, 16, true);
        view.setUint16(20, 1, true);
        view.setUint16(22, 1, true);
        view.setUint32(24, 16000, true);
        view.setUint32(28, 32000, true);
        view.setUint16(32, 2, true);
        view.setUint16(34, 16, true);
        bytes.set([...'data'].map((c) => c.charCodeAt(0)), 36);
        view.setUint32(40, 2000, true);
        return new File([bytes], 'cut.wav');
      },
      string: () => 'hello.wav',
      nothing: () => null,
    };
    return attempt(() => assistant.transcribe(inputs[make]()));
  }, make);
  await expectError('empty buffer', await transcribe('empty'), 'audio', /audio\.wav/, /WAV/);
  await expectError('a text file', await transcribe('text'), 'audio', /notes\.txt/, /WAV/);
  await expectError('an mp3', await transcribe('mp3'), 'audio', /song\.mp3/, /WAV/);
  await expectError('a WAV header without its samples', await transcribe('header'), 'audio', /cut\.wav/, /truncated/);
  await expectError('a string', await transcribe('string'), 'source', /audio/, /Float32Array|WAV/);
  await expectError('null', await transcribe('nothing'), 'source', /audio/);
});

test('NaN, infinite, empty and one-sample PCM transcribe or fail clearly, and never break the engine', async () => {
  for (const kind of ['nan', 'inf', 'empty', 'one', 'some-nan']) {
    const outcome = await page().evaluate((kind) => {
      const make = {
        nan: () => new Float32Array(16000).fill(NaN),
        inf: () => Float32Array.from({ length: 16000 }, (_, i) => (i % 2 ? Infinity : -Infinity)),
        empty: () => new Float32Array(0),
        one: () => Float32Array.of(0.25),
        'some-nan': () => Float32Array.from({ length: 16000 }, (_, i) => (i % 97 ? 0.1 : NaN)),
      };
      return attempt(() => assistant.transcribe(make[kind]()));
    }, kind);
    cases++;
    if (outcome.error) {
      assert.equal(outcome.error.name, 'SottoError', `${kind}: ${JSON.stringify(outcome.error)}`);
      assert.equal(outcome.error.code, 'audio', `${kind}: ${JSON.stringify(outcome.error)}`);
      assert.match(outcome.error.message, /sample/i, kind);
    } else {
      assert.equal(typeof outcome.result.text, 'string', `${kind}: ${JSON.stringify(outcome.result)}`);
      assert.ok(Number.isFinite(outcome.result.no_speech_prob), `${kind}: p(no speech) ${outcome.result.no_speech_prob}`);
    }
    await stillWorks(kind);
  }
});

test('the corpus met one engine: no crash, no page error, nothing off the machine', async () => {
  assert.deepEqual(await page().evaluate(() => window.engineErrors), [], 'no error event: the engine never crashed');
  assert.deepEqual(browser.problems.pageErrors, []);
  assert.deepEqual(browser.problems.offMachineRequests, []);
  // The 404s are logged by Chromium as failed loads; nothing else may be.
  const unexpected = browser.problems.consoleErrors.filter((text) => !/404|Failed to load resource/.test(text));
  assert.deepEqual(unexpected, []);
  assert.ok(cases >= 40, `${cases} cases`);
});
