// The demo page: UI only, built on Sotto's public API (sotto.js), like any site embedding it.
// Model output is always rendered as text, never as HTML.
import { Sotto } from './sotto.js';
import { ModelsPanel } from './models-ui.js';
import { ConversationView } from './conversation-view.js';

/** The page's element `id` (its DOM is not type-checked: `any`). @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);
const STATE_LABELS = { listening: 'Listening', 'hearing-you': 'Hearing you', thinking: 'Thinking', speaking: 'Speaking' };

function showStatus(state, text) {
  $('engine-status').dataset.state = state;
  $('engine-status').textContent = text;
  document.body.dataset.engine = state;
}

function showFacts(facts) {
  $('engine-version').textContent = facts.version;
  $('engine-simd').textContent = facts.simd.build && facts.simd.browser ? 'yes' : `no (build: ${facts.simd.build}, browser: ${facts.simd.browser})`;
  $('engine-isolated').textContent = facts.crossOriginIsolated ? 'yes' : 'no';
  $('engine-threads').textContent = facts.singleThreadReason ? `${facts.threads} (${facts.singleThreadReason})` : String(facts.threads);
  $('engine-startup').textContent = `${facts.startupMs.toFixed(0)} ms`;
  $('engine-facts').hidden = false;
}

/**
 * The latency waterfall of the last turn: bars from the end of speech (the last voiced frame's
 * capture time) to the end of turn, the transcript, the first token, the first chunk of speech
 * synthesized, and the first audio sounding; then the last barge-in, from the onset of the
 * interrupting voice to the reply's last rendered sample. Records arrive per turn, a barge-in's
 * completed record after the stop.
 */
class Waterfall {
  constructor(svg, text) {
    this.svg = svg;
    this.text = text;
    this.latest = null;
    this.bargeIn = null; // {turn, ms}
  }

  update(record) {
    if (record.playbackStop != null && record.interruptOnset != null) {
      this.bargeIn = { turn: record.turn, ms: record.playbackStop - record.interruptOnset };
    }
    if (!this.latest || record.turn >= this.latest.turn) this.latest = record;
    this.draw();
  }

  draw() {
    const latency = this.latest;
    const origin = latency.speechEnd;
    const rows = [
      ['end of turn', latency.endpoint],
      ['transcript', latency.transcript],
      ['first token', latency.firstToken],
      ['voice ready', latency.firstChunk],
      ['first audio', latency.firstAudio],
    ].filter(([, at]) => at != null).map(([label, at]) => [label, at - origin]);
    if (this.bargeIn) rows.push([`barge-in (turn ${this.bargeIn.turn})`, this.bargeIn.ms]);
    const total = Math.max(...rows.map(([, ms]) => ms), 1);
    const width = this.svg.clientWidth || 600;
    const scale = (width - 210) / total;
    const ns = 'http://www.w3.org/2000/svg';
    const colors = ['#8aa9c9', '#6a1b9a', '#ef6c00', '#00838f', '#2e7d32', '#c62828'];
    this.svg.replaceChildren();
    this.svg.setAttribute('height', String(rows.length * 16 + 4));
    rows.forEach(([label, ms], row) => {
      const bar = document.createElementNS(ns, 'rect');
      bar.setAttribute('x', '130');
      bar.setAttribute('y', String(row * 16 + 2));
      bar.setAttribute('height', '12');
      bar.setAttribute('width', String(Math.max(1, ms * scale)));
      bar.setAttribute('fill', label.startsWith('barge-in') ? colors[5] : colors[row]);
      const name = document.createElementNS(ns, 'text');
      name.setAttribute('x', '0');
      name.setAttribute('y', String(row * 16 + 12));
      name.textContent = label;
      const value = document.createElementNS(ns, 'text');
      value.setAttribute('x', String(135 + Math.max(1, ms * scale)));
      value.setAttribute('y', String(row * 16 + 12));
      value.textContent = `${Math.round(ms)} ms`;
      this.svg.append(bar, name, value);
    });
    this.svg.dataset.marks = String(rows.length);
    this.svg.dataset.turn = String(latency.turn);
    this.text.textContent = `after the end of speech: ${rows.map(([label, ms]) => `${label} ${Math.round(ms)} ms`).join(' · ')}`;
  }
}

function fillModelSelect(select, models, role) {
  const current = select.value;
  select.replaceChildren(
    ...models.filter((m) => m.role === role).map((m) => {
      const option = document.createElement('option');
      option.value = m.id;
      option.textContent = `${m.name}${m.cached ? ' (cached)' : m.origin === 'local' ? ' (beside the page)' : ''}`;
      return option;
    }),
  );
  // The model chosen or in use; else the default of the models beside the page (the real models
  // of an offline demo); else any model beside the page or cached; else the hub's default.
  const preferred = models.find((m) => m.role === role && m.id === current)
    ?? models.find((m) => m.role === role && m.inUse)
    ?? models.find((m) => m.role === role && m.origin === 'local' && m.default)
    ?? models.find((m) => m.role === role && (m.origin === 'local' || m.cached))
    ?? models.find((m) => m.role === role && m.default);
  if (preferred) select.value = preferred.id;
}

async function main() {
  let sotto;
  try {
    // `?threads=N` caps the engine's helper threads (0: single-threaded), for comparisons;
    // `?test` enables the test hooks (making the engine panic, for the recovery test).
    const params = new URLSearchParams(location.search);
    const threads = params.get('threads');
    sotto = await Sotto.create({
      systemPrompt: $('system-input').value,
      testHooks: params.has('test'),
      ...(threads === null ? {} : { threads: Number(threads) }),
    });
  } catch (err) {
    showStatus('error', `The engine failed to start: ${err.message}`);
    return;
  }
  /** @type {any} */ (window).sotto = sotto; // for the browser tests and the console
  showFacts(sotto.engine);
  showStatus('ready', `Engine ready (Sotto ${sotto.engine.version}).`);

  const conversation = new ConversationView($('conversation'));
  const say = (text) => ($('mic-message').textContent = text);
  sotto.on('state', ({ state }) => {
    $('state').dataset.state = state;
    $('state').textContent = STATE_LABELS[state] ?? state;
    $('stop-button').disabled = !(state === 'thinking' || state === 'speaking');
  });
  sotto.on('level', ({ db }) => ($('mic-level').value = Math.max(-80, db)));
  sotto.on('partial', ({ text }) => ($('partial').textContent = text));
  sotto.on('transcript', ({ turn, text }) => {
    $('partial').textContent = '';
    conversation.add('user', text, turn);
  });
  sotto.on('nothing-heard', () => ($('partial').textContent = ''));
  sotto.on('token', ({ turn, text }) => conversation.token(turn, text));
  sotto.on('reply', ({ turn, text }) => {
    conversation.finish(turn, false);
    $('announcer').textContent = text;
  });
  sotto.on('interrupted', ({ turn }) => conversation.finish(turn, true));
  const waterfall = new Waterfall($('waterfall'), $('latency-text'));
  sotto.on('latency', (record) => waterfall.update(record));
  sotto.on('error', ({ code, message }) => {
    if (code === 'engine-crashed') {
      showStatus('recovering', `${message}. Restarting it…`);
      conversation.crashed();
    } else if (code === 'engine-failed') {
      showStatus('error', message);
    } else {
      say(message);
    }
  });
  // The status line keeps saying what happened after a crash, as text.
  sotto.on('recovered', ({ message, messages }) => {
    showStatus('ready', `${message}. It was restarted with the same models and settings, and ${messages} message(s) of the conversation; listening goes on.`);
    showFacts(sotto.engine);
  });
  sotto.on('degraded', ({ reason }) => {
    showStatus('ready', `The engine runs single-threaded now: ${reason}.`);
    showFacts(sotto.engine);
  });
  const SILENT_MICROPHONE = 'The microphone delivers only silence: is it muted, or is another device selected?';
  sotto.on('digital-silence', () => say(SILENT_MICROPHONE));
  sotto.on('digital-silence-ended', () => $('mic-message').textContent === SILENT_MICROPHONE && say(''));

  const panel = new ModelsPanel(sotto, $('models'), (models) => {
    fillModelSelect($('asr-select'), models, 'asr');
    fillModelSelect($('llm-select'), models, 'llm');
  });
  await panel.refresh();

  async function applySettings() {
    const mode = $('mode-select').value;
    await sotto.configure({
      systemPrompt: $('system-input').value,
      endpointMs: Number($('endpoint-input').value),
      mode,
      voice: { rate: Number($('rate-input').value), system: $('voice-select').value === 'system', lang: navigator.language || 'en-US' },
    });
    // Say which voice will speak: a system voice is used only if it is local to this device.
    const system = sotto.systemVoice;
    $('voice-status').textContent = !system ? ''
      : system.local ? `Replies use ${system.name}, on this device.`
        : `No local system voice for ${system.lang} here: the built-in voice speaks instead.`;
    $('talk-button').hidden = mode !== 'push-to-talk';
    $('state').textContent = 'Loading models…';
    try {
      const warnings = [];
      for (const [role, select] of [['asr', $('asr-select')], ['llm', $('llm-select')]]) {
        if (!select.value) continue;
        const { warning } = await sotto.load(role, select.value);
        if (warning) warnings.push(warning);
      }
      say(warnings.join(' '));
      document.body.dataset.models = 'loaded';
      $('state').dataset.state = 'listening';
      $('state').textContent = 'Ready: type, or start listening';
      for (const id of ['mic-button', 'ask-input', 'ask-button']) $(id).disabled = false;
    } catch (err) {
      say(err.message);
      $('state').textContent = 'Models not loaded';
    }
    await panel.refresh();
  }
  $('apply-button').addEventListener('click', applySettings);

  $('mic-button').addEventListener('click', async () => {
    try {
      if (sotto.listening) {
        sotto.stop();
      } else {
        say('');
        await sotto.start();
      }
    } catch {
      // The error event already explained it.
    }
    $('mic-button').textContent = sotto.listening ? 'Stop listening' : 'Start listening';
    $('mic-button').setAttribute('aria-pressed', String(sotto.listening));
  });
  $('stop-button').addEventListener('click', () => sotto.interrupt());
  $('ask-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('ask-input').value.trim();
    if (!text) return;
    $('ask-input').value = '';
    sotto.ask(text).catch((err) => say(err.message));
  });

  // Push to talk: hold the button, or Space when not typing.
  const talkDown = () => sotto.listening && sotto.pressToTalk();
  const talkUp = () => sotto.listening && sotto.releaseToTalk();
  $('talk-button').addEventListener('pointerdown', talkDown);
  $('talk-button').addEventListener('pointerup', talkUp);
  const typing = (event) => ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.target.tagName);
  document.addEventListener('keydown', (event) => {
    if (event.code === 'Space' && !event.repeat && !typing(event) && $('mode-select').value === 'push-to-talk') {
      event.preventDefault();
      talkDown();
    }
  });
  document.addEventListener('keyup', (event) => {
    if (event.code === 'Space' && !typing(event) && $('mode-select').value === 'push-to-talk') talkUp();
  });

  // Models beside the page (the generated test models, an offline demo folder) or already cached
  // load at once; hub downloads wait for a click on "Apply".
  // (`?manual` turns this off, for the model-delivery tests.)
  const { models } = await sotto.models.list();
  const ready = (id) => models.find((m) => m.id === id && (m.cached || m.origin === 'local'));
  const manual = new URLSearchParams(location.search).has('manual');
  if (!manual && ready($('asr-select').value) && ready($('llm-select').value)) await applySettings();

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js')
      .then(() => navigator.serviceWorker.ready)
      .then(() => (document.body.dataset.offlineReady = 'true'))
      .catch((err) => ($('offline-status').textContent = `Offline use is unavailable: ${err.message}`));
  }
}

main();
