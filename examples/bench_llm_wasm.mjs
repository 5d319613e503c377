// Drives examples/bench_llm_wasm.rs under Node (one thread) and prints one JSON object.
// usage: node examples/bench_llm_wasm.mjs WASM MODEL.gguf [--candle] [--profile] [--reference REF.gguf]
//        [--prompt 128] [--decode 32] [--turn 25] [--rounds 5] [--candle-rounds 1]
// --reference measures our engine on a second file in the same run (`reference`, and `vs_reference`:
// our figures on MODEL over those on REF, above 1 is faster): a q8_0 file of the same shape is what
// a lower-bit file's figures are held to (it reads fewer bytes).
// --profile adds `decode_profile`: one decode step's time split by matrix encoding (each matrix of
// the file timed alone with one token, in file order), the output projection apart, and the rest
// of the step (attention, norms, activations) as the measured step minus its products. Both in
// CPU time (`process.cpuUsage`), which a machine shared with other work does not stretch as it
// stretches wall time.
// Each round measures a fresh instance (load, prefill, decode, second turn); the figures are the
// rounds' medians, with the fastest and slowest in `spread`: single runs on a shared 2-core
// machine vary by 10% and more (background JIT tier-up, neighbours).
import fs from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";

const [wasmPath, modelPath, ...rest] = process.argv.slice(2);
const opt = { prompt: 128, decode: 32, turn: 25, candle: false, profile: false, reference: null, rounds: 5, "candle-rounds": 1 };
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--candle") opt.candle = true;
  else if (rest[i] === "--profile") opt.profile = true;
  else if (rest[i] === "--reference") opt.reference = rest[++i];
  else opt[rest[i].replace(/^--/, "")] = Number(rest[++i]);
}
for (const [k, v] of Object.entries(opt)) {
  if (typeof v !== "boolean" && k !== "reference" && !(Number.isInteger(v) && v > 0)) throw new Error(`--${k} takes a positive integer, not ${v}`);
}
const wasmBytes = fs.readFileSync(wasmPath);
const model = fs.readFileSync(modelPath);
const oursModel = model;
const MiB = 1 << 20;

// Any import (wasm-bindgen placeholders the core never calls on this path) is a throwing stub.
const stubs = new Proxy({}, {
  get: (_, module) => new Proxy({}, { get: (_, name) => () => { throw new Error(`import ${module}.${String(name)} called`); } }),
});

// One compiled module for every instance: V8 compiles wasm functions with its baseline compiler
// first and optimizes the hot ones in the background, per module, so a warm-up instance leaves
// optimized code for the measured one.
const module = await WebAssembly.compile(wasmBytes);

async function instance() {
  return (await WebAssembly.instantiate(module, stubs)).exports;
}

// A throwaway instance runs a short prefill and two decode steps first, so the measured passes
// run on optimized code as a conversation's do after its first turn (the same for candle).
async function warmUp(prefix, model) {
  const x = await instance();
  if (x[`${prefix}load`](copyIn(x, model), model.length) !== 0) throw new Error("warm-up load failed");
  x[`${prefix}prefill`](16, 5000);
  x[`${prefix}decode`](2);
}

function copyIn(x, bytes = model) {
  const ptr = x.alloc(bytes.length);
  new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
  return ptr;
}

function time(f) {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1e3;
}

// The process's CPU time (user and system, all threads) that `f` takes, in seconds.
function cpuTime(f) {
  const t0 = process.cpuUsage();
  f();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1e6;
}

const rate = (n, s) => Math.round((n / s) * 10) / 10;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// One round: a fresh instance loads the model, prefills the prompt, decodes, and prefills a
// second turn on the warm conversation.
async function round(prefix, model) {
  const x = await instance();
  const ptr = copyIn(x, model);
  let status;
  const load_s = time(() => { status = x[`${prefix}load`](ptr, model.length); });
  if (status !== 0) throw new Error(`load failed: ${status}`);
  const memory_after_load = x.memory.buffer.byteLength;
  let prefill_cpu_s;
  const prefill_s = time(() => { prefill_cpu_s = cpuTime(() => x[`${prefix}prefill`](opt.prompt, 0)); });
  let last_id, decode_cpu_s;
  const decode_s = time(() => { decode_cpu_s = cpuTime(() => { last_id = x[`${prefix}decode`](opt.decode); }); });
  const turn_s = time(() => x[`${prefix}prefill`](opt.turn, 1000));
  return { x, load_s, memory_after_load, prefill_s, prefill_cpu_s, decode_s, decode_cpu_s, turn_s, last_id };
}

async function run(prefix, rounds, model) {
  await warmUp(prefix, model);
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await round(prefix, model));
  const last = runs[runs.length - 1];
  const figures = (key, f) => runs.map((r) => f(r[key]));
  const prefill = figures("prefill_s", (s) => rate(opt.prompt, s));
  const decode = figures("decode_s", (s) => rate(opt.decode, s));
  const turn = figures("turn_s", (s) => Math.round(s * 1e4) / 10);
  const kernel = prefix === "" && model === oursModel ? kernelCeiling(last.x) : null;
  const prefill_s = median(runs.map((r) => r.prefill_s));
  return {
    rounds,
    load_s: median(runs.map((r) => r.load_s)),
    memory_after_load_mib: Math.round((last.memory_after_load / MiB) * 10) / 10,
    memory_vs_file: Math.round((last.memory_after_load / model.length) * 1000) / 1000,
    prefill_tok_s: median(prefill),
    decode_tok_s: median(decode),
    // The same in CPU time, tokens per CPU second: what a machine shared with other work
    // (whose wall-clock rates it lowers) still measures.
    prefill_tok_per_cpu_s: rate(opt.prompt, median(runs.map((r) => r.prefill_cpu_s))),
    decode_tok_per_cpu_s: rate(opt.decode, median(runs.map((r) => r.decode_cpu_s))),
    decode_cpu_ms_per_token: Math.round(median(runs.map((r) => r.decode_cpu_s)) / opt.decode * 1e4) / 10,
    second_turn_prefill_ms: median(turn),
    // The greedy id after the decoded tokens: a build whose kernels change no bit keeps it.
    last_decoded_id: last.last_id,
    spread: {
      prefill_tok_s: [Math.min(...prefill), Math.max(...prefill)],
      decode_tok_s: [Math.min(...decode), Math.max(...decode)],
      second_turn_prefill_ms: [Math.min(...turn), Math.max(...turn)],
    },
    memory_at_end_mib: Math.round((last.x.memory.buffer.byteLength / MiB) * 10) / 10,
    ...(kernel ?? {}),
    ...(kernel ? { prefill_matmul_gmac_s: Math.round((opt.prompt * kernel.matmul_macs_per_token / prefill_s / 1e9) * 10) / 10 } : {}),
  };
}

// The q8_0 prefill kernel alone on cached data (512 x 960 weights, 0.5 MB, and 64 tokens), and
// the prefill rate it allows this model if nothing else in a forward pass took time: the layers'
// weights times one multiply-accumulate each per token. prefill_matmul_gmac_s is the same
// multiply-accumulates over the whole measured prefill.
function kernelCeiling(x) {
  const macs = x.kernel_setup(512, 960, 64);
  x.kernel_run(3);
  let best = Infinity;
  for (let i = 0; i < 5; i++) best = Math.min(best, time(() => x.kernel_run(10)) / 10);
  const gmac_s = macs / best / 1e9;
  const per_token = x.matmul_macs_per_token();
  return {
    q8_0_kernel_gmac_s: Math.round(gmac_s * 10) / 10,
    q8_0_prefill_ceiling_tok_s: Math.round((gmac_s * 1e9 / per_token) * 10) / 10,
    matmul_macs_per_token: per_token,
  };
}

// The simd128 kernels' agreement with the portable ones is a test (tests/wasm.rs), not part of this.
const ours = await run("", opt.rounds, model);
// The same with the GGUF tokenizer and chat template loaded too (what the browser holds).
let with_tokenizer = null;
try {
  const x = await instance();
  const ptr = copyIn(x);
  if (x.load_chat(ptr, model.length) === 0) {
    with_tokenizer = {
      memory_after_load_mib: Math.round((x.memory.buffer.byteLength / MiB) * 10) / 10,
      memory_vs_file: Math.round((x.memory.buffer.byteLength / model.length) * 1000) / 1000,
    };
  }
} catch (e) {
  with_tokenizer = { error: String(e) };
}
// One decode step's products, matrix by matrix in file order (so each streams from memory as in
// a step), the median of 9 passes after 2 warm-up ones, summed per encoding.
const NAMES = { 0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 10: "q2_k", 11: "q3_k", 12: "q4_k", 13: "q5_k", 14: "q6_k", 30: "bf16", 100: "output_projection" };
function decodeProfile() {
  const x = instanceSync();
  const count = x.matrices_load(copyIn(x), model.length);
  if (count < 0) throw new Error("the profile cannot parse the file");
  const kinds = [...Array(count).keys()].map((i) => x.matrix_kind(i));
  const passes = [];
  for (let pass = 0; pass < 15; pass++) {
    const ms = {};
    for (let i = 0; i < count; i++) {
      if (kinds[i] < 0) continue;
      const name = NAMES[kinds[i]] ?? `type_${kinds[i]}`;
      ms[name] = (ms[name] ?? 0) + cpuTime(() => x.matrix_run(i)) * 1e3;
    }
    if (pass >= 4) passes.push(ms);
  }
  const step_ms = ours.decode_cpu_ms_per_token;
  const split = {};
  for (const name of Object.keys(passes[0])) split[name] = median(passes.map((p) => p[name]));
  const macs = {};
  for (let i = 0; i < count; i++) {
    if (kinds[i] < 0) continue;
    const name = NAMES[kinds[i]] ?? `type_${kinds[i]}`;
    macs[name] = (macs[name] ?? 0) + x.matrix_macs(i);
  }
  const products_ms = Object.values(split).reduce((a, b) => a + b, 0);
  const out = { step_cpu_ms: step_ms };
  for (const [name, ms] of Object.entries(split)) {
    out[name] = { ms: Math.round(ms * 100) / 100, share: Math.round((ms / step_ms) * 1000) / 1000, gmac_s: Math.round((macs[name] / ms / 1e6) * 100) / 100 };
  }
  out.attention_and_elementwise = { ms: Math.round((step_ms - products_ms) * 100) / 100, share: Math.round(((step_ms - products_ms) / step_ms) * 1000) / 1000 };
  return out;
}

function instanceSync() {
  return new WebAssembly.Instance(module, stubs).exports;
}

const decode_profile = opt.profile ? decodeProfile() : null;
// candle-transformers 0.11.1 traps on some files (its quantized Gemma 3 on the real 270M Q4_K_M
// file, in its forward pass): the figures then say so, and ours stand.
let candle = null;
if (opt.candle) {
  try {
    candle = await run("candle_", opt["candle-rounds"], model);
  } catch (e) {
    candle = { error: String(e) };
  }
}
const ratio = (k) => (candle && !candle.error ? Math.round((ours[k] / candle[k]) * 100) / 100 : null);
const referenceModel = opt.reference ? fs.readFileSync(opt.reference) : null;
const reference = referenceModel ? await run("", opt.rounds, referenceModel) : null;
const vsReference = (k) => Math.round((ours[k] / reference[k]) * 100) / 100;
const vsReferenceFigures = () => ({
  prefill: vsReference("prefill_tok_s"),
  decode: vsReference("decode_tok_s"),
  prefill_cpu: vsReference("prefill_tok_per_cpu_s"),
  decode_cpu: vsReference("decode_tok_per_cpu_s"),
});
console.log(JSON.stringify({
  engine: "wasm32 simd128, node " + process.version + ", one thread",
  cpu: os.cpus()[0]?.model,
  model: modelPath,
  file_mib: Math.round((model.length / MiB) * 10) / 10,
  prompt_tokens: opt.prompt,
  decode_tokens: opt.decode,
  second_turn_tokens: opt.turn,
  warm_up: "a 16-token prefill and 2 decode steps on a throwaway instance of the same module",
  ours,
  with_tokenizer,
  ...(decode_profile ? { decode_profile } : {}),
  candle,
  speedup_vs_candle: { prefill: ratio("prefill_tok_s"), decode: ratio("decode_tok_s") },
  ...(reference ? {
    reference_model: opt.reference,
    reference_file_mib: Math.round((referenceModel.length / MiB) * 10) / 10,
    reference,
    vs_reference: vsReferenceFigures(),
  } : {}),
}));
