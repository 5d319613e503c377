// The page: UI only. Everything heavy runs in the engine worker (engine-worker.js), so the page stays
// responsive while models download, load and run. Model output and file names are always rendered
// as text, never as HTML.
import { ModelsPanel } from './models-ui.js';

const $ = (id) => document.getElementById(id);

/** A request/reply channel to the engine worker, plus its events. */
class EngineClient extends EventTarget {
  constructor(worker) {
    super();
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    worker.addEventListener('message', ({ data }) => {
      if (data.type === 'reply') {
        const pending = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (!pending) return;
        if (data.error) pending.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
        else pending.resolve(data.result);
      } else {
        this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
      }
    });
    worker.addEventListener('error', (event) => {
      const error = new Error(event.message || 'the engine worker could not be loaded');
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      this.dispatchEvent(new CustomEvent('fatal', { detail: error }));
    });
  }

  request(type, payload = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...payload, type, id });
    });
  }
}

function showStatus(state, text) {
  const status = $('engine-status');
  status.dataset.state = state;
  status.textContent = text;
  document.body.dataset.engine = state;
}

function showFacts(facts) {
  $('engine-version').textContent = facts.version;
  $('engine-simd').textContent = facts.simd.build && facts.simd.browser
    ? 'yes'
    : `no (build: ${facts.simd.build}, browser: ${facts.simd.browser})`;
  $('engine-isolated').textContent = facts.crossOriginIsolated ? 'yes' : 'no';
  $('engine-startup').textContent = `${facts.startupMs.toFixed(0)} ms`;
  $('engine-facts').hidden = false;
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('./sw.js');
    await navigator.serviceWorker.ready;
    document.body.dataset.offlineReady = 'true';
  } catch (err) {
    // The app still works online; say why it will not work offline.
    $('offline-status').textContent = `Offline use is unavailable: ${err.message}`;
  }
}

async function start() {
  let worker;
  try {
    worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'sotto-engine' });
  } catch (err) {
    showStatus('error', `This browser cannot start the engine (module workers unsupported): ${err.message}`);
    return;
  }
  const engine = new EngineClient(worker);
  engine.addEventListener('fatal', (event) => showStatus('error', `The engine worker failed: ${event.detail.message}`));
  window.sottoEngine = engine; // for the browser tests and the console
  try {
    const facts = await engine.request('init');
    showFacts(facts);
    showStatus('ready', `Engine ready (Sotto ${facts.version}).`);
  } catch (err) {
    showStatus('error', `The engine failed to start: ${err.message}`);
    return;
  }
  const panel = new ModelsPanel(engine, $('models'));
  await panel.refresh();
  registerServiceWorker();
}

start();
