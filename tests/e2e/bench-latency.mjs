// Benchmark (not a test): end of speech → first reply audio in headless Chromium, per stage, with
// random weights in the default models' real shapes (whisper-tiny, SmolLM2-360M q8_0). Prints JSON.
// Two page sessions in one run: the single-threaded build (`?threads=0`) as the reference, then the
// default, the threaded build with its helper Workers; the ratio compares their medians.
//
//   cargo xtask bench-latency        (builds dist/, writes models/bench, runs this)
//
// Random weights never say "end of text", so the recognizer's tokens are capped at what a trained
// Whisper spends on the spoken sentence (" What is two plus two?" is 6 tokens in its vocabulary,
// plus the step that would say end of text: 7), and the reply's at 48: the first audio comes from
// the first chunk, which is all this measures. The real-shape vocabularies' fillers are corpus
// words, most of them tokens of the chat model's vocabulary too, so the transcript reads as words
// and costs the chat model about 1.6 tokens per recognized token (a real English one about 1.3).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, repoRoot, startServer } from './harness.mjs';

const TURNS = Number(process.env.SOTTO_BENCH_TURNS ?? 1);
const models = join(repoRoot, 'models/bench');
const catalog = JSON.parse(readFileSync(join(models, 'local-catalog.json'), 'utf8'));
const asr = catalog.models.find((m) => m.id === 'whisper-tiny');
const llm = catalog.models.find((m) => m.id === 'smollm2-360m');
if (!asr || !llm) throw new Error('models/bench lacks whisper-tiny or smollm2-360m: run `cargo xtask bench-latency`');

const dir = mkdtempSync(join(tmpdir(), 'sotto-bench-'));
const speech = join(dir, 'speech.wav');
execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', join(dir, 'raw.wav'), 'What is two plus two?']);
// Long pauses between the looped utterances, so each reply finishes before the next turn: the
// 48-token reply of random weights is spoken for about 20 s.
execFileSync('sox', ['-D', join(dir, 'raw.wav'), '-r', '48000', '-c', '1', '-b', '16', speech, 'pad', '1.0', '28.0']);

const server = await startServer({ models });

/** One page session: loads the models, hears TURNS looped utterances, returns what it measured. */
async function measure(query) {
  const browser = await openBrowser({
    extraFlags: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${speech}${TURNS === 1 ? '%noloop' : ''}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const { page } = browser;
  const loadStart = Date.now();
  await page.goto(`${server.origin}/?manual${query}`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  const loadMs = await page.evaluate(async ([asrId, llmId]) => {
    const started = performance.now();
    await window.sotto.configure({ recognition: { maxTokens: 7 }, generation: { maxTokens: 48 }, bargeIn: false });
    await window.sotto.load('asr', asrId);
    await window.sotto.load('llm', llmId);
    window.latencies = [];
    window.texts = [];
    window.sotto.on('latency', (l) => window.latencies.push(l));
    window.sotto.on('partial', (e) => window.texts.push({ turn: e.turn, partial: e.text, at: Math.round(performance.now()) }));
    window.sotto.on('transcript', (e) => window.texts.push({ turn: e.turn, transcript: e.text, at: Math.round(performance.now()) }));
    window.sotto.on('audio', (e) => window.texts.push({ turn: e.turn, firstChunk: e.text }));
    return performance.now() - started;
  }, [asr.id, llm.id]);
  await page.evaluate(() => window.sotto.start());
  await page.waitForFunction((n) => window.latencies.length >= n, TURNS, { timeout: 300_000 * TURNS, polling: 200 });
  const latencies = await page.evaluate(() => window.latencies);
  // What was heard and the first chunk spoken (random weights: gibberish, but its length matters).
  const texts = await page.evaluate(() => window.texts);
  const engine = await page.evaluate(() => window.sotto.engine);
  await browser.close();
  return { engine, loadMs, pageToFirstTurnMs: Date.now() - loadStart, latencies, texts };
}

// The reference, in the same run: the single-threaded build (`?threads=0`), then the default
// (the threaded build, as the served demo is cross-origin isolated).
const single = await measure('&threads=0');
const threaded = await measure('');
server.stop();

const stage = (l) => ({
  endpointMs: l.endpoint - l.speechEnd,
  transcribeMs: l.transcript - l.endpoint,
  prefillFirstTokenMs: l.firstToken - l.transcript,
  firstChunkAudioMs: l.firstAudio - l.firstToken,
  speechEndToFirstAudioMs: l.firstAudio - l.speechEnd,
  endpointToFirstAudioMs: l.firstAudio - l.endpoint,
});
const firstTurnTexts = (texts) => {
  const ofTurn = texts.filter((t) => t.turn === texts[0]?.turn);
  return [...ofTurn.filter((t) => !('firstChunk' in t)), ...ofTurn.filter((t) => 'firstChunk' in t).slice(0, 1)];
};
const summarize = (run) => {
  const turns = run.latencies.map(stage);
  const median = (key) => {
    const values = turns.map((t) => t[key]).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  };
  return {
    threads: run.engine.threads,
    build: run.engine.build,
    modelLoadMs: Math.round(run.loadMs),
    pageToFirstTurnMs: run.pageToFirstTurnMs,
    turns: turns.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]))),
    median: Object.fromEntries(Object.keys(turns[0]).map((k) => [k, Math.round(median(k))])),
    // The first turn's partials and transcript, and its first spoken chunk (every chunk of every
    // turn is recorded; the first four entries were all partials, so no chunk was ever shown).
    texts: firstTurnTexts(run.texts),
  };
};
const reference = summarize(single);
const result = summarize(threaded);
const wasm = join(repoRoot, 'dist/pkg/sotto_bg.wasm');
const wasmThreads = join(repoRoot, 'dist/pkg-threads/sotto_bg.wasm');
console.log(JSON.stringify({
  benchmark: 'end of speech to first reply audio, headless Chromium: the threaded build against the single-threaded one',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  build: { wasmBytes: statSync(wasm).size, wasmThreadsBytes: statSync(wasmThreads).size, simd: true },
  models: { asr: asr.id, llm: llm.id, recognizerMaxTokens: 7, replyMaxTokens: 48 },
  targetMs: 1000,
  speechEndToFirstAudioMs: result.median.speechEndToFirstAudioMs,
  singleThreadToThreadedRatio: Number((reference.median.speechEndToFirstAudioMs / result.median.speechEndToFirstAudioMs).toFixed(2)),
  threaded: result,
  singleThreaded: reference,
}, null, 2));
