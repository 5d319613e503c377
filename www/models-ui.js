// The models panel: the catalog grouped by role, what is cached and how big, download progress
// (bytes, percent, rate, time left, per file and in total), cancel, remove, load, and models from
// files the user picks or drops. Everything is built with DOM nodes and textContent, never HTML.
import { formatBytes } from './downloader.js';

const ROLE_TITLES = { asr: 'Speech recognition', llm: 'Dialog model', voice: 'Voice' };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function formatSeconds(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s left`;
}

function describeProgress(p) {
  const parts = [`${formatBytes(p.loaded)} of ${p.total == null ? 'unknown size' : formatBytes(p.total)}`];
  if (p.percent != null) parts.push(`${p.percent.toFixed(1)}%`);
  if (p.bytesPerSecond) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  const left = formatSeconds(p.secondsLeft);
  if (left && p.loaded !== p.total) parts.push(left);
  return parts.join(' · ');
}

export class ModelsPanel {
  /**
   * `sotto` is a `Sotto` (the public API); `onChange` runs after the cache changed.
   * @param {import('./sotto.js').Sotto} sotto
   * @param {any} root the panel's element
   * @param {(models: object[]) => void} [onChange]
   */
  constructor(sotto, root, onChange = () => {}) {
    this.sotto = sotto;
    this.models = sotto.models;
    this.root = root;
    this.rows = new Map();
    this.onChange = onChange;
    sotto.on('progress', (progress) => this.showProgress(progress));
    this.setUpPicker();
  }

  say(text, isError = false) {
    const line = this.root.querySelector('#models-message');
    line.textContent = text;
    line.dataset.error = isError ? 'true' : 'false';
  }

  async refresh() {
    const { models, storage } = await this.models.list();
    this.list = models;
    const list = this.root.querySelector('#model-list');
    list.replaceChildren();
    this.rows.clear();
    for (const role of Object.keys(ROLE_TITLES)) {
      const group = models.filter((m) => m.role === role);
      if (group.length === 0) continue;
      list.append(el('h3', { text: ROLE_TITLES[role] }));
      for (const model of group) list.append(this.row(model));
    }
    const cachedBytes = models.reduce((sum, m) => sum + (m.cached?.bytes ?? 0), 0);
    this.root.querySelector('#storage').textContent =
      `Cached models: ${formatBytes(cachedBytes)}. This site uses ${formatBytes(storage.usage)} of ${formatBytes(storage.quota)} allowed.`;
    this.root.dataset.models = String(models.length);
    this.onChange(models);
  }

  row(model) {
    const size = model.cached?.bytes ?? model.files.reduce((s, f) => s + (f.size ?? f.sizeHint ?? 0), 0);
    const exact = model.cached || model.files.every((f) => f.size != null);
    const facts = [
      model.builtin ? null : `${exact ? '' : 'about '}${formatBytes(size)}`,
      model.license,
      model.languages?.join(', '),
      model.origin === 'local' ? 'served beside this page' : model.origin === 'imported' ? 'from your files' : null,
    ].filter(Boolean);
    const bar = el('progress', { max: 100, value: 0, hidden: true, 'aria-label': `${model.name} download` });
    const detail = el('p', { class: 'progress-text', 'aria-live': 'polite' });
    const files = el('ul', { class: 'file-progress', hidden: true });
    const buttons = el('div', { class: 'buttons' });
    const row = el(
      'article',
      { class: 'model', 'data-model': model.id, 'data-cached': model.cached ? 'true' : 'false' },
      el('h4', { text: model.name }),
      el('p', { class: 'facts', text: facts.join(' · ') }),
      model.note ? el('p', { class: 'note', text: model.note }) : null,
      bar,
      detail,
      files,
      buttons,
    );
    this.rows.set(model.id, { row, bar, detail, files });
    const button = (label, action) => el('button', { type: 'button', text: label, 'data-action': label.toLowerCase(), onclick: action });
    if (model.builtin) {
      detail.textContent = 'Built in: nothing to download.';
    } else if (model.cached) {
      detail.textContent = `Cached (${formatBytes(model.cached.bytes)}), works offline.`;
      buttons.append(button('Verify', () => this.load(model)), button('Remove', () => this.remove(model)));
    } else {
      buttons.append(button('Download', () => this.download(model)));
    }
    return row;
  }

  showProgress(p) {
    const view = this.rows.get(p.model);
    if (!view) return;
    view.bar.hidden = false;
    if (p.percent != null) view.bar.value = p.percent;
    else view.bar.removeAttribute('value');
    view.detail.textContent = describeProgress(p);
    view.files.hidden = p.files.length < 2;
    view.files.replaceChildren(
      ...p.files.map((f) =>
        el('li', {}, el('span', { text: f.name }), el('progress', { max: f.total ?? 1, value: f.loaded, 'aria-label': f.name }),
          el('span', { text: `${formatBytes(f.loaded)} / ${f.total == null ? '?' : formatBytes(f.total)}` })),
      ),
    );
  }

  async download(model) {
    const view = this.rows.get(model.id);
    const buttons = view.row.querySelector('.buttons');
    buttons.replaceChildren(
      el('button', { type: 'button', text: 'Cancel', 'data-action': 'cancel', onclick: () => this.models.cancel(model.id) }),
    );
    // Ask the browser not to evict the models under storage pressure (a page-only API).
    navigator.storage?.persist?.().catch(() => {});
    view.detail.textContent = 'Starting…';
    try {
      await this.models.download(model.id);
      this.say(`${model.name} downloaded and verified.`);
    } catch (err) {
      this.say(err.code === 'cancelled' ? `${model.name}: download cancelled.` : `${model.name}: ${err.message}`, err.code !== 'cancelled');
    }
    await this.refresh();
  }

  async remove(model) {
    await this.models.remove(model.id);
    this.say(`${model.name} removed from this device.`);
    await this.refresh();
  }

  async load(model) {
    try {
      const result = await this.models.verify(model.id);
      const summary = result.files.map((f) => `${f.name} (${f.header.format})`).join(', ');
      this.say(`${model.name} verified and loaded: ${summary}.`);
      this.root.dataset.loaded = model.id;
    } catch (err) {
      this.say(`${model.name}: ${err.message}`, true);
      await this.refresh();
    }
  }

  setUpPicker() {
    const input = this.root.querySelector('#model-files');
    const zone = this.root.querySelector('#drop-zone');
    const take = async (fileList) => {
      const files = [...fileList];
      if (files.length === 0) return;
      this.say(`Reading ${files.map((f) => f.name).join(', ')}…`);
      try {
        const result = await this.models.import(files);
        this.say(`Stored ${result.files.length} file(s) as ${result.model}; they work offline now.`);
      } catch (err) {
        this.say(err.message, true);
      }
      await this.refresh();
    };
    input.addEventListener('change', () => take(input.files));
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.dataset.over = 'true';
    });
    zone.addEventListener('dragleave', () => delete zone.dataset.over);
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      delete zone.dataset.over;
      take(event.dataTransfer.files);
    });
  }
}
