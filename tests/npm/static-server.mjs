// A static file server for the npm package tests, on 127.0.0.1: the built consumer apps with or
// without cross-origin isolation (COOP/COEP), and model files with or without CORS, as the hosts
// people deploy to would send them. Byte ranges are served so that resumed downloads work.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.wav': 'audio/wav',
};

/**
 * Serves `root`, and each of `mounts` (`{'/models/': folder, '/x.json': file}`) at its path.
 * `isolate`: send COOP/COEP (the page becomes cross-origin isolated); `cors`: let any origin read
 * the files. Resolves with `{origin, close}`.
 */
export async function serveStatic({ root, mounts = {}, isolate = false, cors = false }) {
  const routes = Object.entries(mounts).sort(([a], [b]) => b.length - a.length);
  const locate = (path) => {
    for (const [prefix, target] of routes) {
      if (path === prefix) return target;
      if (prefix.endsWith('/') && path.startsWith(prefix)) return join(target, path.slice(prefix.length));
    }
    return root ? join(root, path) : null;
  };
  const server = createServer(async (request, response) => {
    const headers = {};
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (cors) {
      headers['Access-Control-Allow-Origin'] = '*';
      headers['Access-Control-Allow-Headers'] = 'Range';
      headers['Access-Control-Expose-Headers'] = 'Content-Length, Content-Range';
    }
    if (request.method === 'OPTIONS') {
      response.writeHead(204, headers).end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
    let file = path.split(sep).includes('..') ? null : locate(path);
    let info = file && (await stat(file).catch(() => null));
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    if (!info?.isFile()) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`${path}: not found`);
      return;
    }
    headers['Content-Type'] = TYPES[extname(file)] ?? 'application/octet-stream';
    headers['Accept-Ranges'] = 'bytes';
    headers['Cache-Control'] = 'no-cache';
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    let start = 0;
    let end = info.size - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
    }
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === 'HEAD') response.end();
    else createReadStream(file, { start, end }).pipe(response);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}
