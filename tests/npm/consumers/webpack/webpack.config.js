import { fileURLToPath } from 'node:url';

// Cross-origin isolation: Sotto's threaded engine needs it (without it Sotto runs single-threaded).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default {
  mode: 'production',
  entry: './main.js',
  output: {
    path: fileURLToPath(new URL('./dist', import.meta.url)),
    clean: true,
  },
  // `webpack serve` (webpack-dev-server): the page in public/, isolated.
  devServer: { headers: isolation },
};
