// A helper thread of the threaded engine build. The engine worker sends it the compiled module and
// the engine's shared memory; it instantiates the same module on that memory and then runs chunks
// of the engine's matrix products for as long as the engine lives (`runHelperThread` never
// returns, and blocking here blocks only this Worker).
self.addEventListener('message', async ({ data: { module, memory } }) => {
  try {
    const glue = await import('./pkg-threads/sotto.js');
    await glue.default({ module_or_path: module, memory });
    self.postMessage({ ready: true });
    glue.runHelperThread();
  } catch (err) {
    self.postMessage({ error: err?.message ?? String(err) });
  }
}, { once: true });
