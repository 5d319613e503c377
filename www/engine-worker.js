// The engine worker: owns the WebAssembly engine (VAD, ASR, LLM, TTS), the model cache and the
// conversation loop, off the main thread. The page talks to it with requests `{id, type, ...}`
// answered by `{type: 'reply', id, result}` or `{type: 'reply', id, error: {code, message}}`;
// the worker also sends `{type: 'event', event}` (assistant events) and `{type: 'progress', ...}`.
// Microphone frames and reply audio travel over MessagePorts straight to and from the worklets.
// Every message and its payload: protocol.js.
import { loadCatalog } from './catalog.js';
import { ModelLibrary } from './model-library.js';
import { ModelStore, StoreError } from './model-store.js';
import { CrashRecovery, EngineRecord, isCrash } from './engine-recovery.js';
import { filesFromBytes, loadIntoEngine } from './model-files.js';
import { EVENT, FROM_WORKER, REQUEST, SYSTEM_CHUNK, SYSTEM_VOICE_STATE, UNKNOWN_REQUEST, WORKLET } from './protocol.js';

/** @typedef {import('./protocol.js').PlaybackCommand} PlaybackCommand */
/** @typedef {import('./protocol.js').PlaybackReport} PlaybackReport */
/** @typedef {import('./protocol.js').Requests} Requests */
/** @typedef {import('./protocol.js').RequestMessage} RequestMessage */
/** @template Out, In @typedef {import('./protocol.js').Port<Out, In>} Port */

// A minimal module whose body uses a v128 instruction: if the browser validates it, it has
// WebAssembly SIMD. (i8x16.splat then i8x16.popcnt, returning a v128.)
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let wasm = null; // the engine's wasm-bindgen module: the threaded build or the single-threaded one
const createHasher = () => new wasm.Sha256Hasher();
let core = null; // {library, engine, facts}
/** @type {Port<PlaybackCommand, PlaybackReport>} */
let playback = null; // MessagePort to the playback worklet
/** @type {Port<never, import('./protocol.js').CaptureFrame>} */
let capture = null; // MessagePort from the capture worklet
let lastLevelPost = 0;
const loaded = { asr: null, llm: null };
const record = new EngineRecord(); // what the engine was told, to tell a new one after a crash
let helperWorkers = []; // the helper Workers of the threaded build
let instances = 0; // wasm instances started: each after the first imports a fresh copy of the glue
const compiled = new Map(); // build folder → its compiled module, instantiated again after a crash
let lastHelperPanic = null;
let testHooks = false; // `debug-*` requests answer only when the page asked for test hooks

/** @type {(message: import('./protocol.js').WorkerMessage, transfer?: Transferable[]) => void} */
const post = (message, transfer) => self.postMessage(message, transfer ?? []);

// Helper threads beyond the engine's own: one per spare core, at most three (decoding is bound by
// memory bandwidth, so more threads stop paying).
const MAX_HELPERS = 3;
// How long helpers may take to join before the engine starts without the late ones.
const HELPER_JOIN_MS = 10_000;

/**
 * Loads the engine's wasm. A cross-origin isolated page (the served demo sends COOP/COEP) gets
 * the threaded build, whose matrix products are shared with helper Workers on the same memory;
 * anywhere else (file://, an embedding page without those headers), or with `threads: 0`, the
 * single-threaded build. Returns `{threads, build, reason}` for the engine facts.
 */
async function loadWasm(requested) {
  // wasm-bindgen's glue holds one instance per module: a new instance needs a new copy of it.
  const fresh = instances++ === 0 ? '' : `?instance=${instances}`;
  const spare = Math.max(0, (navigator.hardwareConcurrency ?? 1) - 1);
  const cap = Number.isFinite(requested) ? Math.max(0, Math.floor(requested)) : MAX_HELPERS;
  const helpers = Math.min(MAX_HELPERS, spare, cap);
  let reason = null;
  if (self.crossOriginIsolated !== true) reason = 'the page is not cross-origin isolated';
  else if (helpers < 1) reason = cap === 0 ? `threads: ${requested} was asked for` : 'this device has one core';
  if (!reason) {
    try {
      const threaded = await importGlue('pkg-threads', fresh);
      const module = await compile('pkg-threads');
      await threaded.default({ module_or_path: module });
      wasm = threaded;
      const joined = await startHelpers(module, threaded.wasmMemory(), helpers);
      return { threads: wasm.threadCount(), build: 'threads', reason: joined < helpers ? `${helpers - joined} helper(s) failed to start` : null };
    } catch (err) {
      reason = `the threaded build failed to start (${err?.message ?? err})`;
      wasm = null;
    }
  }
  const single = await importGlue('pkg', fresh);
  await single.default({ module_or_path: await compile('pkg') });
  wasm = single;
  return { threads: 1, build: 'single', reason };
}

/**
 * The two engine builds' glue and wasm, named by literal URLs: a bundler (Vite, webpack) sees
 * those, emits the files and rewrites the URLs; a URL computed from a variable it cannot follow.
 */
const BUILDS = {
  pkg: {
    glue: () => import('./pkg/sotto.js'),
    glueUrl: () => new URL('./pkg/sotto.js', import.meta.url),
    wasm: () => new URL('./pkg/sotto_bg.wasm', import.meta.url),
  },
  'pkg-threads': {
    glue: () => import('./pkg-threads/sotto.js'),
    glueUrl: () => new URL('./pkg-threads/sotto.js', import.meta.url),
    wasm: () => new URL('./pkg-threads/sotto_bg.wasm', import.meta.url),
  },
};

/**
 * A build's glue. After a crash (`fresh` is `?instance=N`) a new copy of it, under another URL:
 * wasm-bindgen's glue holds one instance. In a bundled app the glue module may not exist at
 * that URL, so there a restart can fail, and the engine then reports `engine-failed`.
 */
async function importGlue(folder, fresh) {
  if (!fresh) return BUILDS[folder].glue();
  return import(/* @vite-ignore */ /* webpackIgnore: true */ `${BUILDS[folder].glueUrl().href}${fresh}`);
}

/** The compiled engine module of a build folder (`pkg`, `pkg-threads`), compiled once. */
async function compile(folder) {
  if (!compiled.has(folder)) {
    const module = WebAssembly.compileStreaming(fetch(BUILDS[folder].wasm()));
    compiled.set(folder, module);
    module.catch(() => compiled.delete(folder));
  }
  return compiled.get(folder);
}

/** Starts `count` helper Workers on `memory`; resolves with how many joined the engine. */
async function startHelpers(module, memory, count) {
  const joins = Array.from({ length: count }, (_, i) => new Promise((resolve) => {
    const helper = new Worker(new URL('./engine-helper.js', import.meta.url), { type: 'module', name: `sotto-helper-${i + 1}` });
    helperWorkers.push(helper);
    const timer = setTimeout(() => resolve(false), HELPER_JOIN_MS);
    helper.addEventListener('message', (/** @type {MessageEvent<import('./protocol.js').HelperReport>} */ { data }) => {
      clearTimeout(timer);
      if (data?.error) console.warn(`sotto: helper thread ${i + 1} failed: ${data.error}`);
      if (data?.panic) lastHelperPanic = data.panic;
      resolve(data?.ready === true);
    });
    helper.addEventListener('error', (event) => {
      clearTimeout(timer);
      console.warn(`sotto: helper thread ${i + 1} failed: ${event.message}`);
      resolve(false);
    }, { once: true });
    helper.postMessage(/** @satisfies {import('./protocol.js').HelperStart} */ ({ module, memory }));
  }));
  const joined = (await Promise.all(joins)).filter(Boolean).length;
  // A helper registers right after it reports ready; wait for the registrations to land.
  const deadline = performance.now() + 1000;
  while (wasm.threadCount() < joined + 1 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return wasm.threadCount() - 1;
}

/**
 * `page`: the page's URL, against which the local catalog (`models/local-catalog.json`) resolves.
 * @param {Requests['init']} [init]
 */
async function startEngine({ threads, page, testHooks: hooks } = {}) {
  const started = performance.now();
  testHooks = hooks === true;
  const browserSimd = WebAssembly.validate(SIMD_PROBE);
  if (!browserSimd) {
    throw new Error('this browser lacks WebAssembly SIMD, which the engine needs (Chrome 91+, Firefox 89+, Safari 16.4+)');
  }
  const build = await loadWasm(threads);
  const library = new ModelLibrary({
    store: await ModelStore.open(),
    createHasher,
    loadCatalog: () => loadCatalog(page ?? self.location.href),
    onProgress: (progress) => post({ type: FROM_WORKER.PROGRESS, ...progress }),
    exists: (url) => fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false),
  });
  return {
    library,
    engine: new wasm.Engine(),
    threads,
    facts: {
      version: wasm.version(),
      simd: { build: wasm.simdEnabled(), browser: browserSimd },
      crossOriginIsolated: self.crossOriginIsolated === true,
      threads: build.threads,
      build: build.build,
      ...(build.reason ? { singleThreadReason: build.reason } : {}),
      startupMs: performance.now() - started,
    },
  };
}

/** Catalog entries with their cache state, plus the storage figures. */
async function describeModels() {
  const [list, storage] = await Promise.all([core.library.list(), core.library.store.estimate()]);
  return { models: list.map((m) => ({ ...m, inUse: loaded[m.role] === m.id })), storage };
}

/**
 * Makes a model the engine's `role` model. `source` is a catalog id (downloaded first if needed),
 * `{url}` (a hub or same-origin URL, cached and pinned like a catalog model) or `{files}` (bytes).
 * Nothing reaches the engine before every file is complete and verified. `chatTemplate` (llm only)
 * replaces the model's chat template: a built-in name (`gemma`, `chatml`) or Jinja source.
 * @param {Requests['use']} request
 */
async function use({ role, source, chatTemplate }) {
  const notes = {}; // `warning`: the model could not be cached
  let files;
  let id;
  let model = null;
  if (typeof source === 'string' || source?.url) {
    const { library } = core;
    model = typeof source === 'string' ? await library.find(source) : await library.fromUrl(role, source.url);
    if (model.role !== role) throw new StoreError('role', `${model.name} is an ${model.role} model, not ${role}`);
    files = await library.files(model, notes);
    id = model.id;
  } else if (source?.files) {
    files = await filesFromBytes(source);
    id = `bytes-${role}`;
  } else {
    throw new StoreError('source', `a ${role} model source is a catalog id, {url} or {files}`);
  }
  // The engine applies a catalog model's own decode settings (`decode`) as it loads it.
  const info = loadIntoEngine(core.engine, role, files, chatTemplate, model?.decode);
  loaded[role] = id;
  // A cached model is read again from the store after a crash; bytes from the page are kept.
  record.loaded(core.engine, role, { id, model, files: model ? null : files, chatTemplate });
  if (role === 'llm') record.snapshot(core.engine);
  return { role, model: id, ...info, ...(notes.warning ? { cached: false, warning: notes.warning } : {}) };
}

/** Loads a cached model's files and checks their headers (the models panel's "Load"). */
async function verify({ model: id }) {
  const { files } = await core.library.read(id);
  return {
    model: id,
    files: Object.values(files).map((f) => ({ name: f.name, size: f.bytes.length, sha256: f.sha256, header: wasm.inspectModelFile(f.name, f.bytes) })),
  };
}

// --- The conversation loop -------------------------------------------------------------------

const turnStarts = new Map(); // turn → performance.now() when its audio started sounding

// The system voice's output is not measured: while it speaks, the echo-aware speech threshold
// assumes a typical level (-20 dBFS).
const SYSTEM_VOICE_RMS = 0.1;

/**
 * Sends assistant events to the page; audio goes to the playback worklet. A chunk for the page's
 * system voice (the engine's `turns.systemVoice`) goes to the page as text: an `audio` event
 * with `system: true` and no samples.
 * @param {import('./protocol.js').StepEvent[]} events
 */
function dispatch(events) {
  if (record.observe(events)) record.snapshot(core.engine);
  reportDegraded();
  for (const event of events) {
    if (event.type === SYSTEM_CHUNK) {
      const { turn, index, text } = event;
      post({ type: FROM_WORKER.EVENT, event: { type: EVENT.AUDIO, turn, index, text, samples: 0, sampleRate: 0, system: true } });
    } else if (event.type === EVENT.AUDIO) {
      const { samples, ...rest } = event;
      post({ type: FROM_WORKER.EVENT, event: { ...rest, samples: samples.length } });
      if (playback) playback.postMessage({ type: WORKLET.CHUNK, turn: event.turn, samples, sampleRate: event.sampleRate }, [samples.buffer]);
    } else {
      if (event.type === EVENT.INTERRUPTED) playback?.postMessage({ type: WORKLET.FLUSH, turn: event.turn });
      post({ type: FROM_WORKER.EVENT, event });
    }
  }
}

/** A turn's reply started sounding (worklet or system voice): tells the page, once per turn. */
function startedSounding(turn, now) {
  if (turnStarts.has(turn)) return;
  turnStarts.set(turn, now);
  post({ type: FROM_WORKER.EVENT, event: { type: EVENT.SPEAKING, turn, at: now } });
}

/**
 * The page's system voice started (`start`), finished (`end`) or handed back (`fallback`) a
 * chunk: the engine counts what was heard, or synthesizes the chunk for the playback worklet.
 * @param {Requests['system-voice']} report
 */
function onSystemVoice({ turn, index, state, idle }) {
  const now = performance.now();
  if (state === SYSTEM_VOICE_STATE.START) {
    core.engine.playbackLevel(SYSTEM_VOICE_RMS);
    dispatch(core.engine.playbackStarted(turn, NaN, now));
    dispatch(core.engine.systemVoiceProgress(turn, index, false));
    startedSounding(turn, now);
  } else if (state === SYSTEM_VOICE_STATE.END) {
    dispatch(core.engine.systemVoiceProgress(turn, index, true));
    if (idle) {
      core.engine.playbackLevel(0);
      post({ type: FROM_WORKER.EVENT, event: { type: EVENT.SPEAKING_STOPPED, turn, interrupted: false } });
    }
  } else if (state === SYSTEM_VOICE_STATE.FALLBACK) {
    dispatch(core.engine.speakChunk(turn, index));
  }
}

/** Yields to the worker's event loop so microphone frames are handled between two units of work. */
const yieldToEvents = () => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(null);
});

let pumping = false;

/** Runs the assistant's work, one unit at a time, until there is none. */
async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    while (!recovery.active && core.engine.hasWork()) {
      dispatch(core.engine.step(performance.now()));
      await yieldToEvents();
    }
  } catch (err) {
    if (isCrash(err)) recovery.crashed(err);
    else post({ type: FROM_WORKER.EVENT, event: { type: EVENT.ERROR, stage: 'engine', message: err?.message ?? String(err) } });
  } finally {
    pumping = false;
  }
}

// Capture frames and playback reports carry the AudioContext's time (`at`, seconds); the engine
// places them on this worker's clock, so a frame handled late (the worker was busy) still counts
// from when it was captured.
const audioTime = (at) => (typeof at === 'number' ? at : NaN);

/** @param {import('./protocol.js').CaptureFrame} frame the device's frames; the engine resamples them */
function onCaptureFrame(frame) {
  if (recovery.active) {
    recovery.buffer(frame);
    return;
  }
  try {
    dispatch(core.engine.pushCapture(frame.samples, frame.channels, audioTime(frame.at), performance.now()));
  } catch (err) {
    if (!isCrash(err)) throw err;
    recovery.crashed(err);
    return;
  }
  const now = performance.now();
  if (now - lastLevelPost > 66) {
    lastLevelPost = now;
    post({ type: FROM_WORKER.LEVEL, db: core.engine.levelDb() });
  }
  pump();
}

function onPlaybackMessage(message) {
  if (recovery.active) return;
  try {
    onPlayback(message);
  } catch (err) {
    if (!isCrash(err)) throw err;
    recovery.crashed(err);
  }
}

/** @param {PlaybackReport} message */
function onPlayback(message) {
  const now = performance.now();
  const ofConversation = message.turn >= 0; // turn -1 is `say`, outside the conversation
  if (message.type === WORKLET.STARTED) {
    if (ofConversation) dispatch(core.engine.playbackStarted(message.turn, audioTime(message.at), now));
    startedSounding(message.turn, now);
  } else if (message.type === WORKLET.STOPPED) {
    if (ofConversation) dispatch(core.engine.playbackStopped(message.turn, message.rendered, audioTime(message.at), now));
    post({ type: FROM_WORKER.EVENT, event: { type: EVENT.SPEAKING_STOPPED, turn: message.turn, interrupted: message.interrupted } });
  } else if (message.type === WORKLET.LEVEL) {
    core.engine.playbackLevel(message.rms);
    if (message.turn != null) dispatch(core.engine.playbackProgress(message.turn, message.rendered, now));
    post({ type: FROM_WORKER.PLAYBACK, rendered: message.total });
  }
}

// --- Recovery after a crash --------------------------------------------------------------------

let degradedReported = false;

/** The threaded build gave up its helper threads (one trapped): tells the page, once. */
function reportDegraded() {
  if (degradedReported || core.facts.build !== 'threads') return;
  const reason = wasm.threadsDegraded();
  if (!reason) return;
  degradedReported = true;
  const detail = lastHelperPanic ? `${reason}: ${lastHelperPanic}` : reason;
  core.facts = { ...core.facts, threads: 1, singleThreadReason: detail };
  post({ type: FROM_WORKER.EVENT, event: { type: EVENT.DEGRADED, threads: 1, reason: detail } });
}

const recovery = new CrashRecovery({
  post,
  helperPanic: () => {
    const panic = lastHelperPanic;
    lastHelperPanic = null;
    return panic;
  },
  // The old engine stops: never freed (its instance is gone), its audio dropped, helpers ended.
  stop: () => {
    core.engine.__destroy_into_raw?.();
    playback?.postMessage({ type: WORKLET.FLUSH });
    for (const helper of helperWorkers) helper.terminate();
    helperWorkers = [];
  },
  restart,
  resume: (frames) => {
    for (const frame of frames) onCaptureFrame(frame);
    pump();
  },
});

/** A new wasm instance and engine with the old one's state (single-threaded if a helper failed). */
async function restart(helperFailed) {
  const singleThreaded = helperFailed && core.facts.build === 'threads';
  const build = await loadWasm(singleThreaded ? 0 : core.threads);
  const engine = new wasm.Engine();
  const messages = await record.restore(engine, async (target, role, entry) => {
    loadIntoEngine(target, role, entry.files ?? (await core.library.files(entry.model)), entry.chatTemplate, entry.model?.decode);
  });
  core.engine = engine;
  const reason = singleThreaded ? 'a helper thread failed, so the engine was restarted single-threaded' : build.reason;
  const { singleThreadReason: _, ...facts } = core.facts;
  core.facts = { ...facts, threads: build.threads, build: build.build, ...(reason ? { singleThreadReason: reason } : {}) };
  degradedReported = false;
  return { messages, threads: core.facts.threads, build: core.facts.build, singleThreadReason: reason ?? null };
}

// --- Requests ----------------------------------------------------------------------------------

/** @type {import('./protocol.js').RequestHandlers} */
const handlers = {
  init: async () => core.facts,
  models: describeModels,
  download: async ({ model }) => ({ model, files: await core.library.download(await core.library.find(model)) }),
  cancel: async ({ model }) => ({ model, cancelled: core.library.cancel(model) }),
  remove: async ({ model }) => {
    await core.library.remove(model);
    return { model };
  },
  verify,
  load: verify,
  import: async ({ files }) => core.library.import(files),
  use,
  configure: async ({ config, systemPrompt, generation, voice, asr }) => {
    const { engine } = core;
    const { system, ...embedded } = voice ?? {};
    // Every section at once: a bad field anywhere leaves every setting as it was.
    // The system voice is the engine's `turns.systemVoice` mode (it then sends chunks as text).
    const turns = { ...(config ?? {}), ...(system !== undefined ? { systemVoice: Boolean(system) } : {}) };
    const patch = {
      ...(Object.keys(turns).length ? { turns } : {}),
      ...(generation ? { generation } : {}),
      ...(asr ? { asr } : {}),
      ...(Object.keys(embedded).length ? { voice: embedded } : {}),
    };
    if (systemPrompt != null && typeof systemPrompt !== 'string') {
      throw new StoreError('settings', `systemPrompt must be a text or null, not ${typeof systemPrompt}`);
    }
    if (Object.keys(patch).length) {
      try {
        record.apply(engine, 'setSettings', patch);
      } catch (err) {
        if (isCrash(err)) throw err;
        throw new StoreError('settings', err?.message ?? String(err));
      }
    }
    if (systemPrompt !== undefined) {
      record.apply(engine, 'setSystemPrompt', systemPrompt);
      record.snapshot(engine); // a new conversation
    }
    return {};
  },
  settings: async () => core.engine.getSettings(),
  'system-voice': async (message) => onSystemVoice(message),
  'capture-port': async ({ port, sampleRate }) => {
    capture?.close();
    capture = port;
    // The engine downmixes and resamples the device's frames to 16 kHz.
    record.apply(core.engine, 'setInputRate', sampleRate);
    capture.onmessage = ({ data }) => data.type === WORKLET.AUDIO && onCaptureFrame(data);
    return {};
  },
  'playback-port': async ({ port, sampleRate }) => {
    playback = port;
    playback.onmessage = ({ data }) => onPlaybackMessage(data);
    // The engine picks the voice's rate for the device's (a whole fraction of it when it can)
    // and gives its chunks at the device's rate.
    const rate = record.apply(core.engine, 'setOutputRate', sampleRate);
    return { voiceSampleRate: rate };
  },
  ask: async ({ text }) => {
    dispatch(core.engine.ask(text, performance.now()));
    pump();
    return {};
  },
  interrupt: async () => {
    dispatch(core.engine.interrupt());
    playback?.postMessage({ type: WORKLET.FLUSH });
    return {};
  },
  'press-to-talk': async () => dispatch(core.engine.pressToTalk(performance.now())),
  'release-to-talk': async () => {
    dispatch(core.engine.releaseToTalk(performance.now()));
    pump();
  },
  say: async ({ text, play }) => {
    const samples = core.engine.say(text);
    const sampleRate = core.engine.voiceSampleRate();
    if (play && playback) {
      const heard = core.engine.toOutputRate(samples);
      playback.postMessage({ type: WORKLET.CHUNK, turn: -1, samples: heard, sampleRate: core.engine.outputSampleRate() }, [heard.buffer]);
    }
    return { samples, sampleRate };
  },
  transcribe: async ({ pcm, wav, name }) => {
    let samples;
    try {
      samples = wav ? wasm.decodeWav(new Uint8Array(wav), name ?? 'audio.wav') : new Float32Array(pcm);
    } catch (err) {
      if (isCrash(err)) throw err;
      throw new StoreError('audio', `${err?.message ?? err} (pass a WAV file, or 16 kHz mono samples as a Float32Array)`);
    }
    try {
      return core.engine.transcribe(samples);
    } catch (err) {
      if (isCrash(err)) throw err;
      throw new StoreError('asr', err?.message ?? String(err));
    }
  },
  chat: async ({ text, stream }) => {
    core.engine.chatBegin(text);
    let reply = '';
    for (let piece = core.engine.chatNext(); piece !== undefined; piece = core.engine.chatNext()) {
      reply += piece;
      if (stream) post({ type: FROM_WORKER.EVENT, event: { type: EVENT.TOKEN, turn: -1, text: piece } });
      await yieldToEvents();
    }
    record.snapshot(core.engine);
    return { text: reply };
  },
  'chat-reset': async () => {
    core.engine.resetConversation();
    record.snapshot(core.engine);
  },
  // Test hooks (the page's `?test`): make the engine panic, read the conversation it holds.
  'debug-panic': async ({ what }) => {
    if (!testHooks) throw new StoreError(UNKNOWN_REQUEST, 'debug-panic needs the test hooks');
    core.engine.debugPanic(what);
    return {};
  },
  'debug-conversation': async () => {
    if (!testHooks) throw new StoreError(UNKNOWN_REQUEST, 'debug-conversation needs the test hooks');
    return { messages: core.engine.conversationMessages() };
  },
};

let ready = null;

self.addEventListener('message', async (/** @type {MessageEvent<RequestMessage>} */ { data }) => {
  // Each handler takes its own request type; TypeScript cannot pair `data` with `handlers[data.type]`.
  const handler = /** @type {(request: RequestMessage) => Promise<unknown>} */ (/** @type {unknown} */ (handlers[data?.type]));
  if (!handler) {
    post({ type: FROM_WORKER.REPLY, id: data?.id, error: { code: UNKNOWN_REQUEST, message: `unknown request ${data?.type}` } });
    return;
  }
  try {
    ready ??= startEngine(data.type === REQUEST.INIT ? data : {}).then((started) => (core = started));
    await ready;
    await recovery.active;
    post({ type: FROM_WORKER.REPLY, id: data.id, result: (await handler(data)) ?? {} });
  } catch (err) {
    if (core && isCrash(err)) {
      const message = recovery.crashed(err);
      post({ type: FROM_WORKER.REPLY, id: data.id, error: { code: 'engine-crashed', message } });
      return;
    }
    post({ type: FROM_WORKER.REPLY, id: data.id, error: { code: err?.code ?? 'engine', message: err?.message ?? String(err) } });
  }
});
