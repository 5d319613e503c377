//! Quantized matrix-product benchmark: every tensor encoding the chat models load, in a real
//! shape, for decode (one token through a matrix larger than the caches, as a decode step reads
//! all the weights from memory) and prefill (128 tokens through SmolLM2-135M's `ffn_down`,
//! 576 × 1536, which stays in cache). Each figure sits beside q8_0's, measured in the same run
//! (`vs_q8_0`: how many times q8_0's time this encoding takes; below 1 is faster), and, for the
//! 32-value encodings, beside the portable tile kernel on the same tiles (`vs_portable`: in
//! wasm, what simd128 buys; natively both are the portable kernel).
//!
//! Native: `cargo run --release --example bench_quant -- [--rounds 7]` prints JSON.
//! Wasm (single thread, simd128): `cargo build --release --example bench_quant --target
//! wasm32-unknown-unknown`, then `node examples/bench_quant_wasm.mjs
//! target/wasm32-unknown-unknown/release/examples/bench_quant.wasm`, which drives the exports
//! below and prints the same JSON.
#![allow(clippy::missing_safety_doc)]
// The wasm build drives the exports from JavaScript, which holds the shapes itself.
#![cfg_attr(target_arch = "wasm32", allow(dead_code))]

use std::cell::RefCell;
use std::sync::Arc;

use sotto::kernels::quant::encode::quantize_row;
use sotto::kernels::quant::packed::{self, pack_in_place, Tile, TileFormat, TILE_ROWS};
use sotto::kernels::quant::{GgmlType, QMatrix, TokenGroup};

/// The encodings measured, by GGML type id; q8_0 (the reference) first.
const TYPES: [u32; 10] = [8, 2, 3, 6, 7, 10, 11, 12, 13, 14];
/// Columns of every matrix: SmolLM2-135M's feed-forward width (a multiple of 256, so the
/// k-quants take it too).
const COLS: usize = 1536;
/// Rows of the prefill matrix (SmolLM2-135M's `ffn_down`) and tokens of the prompt.
const PREFILL_ROWS: usize = 576;
const PREFILL_TOKENS: usize = 128;
/// Rows of the decode matrix: 32768 × 1536 is 53 MB in q8_0 and 31 MB in q4_1, past this
/// machine's caches as a whole model's weights are.
const DECODE_ROWS: usize = 32768;

/// One product to time: a matrix as a model holds it (packed in place where its encoding is)
/// and its input.
struct Probe {
    matrix: QMatrix,
    dtype: GgmlType,
    bytes: Arc<Vec<u8>>,
    rows: usize,
    input: Vec<f32>,
    tokens: usize,
    out: Vec<f32>,
}

/// A deterministic spread of values in about [-0.1, 0.1].
fn value(i: usize) -> f32 {
    ((i * 7919 % 2003) as f32 / 1001.5 - 1.0) * 0.1
}

impl Probe {
    /// `rows` × [`COLS`] weights of `type_id` (576 rows quantized, repeated: the encodings'
    /// quantizers are slow and the values do not change the speed) and `tokens` inputs.
    fn new(type_id: u32, rows: usize, tokens: usize) -> Self {
        let dtype = GgmlType::from_id(type_id, "bench").expect("a known type");
        let mut pattern = Vec::new();
        for r in 0..PREFILL_ROWS {
            let row: Vec<f32> = (0..COLS).map(|c| value(r * COLS + c)).collect();
            quantize_row(dtype, &row, &mut pattern);
        }
        let row_len = pattern.len() / PREFILL_ROWS;
        let mut bytes: Vec<u8> = pattern
            .iter()
            .copied()
            .cycle()
            .take(rows * row_len)
            .collect();
        let packed = pack_in_place(dtype, &mut bytes, rows, COLS);
        let bytes = Arc::new(bytes);
        Probe {
            matrix: QMatrix::new(bytes.clone(), 0, rows, COLS, dtype).with_packed_rows(packed),
            dtype,
            bytes,
            rows,
            input: (0..tokens * COLS).map(|i| value(i + 17)).collect(),
            tokens,
            out: vec![0.0; tokens * rows],
        }
    }

    /// The product as a forward pass runs it (the input's quantization included).
    fn run(&mut self) -> f32 {
        self.matrix.matmul(&self.input, self.tokens, &mut self.out);
        self.out[1]
    }

    /// Whether [`Probe::run_portable`] applies: a 32-value encoding packed in place.
    fn has_portable(&self) -> bool {
        TileFormat::of(self.dtype).is_some()
            && self.rows % TILE_ROWS == 0
            && self.dtype != GgmlType::Q4_0
    }

    /// The same product through the portable tile kernel on the same packed tiles (the
    /// activations quantized the same way, in groups of four tokens).
    fn run_portable(&mut self) -> f32 {
        let format = TileFormat::of(self.dtype).expect("a tiled encoding");
        // A tile's blocks each hold a block of all its rows.
        let tile_len = COLS / 32 * format.block_bytes();
        let groups: Vec<TokenGroup> = self
            .input
            .chunks(4 * COLS)
            .map(|chunk| {
                let row = |k: usize| {
                    chunk
                        .get(k * COLS..(k + 1) * COLS)
                        .unwrap_or(&chunk[..COLS])
                };
                TokenGroup::quantize([row(0), row(1), row(2), row(3)])
            })
            .collect();
        for (t, bytes) in self.bytes.chunks_exact(tile_len).enumerate() {
            let tile = Tile {
                format,
                bytes,
                scales: None,
            };
            for (gi, group) in groups.iter().enumerate() {
                let tokens = (self.tokens - 4 * gi).min(4);
                let sums = packed::dot_packed_group(tile, group, tokens);
                for (k, sums) in sums[..tokens].iter().enumerate() {
                    let out = &mut self.out[(4 * gi + k) * self.rows + t * TILE_ROWS..];
                    out[..TILE_ROWS].copy_from_slice(sums);
                }
            }
        }
        self.out[1]
    }
}

thread_local! {
    static PROBE: RefCell<Option<Probe>> = const { RefCell::new(None) };
}

/// Builds the probe for encoding `type_id` (a GGML type id), `rows` × 1536 weights and `tokens`
/// tokens; returns the product's multiply-accumulates.
#[no_mangle]
pub extern "C" fn probe_setup(type_id: u32, rows: usize, tokens: usize) -> f64 {
    PROBE.with(|p| {
        *p.borrow_mut() = None;
        *p.borrow_mut() = Some(Probe::new(type_id, rows, tokens));
    });
    (rows * COLS * tokens) as f64
}

/// Weight bytes of the probe's matrix.
#[no_mangle]
pub extern "C" fn probe_weight_bytes() -> f64 {
    PROBE.with(|p| p.borrow().as_ref().expect("probe_setup first").bytes.len() as f64)
}

/// Whether the probe has a portable tile path to compare with (1) or not (0).
#[no_mangle]
pub extern "C" fn probe_has_portable() -> i32 {
    PROBE.with(|p| {
        i32::from(
            p.borrow()
                .as_ref()
                .expect("probe_setup first")
                .has_portable(),
        )
    })
}

/// Runs the product `reps` times; `portable` 1 takes the portable tile kernel.
#[no_mangle]
pub extern "C" fn probe_run(reps: usize, portable: i32) -> f32 {
    PROBE.with(|p| {
        let mut guard = p.borrow_mut();
        let probe = guard.as_mut().expect("probe_setup first");
        let mut last = 0.0;
        for _ in 0..reps {
            last = match portable {
                0 => probe.run(),
                _ => probe.run_portable(),
            };
        }
        last
    })
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::Instant;
    let mut rounds = 7;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--rounds", Some(n)) => rounds = n.parse().expect("--rounds N"),
            (other, _) => panic!("unknown argument {other} (takes --rounds N)"),
        }
    }
    // The median of `rounds` timings of one call, after one warm-up call.
    let median_s = |portable: i32| {
        probe_run(1, portable);
        let mut times: Vec<f64> = (0..rounds)
            .map(|_| {
                let t0 = Instant::now();
                std::hint::black_box(probe_run(1, portable));
                t0.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let mut figures = Vec::new();
    for (phase, rows, tokens) in [
        ("decode", DECODE_ROWS, 1),
        ("prefill", PREFILL_ROWS, PREFILL_TOKENS),
    ] {
        for type_id in TYPES {
            let macs = probe_setup(type_id, rows, tokens);
            let s = median_s(0);
            let portable_s = (probe_has_portable() == 1).then(|| median_s(1));
            figures.push(Figure {
                phase,
                type_id,
                macs,
                bytes: probe_weight_bytes(),
                s,
                portable_s,
            });
        }
    }
    let json = report(&figures, rounds);
    println!("{}", serde_json::to_string_pretty(&json).unwrap());
}

/// One measured product: its phase, encoding, multiply-accumulates, weight bytes and median
/// seconds (with the portable tile kernel's, where it applies).
#[cfg(not(target_arch = "wasm32"))]
struct Figure {
    phase: &'static str,
    type_id: u32,
    macs: f64,
    bytes: f64,
    s: f64,
    portable_s: Option<f64>,
}

/// The JSON report: per phase and encoding, ms per product, GMAC/s, weight GB/s, and the
/// ratios to q8_0 and to the portable kernel.
#[cfg(not(target_arch = "wasm32"))]
fn report(figures: &[Figure], rounds: usize) -> serde_json::Value {
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let mut phases = serde_json::Map::new();
    for &Figure {
        phase,
        type_id,
        macs,
        bytes,
        s,
        portable_s,
    } in figures
    {
        let q8_0_s = figures
            .iter()
            .find(|f| f.phase == phase && f.type_id == 8)
            .map(|f| f.s)
            .expect("q8_0 measured");
        let name = format!("{:?}", GgmlType::from_id(type_id, "").unwrap())
            .to_lowercase()
            .replace("2k", "2_k")
            .replace("3k", "3_k")
            .replace("4k", "4_k")
            .replace("5k", "5_k")
            .replace("6k", "6_k");
        let entry = phases.entry(phase).or_insert_with(|| serde_json::json!({}));
        entry[name] = serde_json::json!({
            "ms": round2(s * 1e3),
            "gmac_s": round2(macs / s / 1e9),
            "weight_gb_s": round2(bytes / s / 1e9),
            "vs_q8_0": round2(s / q8_0_s),
            "portable_ms": portable_s.map(|p| round2(p * 1e3)),
            "vs_portable": portable_s.map(|p| round2(s / p)),
        });
    }
    serde_json::json!({
        "bench": "quantized matrix products",
        "machine": {
            "arch": std::env::consts::ARCH,
            "os": std::env::consts::OS,
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        "build": "native release, portable kernels",
        "shapes": {
            "decode": format!("{DECODE_ROWS} x {COLS}, 1 token"),
            "prefill": format!("{PREFILL_ROWS} x {COLS}, {PREFILL_TOKENS} tokens"),
        },
        "rounds": rounds,
        "figures": phases,
    })
}

#[cfg(target_arch = "wasm32")]
fn main() {}
