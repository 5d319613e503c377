// The capture worklet: runs on the audio thread, downmixes the microphone to mono, resamples it to
// 16 kHz and posts 20 ms frames straight to the engine worker over a MessagePort, so audio never
// passes through the main thread. The buffers are transferred, not copied. Each frame carries the
// AudioContext time of its last sample (`at`, seconds): the clock the latency marks are placed on.
// Its messages are protocol.js's, whose types it uses (a worklet cannot import it: bundlers copy or
// inline a worklet as one file).
/** @typedef {import('./protocol.js').CaptureCommand} CaptureCommand */
/** @typedef {import('./protocol.js').CaptureFrame} CaptureFrame */
/** @typedef {import('./protocol.js').Port<CaptureFrame, never>} CaptureToEngine */
const TARGET_RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz

/** A second-order low-pass section (RBJ cookbook), run before decimation to avoid aliasing. */
class Biquad {
  constructor(cutoff, rate, q) {
    const w = (2 * Math.PI * cutoff) / rate;
    const alpha = Math.sin(w) / (2 * q);
    const cos = Math.cos(w);
    const a0 = 1 + alpha;
    this.b0 = (1 - cos) / 2 / a0;
    this.b1 = (1 - cos) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * cos) / a0;
    this.a2 = (1 - alpha) / a0;
    this.x1 = this.x2 = this.y1 = this.y2 = 0;
  }

  run(x) {
    const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1;
    this.x1 = x;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {CaptureToEngine} */
    this.engine = null; // the MessagePort to the engine worker
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.position = 0; // fractional read position into the current input block
    this.previous = 0; // last filtered input sample, for interpolation across blocks
    // Two sections (Butterworth Q values) at 7 kHz: a 4th-order low-pass under 8 kHz Nyquist.
    this.filters = this.step > 1 ? [new Biquad(7000, sampleRate, 0.5412), new Biquad(7000, sampleRate, 1.3066)] : [];
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
    this.capturing = true;
    this.port.onmessage = (/** @type {MessageEvent<CaptureCommand>} */ { data }) => {
      if (data.type === 'connect') this.engine = data.port;
      else if (data.type === 'pause') this.capturing = false;
      else if (data.type === 'resume') this.capturing = true;
    };
  }

  /** Adds a 16 kHz sample taken at input index `index` of the current render quantum. */
  emit(sample, index) {
    this.frame[this.filled++] = sample;
    if (this.filled === FRAME) {
      const at = currentTime + (index + 1) / sampleRate;
      this.engine?.postMessage({ type: 'audio', samples: this.frame, at }, [this.frame.buffer]);
      this.frame = new Float32Array(FRAME);
      this.filled = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !this.capturing) return true;
    const length = input[0].length;
    const mono = new Float32Array(length);
    for (const channel of input) {
      for (let i = 0; i < length; i++) mono[i] += channel[i] / input.length;
    }
    for (const filter of this.filters) {
      for (let i = 0; i < length; i++) mono[i] = filter.run(mono[i]);
    }
    if (this.step === 1) {
      for (let i = 0; i < length; i++) this.emit(mono[i], i);
      return true;
    }
    // Linear interpolation at the 16 kHz instants; position -1..0 reads from the previous block.
    while (this.position < length - 1) {
      const index = Math.floor(this.position);
      const frac = this.position - index;
      const a = index < 0 ? this.previous : mono[index];
      const b = mono[index + 1];
      this.emit(a + (b - a) * frac, index + 1);
      this.position += this.step;
    }
    this.position -= length;
    this.previous = mono[length - 1];
    return true;
  }
}

registerProcessor('sotto-capture', CaptureProcessor);
