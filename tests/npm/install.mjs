// Shared piece of the npm package tests: a temp folder with the packed tarball installed, as a
// user's project would have it (`cargo xtask build` or `cargo xtask package` packs it).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const modelsDir = join(repoRoot, 'dist/models');
export const run = promisify(execFile);

/** The tarball `npm pack` wrote for the current package version. */
export async function tarball() {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'pkg-config/package.json'), 'utf8'));
  const path = join(repoRoot, `target/npm/sotto-${version}.tgz`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`cargo xtask package\` first`);
  return path;
}

/** A fresh project folder with `sotto` (and `extra` packages) installed from npm's cache or registry. */
export async function projectWith(extra = [], packageJson = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sotto-npm-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', ...packageJson }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', await tarball(), ...extra], { cwd: dir, timeout: 300_000 });
  return dir;
}
