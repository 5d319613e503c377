// Benchmark (not a test): the conversation loop's latency in headless Chromium, on the audio
// clocks: from the end of speech (the last voiced frame's capture time) to the end of turn, the
// transcript, the first token, the first chunk of speech synthesized and the first audio
// sounding (the playback worklet's first non-silent sample), and barge-in, from the onset of the
// voice that talks over a reply to the reply's last rendered sample. p50 and p90 per stage, for
// the single-threaded build (`?threads=0`) and the threaded one in the same run. Prints JSON.
//
//   cargo xtask bench-latency      (builds dist/, writes models/bench, runs this)
//
// Two model sets: `real`, Whisper tiny.en q8_0 and SmolLM2-135M-Instruct Q4_1 from models/real
// (`cargo xtask real-models`), with the settings a user gets; and `random-360m`, random weights in
// the shapes of whisper-tiny and SmolLM2-360M q8_0 (models/bench), the default size, whose
// recognizer and replies are capped (random weights never say "end of text"). The microphone is a
// file of twelve questions spoken by flite; every other question comes soon after the one before
// and talks over its reply. `SOTTO_BENCH_SETS=real` or `random-360m` runs one set.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { openBrowserWithMicrophone, repoRoot, startServer, loadPage } from './harness.mjs';
import { REAL, realModelsFolder, speechWav, wer } from './real-models.mjs';

const QUESTIONS = [
  'What is the capital of France?',
  'How many legs does a spider have?',
  'Who wrote Romeo and Juliet?',
  'What color is the sky on a clear day?',
  'What is the largest planet in our solar system?',
  'What do bees make?',
  'Which language do people speak in Brazil?',
  'How many days are there in a week?',
  'What is the boiling point of water?',
  'Name a fruit that is yellow.',
  'What animal is known as the king of the jungle?',
  'Where is the Eiffel Tower?',
];
// After a question the user waits for the answer; after every other one the next comes soon,
// talking over the reply (a barge-in).
const WAIT_S = 12;
const TALK_OVER_S = 2.0;

const SETS = {
  real: { models: () => realModelsFolder(), asr: REAL.asr, llm: REAL.llm, settings: {} },
  'random-360m': {
    models: () => join(repoRoot, 'models/bench'),
    asr: 'whisper-tiny',
    llm: 'smollm2-360m',
    // A trained Whisper spends about 10 tokens on these questions; the replies are capped so
    // that the random model's text, which never ends, still leaves pauses.
    settings: { recognition: { maxTokens: 12 }, generation: { maxTokens: 48 } },
  },
};
const chosen = (process.env.SOTTO_BENCH_SETS ?? 'real,random-360m').split(',').map((s) => s.trim());

const parts = [{ silence: 1.0 }];
QUESTIONS.forEach((say, i) => parts.push({ say }, { silence: i % 2 === 0 ? WAIT_S : TALK_OVER_S }));
parts.push({ silence: 15 });
const speech = speechWav(parts);

/** One page session: loads the models, listens to the whole file, returns the records. */
async function measure(server, set, query) {
  const browser = await openBrowserWithMicrophone(speech.path);
  const { page } = browser;
  await loadPage(page, `${server.origin}/?manual${query}`);
  await page.waitForFunction(() => window.sotto, undefined, { timeout: 60_000 });
  const loadMs = await page.evaluate(async ({ asr, llm, settings }) => {
    const started = performance.now();
    await window.sotto.configure(settings);
    await window.sotto.load('asr', asr);
    await window.sotto.load('llm', llm);
    window.records = {};
    window.transcripts = [];
    window.firstChunks = {};
    window.sotto.on('latency', (record) => (window.records[record.turn] = record));
    window.sotto.on('transcript', (e) => window.transcripts.push({ turn: e.turn, text: e.text }));
    window.sotto.on('audio', (e) => e.index === 0 && (window.firstChunks[e.turn] = e.text));
    return performance.now() - started;
  }, { asr: set.asr, llm: set.llm, settings: set.settings });
  const started = Date.now();
  await page.evaluate(() => window.sotto.start());
  // The whole file, then the last reply.
  await page.waitForTimeout(speech.seconds * 1000);
  await page.waitForFunction(() => window.transcripts.length === 0
    || window.records[window.transcripts.at(-1).turn]?.firstAudio != null, undefined, { timeout: 120_000, polling: 500 })
    .catch(() => {});
  const result = await page.evaluate(() => ({
    records: Object.values(window.records),
    transcripts: window.transcripts,
    firstChunks: window.firstChunks,
    engine: window.sotto.engine,
  }));
  const problems = browser.problems;
  await browser.close();
  return { ...result, loadMs, listenedMs: Date.now() - started, consoleErrors: problems.consoleErrors };
}

/** Nearest-rank percentile. */
function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

const STAGES = {
  endOfTurn: (r) => r.endpoint - r.speechEnd,
  transcript: (r) => r.transcript - r.endpoint,
  firstToken: (r) => r.firstToken - r.transcript,
  voiceReady: (r) => r.firstChunk - r.firstToken,
  sounding: (r) => r.firstAudio - r.firstChunk,
  speechEndToFirstAudio: (r) => r.firstAudio - r.speechEnd,
};

function summarize(run, set) {
  const answered = run.records.filter((r) => r.firstAudio != null && r.speechEnd != null);
  const stages = {};
  for (const [name, of] of Object.entries(STAGES)) {
    const values = answered.map(of).filter(Number.isFinite);
    stages[name] = { p50: percentile(values, 50), p90: percentile(values, 90), n: values.length };
  }
  const bargeIns = run.records.filter((r) => r.playbackStop != null && r.interruptOnset != null)
    .map((r) => r.playbackStop - r.interruptOnset);
  const speculated = answered.filter((r) => r.speculations > 0);
  const prompts = answered.map((r) => r.prompt).filter(Boolean);
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const fresh = sum(prompts.map((p) => p.ids - p.cached));
  const turns = answered.map((r) => ({
    turn: r.turn,
    ...Object.fromEntries(Object.entries(STAGES).map(([name, of]) => [name, Math.round(of(r))])),
    ...(r.playbackStop != null ? { bargeIn: Math.round(r.playbackStop - r.interruptOnset) } : {}),
    speculations: r.speculations,
    speculativeFinal: r.speculativeFinal,
    tokensAhead: r.tokensAhead,
    prompt: r.prompt,
    firstChunk: run.firstChunks[r.turn],
  }));
  const summary = {
    build: run.engine.build,
    threads: run.engine.threads,
    modelLoadMs: Math.round(run.loadMs),
    turnsAnswered: answered.length,
    stagesMs: stages,
    bargeInMs: { p50: percentile(bargeIns, 50), p90: percentile(bargeIns, 90), n: bargeIns.length, values: bargeIns.map(Math.round) },
    // A speculative final transcript is right when the user said nothing more before the end
    // of the turn; the read-ahead is the share of the prompt's new ids computed before the reply
    // began (from the partial transcripts, the speculative final and the warm-up), and the
    // waste, ids computed for words that were not said.
    speculation: {
      turnsWithSpeculation: speculated.length,
      finalsFromSpeculation: answered.filter((r) => r.speculativeFinal).length,
      speculationsMade: sum(answered.map((r) => r.speculations)),
      rightRate: speculated.length ? Number((answered.filter((r) => r.speculativeFinal).length / sum(answered.map((r) => r.speculations))).toFixed(2)) : null,
      // Replies generated ahead from the speculative final that went out at the end of the turn.
      repliesAhead: answered.filter((r) => r.tokensAhead > 0).length,
    },
    readAhead: {
      newIds: fresh,
      readAheadIds: sum(prompts.map((p) => p.readAhead)),
      share: fresh ? Number((sum(prompts.map((p) => p.readAhead)) / fresh).toFixed(2)) : null,
      wastedIds: sum(prompts.map((p) => p.computed - (p.ids - p.cached))),
    },
    consoleErrors: run.consoleErrors,
    turns,
  };
  if (set === 'real') {
    const errors = run.transcripts.map((t, i) => ({ question: QUESTIONS[i], heard: t.text, wer: QUESTIONS[i] ? Number(wer(QUESTIONS[i], t.text).toFixed(2)) : null }));
    summary.transcripts = errors;
  }
  return summary;
}

const report = {
  benchmark: 'conversation latency on the audio clocks, headless Chromium: end of speech to first audio sounding, per stage, and barge-in',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  build: {
    wasmBytes: statSync(join(repoRoot, 'dist/pkg/sotto_bg.wasm')).size,
    wasmThreadsBytes: statSync(join(repoRoot, 'dist/pkg-threads/sotto_bg.wasm')).size,
  },
  script: { questions: QUESTIONS.length, waitS: WAIT_S, talkOverS: TALK_OVER_S, fileSeconds: Math.round(speech.seconds) },
  targetsMs: { threadedP50: 600, singleP50: 800, p90: 1000, bargeInP90: 200 },
  sets: {},
};
for (const name of chosen) {
  const set = SETS[name];
  if (!set) throw new Error(`unknown set ${name}: ${Object.keys(SETS).join(', ')}`);
  const server = await startServer({ models: set.models() });
  try {
    const single = summarize(await measure(server, set, '&threads=0'), name);
    const threaded = summarize(await measure(server, set, ''), name);
    report.sets[name] = { asr: set.asr, llm: set.llm, settings: set.settings, singleThreaded: single, threaded };
  } finally {
    server.stop();
  }
}
console.log(JSON.stringify(report, null, 2));
