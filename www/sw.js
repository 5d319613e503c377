// The service worker: keeps the app shell (page, scripts, wasm, catalogs) so that after one visit
// the page works with the network off. Model files are not its business: the engine worker keeps
// them, verified, in their own cache. Network first (updates apply at once when online), cache as
// the fallback. The build stamps BUILD_ID, so a new build starts a new shell cache.
const BUILD_ID = '__SOTTO_BUILD_ID__';
const SHELL_CACHE = `sotto-shell-${BUILD_ID}`;
const SHELL = [
  './',
  './index.html',
  './style.css',
  './app.js',
  './conversation-view.js',
  './models-ui.js',
  './sotto.js',
  './audio-io.js',
  './capture-worklet.js',
  './playback-worklet.js',
  './system-speaker.js',
  './engine-worker.js',
  './engine-recovery.js',
  './model-files.js',
  './engine-helper.js',
  './catalog.js',
  './downloader.js',
  './model-library.js',
  './model-store.js',
  './errors.js',
  './protocol.js',
  './wav.js',
  './pkg/sotto.js',
  './pkg/sotto_bg.wasm',
  './pkg-threads/sotto.js',
  './pkg-threads/sotto_bg.wasm',
];
const OPTIONAL = ['./models/catalog.json', './models/local-catalog.json'];
/** This worker's global scope, typed as a service worker's. */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL);
    await Promise.all(OPTIONAL.map((url) => cache.add(url).catch(() => {})));
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('sotto-shell-') && n !== SHELL_CACHE).map((n) => caches.delete(n)));
    await sw.clients.claim();
  })());
});

function isShellRequest(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return false;
  if (url.pathname.includes('/__sotto__/')) return false;
  // Model files are large and kept by the engine worker; only the catalogs belong to the shell.
  if (url.pathname.includes('/models/') && !url.pathname.endsWith('catalog.json')) return false;
  return true;
}

sw.addEventListener('fetch', (event) => {
  if (!isShellRequest(event.request)) return;
  event.respondWith((async () => {
    const cache = await caches.open(SHELL_CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(event.request, response.clone());
      return response;
    } catch (err) {
      const cached = await cache.match(event.request, { ignoreSearch: true });
      if (cached) return cached;
      throw err;
    }
  })());
});
