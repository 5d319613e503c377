// Runs the wasm32-wasip1 build of examples/bench_whisper.rs single-threaded under Node's WASI.
//
//   RUSTFLAGS="-C target-feature=+simd128" cargo build --release --target wasm32-wasip1 \
//       --example bench_whisper --features candle-reference
//   node examples/bench_whisper_wasi.mjs target/wasm32-wasip1/release/examples/bench_whisper.wasm [args]
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env } from "node:process";

const [wasmPath, ...args] = argv.slice(2);
const wasi = new WASI({ version: "preview1", args: ["bench_whisper", ...args], env });
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
