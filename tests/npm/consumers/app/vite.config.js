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
});
