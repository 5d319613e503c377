// The browser consumer app of the npm package tests: the README's example with the model URLs
// given in the page's query (`asr`, `llm`, `wav`, `ask`; `catalog`: a Whisper id of the local
// catalog; `blobs`: load the models from Blobs and a File too; `smoke`: no models), run against
// Chromium's fake microphone. It reports what happened in `window.result`.
import { ChatModel, Sotto, SottoError, Transcriber } from 'sotto';

const query = new URLSearchParams(location.search);
const output = document.querySelector('#output');

/** Resolves with the first event of `type` that `accept` takes, or rejects after `ms`. */
const next = (assistant, type, accept = () => true, ms = 120_000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${type} event in ${ms} ms`)), ms);
  const off = assistant.on(type, (event) => {
    if (!accept(event)) return;
    clearTimeout(timer);
    off();
    resolve(event);
  });
});

async function conversation() {
  // The README's "A dozen lines", with URL sources and its system prompt, the engine's default
  // (tests/llm_real.rs checks that it keeps the 135M chat model these tests load on topic; other
  // prompts slide it into French).
  const assistant = await Sotto.create({
    asr: query.get('asr'),
    llm: query.get('llm'),
    systemPrompt: 'You are a helpful assistant. Keep answers short.',
    endpointMs: 700,
    generation: { temperature: 0 },
    onProgress: (p) => console.log(`${p.model}: ${p.percent?.toFixed(0)}%`),
  });
  const errors = [];
  assistant.on('transcript', (e) => console.log('you:', e.text));
  assistant.on('token', (e) => output.append(e.text));
  assistant.on('error', (e) => errors.push(e.message));

  // A spoken turn: the fake microphone asks its question once capture starts.
  const transcript = next(assistant, 'transcript', (e) => e.turn >= 0);
  const spoken = next(assistant, 'reply');
  await assistant.start(); // the microphone needs a user gesture (Chromium is told to allow it)
  const heard = await transcript;
  const reply = await spoken;
  await next(assistant, 'speaking-stopped', (e) => e.turn === reply.turn);
  assistant.stop();

  // A typed turn: the time from `ask()` to the reply's first sound.
  const asked = performance.now();
  const sounding = next(assistant, 'speaking').then(() => performance.now());
  const typedReply = await assistant.ask(query.get('ask') ?? 'Name a color.');
  const firstAudioMs = (await sounding) - asked;
  const models = (await assistant.models.list()).models.map((m) => m.id);
  const result = { engine: assistant.engine, transcript: heard.text, reply: reply.text, typedReply, firstAudioMs, models, errors };
  assistant.dispose();
  return result;
}

/** The stages on their own from other sources: a catalog id, Blobs and a File. */
async function stages() {
  const result = {};
  const catalogId = query.get('catalog');
  const wav = await fetch(query.get('wav')).then((r) => r.blob());
  if (catalogId) {
    const asr = await Transcriber.create({ model: catalogId, fullWindow: true });
    result.catalogTranscript = await asr.transcribe(wav);
    asr.dispose();
  }
  if (query.has('blobs')) {
    const asrUrl = new URL(query.get('asr'), location.href);
    const blob = (name) => fetch(new URL(name, asrUrl)).then((r) => r.blob());
    const asr = await Transcriber.create({
      model: { weights: await blob(asrUrl.pathname.split('/').pop()), config: await blob('config.json'), tokenizer: await blob('tokenizer.json') },
    });
    result.blobTranscript = await asr.transcribe(wav);
    asr.dispose();
    const gguf = await fetch(query.get('llm')).then((r) => r.blob());
    const chat = await ChatModel.create({ model: new File([gguf], 'chat.gguf'), generation: { temperature: 0, maxTokens: 24 } });
    result.fileReply = await chat.reply(query.get('ask') ?? 'Name a color.');
    chat.dispose();
  }
  const failure = (work) => work().then(() => null, (err) => ({ sotto: err instanceof SottoError, code: err.code }));
  result.unknownModel = await failure(() => Transcriber.create({ model: 'no-such-model' }));
  result.badSource = await failure(() => Transcriber.create({ model: 42 }));
  return result;
}

/** Without models: the engine starts, the catalog shipped in the bundle lists, the voice speaks. */
async function smoke() {
  const assistant = await Sotto.create();
  const models = (await assistant.models.list()).models.map((m) => m.id);
  const spoken = await assistant.say('ready');
  const result = { engine: assistant.engine, models, spokenSamples: spoken.samples.length };
  assistant.dispose();
  return result;
}

const app = query.has('smoke') ? smoke : async () => ({ ...(await conversation()), ...(await stages()) });
window.result = app().catch((err) => ({ error: String(err?.message ?? err), code: err?.code }));
