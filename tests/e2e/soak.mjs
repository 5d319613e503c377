// Soak benchmark (not a test; it takes half an hour): 200 spoken turns on the real models in
// headless Chromium, with the settings a user gets (soak-run.mjs). Prints JSON with the curve
// (every 10th turn), the memory after turn 20 and after the last, and the p90 latency of turns
// 20-70 against the last 50, with the checks issue 23 sets (memory within 5%, p90 within 10%),
// and any console error. CI runs a shorter soak on a small budget (soak.test.mjs). Run after
// `cargo xtask build` and `cargo xtask real-models`:
//
//   SOTTO_SOAK_TURNS=200 node tests/e2e/soak.mjs      (?threads=0 with SOTTO_SOAK_THREADS=0)
import { runSoak, soakReport } from './soak-run.mjs';

const turns = Number(process.env.SOTTO_SOAK_TURNS ?? 200);
const run = await runSoak({
  turns,
  // Enough for a two-sentence spoken reply to finish before the next question.
  waitS: Number(process.env.SOTTO_SOAK_WAIT_S ?? 7),
  threads: process.env.SOTTO_SOAK_THREADS !== '0',
});
console.log(JSON.stringify({
  benchmark: 'soak: a long spoken conversation on the real models, headless Chromium',
  ...soakReport(run, { turns }),
}, null, 2));
