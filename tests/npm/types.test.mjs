// The package's typings, as a TypeScript user meets them (tests/npm/consumers/types/, the packed
// package): every snippet of the package's README that imports 'sotto' passes `tsc --strict`
// against the entry of its environment (the browser's through a bundler's resolution, Node's
// through NodeNext with @types/node and no DOM), so README and typings cannot drift apart; an
// example of the whole API passes in each environment and misuse fails; the README's bundler
// configurations are the consumer projects' own files; every error code the package's code
// throws is in the typings and the README.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { consumersDir, prepareProject, repoRoot, run } from './consumer.mjs';

const README = join(repoRoot, 'pkg-config/README.md');

/** The README's code blocks: `{lang, code, section}`. */
async function readmeBlocks() {
  const text = await readFile(README, 'utf8');
  const blocks = [];
  let section = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('## ')) section = lines[i].slice(3).trim();
    const fence = /^```(\w+)$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ lang: fence[1], code: lines.slice(i + 1, end).join('\n'), section });
    i = end;
  }
  return blocks;
}

// What the README's browser snippets leave to the reader: the page's elements.
const BROWSER_PRELUDE = 'declare const output: HTMLElement;\ndeclare const button: HTMLButtonElement;\n';

const BROWSER_EXAMPLE = `import { ChatModel, Sotto, SottoError, Transcriber, Voice, type SottoEventMap, type Transcript } from 'sotto';

export async function assistantDemo(button: HTMLButtonElement, file: File): Promise<void> {
  const assistant = await Sotto.create({
    asr: 'whisper-tiny.en-q8_0',
    llm: new URL('https://example.org/model.gguf'),
    chatTemplate: 'chatml',
    systemPrompt: 'Be brief.',
    endpointMs: 700,
    speculateMs: 0,
    mode: 'hands-free',
    bargeIn: true,
    partialIntervalMs: 500,
    reply: { maxSentences: 2, maxTokens: 80, fullText: false },
    generation: { maxTokens: 64, temperature: 0.5, topK: 40, topP: 0.9, repetitionPenalty: 1.1, seed: 7, stop: ['\\n'] },
    voice: { rate: 1.1, pitch: 1, system: true, lang: 'en-GB' },
    recognition: { language: null, noSpeechThreshold: 0.6, maxTokens: 100, fullWindow: true },
    onProgress: (p) => console.log(p.model, p.percent?.toFixed(0)),
    threads: 2,
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
  console.log(reply, heard.text, heard.no_speech_prob, assistant.engine.version, assistant.systemVoice?.name);
  const { models } = await assistant.models.list();
  await assistant.models.download(models[0].id);
  await assistant.say('Done.');
  assistant.dispose();
}

export async function stages(wav: Blob, gguf: File): Promise<void> {
  const asr = await Transcriber.create({ model: { config: wav, tokenizer: wav, weights: wav }, fullWindow: true, threads: 0 });
  console.log((await asr.transcribe(wav)).text);
  const chat = await ChatModel.create({ model: gguf, systemPrompt: null, generation: { seed: 1 } });
  const text: string = await chat.reply('Hi', { onToken: (piece: string) => console.log(piece) });
  await chat.reset();
  const voice = await Voice.create({ rate: 1, pitch: 1, sampleRate: 16000 });
  const { samples, sampleRate } = await voice.synthesize(text);
  const file: Uint8Array = await voice.toWav(text);
  await voice.speak(text);
  console.log(samples.length / sampleRate, file.length);
  try {
    await Transcriber.create({ model: '/models/whisper/model.gguf' });
  } catch (err) {
    if (err instanceof SottoError && err.code === 'network') console.log(err.message);
  }
}
`;

const NODE_EXAMPLE = `import { ChatModel, SottoError, Transcriber, Voice, encodeWav, version } from 'sotto';

export async function stages(bytes: Uint8Array): Promise<void> {
  const asr = await Transcriber.create({ model: { config: 'config.json', tokenizer: 'tokenizer.json', weights: bytes }, noSpeechThreshold: 1 });
  console.log((await asr.transcribe('question.wav')).text, (await asr.transcribe(bytes)).tokens);
  const fromUrl = await Transcriber.create({ model: new URL('https://example.org/whisper/'), cacheDir: '/tmp/models', onProgress: (p) => console.log(p.percent) });
  fromUrl.dispose();
  const chat = await ChatModel.create({ model: 'model.gguf', tokenizer: 'tokenizer.json', tokenizerConfig: bytes, chatTemplate: 'gemma', systemPrompt: null });
  const text: string = await chat.reply('Hi', { onToken: (piece: string) => process.stdout.write(piece) });
  await chat.reset();
  const voice = await Voice.create({ rate: 1, pitch: 1, sampleRate: 16000 });
  const { samples, sampleRate } = await voice.synthesize(text);
  const wav: Uint8Array = encodeWav(samples, sampleRate);
  console.log(wav.length, (await voice.toWav(text)).length, await version());
  try {
    await Transcriber.create({ model: 'missing' });
  } catch (err) {
    if (err instanceof SottoError && err.code === 'file') console.log(err.message);
  }
}
`;

const BROWSER_MISUSE = `import { Sotto, Voice } from 'sotto';
const assistant = await Sotto.create({ endpointMs: 'soon' });
assistant.on('transcript', (e) => e.spoken);
await Voice.create({ sampleRate: 44100 });
await Sotto.create({ voice: { sampleRate: 24000 } });
`;

const NODE_MISUSE = `import { Voice, Transcriber } from 'sotto';
const voice = await Voice.create();
await voice.speak('hi');
await Transcriber.create({ model: 'x', threads: 2 });
`;

const COMPILER = { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false };
const BROWSER = { ...COMPILER, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [] };
const NODE = { ...COMPILER, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'] };

let project;
const files = { browser: [], node: [] };

before(async () => {
  project = await prepareProject('types');
  const snippets = (await readmeBlocks()).filter((b) => b.lang === 'js' && /from 'sotto'/.test(b.code));
  assert.ok(snippets.length >= 3, `the README's snippets that use the package (${snippets.length})`);
  for (const [i, { code, section }] of snippets.entries()) {
    const env = section === 'Node' ? 'node' : 'browser';
    const name = `readme-${i + 1}-${env}.ts`;
    await writeFile(join(project, name), `${env === 'browser' ? BROWSER_PRELUDE : ''}${code}\nexport {};\n`);
    files[env].push(name);
  }
  await writeFile(join(project, 'example-browser.ts'), BROWSER_EXAMPLE);
  await writeFile(join(project, 'example-node.ts'), NODE_EXAMPLE);
  await writeFile(join(project, 'misuse-browser.ts'), BROWSER_MISUSE);
  await writeFile(join(project, 'misuse-node.ts'), NODE_MISUSE);
  const config = (name, options, included) => writeFile(join(project, name), JSON.stringify({ compilerOptions: options, files: included }));
  await config('tsconfig.browser.json', BROWSER, [...files.browser, 'example-browser.ts']);
  await config('tsconfig.node.json', NODE, [...files.node, 'example-node.ts']);
  await config('tsconfig.misuse-browser.json', BROWSER, ['misuse-browser.ts']);
  await config('tsconfig.misuse-node.json', NODE, ['misuse-node.ts']);
});

const tsc = (config) => run(join(project, 'node_modules/.bin/tsc'), ['-p', config], { cwd: project, timeout: 120_000 });
const failure = (config) => tsc(config).then(() => null, (err) => err.stdout);

test("types: the README's browser snippets and an example of the whole browser API pass tsc --strict", async () => {
  assert.ok(files.browser.length >= 2, files.browser.join(', '));
  await tsc('tsconfig.browser.json').catch((err) => assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`));
});

test("types: the README's Node snippet and an example of the whole Node API pass tsc --strict without DOM types", async () => {
  assert.ok(files.node.length >= 1, files.node.join(', '));
  await tsc('tsconfig.node.json').catch((err) => assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`));
});

test('types: misuse fails tsc (wrong option types, a wrong event payload, options of the other environment)', async () => {
  const browser = await failure('tsconfig.misuse-browser.json');
  assert.ok(browser, 'tsc must reject the browser misuse');
  for (const line of [2, 3, 4, 5]) assert.match(browser, new RegExp(`misuse-browser\\.ts\\(${line},`), `line ${line}:\n${browser}`);
  const node = await failure('tsconfig.misuse-node.json');
  assert.ok(node, 'tsc must reject the Node misuse');
  assert.match(node, /misuse-node\.ts\(3,.*speak/);
  assert.match(node, /misuse-node\.ts\(4,.*threads/);
});

test("types: the README's bundler configurations are the consumer projects' own", async () => {
  const blocks = (await readmeBlocks()).filter((b) => b.section === 'Bundlers');
  const same = async (file, pattern) => {
    const block = blocks.find((b) => pattern.test(b.code));
    assert.ok(block, `the README shows ${file}`);
    assert.equal(`${block.code}\n`, await readFile(join(consumersDir, file), 'utf8'), file);
  };
  // The vite8 and vite7 projects are built with this one file (prepareProject copies it in).
  await same('app/vite.config.js', /defineConfig/);
  await same('webpack/webpack.config.js', /entry:/);
  const importMap = blocks.find((b) => b.lang === 'html');
  assert.ok((await readFile(join(consumersDir, 'importmap/index.html'), 'utf8')).includes(importMap.code), 'the import map');
});

test('types: every error code the package throws is in the typings and the README', async () => {
  const dir = join(project, 'node_modules/sotto');
  const sources = await Promise.all((await readdir(dir)).filter((n) => n.endsWith('.js')).map((n) => readFile(join(dir, n), 'utf8')));
  const codes = new Set();
  const patterns = [/\w*Error\(\s*'([a-z-]+)'/g, /retryOrFail\(\s*'([a-z-]+)'/g, /toError\(err, '([a-z-]+)'\)/g, /this\.code = '([a-z-]+)'/g, /stage: '([a-z-]+)'/g];
  for (const source of sources) {
    for (const pattern of patterns) for (const [, code] of source.matchAll(pattern)) codes.add(code);
  }
  codes.delete('unknown-request'); // the worker's answer to a request the package never sends
  assert.ok(codes.size >= 25, `found ${codes.size} codes: ${[...codes]}`);
  const typings = await readFile(join(dir, 'common.d.ts'), 'utf8');
  const readme = await readFile(join(dir, 'README.md'), 'utf8');
  const errors = readme.slice(readme.indexOf('## Errors'), readme.indexOf('\n## ', readme.indexOf('## Errors') + 3));
  for (const code of codes) {
    assert.ok(typings.includes(`| '${code}'`), `SottoErrorCode lacks '${code}'`);
    assert.ok(errors.includes(`\`${code}\``), `the README's Errors lack \`${code}\``);
  }
});
