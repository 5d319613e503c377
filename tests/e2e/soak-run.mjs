// One soak run, shared by the half-hour benchmark (soak.mjs, 200 turns) and the CI test
// (soak.test.mjs, a shorter run on a small conversation budget): a long spoken conversation in
// headless Chromium with the real models (Whisper tiny.en q8_0, SmolLM2-135M-Instruct Q4_1 from
// models/real), the fake microphone looping ten questions. Per turn it keeps the latency record
// (end of speech to first audio sounding, the prompt's ids) and the engine's wasm memory.
import { cpus } from 'node:os';
import { openBrowserWithMicrophone, startServer, loadPage } from './harness.mjs';
import { REAL, realModelsFolder, speechWav } from './real-models.mjs';

export const QUESTIONS = [
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

/** Nearest-rank percentile. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

/** End of speech to first audio sounding, in ms. */
export const latency = (r) => r.firstAudio - r.speechEnd;

/**
 * Runs `turns` spoken turns (`waitS` seconds of silence after each question, enough for the
 * reply to finish) with `settings` applied first; `threads: false` runs the single-threaded
 * build. Returns the answered records in turn order, the errors, and the engine's facts.
 */
export async function runSoak({ turns, waitS = 7, settings = {}, threads = true }) {
  const parts = [{ silence: 1.0 }];
  for (const say of QUESTIONS) parts.push({ say }, { silence: waitS });
  const speech = speechWav(parts, `soak-${waitS}.wav`);
  const server = await startServer({ models: realModelsFolder() });
  const browser = await openBrowserWithMicrophone(speech.path, { loop: true });
  const started = Date.now();
  let result;
  try {
    const { page } = browser;
    await loadPage(page, `${server.origin}/?manual${threads ? '' : '&threads=0'}`);
    await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
    await page.evaluate(async ({ asr, llm, settings }) => {
      await window.sotto.configure(settings);
      await window.sotto.load('asr', asr);
      await window.sotto.load('llm', llm);
      window.records = {};
      window.errors = [];
      window.transcripts = 0;
      window.sotto.on('latency', (record) => (window.records[record.turn] = record));
      window.sotto.on('transcript', () => (window.transcripts += 1));
      window.sotto.on('error', (e) => window.errors.push(`${e.stage ?? ''} ${e.code ?? ''} ${e.message}`));
      await window.sotto.start();
    }, { ...REAL, settings });
    const turnSeconds = speech.seconds / QUESTIONS.length;
    await page.waitForFunction((turns) => Object.values(window.records).filter((r) => r.firstAudio != null).length >= turns,
      turns, { timeout: (turns * turnSeconds + 120) * 1000, polling: 1000 });
    result = await page.evaluate(() => ({ records: Object.values(window.records), errors: window.errors, transcripts: window.transcripts, engine: window.sotto.engine }));
  } finally {
    await browser.close();
    server.stop();
  }
  const answered = result.records.filter((r) => r.firstAudio != null && r.speechEnd != null).sort((a, b) => a.turn - b.turn);
  return {
    answered,
    errors: result.errors,
    transcripts: result.transcripts,
    engine: result.engine,
    consoleErrors: browser.problems.consoleErrors,
    minutes: Math.round((Date.now() - started) / 600) / 100,
  };
}

/**
 * The soak's figures: memory after turn `from` against the last turn (within 5%), the latency p90
 * of turns `from`..`from + 50` against the last 50 (within 10%), and the curve every `every` turns.
 */
export function soakReport(run, { turns, from = 20, every = 10 }) {
  const { answered } = run;
  const at = (n) => answered[Math.min(n, answered.length) - 1];
  const memoryAtFrom = at(from).wasmMemoryBytes;
  const memoryAtEnd = at(turns).wasmMemoryBytes;
  const early = answered.slice(from - 1, from + 50).map(latency);
  const late = answered.slice(-50).map(latency);
  return {
    machine: { cpu: cpus()[0]?.model, cores: cpus().length },
    engine: run.engine,
    turns: { asked: turns, answered: answered.length, transcripts: run.transcripts, minutes: run.minutes },
    memory: {
      [`afterTurn${from}`]: memoryAtFrom,
      afterLastTurn: memoryAtEnd,
      growth: Number((memoryAtEnd / memoryAtFrom - 1).toFixed(4)),
      withinFivePercent: memoryAtEnd <= memoryAtFrom * 1.05,
    },
    latencyMs: {
      [`turns${from}to${from + 50}`]: { p50: percentile(early, 50), p90: percentile(early, 90), n: early.length },
      last50: { p50: percentile(late, 50), p90: percentile(late, 90), n: late.length },
      p90WithinTenPercent: percentile(late, 90) <= percentile(early, 90) * 1.1,
    },
    curve: answered.filter((r) => r.turn % every === 0 || r.turn === 1).map((r) => ({
      turn: r.turn,
      speechEndToFirstAudioMs: Math.round(latency(r)),
      promptIds: r.prompt?.ids ?? null,
      wasmMemoryMiB: Number((r.wasmMemoryBytes / 2 ** 20).toFixed(1)),
    })),
    // The five slowest turns with their stages (ms from the previous mark), to tell a slow model
    // from a busy machine.
    slowest: [...answered].sort((a, b) => latency(b) - latency(a)).slice(0, 5).map((r) => ({
      turn: r.turn,
      speechEndToFirstAudioMs: Math.round(latency(r)),
      endOfTurn: Math.round(r.endpoint - r.speechEnd),
      transcript: Math.round(r.transcript - r.endpoint),
      firstToken: Math.round(r.firstToken - r.transcript),
      voiceReady: Math.round(r.firstChunk - r.firstToken),
      sounding: Math.round(r.firstAudio - r.firstChunk),
      speculativeFinal: r.speculativeFinal,
      tokensAhead: r.tokensAhead,
      prompt: r.prompt,
    })),
    errors: run.errors,
    consoleErrors: run.consoleErrors,
  };
}
