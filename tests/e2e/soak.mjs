// Soak benchmark (not a test; it takes half an hour): a long spoken conversation in headless
// Chromium with the real models (Whisper tiny.en q8_0, SmolLM2-135M-Instruct Q4_1 from
// models/real), the fake microphone looping ten questions. Per turn it keeps the latency record
// (end of speech to first audio sounding) and the engine's wasm memory; it prints JSON with the
// curve (every 10th turn), the memory after turn 20 and after the last, and the p90 latency of
// turns 20-70 against the last 50, with the checks issue 23 sets (memory within 5%, p90 within
// 10%), and any console error. Run after `cargo xtask build` and `cargo xtask real-models`:
//
//   SOTTO_SOAK_TURNS=200 node tests/e2e/soak.mjs      (?threads=0 with SOTTO_SOAK_THREADS=0)
import { cpus } from 'node:os';
import { openBrowserWithMicrophone, startServer, loadPage } from './harness.mjs';
import { REAL, realModelsFolder, speechWav } from './real-models.mjs';

const TURNS = Number(process.env.SOTTO_SOAK_TURNS ?? 200);
const QUESTIONS = [
  'What is the capital of France?',
  'How many legs does a spider have?',
  'What color is the sky?',
  'What do bees make?',
  'How many days are in a week?',
  'Name a fruit that is yellow.',
  'Where is the Eiffel Tower?',
  'What is the largest planet?',
  'Which language do people speak in Brazil?',
  'Who wrote Romeo and Juliet?',
];
// Enough for a two-sentence spoken reply to finish before the next question.
const WAIT_S = Number(process.env.SOTTO_SOAK_WAIT_S ?? 7);

const parts = [{ silence: 1.0 }];
for (const say of QUESTIONS) parts.push({ say }, { silence: WAIT_S });
const speech = speechWav(parts, 'soak.wav');

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

const server = await startServer({ models: realModelsFolder() });
const browser = await openBrowserWithMicrophone(speech.path, { loop: true });
const started = Date.now();
let result;
try {
  const { page } = browser;
  const threads = process.env.SOTTO_SOAK_THREADS === '0' ? '&threads=0' : '';
  await loadPage(page, `${server.origin}/?manual${threads}`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  await page.evaluate(async ({ asr, llm }) => {
    await window.sotto.load('asr', asr);
    await window.sotto.load('llm', llm);
    window.records = {};
    window.errors = [];
    window.transcripts = 0;
    window.sotto.on('latency', (record) => (window.records[record.turn] = record));
    window.sotto.on('transcript', () => (window.transcripts += 1));
    window.sotto.on('error', (e) => window.errors.push(`${e.stage ?? ''} ${e.code ?? ''} ${e.message}`));
    await window.sotto.start();
  }, REAL);
  const turnSeconds = speech.seconds / QUESTIONS.length;
  await page.waitForFunction((turns) => Object.values(window.records).filter((r) => r.firstAudio != null).length >= turns,
    TURNS, { timeout: (TURNS * turnSeconds + 120) * 1000, polling: 1000 });
  result = await page.evaluate(() => ({ records: Object.values(window.records), errors: window.errors, transcripts: window.transcripts, engine: window.sotto.engine }));
} finally {
  await browser.close();
  server.stop();
}

const answered = result.records.filter((r) => r.firstAudio != null && r.speechEnd != null).sort((a, b) => a.turn - b.turn);
const latency = (r) => r.firstAudio - r.speechEnd;
const at = (n) => answered[Math.min(n, answered.length) - 1];
const memoryAt20 = at(20).wasmMemoryBytes;
const memoryAtEnd = at(TURNS).wasmMemoryBytes;
const early = answered.slice(19, 70).map(latency);
const late = answered.slice(-50).map(latency);
const report = {
  benchmark: 'soak: a long spoken conversation on the real models, headless Chromium',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  engine: result.engine,
  turns: { asked: TURNS, answered: answered.length, transcripts: result.transcripts, minutes: Math.round((Date.now() - started) / 600) / 100 },
  memory: {
    afterTurn20: memoryAt20,
    afterLastTurn: memoryAtEnd,
    growth: Number((memoryAtEnd / memoryAt20 - 1).toFixed(4)),
    withinFivePercent: memoryAtEnd <= memoryAt20 * 1.05,
  },
  latencyMs: {
    turns20to70: { p50: percentile(early, 50), p90: percentile(early, 90), n: early.length },
    last50: { p50: percentile(late, 50), p90: percentile(late, 90), n: late.length },
    p90WithinTenPercent: percentile(late, 90) <= percentile(early, 90) * 1.1,
  },
  curve: answered.filter((r) => r.turn % 10 === 0 || r.turn === 1).map((r) => ({
    turn: r.turn,
    speechEndToFirstAudioMs: Math.round(latency(r)),
    promptIds: r.prompt?.ids ?? null,
    wasmMemoryMiB: Number((r.wasmMemoryBytes / 2 ** 20).toFixed(1)),
  })),
  errors: result.errors,
  consoleErrors: browser.problems.consoleErrors,
};
console.log(JSON.stringify(report, null, 2));
