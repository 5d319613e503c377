// The capture worklet: runs on the audio thread and only moves samples. It posts the microphone's
// frames as the device delivers them (its channels interleaved, at the context's rate) in blocks
// of about 20 ms straight to the engine worker over a MessagePort, so audio never passes through
// the main thread; the engine downmixes and resamples them to 16 kHz (`Engine.pushCapture`). The
// buffers are transferred, not copied. Each block carries the AudioContext time of its last frame
// (`at`, seconds): the clock the latency marks are placed on.
// Its messages are protocol.js's, whose types it uses (a worklet cannot import it: bundlers copy or
// inline a worklet as one file).
/** @typedef {import('./protocol.js').CaptureCommand} CaptureCommand */
/** @typedef {import('./protocol.js').CaptureFrame} CaptureFrame */
/** @typedef {import('./protocol.js').Port<CaptureFrame, never>} CaptureToEngine */
const BLOCK_FRAMES = Math.round(sampleRate / 50); // 20 ms at the context's rate

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {CaptureToEngine} */
    this.engine = null; // the MessagePort to the engine worker
    this.channels = 0; // channels of the block being filled
    this.block = null; // interleaved frames, BLOCK_FRAMES of them
    this.filled = 0; // frames in the block
    this.capturing = true;
    this.port.onmessage = (/** @type {MessageEvent<CaptureCommand>} */ { data }) => {
      if (data.type === 'connect') this.engine = data.port;
      else if (data.type === 'pause') this.capturing = false;
      else if (data.type === 'resume') this.capturing = true;
    };
  }

  /** Posts the frames filled so far, the last of them at `at`. */
  send(at) {
    if (this.filled > 0) {
      const samples = this.filled === BLOCK_FRAMES ? this.block : this.block.slice(0, this.filled * this.channels);
      this.engine?.postMessage({ type: 'audio', samples, channels: this.channels, at }, [samples.buffer]);
    }
    this.block = null;
    this.filled = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !this.capturing) return true;
    const channels = input.length;
    // A change of channel count closes the block: a block holds frames of one layout.
    if (channels !== this.channels) this.send(currentTime);
    this.channels = channels;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      this.block ??= new Float32Array(BLOCK_FRAMES * channels);
      const offset = this.filled * channels;
      for (let c = 0; c < channels; c++) this.block[offset + c] = input[c][i];
      if (++this.filled === BLOCK_FRAMES) this.send(currentTime + (i + 1) / sampleRate);
    }
    return true;
  }
}

registerProcessor('sotto-capture', CaptureProcessor);
