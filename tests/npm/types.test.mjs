// The package's typings: a TypeScript example using the whole API passes `tsc --noEmit`, and a
// misuse fails it (so the typings are not `any`).
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectWith, run } from './install.mjs';

const TYPESCRIPT = 'typescript@5.9.3';

const EXAMPLE = `import { ChatModel, Sotto, SottoError, Transcriber, Voice, type SottoEventMap, type Transcript } from 'sotto';

export async function assistantDemo(button: HTMLButtonElement, file: File): Promise<void> {
  const assistant = await Sotto.create({
    asr: 'whisper-tiny.en-q8_0',
    llm: new URL('https://example.org/model.gguf'),
    systemPrompt: 'Be brief.',
    endpointMs: 700,
    mode: 'hands-free',
    generation: { maxTokens: 64, temperature: 0.5, stop: ['\\n'] },
    voice: { rate: 1.1, sampleRate: 24000 },
    recognition: { language: null, noSpeechThreshold: 0.6 },
    onProgress: (p) => console.log(p.model, p.percent?.toFixed(0)),
  });
  const off = assistant.on('transcript', (e) => console.log(e.turn, e.text.toUpperCase()));
  assistant.on('token', (e) => console.log(e.text));
  assistant.on('latency', (e) => console.log((e.firstAudio ?? 0) - (e.speechEnd ?? 0)));
  assistant.on('interrupted', (e) => console.log(e.spoken));
  assistant.on('error', (e) => console.warn(e.code, e.message));
  assistant.on('state', (e: SottoEventMap['state']) => console.log(e.state === 'speaking'));
  off();
  button.onclick = () => assistant.start();
  const reply: string = await assistant.ask('What time is it?');
  const heard: Transcript = await assistant.transcribe(file);
  console.log(reply, heard.text, heard.no_speech_prob, assistant.engine.version);
  const { models } = await assistant.models.list();
  await assistant.models.download(models[0].id);
  await assistant.say('Done.');
  assistant.dispose();
}

export async function stages(wav: Uint8Array): Promise<void> {
  const asr = await Transcriber.create({ model: { config: 'config.json', tokenizer: 'tokenizer.json', weights: 'model.gguf' }, noSpeechThreshold: 1 });
  console.log((await asr.transcribe(wav)).text);
  const chat = await ChatModel.create({ model: 'model.gguf', tokenizer: 'tokenizer.json', systemPrompt: null });
  const text: string = await chat.reply('Hi', { onToken: (piece: string) => console.log(piece) });
  const voice = await Voice.create({ rate: 1, pitch: 1, sampleRate: 16000 });
  const { samples, sampleRate } = await voice.synthesize(text);
  console.log(samples.length / sampleRate);
  try {
    await Transcriber.create({ model: 'missing' });
  } catch (err) {
    if (err instanceof SottoError && err.code === 'file') console.log(err.message);
  }
}
`;

const MISUSE = `import { Sotto, Voice } from 'sotto';
const assistant = await Sotto.create({ endpointMs: 'soon' });
assistant.on('transcript', (e) => e.spoken);
await Voice.create({ sampleRate: 44100 });
`;

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], skipLibCheck: false },
};

let project;
before(async () => {
  project = await projectWith([TYPESCRIPT]);
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['example.ts'] }));
  await writeFile(join(project, 'tsconfig.misuse.json'), JSON.stringify({ ...TSCONFIG, files: ['misuse.ts'] }));
  await writeFile(join(project, 'example.ts'), EXAMPLE);
  await writeFile(join(project, 'misuse.ts'), MISUSE);
});
after(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

const tsc = (config) => run(join(project, 'node_modules/.bin/tsc'), ['--noEmit', '-p', config], { cwd: project, timeout: 120_000 });

test('types: a TypeScript example of the whole API passes tsc --noEmit', async () => {
  await tsc('tsconfig.json').catch((err) => assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`));
});

test('types: misuse (wrong option types, wrong event payload, bad sample rate) fails tsc', async () => {
  const failure = await tsc('tsconfig.misuse.json').then(() => null, (err) => err.stdout);
  assert.ok(failure, 'tsc must reject the misuse');
  assert.match(failure, /misuse\.ts\(2,.*endpointMs|misuse\.ts\(2,/);
  assert.match(failure, /misuse\.ts\(3,.*spoken/);
  assert.match(failure, /misuse\.ts\(4,.*44100/);
});
