// Drives examples/bench_llm_wasm.rs under Node (one thread) and prints one JSON object.
// usage: node examples/bench_llm_wasm.mjs WASM MODEL.gguf [--candle] [--prompt 128] [--decode 32] [--turn 25]
//        [--rounds 5] [--candle-rounds 1]
// Each round measures a fresh instance (load, prefill, decode, second turn); the figures are the
// rounds' medians, with the fastest and slowest in `spread`: single runs on a shared 2-core
// machine vary by 10% and more (background JIT tier-up, neighbours).
import fs from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";

const [wasmPath, modelPath, ...rest] = process.argv.slice(2);
const opt = { prompt: 128, decode: 32, turn: 25, candle: false, rounds: 5, "candle-rounds": 1 };
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--candle") opt.candle = true;
  else opt[rest[i].replace(/^--/, "")] = Number(rest[++i]);
}
for (const [k, v] of Object.entries(opt)) {
  if (k !== "candle" && !(Number.isInteger(v) && v > 0)) throw new Error(`--${k} takes a positive integer, not ${v}`);
}
const wasmBytes = fs.readFileSync(wasmPath);
const model = fs.readFileSync(modelPath);
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
async function warmUp(prefix) {
  const x = await instance();
  if (x[`${prefix}load`](copyIn(x), model.length) !== 0) throw new Error("warm-up load failed");
  x[`${prefix}prefill`](16, 5000);
  x[`${prefix}decode`](2);
}

function copyIn(x) {
  const ptr = x.alloc(model.length);
  new Uint8Array(x.memory.buffer, ptr, model.length).set(model);
  return ptr;
}

function time(f) {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1e3;
}

const rate = (n, s) => Math.round((n / s) * 10) / 10;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// One round: a fresh instance loads the model, prefills the prompt, decodes, and prefills a
// second turn on the warm conversation.
async function round(prefix) {
  const x = await instance();
  const ptr = copyIn(x);
  let status;
  const load_s = time(() => { status = x[`${prefix}load`](ptr, model.length); });
  if (status !== 0) throw new Error(`load failed: ${status}`);
  const memory_after_load = x.memory.buffer.byteLength;
  const prefill_s = time(() => x[`${prefix}prefill`](opt.prompt, 0));
  const decode_s = time(() => x[`${prefix}decode`](opt.decode));
  const turn_s = time(() => x[`${prefix}prefill`](opt.turn, 1000));
  return { x, load_s, memory_after_load, prefill_s, decode_s, turn_s };
}

async function run(prefix, rounds) {
  await warmUp(prefix);
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await round(prefix));
  const last = runs[runs.length - 1];
  const figures = (key, f) => runs.map((r) => f(r[key]));
  const prefill = figures("prefill_s", (s) => rate(opt.prompt, s));
  const decode = figures("decode_s", (s) => rate(opt.decode, s));
  const turn = figures("turn_s", (s) => Math.round(s * 1e4) / 10);
  const kernel = prefix === "" ? kernelCeiling(last.x) : null;
  const prefill_s = median(runs.map((r) => r.prefill_s));
  return {
    rounds,
    load_s: median(runs.map((r) => r.load_s)),
    memory_after_load_mib: Math.round((last.memory_after_load / MiB) * 10) / 10,
    memory_vs_file: Math.round((last.memory_after_load / model.length) * 1000) / 1000,
    prefill_tok_s: median(prefill),
    decode_tok_s: median(decode),
    second_turn_prefill_ms: median(turn),
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
const ours = await run("", opt.rounds);
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
const candle = opt.candle ? await run("candle_", opt["candle-rounds"]) : null;
const ratio = (k) => (candle ? Math.round((ours[k] / candle[k]) * 100) / 100 : null);
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
  candle,
  speedup_vs_candle: { prefill: ratio("prefill_tok_s"), decode: ratio("decode_tok_s") },
}));
