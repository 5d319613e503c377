import { defineConfig } from 'vite';

// Cross-origin isolation: Sotto's threaded engine needs it (without it Sotto runs single-threaded).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
  // Sotto's engine worker loads its wasm glue with dynamic imports, which need ES module workers.
  worker: { format: 'es' },
  // Vite 7's dev server would pre-bundle Sotto into node_modules/.vite/deps, away from its worker,
  // worklets and wasm (which it finds by `new URL(..., import.meta.url)`): serve it as it ships.
  optimizeDeps: { exclude: ['sotto'] },
});
