#!/usr/bin/env node
// Fills a models folder for an offline demo, on a machine with internet:
//   node models/fetch.mjs [--out DIR] [--all | ID ...]
// Downloads the chosen catalog models (default: the catalog's defaults) into DIR/<id>/<file>,
// resuming partial files with Range requests, verifies each against the catalog's sha256 (or
// records the sha256 it got), copies catalog.json and writes DIR/local-catalog.json. Then
// `sotto serve --models DIR` (or copying DIR next to the page as models/) serves the demo with no
// network at all: the page prefers these files to the hub.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(here, 'cache'));
const wanted = args.filter((a, i) => !a.startsWith('--') && i !== outIndex + 1);
const catalog = JSON.parse(readFileSync(join(here, 'catalog.json'), 'utf8'));
const models = catalog.models.filter((m) =>
  !m.builtin && (args.includes('--all') ? true : wanted.length ? wanted.includes(m.id) : m.default));
for (const id of wanted) {
  if (!catalog.models.some((m) => m.id === id)) throw new Error(`no model "${id}" in models/catalog.json`);
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

async function fetchFile(url, path, expectedSize) {
  const partial = `${path}.partial`;
  let have = await stat(partial).then((s) => s.size, () => 0);
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {} }).catch((err) => err);
    if (response instanceof Error || (!response.ok && response.status !== 206)) {
      if (response.status === 416) break; // already complete
      if (attempt >= 5) throw new Error(`${url}: ${response.message ?? `HTTP ${response.status}`}`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
      continue;
    }
    if (have && response.status === 200) have = 0; // the server ignored the Range header
    const sink = createWriteStream(partial, { flags: have ? 'a' : 'w' });
    try {
      for await (const chunk of response.body) {
        sink.write(chunk);
        have += chunk.length;
        process.stdout.write(`\r  ${path}: ${(have / 1e6).toFixed(1)} MB`);
      }
      await new Promise((r) => sink.end(r));
      break;
    } catch (err) {
      await new Promise((r) => sink.end(r));
      if (attempt >= 5) throw new Error(`${url}: the connection kept dropping (${err.message})`);
    }
  }
  process.stdout.write('\n');
  if (expectedSize != null && have !== expectedSize) throw new Error(`${url}: got ${have} bytes, expected ${expectedSize}`);
  await rename(partial, path);
}

const local = [];
for (const model of models) {
  console.log(`${model.name}`);
  const files = [];
  for (const file of model.files) {
    const path = join(out, model.id, file.name);
    await mkdir(dirname(path), { recursive: true });
    const present = await stat(path).then((s) => s.size, () => null);
    if (present == null || (file.size != null && present !== file.size)) await fetchFile(file.url, path, file.size ?? null);
    const digest = await sha256(path);
    if (file.sha256 && digest !== file.sha256) throw new Error(`${path}: sha256 ${digest}, the catalog says ${file.sha256}`);
    files.push({ name: file.name, size: (await stat(path)).size, sha256: digest });
  }
  local.push({ id: model.id, role: model.role, name: model.name, files });
}
await copyFile(join(here, 'catalog.json'), join(out, 'catalog.json'));
await writeFile(join(out, 'local-catalog.json'), JSON.stringify({ schema: 1, models: local }, null, 2));
console.log(`Wrote ${out}. Serve it with: target/release/sotto serve --root dist --models ${out}`);
