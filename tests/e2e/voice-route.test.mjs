// The system-voice route without a browser: the page's SystemSpeaker (over a scripted
// speechSynthesis) and the worker's SystemVoiceRoute, wired as sotto.js and engine-worker.js wire
// them. Headless Chromium has no system voices, so the browser test covers only the fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SystemSpeaker } from '../../www/system-speaker.js';
import { SystemVoiceRoute } from '../../www/voice-route.js';

/** A speechSynthesis with one local English voice; `fail` names texts whose utterance errors. */
function scriptedSynth(fail = new Set()) {
  const spoken = [];
  const synth = {
    getVoices: () => [{ name: 'Local English', lang: 'en-US', localService: true, default: true }],
    speak(utterance) {
      spoken.push(utterance.text);
      queueMicrotask(() => {
        if (fail.has(utterance.text)) utterance.onerror?.({ error: 'synthesis-failed' });
        else {
          utterance.onstart?.();
          utterance.onend?.();
        }
      });
    },
    cancel() {},
  };
  return { synth, spoken };
}

globalThis.SpeechSynthesisUtterance ??= class {
  constructor(text) {
    this.text = text;
  }
};

/** The worker's side: each chunk's embedded samples (100 × (index + 1)), and what it was told. */
function worker() {
  const route = new SystemVoiceRoute();
  const progress = [];
  const played = [];
  return {
    route,
    progress,
    played,
    report(state, chunk, extra = {}) {
      if (state === 'end') progress.push({ turn: chunk.turn, heard: route.heardThrough(chunk.turn, chunk.index), ...extra });
      if (state === 'fallback') played.push(route.fallback(chunk.turn, chunk.index));
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test('chunks the system voice finished count as heard, in the embedded samples', async () => {
  const { synth, spoken } = scriptedSynth();
  const w = worker();
  const speaker = new SystemSpeaker({
    synth,
    fallback: (chunk) => w.report('fallback', chunk),
    onend: (chunk) => w.report('end', chunk, { idle: !speaker.speaking }),
  });
  assert.equal(await speaker.ready(), true);
  const texts = ['Hello there.', 'How are you', 'today?'];
  texts.forEach((text, index) => {
    w.route.add(3, index, new Float32Array(100 * (index + 1)), 24000);
    speaker.speak({ turn: 3, index, text });
  });
  await settle();
  assert.deepEqual(spoken, texts);
  assert.deepEqual(w.progress, [
    { turn: 3, heard: 100, idle: false },
    { turn: 3, heard: 300, idle: false },
    { turn: 3, heard: 600, idle: true },
  ]);
  assert.deepEqual(w.played, []);
});

test('a chunk the system voice cannot speak is played by the embedded voice, after what was heard', async () => {
  const { synth } = scriptedSynth(new Set(['second']));
  const w = worker();
  const speaker = new SystemSpeaker({
    synth,
    fallback: (chunk) => w.report('fallback', chunk),
    onend: (chunk) => w.report('end', chunk, { idle: !speaker.speaking }),
  });
  await speaker.ready();
  ['first', 'second', 'third'].forEach((text, index) => {
    w.route.add(5, index, new Float32Array(100 * (index + 1)), 24000);
    speaker.speak({ turn: 5, index, text });
  });
  await settle();
  assert.deepEqual(w.progress, [{ turn: 5, heard: 100, idle: false }]);
  // The failed chunk and the rest of its turn go to the playback worklet, offset by what was heard.
  assert.deepEqual(w.played.map((c) => [c.turn, c.samples.length, c.offset]), [[5, 200, 100], [5, 300, 300]]);
});

test('an interrupted turn is forgotten, and older turns with it', () => {
  const route = new SystemVoiceRoute();
  route.add(1, 0, new Float32Array(10), 16000);
  route.add(2, 0, new Float32Array(20), 16000);
  route.add(2, 1, new Float32Array(30), 16000);
  assert.equal(route.heardThrough(2, 1), 50);
  route.drop(1);
  assert.equal(route.fallback(1, 0), null);
  assert.deepEqual(route.fallback(2, 1).offset, 20);
  route.drop(2);
  assert.equal(route.heardThrough(2, 0), null);
});
