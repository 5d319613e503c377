// Microphone and speaker plumbing on the page: getUserMedia with echo cancellation, noise
// suppression and auto gain; one AudioContext with a capture worklet and a playback worklet, each
// wired to the engine worker by its own MessagePort so that audio never crosses the main thread.
import { REQUEST, WORKLET } from './protocol.js';

/** @typedef {import('./protocol.js').PortRequest} PortRequest */
/** @typedef {import('./protocol.js').CaptureCommand} CaptureCommand */
/** @typedef {import('./protocol.js').ConnectCommand} ConnectCommand */
/** @typedef {(message: PortRequest, transfer: Transferable[]) => void} PostToEngine */

/** A microphone problem the UI can explain: `code` is denied, no-device, busy or unsupported. */
export class MicrophoneError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'MicrophoneError';
    this.code = code;
  }
}

function explain(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MicrophoneError('denied', 'Microphone access was denied. Allow the microphone for this site (the icon in the address bar), or type instead.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MicrophoneError('no-device', 'No microphone was found. Connect one, or type instead.');
    case 'NotReadableError':
    case 'AbortError':
      return new MicrophoneError('busy', 'The microphone could not be opened: another application may be using it.');
    default:
      return new MicrophoneError('unsupported', `The microphone could not be started: ${err?.message ?? err}`);
  }
}

/**
 * Audio output for the engine: an AudioContext with the playback worklet connected to the worker.
 * Created on a user gesture (browsers only start audio after one).
 */
export class AudioIo {
  /** @param {PostToEngine} postToEngine */
  static async create(postToEngine) {
    if (!globalThis.AudioContext || !globalThis.AudioWorkletNode) {
      throw new MicrophoneError('unsupported', 'This browser lacks Web Audio worklets: replies are shown as text only.');
    }
    const context = new AudioContext({ latencyHint: 'interactive' });
    await Promise.all([
      context.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url)),
      context.audioWorklet.addModule(new URL('./playback-worklet.js', import.meta.url)),
    ]);
    const playback = new AudioWorkletNode(context, 'sotto-playback', { numberOfInputs: 0, outputChannelCount: [1] });
    playback.connect(context.destination);
    const channel = new MessageChannel();
    playback.port.postMessage(/** @satisfies {ConnectCommand} */ ({ type: WORKLET.CONNECT, port: channel.port1 }), [channel.port1]);
    postToEngine({ type: REQUEST.PLAYBACK_PORT, port: channel.port2, sampleRate: context.sampleRate }, [channel.port2]);
    if (context.state === 'suspended') await context.resume();
    return new AudioIo(context, postToEngine);
  }

  /**
   * @param {AudioContext} context
   * @param {PostToEngine} postToEngine
   */
  constructor(context, postToEngine) {
    this.context = context;
    this.postToEngine = postToEngine;
    this.stream = null;
    this.capture = null;
  }

  /** Opens the microphone and starts sending its frames (the context's rate) to the engine. */
  async startMicrophone() {
    if (this.stream) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new MicrophoneError('unsupported', 'This page cannot use a microphone here (it needs https or localhost).');
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
    } catch (err) {
      throw explain(err);
    }
    const source = this.context.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.context, 'sotto-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
    const channel = new MessageChannel();
    this.capture.port.postMessage(/** @satisfies {CaptureCommand} */ ({ type: WORKLET.CONNECT, port: channel.port1 }), [channel.port1]);
    this.postToEngine({ type: REQUEST.CAPTURE_PORT, port: channel.port2, sampleRate: this.context.sampleRate }, [channel.port2]);
    source.connect(this.capture);
    this.source = source;
    if (this.context.state === 'suspended') await this.context.resume();
  }

  /** Closes the microphone (the playback stays). */
  stopMicrophone() {
    this.source?.disconnect();
    this.capture?.port.postMessage(/** @satisfies {CaptureCommand} */ ({ type: WORKLET.PAUSE }));
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.capture = null;
    this.source = null;
  }

  get microphoneOn() {
    return this.stream != null;
  }

  async close() {
    this.stopMicrophone();
    await this.context.close();
  }
}
