// Drives the wasm build of examples/bench_quant.rs under Node (one thread, simd128) and prints
// the same JSON as the native run: per encoding, decode (one token, a 32768 x 1536 matrix past
// the caches) and prefill (128 tokens, SmolLM2-135M's 576 x 1536 ffn_down) beside q8_0 measured
// in the same run (vs_q8_0, a time ratio) and beside the portable tile kernel on the same tiles
// (vs_portable: what simd128 buys).
//
//   cargo build --release --example bench_quant --target wasm32-unknown-unknown
//   node examples/bench_quant_wasm.mjs target/wasm32-unknown-unknown/release/examples/bench_quant.wasm [--rounds 7] [--cpu]
import fs from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";

const [wasmPath, ...rest] = process.argv.slice(2);
let rounds = 7;
let cpu = false;
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === "--rounds") rounds = Number(rest[i + 1]);
  else if (rest[i] === "--cpu") { cpu = true; i -= 1; }
  else throw new Error(`unknown argument ${rest[i]} (takes --rounds N and --cpu)`);
}
if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error("--rounds takes a positive integer");

// Any import (wasm-bindgen placeholders these exports never call) is a throwing stub.
const stubs = new Proxy({}, {
  get: (_, module) => new Proxy({}, { get: (_, name) => () => { throw new Error(`import ${module}.${String(name)} called`); } }),
});
const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
const x = (await WebAssembly.instantiate(module, stubs)).exports;

const TYPES = { 8: "q8_0", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 10: "q2_k", 11: "q3_k", 12: "q4_k", 13: "q5_k", 14: "q6_k" };
const PHASES = [["decode", 32768, 1], ["prefill", 576, 128]];
const round2 = (v) => Math.round(v * 100) / 100;

// The median of `rounds` timings of one call, after two warm-up calls (V8 tiers hot functions
// up in the background). With --cpu, in the process's CPU time (`process.cpuUsage`), which a
// machine shared with other work does not stretch as it stretches wall time.
function medianSeconds(portable) {
  x.probe_run(2, portable);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    x.probe_run(1, portable);
    const c = process.cpuUsage(c0);
    times.push(cpu ? (c.user + c.system) / 1e6 : (performance.now() - t0) / 1e3);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

const figures = {};
for (const [phase, rows, tokens] of PHASES) {
  const measured = [];
  for (const [id, name] of Object.entries(TYPES)) {
    const macs = x.probe_setup(Number(id), rows, tokens);
    const bytes = x.probe_weight_bytes();
    const s = medianSeconds(0);
    const portable = x.probe_has_portable() === 1 ? medianSeconds(1) : null;
    measured.push({ name, macs, bytes, s, portable });
  }
  const q8_0 = measured.find((m) => m.name === "q8_0").s;
  figures[phase] = Object.fromEntries(measured.map((m) => [m.name, {
    ms: round2(m.s * 1e3),
    gmac_s: round2(m.macs / m.s / 1e9),
    weight_gb_s: round2(m.bytes / m.s / 1e9),
    vs_q8_0: round2(m.s / q8_0),
    portable_ms: m.portable === null ? null : round2(m.portable * 1e3),
    vs_portable: m.portable === null ? null : round2(m.s / m.portable),
  }]));
}

console.log(JSON.stringify({
  bench: "quantized matrix products",
  machine: { arch: os.arch(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
  build: "wasm32-unknown-unknown release, simd128, one thread",
  shapes: { decode: "32768 x 1536, 1 token", prefill: "576 x 1536, 128 tokens" },
  rounds,
  time: cpu ? "process CPU time" : "wall clock",
  figures,
}, null, 2));
