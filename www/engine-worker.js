// The engine worker: owns the WebAssembly engine (VAD, ASR, LLM, TTS) off the main thread.
import init, { version, simdEnabled } from './pkg/sotto.js';

// A minimal module whose body uses a v128 instruction: if the browser validates it, it has
// WebAssembly SIMD. (i8x16.splat then i8x16.popcnt, returning a v128.)
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let ready = null;

async function start() {
  const started = performance.now();
  const browserSimd = WebAssembly.validate(SIMD_PROBE);
  if (!browserSimd) {
    throw new Error('this browser lacks WebAssembly SIMD, which the engine needs (Chrome 91+, Firefox 89+, Safari 16.4+)');
  }
  await init({ module_or_path: new URL('./pkg/sotto_bg.wasm', import.meta.url) });
  return {
    type: 'ready',
    version: version(),
    simd: { build: simdEnabled(), browser: browserSimd },
    crossOriginIsolated: self.crossOriginIsolated === true,
    startupMs: performance.now() - started,
  };
}

self.addEventListener('message', async ({ data }) => {
  if (data?.type !== 'init') return;
  ready ??= start();
  try {
    self.postMessage(await ready);
  } catch (err) {
    self.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
});
