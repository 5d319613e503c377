// Shared pieces of the browser tests and the benchmark on the real models: the models folder the
// page loads them from, fake-microphone WAVs spoken by Debian's synthesizers, and the word error
// rate of a transcript.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './harness.mjs';

/** Catalog ids of the real models (as `sotto gen-models --real` lists them). */
export const REAL = { asr: 'real-whisper-tiny.en-q8_0', llm: 'real-smollm2-135m-instruct-q4_1' };

/**
 * A models folder for `sotto serve --models`: the real models of `models/real/` (linked) listed
 * as the local catalog's defaults, beside the generated test models. Throws, naming the command
 * that makes them, when the real models are missing: a test on real weights never skips.
 */
export function realModelsFolder() {
  const real = join(repoRoot, 'models/real');
  const needed = ['whisper-tiny.en/model-q8_0.gguf', 'whisper-tiny.en/config.json', 'whisper-tiny.en/tokenizer.json', 'smollm2-135m-instruct-q4_1.gguf'];
  const missing = needed.filter((file) => !existsSync(join(real, file)));
  if (missing.length) {
    throw new Error(`the real models are missing (${missing.map((f) => `models/real/${f}`).join(', ')}): make them with \`cargo xtask real-models\``);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sotto-real-models-'));
  execFileSync(join(repoRoot, 'target/release/sotto'), ['gen-models', '--out', dir, '--real', real], { stdio: 'ignore' });
  return dir;
}

/**
 * Renders `parts` into one 48 kHz mono 16-bit WAV for Chromium's fake microphone: `{say, voice}`
 * is a sentence spoken by flite (`voice`: one of its voices, default `slt`) or espeak-ng (`voice:
 * 'espeak:en-us'`); `{silence}` is that many seconds of digital zeros (as such files have).
 * Returns the path and where each spoken sentence starts and ends in the file, in seconds.
 */
export function speechWav(parts, name = 'speech.wav') {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-speech-'));
  const pieces = [];
  const spans = [];
  let at = 0;
  parts.forEach((part, i) => {
    const raw = join(dir, `raw-${i}.wav`);
    const piece = join(dir, `piece-${i}.wav`);
    if (part.say) {
      const voice = part.voice ?? 'slt';
      if (voice.startsWith('espeak:')) execFileSync('espeak-ng', ['-v', voice.slice(7), '-s', '150', '-w', raw, part.say]);
      else execFileSync('flite', ['-voice', voice, '-t', part.say, '-o', raw]);
      execFileSync('sox', ['-D', raw, '-r', '48000', '-c', '1', '-b', '16', piece]);
    } else {
      execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', piece, 'trim', '0', String(part.silence)]);
    }
    const seconds = Number(execFileSync('soxi', ['-D', piece]).toString().trim());
    if (part.say) spans.push({ text: part.say, start: at, end: at + seconds });
    at += seconds;
    pieces.push(piece);
  });
  const out = join(dir, name);
  execFileSync('sox', [...pieces, out]);
  writeFileSync(join(dir, 'spans.json'), JSON.stringify(spans, null, 2));
  return { path: out, spans, seconds: at };
}

/** Lowercase words without punctuation (enough for the plain sentences these tests speak). */
export function words(text) {
  return text.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').replace(/'(?![a-z])/g, ' ').split(/\s+/).filter(Boolean);
}

/** Word error rate of `hypothesis` against `reference`: word edits over reference words. */
export function wer(reference, hypothesis) {
  const ref = words(reference);
  const hyp = words(hypothesis);
  let previous = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[hyp.length] / Math.max(1, ref.length);
}
