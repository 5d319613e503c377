/**
 * voice-route.js — the engine worker's bookkeeping when replies are spoken by the system voice.
 *
 * The engine still synthesizes every chunk with its embedded voice (a few milliseconds), and the
 * page speaks the chunk's text with a local system voice instead. The worker keeps each chunk's
 * samples until the turn ends, so that:
 *   - a chunk the system voice finished counts as heard, in the engine's unit (samples of the
 *     embedded voice): the interrupted reply is then kept exactly as far as it was heard;
 *   - a chunk the system voice cannot speak goes to the playback worklet at once, with the
 *     samples already heard as its offset, so the worklet's progress continues the same count.
 *
 * Pure bookkeeping (no Worker, no wasm), so it is unit-tested in Node.
 */
export class SystemVoiceRoute {
  constructor() {
    this.turns = new Map(); // turn → {chunks: Map(index → {samples, sampleRate, end}), queued}
  }

  /** Keeps chunk `index` of `turn` (`samples`: Float32Array); returns its end in turn samples. */
  add(turn, index, samples, sampleRate) {
    let entry = this.turns.get(turn);
    if (!entry) {
      entry = { chunks: new Map(), queued: 0 };
      this.turns.set(turn, entry);
    }
    entry.queued += samples.length;
    entry.chunks.set(index, { samples, sampleRate, end: entry.queued });
    return entry.queued;
  }

  /** Samples of `turn` heard once chunk `index` has been spoken to its end, or null if unknown. */
  heardThrough(turn, index) {
    return this.turns.get(turn)?.chunks.get(index)?.end ?? null;
  }

  /**
   * The playback worklet's `chunk` message for a chunk handed back to the embedded voice:
   * `{turn, samples, sampleRate, offset}` (offset = the turn's samples before it), or null if the
   * chunk is unknown (its turn was dropped).
   */
  fallback(turn, index) {
    const chunk = this.turns.get(turn)?.chunks.get(index);
    if (!chunk) return null;
    return { turn, samples: chunk.samples, sampleRate: chunk.sampleRate, offset: chunk.end - chunk.samples.length };
  }

  /** Forgets `turn` and every older one (the turn is over or was interrupted). */
  drop(turn) {
    for (const key of [...this.turns.keys()]) if (key <= turn) this.turns.delete(key);
  }

  /** Forgets everything. */
  clear() {
    this.turns.clear();
  }
}
