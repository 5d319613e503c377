// The browser and Node code (www/*.js) passes `tsc --checkJs --noEmit` in each environment it runs
// in (tests/npm/checkjs/tsconfig.*.json: the page, the workers, the worklets, Node), with the
// worker protocol's JSDoc types (www/protocol.js) on its senders and receivers, so a misspelt
// message field fails (proved here on a copy with misspellings); the package's typings
// (pkg-config/) agree with the protocol on error codes, event names and event payloads. The
// compiler is the `types` consumer project's (tests/npm/consumers/types/), as types.test.mjs's;
// the wasm engine's typings come from dist/pkg (`cargo xtask build`).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { prepareProject, repoRoot, run } from './consumer.mjs';

const CONFIGS = join(repoRoot, 'tests/npm/checkjs');
const PROJECTS = ['page', 'worker', 'worklet', 'node', 'typings'];

let tscPath;
/** Each project's tsc run: `{report, files}` (its diagnostics, '' when it passed; the files it read). */
const runs = {};
before(async () => {
  assert.ok(existsSync(join(repoRoot, 'dist/pkg/sotto.d.ts')), 'dist/pkg/sotto.d.ts is missing: run `cargo xtask build` first');
  const project = await prepareProject('types'); // also brings @types/node, which the Node project reads
  tscPath = join(project, 'node_modules/.bin/tsc');
  for (const name of PROJECTS) {
    const lines = (await tsc(name, CONFIGS, ['--listFiles'])).split('\n');
    // --listFiles prints the absolute paths of the files read after the diagnostics.
    const files = lines.filter((line) => line.startsWith('/'));
    runs[name] = { report: lines.filter((line) => line && !line.startsWith('/')).join('\n'), files: files.map((f) => relative(repoRoot, f)) };
  }
});

/** Runs tsc on project `name` of `configs`; resolves with its report ('' when it passed). */
const tsc = (name, configs = CONFIGS, extra = []) =>
  run(tscPath, ['-p', join(configs, `tsconfig.${name}.json`), '--pretty', 'false', ...extra], { cwd: repoRoot, timeout: 180_000 })
    .then(({ stdout }) => stdout, (err) => err.stdout || err.stderr || String(err));

for (const name of PROJECTS) {
  test(`checkjs: the ${name} project passes tsc --checkJs --noEmit`, async () => {
    assert.equal(runs[name].report, '', `tsc reported:\n${runs[name].report}`);
  });
}

test('checkjs: every www/*.js is in a checked project', async () => {
  const checked = new Set(PROJECTS.flatMap((name) => runs[name].files));
  const scripts = (await readdir(join(repoRoot, 'www'))).filter((n) => n.endsWith('.js')).map((n) => `www/${n}`);
  assert.ok(scripts.length >= 20, scripts.join(', '));
  assert.deepEqual(scripts.filter((s) => !checked.has(s)), [], 'www files no project checks');
});

// Misspellings in a copy of www/: a request's payload, an event's field, a worklet's report and
// a worker message, at senders and receivers. Each must fail tsc at its line.
const MISSPELT = [
  { file: 'audio-io.js', from: 'sampleRate: context.sampleRate }', to: 'sampleRat: context.sampleRate }', project: 'page' },
  { file: 'sotto.js', from: 'event.type === EVENT.REPLY ? event.text : event.spoken', to: 'event.type === EVENT.REPLY ? event.txt : event.spoken', project: 'page' },
  { file: 'engine-worker.js', from: 'interrupted: message.interrupted', to: 'interrupted: message.interupted', project: 'worker' },
  { file: 'engine-worker.js', from: 'post({ type: FROM_WORKER.LEVEL, db:', to: 'post({ type: FROM_WORKER.LEVEL, dB:', project: 'worker' },
  { file: 'engine-worker.js', from: "'playback-port': async ({ port, sampleRate })", to: "'playback-port': async ({ port, sampleRat })", project: 'worker' },
  { file: 'engine-recovery.js', from: 'type: EVENT.RECOVERED, message, panic', to: 'type: EVENT.RECOVERED, mesage: message, panic', project: 'worker' },
  { file: 'playback-worklet.js', from: 'rendered: this.rendered, at: this.playedUntil', to: 'renderd: this.rendered, at: this.playedUntil', project: 'worklet' },
  { file: 'capture-worklet.js', from: "{ type: 'audio', samples, channels: this.channels, at }", to: "{ type: 'audio', samples, channel: this.channels, at }", project: 'worklet' },
  { file: 'engine-worker.js', from: 'pushCapture(frame.samples, frame.channels,', to: 'pushCapture(frame.samples, frame.channel,', project: 'worker' },
];

test('checkjs: a misspelt message field or type fails tsc, at senders and receivers', async () => {
  // A copy of the repository's layout (www/ copied; dist/, pkg-config/, target/ linked), so the
  // projects' relative paths hold.
  const root = join(repoRoot, 'target/checkjs-misspelt');
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, 'tests/npm'), { recursive: true });
  await cp(join(repoRoot, 'www'), join(root, 'www'), { recursive: true });
  await cp(CONFIGS, join(root, 'tests/npm/checkjs'), { recursive: true });
  for (const linked of ['dist', 'pkg-config', 'target']) await symlink(join(repoRoot, linked), join(root, linked));
  const lines = new Map();
  for (const { file, from, to } of MISSPELT) {
    const path = join(root, 'www', file);
    const text = await readFile(path, 'utf8');
    assert.equal(text.split(from).length, 2, `${file} has \`${from}\` once`);
    await writeFile(path, text.replace(from, to));
    lines.set(`${file}|${to}`, text.slice(0, text.indexOf(from)).split('\n').length);
  }
  const reports = {};
  for (const project of new Set(MISSPELT.map((m) => m.project))) reports[project] = await tsc(project, join(root, 'tests/npm/checkjs'));
  for (const { file, to, project } of MISSPELT) {
    const line = lines.get(`${file}|${to}`);
    assert.match(reports[project], new RegExp(`www/${file.replace('.', '\\.')}\\(${line},\\d+\\): error TS`), `\`${to}\` (${file}:${line}) must fail:\n${reports[project]}`);
  }
  await rm(root, { recursive: true, force: true });
});

test("checkjs: the typings' error codes and event names are the protocol's", async () => {
  const protocol = await import(pathToFileURL(join(repoRoot, 'www/protocol.js')).href);
  const common = await readFile(join(repoRoot, 'pkg-config/common.d.ts'), 'utf8');
  const from = common.indexOf('export type SottoErrorCode =');
  const union = common.slice(from, common.indexOf('\n\n', from));
  const codes = [...union.matchAll(/\| '([a-z-]+)'/g)].map((m) => m[1]);
  assert.deepEqual(codes, [...protocol.ERROR_CODES], 'SottoErrorCode (common.d.ts) lists ERROR_CODES (protocol.js), in order');
  const index = await readFile(join(repoRoot, 'pkg-config/index.d.ts'), 'utf8');
  const start = index.indexOf('export interface SottoEventMap {');
  const map = index.slice(start, index.indexOf('\n}', start));
  const names = [...map.matchAll(/^ {2}'?([a-z-]+)'?:/gm)].map((m) => m[1]);
  const { LEVEL, PLAYBACK, PROGRESS } = protocol.FROM_WORKER;
  assert.deepEqual(names.sort(), [...Object.values(protocol.EVENT), LEVEL, PLAYBACK, PROGRESS].sort(), "SottoEventMap's keys (index.d.ts)");
});
