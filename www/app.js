// The page: UI only. Everything heavy runs in the engine worker (engine-worker.js), so the page stays
// responsive while models load and run.

const $ = (id) => document.getElementById(id);

function showStatus(state, text) {
  const status = $('engine-status');
  status.dataset.state = state;
  status.textContent = text; // always text, never HTML
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

function startEngine() {
  let worker;
  try {
    worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'sotto-engine' });
  } catch (err) {
    showStatus('error', `This browser cannot start the engine (module workers unsupported): ${err.message}`);
    return;
  }
  worker.addEventListener('message', ({ data }) => {
    if (data.type === 'ready') {
      showFacts(data);
      showStatus('ready', `Engine ready (Sotto ${data.version}).`);
    } else if (data.type === 'error') {
      showStatus('error', `The engine failed to start: ${data.message}`);
    }
  });
  worker.addEventListener('error', (event) => {
    showStatus('error', `The engine worker failed: ${event.message || 'could not load engine-worker.js'}`);
  });
  worker.postMessage({ type: 'init' });
  window.sottoEngine = worker;
}

startEngine();
