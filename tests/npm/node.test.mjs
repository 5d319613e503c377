// The package in Node 20, installed from the tarball (tests/npm/consumers/node/): the README's
// Node example on the real models given by URL and by a catalog id of the local catalog,
// downloaded into a fresh cache; transcribe, chat and speak on the generated test models from
// paths and bytes; bad input rejected with a SottoError that names the file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  QUESTION, REAL, modelsDir, prepareProject, questionWav, realModelMounts, requireRealModels, run, words,
} from './consumer.mjs';
import { serveStatic } from './static-server.mjs';

let project;
let cache;
before(async () => {
  project = await prepareProject('node');
  cache = await mkdtemp(join(tmpdir(), 'sotto-node-cache-'));
});
after(async () => {
  await rm(cache, { recursive: true, force: true });
});

/** Runs a module in the consumer project (so that `import 'sotto'` resolves as a user's would). */
async function consumer(name, source, args = []) {
  const file = join(project, name);
  if (source) await writeFile(file, source);
  const env = { ...process.env, SOTTO_CACHE_DIR: cache };
  const { stdout } = await run('node', [file, ...args], { cwd: project, timeout: 300_000, env, maxBuffer: 1 << 26 });
  return JSON.parse(stdout);
}

test('Node: the README example on the real models, from URLs and a catalog id, downloaded once', async () => {
  requireRealModels();
  const server = await serveStatic({ mounts: realModelMounts('/') });
  try {
    const manifest = JSON.parse(await readFile(join(REAL.folder, 'manifest.json'), 'utf8'));
    const file = (name, path) => ({ name, url: `${server.origin}/${path}`, sha256: manifest.files.find((f) => f.path === path)?.sha256 });
    await mkdir(join(project, 'models'), { recursive: true });
    await writeFile(join(project, 'models/local-catalog.json'), JSON.stringify({
      models: [{ id: 'real-whisper-tiny.en', role: 'asr', files: [file('model.gguf', REAL.asr), file('config.json', 'whisper-tiny.en/config.json'), file('tokenizer.json', 'whisper-tiny.en/tokenizer.json')] }],
    }));
    const wav = await questionWav();
    const out = await consumer('main.mjs', null, [`${server.origin}/${REAL.asr}`, `${server.origin}/${REAL.llm}`, wav, QUESTION.typed, 'real-whisper-tiny.en']);
    console.log(`Node: heard "${out.transcript.text}", replied "${out.reply}"`);
    // whisper-tiny.en hears this espeak-ng clip's "France" as "and friends" (f16 and q8_0 alike, in
    // Node on 2026-12-07): the words up to "capital" are what this package test holds; word accuracy
    // on real speech is the ASR's WER tests' business.
    assert.match(words(out.transcript.text).join(' '), /^what is the capital\b/, `the transcript "${out.transcript.text}"`);
    assert.ok(words(out.transcript.text).length <= 10, `the transcript stops: "${out.transcript.text}"`);
    assert.match(words(out.fullWindow.text).join(' '), /^what is the capital\b/, `a catalog id, fullWindow: "${out.fullWindow.text}"`);
    assert.notEqual(out.fullWindow.no_speech_prob, out.transcript.no_speech_prob, 'fullWindow decodes over the whole window');
    assert.match(out.reply, /blue/i, `the reply "${out.reply}"`);
    assert.equal(out.pieces.join(''), out.reply, 'onToken streams the reply');
    assert.equal(out.again, out.reply, 'reset() forgets the conversation');
    assert.ok(out.wavBytes > 44 + 1600, `toWav: ${out.wavBytes} bytes`);
    assert.equal(out.downloads.length, 3, `each model downloaded once with progress: ${out.downloads}`);
    assert.deepEqual({ ...out.unknown, message: undefined }, { sotto: true, code: 'file', message: undefined });
    assert.match(out.unknown.message, /no-such-model.*catalog id/);
  } finally {
    await server.close();
  }
});

const whisper = join(modelsDir, 'whisper-tiny-test');
const smollm = join(modelsDir, 'smollm2-test');

test('Node: Voice.toWav makes a WAV that Transcriber reads (gguf folder and safetensors files)', async () => {
  const out = await consumer('transcribe.mjs', `
    import { Transcriber, Voice, SottoError } from 'sotto';
    import { writeFile } from 'node:fs/promises';
    const voice = await Voice.create({ sampleRate: 16000 });
    const speech = await voice.synthesize('hello there');
    const wav = await voice.toWav('hello there');
    await writeFile('hello.wav', wav);
    const fromFolder = await Transcriber.create({ model: ${JSON.stringify(whisper)}, noSpeechThreshold: 1 });
    const fromPath = await fromFolder.transcribe('hello.wav');
    const fromSamples = await fromFolder.transcribe(speech.samples);
    const fromWavBytes = await fromFolder.transcribe(wav);
    const fromFiles = await Transcriber.create({ noSpeechThreshold: 1, model: {
      config: ${JSON.stringify(join(whisper, 'config.json'))},
      tokenizer: ${JSON.stringify(join(whisper, 'tokenizer.json'))},
      weights: ${JSON.stringify(join(whisper, 'model.safetensors'))} } });
    const fromBytes = await fromFiles.transcribe(wav);
    console.log(JSON.stringify({ sampleRate: speech.sampleRate, samples: speech.samples.length,
      header: new TextDecoder().decode(wav.slice(0, 4)) + new TextDecoder().decode(wav.slice(8, 16)),
      wavBytes: wav.length, fromPath, fromSamples, fromWavBytes, fromBytes, isError: typeof SottoError }));
  `);
  assert.equal(out.sampleRate, 16000);
  assert.ok(out.samples > 1600, `speech of ${out.samples} samples`);
  assert.equal(out.header, 'RIFFWAVEfmt ');
  assert.equal(out.wavBytes, 44 + 2 * out.samples);
  for (const result of [out.fromPath, out.fromSamples, out.fromBytes]) {
    assert.equal(typeof result.text, 'string');
    assert.ok(result.tokens.length > 0, 'the random model decodes some tokens');
    assert.ok(result.no_speech_prob >= 0 && result.no_speech_prob <= 1);
    assert.ok(result.timings_ms.encoder >= 0);
  }
  assert.deepEqual(out.fromPath.tokens, out.fromWavBytes.tokens, 'a WAV path and its bytes transcribe alike');
});

test('Node: ChatModel replies from a GGUF with its tokenizer files, streaming tokens', async () => {
  const out = await consumer('chat.mjs', `
    import { ChatModel } from 'sotto';
    const chat = await ChatModel.create({ model: ${JSON.stringify(join(smollm, 'model-q8_0.gguf'))},
      tokenizer: ${JSON.stringify(join(smollm, 'tokenizer.json'))},
      tokenizerConfig: ${JSON.stringify(join(smollm, 'tokenizer_config.json'))},
      systemPrompt: 'Be brief.', generation: { maxTokens: 8, seed: 7 } });
    const pieces = [];
    const reply = await chat.reply('Hello', { onToken: (t) => pieces.push(t) });
    const second = await chat.reply('And again?');
    console.log(JSON.stringify({ reply, pieces, second }));
  `);
  assert.equal(typeof out.reply, 'string');
  assert.ok(out.pieces.length > 0 && out.pieces.length <= 8, `${out.pieces.length} pieces`);
  assert.equal(out.pieces.join(''), out.reply);
  assert.equal(typeof out.second, 'string');
});

test('Node: bad input rejects with a SottoError naming the file and the fix', async () => {
  const out = await consumer('errors.mjs', `
    import { Transcriber, ChatModel, SottoError } from 'sotto';
    import { writeFile } from 'node:fs/promises';
    const caught = async (work) => { try { await work(); return null; } catch (e) {
      return { sotto: e instanceof SottoError, code: e.code, message: e.message }; } };
    await writeFile('notes.wav', 'these are not audio samples');
    const asr = await Transcriber.create({ model: ${JSON.stringify(whisper)} });
    console.log(JSON.stringify({
      missingFolder: await caught(() => Transcriber.create({ model: 'no-such-folder' })),
      missingWav: await caught(() => asr.transcribe('missing.wav')),
      notWav: await caught(() => asr.transcribe('notes.wav')),
      missingGguf: await caught(() => ChatModel.create({ model: 'missing.gguf' })),
      notGguf: await caught(() => ChatModel.create({ model: 'notes.wav' })),
      noModel: await caught(() => ChatModel.create({})),
      notWhisper: await caught(() => Transcriber.create({ model: { config: 'notes.wav', tokenizer: 'notes.wav', weights: 'notes.wav' } })),
      badSetting: await caught(() => Transcriber.create({ model: ${JSON.stringify(whisper)}, noSpeechThreshold: 2 })),
    }));
  `);
  for (const [name, error] of Object.entries(out)) {
    assert.ok(error, `${name} must reject`);
    assert.ok(error.sotto, `${name} rejects with a SottoError: ${JSON.stringify(error)}`);
  }
  assert.equal(out.missingFolder.code, 'file');
  assert.match(out.missingFolder.message, /no-such-folder.*config\.json/);
  assert.equal(out.missingWav.code, 'file');
  assert.match(out.missingWav.message, /missing\.wav.*check the path/);
  assert.equal(out.notWav.code, 'audio');
  assert.match(out.notWav.message, /notes\.wav.*WAV/);
  assert.equal(out.missingGguf.code, 'file');
  assert.match(out.missingGguf.message, /missing\.gguf/);
  assert.equal(out.notGguf.code, 'model');
  assert.match(out.notGguf.message, /notes\.wav: .*GGUF/);
  assert.equal(out.notWhisper.code, 'model');
  assert.match(out.notWhisper.message, /config.*notes\.wav/);
  assert.equal(out.noModel.code, 'source');
  assert.equal(out.badSetting.code, 'settings');
  assert.match(out.badSetting.message, /asr\.noSpeechThreshold/);
});
