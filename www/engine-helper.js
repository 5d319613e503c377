// A helper thread of the threaded engine build. The engine worker sends it the compiled module and
// the engine's shared memory; it instantiates the same module on that memory and then runs chunks
// of the engine's matrix products for as long as the engine lives (`runHelperThread` never
// returns, and blocking here blocks only this Worker).
//
// If the thread traps (a panic aborts the build), the engine thread may be waiting for the chunk
// it was running: the helper marks its slot dead straight in the shared memory (the trapped
// instance is not called again), and the engine runs that chunk itself and goes on without
// helpers. The panic's message, which the panic hook left on this Worker's global, goes to the
// engine worker.
/** @typedef {import('./protocol.js').HelperStart} HelperStart */
/** @typedef {import('./protocol.js').HelperReport} HelperReport */
self.addEventListener('message', async (/** @type {MessageEvent<HelperStart>} */ { data: { module, memory } }) => {
  let deadWord = 0;
  let ready = false;
  try {
    const glue = await import('./pkg-threads/sotto.js');
    await glue.default({ module_or_path: module, memory });
    deadWord = glue.claimHelperSlot();
    self.postMessage(/** @satisfies {HelperReport} */ ({ ready: true }));
    ready = true;
    glue.runHelperThread();
  } catch (err) {
    if (deadWord) Atomics.store(new Int32Array(memory.buffer), deadWord / 4, 1);
    const panic = /** @type {any} */ (self).sottoPanicMessage ?? null; // left by the panic hook
    self.postMessage(/** @satisfies {HelperReport} */ ({ error: err?.message ?? String(err), panic, died: ready }));
  }
}, { once: true });
