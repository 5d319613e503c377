// The playback worklet: plays the reply's audio chunks as the engine worker sends them (straight
// over a MessagePort). It only moves samples: the engine gives them at the context's rate
// (`Engine.setOutputRate`), so each is copied out; a chunk at a whole fraction of the rate would
// have each sample repeated, and nothing is interpolated. On `flush` it drops everything queued
// within one render quantum (barge-in). It reports back when a turn starts and stops sounding, with
// the AudioContext time of its first rendered sample and of the end of its last (`at`, seconds),
// how many samples it rendered, and the level it plays (so the detector can tell echo from the user).
// Its messages are protocol.js's, whose types it uses (a worklet cannot import it: bundlers copy or
// inline a worklet as one file).
/** @typedef {import('./protocol.js').ConnectCommand} ConnectCommand */
/** @typedef {import('./protocol.js').PlaybackCommand} PlaybackCommand */
/** @typedef {import('./protocol.js').PlaybackReport} PlaybackReport */
/** @typedef {import('./protocol.js').Port<PlaybackReport, PlaybackCommand>} PlaybackToEngine */
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {PlaybackToEngine} */
    this.engine = null;
    this.queue = []; // {turn, samples, repeat, position, consumedBefore}
    this.playingTurn = null;
    this.playedUntil = 0; // AudioContext time just after the playing turn's last rendered sample
    this.rendered = 0; // samples of the playing turn rendered so far (at the chunks' own rate)
    this.energy = 0;
    this.counted = 0;
    this.total = 0; // every sample this worklet has played (what the tests count)
    this.turnSamples = new Map(); // turn → samples queued for it so far
    this.port.onmessage = (/** @type {MessageEvent<ConnectCommand>} */ { data }) => {
      if (data.type === 'connect') {
        this.engine = data.port;
        this.engine.onmessage = ({ data: message }) => this.command(message);
      }
    };
  }

  /** @param {PlaybackCommand} message */
  command(message) {
    if (message.type === 'chunk') {
      // Progress is counted in the chunk's own samples, which is what the engine knows (chunks
      // the system voice spoke have none).
      const consumedBefore = this.turnSamples.get(message.turn) ?? 0;
      this.turnSamples.set(message.turn, consumedBefore + message.samples.length);
      const repeat = Math.max(1, Math.round(sampleRate / message.sampleRate)); // 1: the engine's chunks
      this.queue.push({ turn: message.turn, samples: message.samples, repeat, position: 0, consumedBefore });
    } else if (message.type === 'flush') {
      const dropped = this.queue.filter((c) => message.turn == null || c.turn === message.turn);
      this.queue = this.queue.filter((c) => !dropped.includes(c));
      if (this.playingTurn != null && (message.turn == null || message.turn === this.playingTurn)) this.finishTurn(true);
    }
  }

  finishTurn(interrupted) {
    this.engine?.postMessage({ type: 'stopped', turn: this.playingTurn, interrupted, rendered: this.rendered, at: this.playedUntil });
    this.playingTurn = null;
  }

  process(_inputs, outputs) {
    const output = outputs[0];
    const out = output[0];
    let written = 0;
    while (written < out.length && this.queue.length > 0) {
      const chunk = this.queue[0];
      if (this.playingTurn !== chunk.turn) {
        if (this.playingTurn != null) this.finishTurn(false);
        this.playingTurn = chunk.turn;
        this.engine?.postMessage({ type: 'started', turn: chunk.turn, at: currentTime + written / sampleRate });
      }
      // `position` counts output samples: each chunk sample is played `repeat` times.
      const { samples, repeat } = chunk;
      const end = samples.length * repeat;
      if (repeat === 1) {
        const n = Math.min(out.length - written, end - chunk.position);
        out.set(samples.subarray(chunk.position, chunk.position + n), written);
        written += n;
        chunk.position += n;
      } else {
        while (written < out.length && chunk.position < end) out[written++] = samples[Math.floor(chunk.position++ / repeat)];
      }
      const done = chunk.position >= end;
      this.rendered = chunk.consumedBefore + Math.floor(chunk.position / repeat);
      if (done) this.queue.shift();
      this.playedUntil = currentTime + written / sampleRate;
    }
    out.fill(0, written);
    for (let channel = 1; channel < output.length; channel++) output[channel].set(out);
    for (let i = 0; i < written; i++) this.energy += out[i] * out[i];
    this.counted += out.length;
    this.total += written;
    if (written === 0 && this.playingTurn != null && this.queue.length === 0) this.finishTurn(false);
    // About every 20 ms: the played level, for the echo-aware speech threshold.
    if (this.counted >= sampleRate / 50) {
      this.engine?.postMessage({
        type: 'level',
        rms: Math.sqrt(this.energy / this.counted),
        turn: this.playingTurn,
        rendered: this.rendered,
        total: this.total,
      });
      this.energy = 0;
      this.counted = 0;
    }
    return true;
  }
}

registerProcessor('sotto-playback', PlaybackProcessor);
