// Shared pieces of the npm package tests: each folder of tests/npm/consumers/ is a real project
// (package.json and package-lock.json committed), assembled with the shared app into
// target/npm-consumers/<name>/; its registry packages come from `npm ci` (run again only when
// the lockfile changes) through npm's one cache, then the packed tarball is installed as a user
// would install it. Also: a throwaway project with the tarball installed (`projectWith`), the
// real models these tests need and the fake microphone's question.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The generated test models (`cargo xtask build` writes them). */
export const modelsDir = join(repoRoot, 'dist/models');
export const run = promisify(execFile);

/** The tarball `npm pack` wrote for the current package version. */
export async function tarball() {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'pkg-config/package.json'), 'utf8'));
  const path = join(repoRoot, `target/npm/sotto-${version}.tgz`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`cargo xtask package\` first`);
  return path;
}

export const consumersDir = join(repoRoot, 'tests/npm/consumers');
export const workDir = join(repoRoot, 'target/npm-consumers');
/** One npm cache for every project: npm's own (it outlives clones), or `$SOTTO_NPM_CACHE`. */
const cacheArgs = process.env.SOTTO_NPM_CACHE ? ['--cache', process.env.SOTTO_NPM_CACHE] : [];

const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', ...cacheArgs], { cwd, timeout: 600_000 });

/** The projects that are browser apps (the others are Node's and the typings'). */
const APPS = ['vite8', 'vite7', 'webpack', 'importmap'];
/** The projects Vite builds: Vite 7 and 8 take the same configuration, the README's. */
const VITE = ['vite8', 'vite7'];

/**
 * The project `name`, ready to build: its files, for an app the shared app's (`app/main.js`, and
 * `app/index.html` unless it has its own; for a Vite project `app/vite.config.js`), its locked
 * registry packages and `sotto` from the tarball. Resolves with its folder.
 */
export async function prepareProject(name) {
  const dir = join(workDir, name);
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'dist'), { recursive: true, force: true });
  await cp(join(consumersDir, name), dir, { recursive: true });
  if (APPS.includes(name)) {
    await cp(join(consumersDir, 'app/main.js'), join(dir, 'main.js'));
    if (!existsSync(join(consumersDir, name, 'index.html'))) await cp(join(consumersDir, 'app/index.html'), join(dir, 'index.html'));
    if (VITE.includes(name)) await cp(join(consumersDir, 'app/vite.config.js'), join(dir, 'vite.config.js'));
  }
  const lock = await readFile(join(dir, 'package-lock.json'), 'utf8');
  const stamp = join(dir, 'node_modules/.sotto-installed-lock');
  if ((await readFile(stamp, 'utf8').catch(() => null)) !== lock) {
    await npm(['ci', '--prefer-offline'], dir);
    // A project with no registry packages (Node's) gets no node_modules from `npm ci`.
    await mkdir(join(dir, 'node_modules'), { recursive: true });
    await writeFile(stamp, lock);
  }
  await npm(['install', '--no-save', '--offline', await tarball()], dir);
  return dir;
}

/** A fresh project folder with `sotto` (and `extra` packages) installed from npm's cache or registry. */
export async function projectWith(extra = [], packageJson = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sotto-npm-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', ...packageJson }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', await tarball(), ...extra], { cwd: dir, timeout: 300_000 });
  return dir;
}

/** Runs a project's npm script (`build`), failing with its output. */
export async function npmRun(dir, script) {
  try {
    await npm(['run', script], dir);
  } catch (err) {
    throw new Error(`npm run ${script} in ${dir} failed:\n${err.stdout}${err.stderr}`);
  }
}

/** Bytes (raw and gzip) of a build's output by kind (`js`, `wasm`, other), and the file count. */
export async function buildSizes(dist) {
  const sizes = { files: 0, js: 0, jsGzip: 0, wasm: 0, other: 0 };
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      sizes.files++;
      const { size } = await stat(path);
      if (/\.m?js$/.test(entry.name)) {
        sizes.js += size;
        sizes.jsGzip += gzipSync(await readFile(path)).length;
      } else if (entry.name.endsWith('.wasm')) sizes.wasm += size;
      else sizes.other += size;
    }
  };
  await walk(dist);
  return sizes;
}

/** The real models of `models/real/` these tests load, by URL path under that folder. */
export const REAL = {
  folder: join(repoRoot, 'models/real'),
  asr: 'whisper-tiny.en/model-q8_0.gguf',
  // A chat model other than the default (a requantized copy, say): SOTTO_TEST_LLM=FILE.gguf.
  llm: 'smollm2-135m-instruct-q4_1.gguf',
  llmFile: process.env.SOTTO_TEST_LLM ?? null,
};

/**
 * Checks that the real models exist; throws, naming the command that makes them, when they do
 * not: a test on real weights never skips.
 */
export function requireRealModels() {
  const needed = [REAL.asr, 'whisper-tiny.en/config.json', 'whisper-tiny.en/tokenizer.json', ...(REAL.llmFile ? [] : [REAL.llm])];
  const missing = needed.filter((file) => !existsSync(join(REAL.folder, file)));
  if (REAL.llmFile && !existsSync(REAL.llmFile)) missing.push(REAL.llmFile);
  if (missing.length) {
    throw new Error(`the real models are missing (${missing.map((f) => `models/real/${f}`).join(', ')}): make them with \`cargo xtask real-models\``);
  }
}

/** Server mounts of the real models: `<prefix>whisper-tiny.en/...` and `<prefix><llm file>`. */
export function realModelMounts(prefix) {
  return {
    [`${prefix}whisper-tiny.en/`]: join(REAL.folder, 'whisper-tiny.en'),
    [`${prefix}${REAL.llm}`]: REAL.llmFile ?? join(REAL.folder, REAL.llm),
  };
}

/** The question the fake microphone asks, and a typed one, with words their answers contain. */
export const QUESTION = { spoken: 'What is the capital of France?', typed: 'What color is the sky on a clear day?' };

/** `QUESTION.spoken` by espeak-ng: 48 kHz mono WAV, a second of silence before and 3 s after. */
export async function questionWav() {
  const dir = await mkdtemp(join(tmpdir(), 'sotto-question-'));
  const raw = join(dir, 'raw.wav');
  const out = join(dir, 'question.wav');
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, QUESTION.spoken]);
  execFileSync('sox', ['-D', raw, '-r', '48000', '-c', '1', '-b', '16', out, 'pad', '1.0', '3.0']);
  return out;
}

/** Lowercase words without punctuation. */
export const words = (text) => text.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
