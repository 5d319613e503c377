// Shared pieces of the browser tests: a `sotto serve` on a free 127.0.0.1 port and Debian's
// headless Chromium with a fresh profile, watching for console errors and off-machine requests,
// optionally with a fake microphone playing a WAV file.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const CHROMIUM = process.env.SOTTO_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** Starts `sotto serve` on a free port; resolves once it answers. */
export async function startServer({ root = join(repoRoot, 'dist'), models } = {}) {
  const port = await freePort();
  const args = ['serve', '--root', root, '--port', String(port)];
  if (models) args.push('--models', models);
  const child = spawn(join(repoRoot, 'target/release/sotto'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`sotto serve exited: ${output}`);
    try {
      await fetch(`${origin}/`);
      return { origin, port, stop: () => child.kill(), output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error(`sotto serve did not answer on ${origin}: ${output}`);
}

/**
 * Launches headless Chromium with a fresh profile and opens a page that records console errors,
 * page errors and every request that is not to 127.0.0.1 (nothing may leave the machine).
 */
export async function openBrowser({ extraFlags = [] } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'sotto-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = { consoleErrors: [], pageErrors: [], offMachineRequests: [] };
  const watch = (target) => {
    target.on('console', (message) => {
      if (message.type() === 'error') problems.consoleErrors.push(message.text());
    });
  };
  watch(page);
  page.on('worker', watch);
  page.on('pageerror', (error) => problems.pageErrors.push(String(error)));
  context.on('request', (request) => {
    const url = new URL(request.url());
    const local = url.hostname === '127.0.0.1' || ['data:', 'blob:'].includes(url.protocol);
    if (!local) problems.offMachineRequests.push(request.url());
  });
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * `openBrowser` with a fake microphone, granted without a prompt, that plays the WAV file at
 * `wav` once (`loop`: over and over), and audio that plays without a user gesture.
 */
export function openBrowserWithMicrophone(wav, { loop = false } = {}) {
  return openBrowser({
    extraFlags: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}${loop ? '' : '%noloop'}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** "What is two plus two?" by espeak-ng, 48 kHz mono, with a second of silence before and 2.5 s after. */
export function twoPlusTwoWav() {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-speech-'));
  const raw = join(dir, 'raw.wav');
  const out = join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', raw, 'What is two plus two?']);
  execFileSync('sox', ['-D', raw, '-r', '48000', '-c', '1', '-b', '16', out, 'pad', '1.0', '2.5']);
  return out;
}

/**
 * Opens `url` in `page`, trying once more if the page does not finish loading: a fresh headless
 * Chromium sometimes leaves one of the page's module scripts pending forever (seen in about one
 * load in ten on this 2-core machine under load, with no server error; not understood yet, see
 * issue 23's closing note). The second try is logged, so that it stays visible.
 */
export async function loadPage(page, url, { timeout = 45_000 } = {}) {
  try {
    await page.goto(url, { timeout });
  } catch (err) {
    if (err.name !== 'TimeoutError') throw err;
    console.log(`loading ${url} stalled (${err.message.split('\n')[0]}); loading it again`);
    await page.goto(url, { timeout });
  }
}

/**
 * The events a test page recorded (`window.recorded`) and a `waitFor(predicate, what, arg,
 * timeout)` that polls `predicate` in the page and, when it times out, says what it waited for
 * and the events seen: each as `describe` formats it (an empty text leaves it out), then what
 * `details()` adds. `page()` gives the page (the browser opens in `before`).
 */
export function eventLog(page, { timeout = 90_000, polling = 100, describe = (e) => e.type, details = async () => '' } = {}) {
  const events = () => page().evaluate(() => window.recorded);
  const waitFor = (predicate, what, arg, wait = timeout) =>
    page().waitForFunction(predicate, arg, { timeout: wait, polling }).catch(async () => {
      const seen = (await events()).map(describe).filter(Boolean).join(' ');
      throw new Error(`timed out waiting for ${what}; events: ${seen}${await details()}`);
    });
  return { events, waitFor };
}
