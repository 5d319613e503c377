// The soak in CI (issue 23): 30 spoken turns on the real models in headless Chromium with a
// conversation budget of 256 ids, the smallest allowed, so that the oldest exchanges are dropped
// every few turns, as they are every few dozen turns under the default budget in the half-hour
// 200-turn benchmark (soak.mjs). Memory after the last turn within 5% of turn 10, every turn
// answered, no error, the prompt within the budget, and after each question only its own ids
// left to read (the drops and re-reads happen while the user is silent). Latency is printed, not
// asserted: ten turns on a shared machine make a p90 too noisy to hold to 10%.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak, soakReport } from './soak-run.mjs';

const TURNS = 30;
const BUDGET = 256;
// The longest question of the loop is 12 ids, with the template's turn markers about 20; a turn
// whose re-read after a drop fell after the user's speech would read the whole kept part.
const IDS_AFTER_SPEECH = 40;

test('a 30-turn spoken soak on the real models keeps memory flat and the prompt within its budget', { timeout: 15 * 60_000 }, async () => {
  const run = await runSoak({ turns: TURNS, waitS: 6, settings: { generation: { conversationTokens: BUDGET } } });
  const report = soakReport(run, { turns: TURNS, from: 10, every: 5 });
  console.log(JSON.stringify(report));
  assert.deepEqual(run.errors, []);
  assert.deepEqual(run.consoleErrors, []);
  assert.ok(run.answered.length >= TURNS, `${run.answered.length} of ${TURNS} turns answered`);
  assert.ok(report.memory.withinFivePercent, `wasm memory grew ${report.memory.growth * 100}% from turn 10 to ${TURNS}`);
  const prompts = run.answered.map((r) => r.prompt).filter(Boolean);
  assert.equal(prompts.length, run.answered.length, 'every answered turn has its prompt record');
  for (const [i, p] of prompts.entries()) assert.ok(p.ids <= BUDGET, `turn ${i + 1}: a prompt of ${p.ids} ids over the budget of ${BUDGET}`);
  const drops = prompts.filter((p, i) => i > 0 && p.ids < prompts[i - 1].ids).length;
  assert.ok(drops >= 3, `the budget dropped old exchanges ${drops} times in ${TURNS} turns`);
  const afterSpeech = prompts.slice(1).map((p) => p.ids - p.cached - p.readAhead);
  assert.ok(Math.max(...afterSpeech) <= IDS_AFTER_SPEECH, `ids read after the end of speech: ${afterSpeech.join(' ')}`);
});
