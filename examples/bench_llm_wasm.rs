//! The wasm side of the LLM benchmark: plain C-ABI exports driven by `examples/bench_llm_wasm.mjs`
//! under Node (one thread), which times the calls and reads the wasm memory size.
//!
//! Build: `cargo build --release --example bench_llm_wasm --target wasm32-unknown-unknown
//! [--features candle-reference]` (the repository's cargo config enables `+simd128`).
//! Nothing here runs natively; the native build only checks that it compiles.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::sync::Arc;

use sotto::gguf::GgufFile;
use sotto::llm::kv_cache::KvCache;
use sotto::llm::sampling::argmax;
use sotto::llm::Model;

struct State {
    model: Model,
    cache: KvCache,
    logits: Vec<f32>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    #[cfg(feature = "candle-reference")]
    static CANDLE: RefCell<Option<candle_side::State>> = const { RefCell::new(None) };
}

/// Reserves `len` bytes for the caller to fill with a GGUF file; returns their address.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Loads our model from the buffer returned by [`alloc`] (taking ownership, no copy). 0 on success.
#[no_mangle]
pub unsafe extern "C" fn load(ptr: *mut u8, len: usize) -> i32 {
    // SAFETY: `ptr` comes from `alloc(len)` and the caller filled all `len` bytes.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let Ok(gguf) = GgufFile::parse(&bytes) else {
        return 1;
    };
    let Ok(model) = Model::load(&gguf, bytes) else {
        return 2;
    };
    drop(gguf);
    let cache = model.new_cache();
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            model,
            cache,
            logits: Vec::new(),
        })
    });
    0
}

/// Loads model, GGUF tokenizer and chat template (what the browser engine holds); 0 on success.
/// The model is then used by `prefill`/`decode` like after [`load`].
#[no_mangle]
pub unsafe extern "C" fn load_chat(ptr: *mut u8, len: usize) -> i32 {
    // SAFETY: as in `load`.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    match sotto::llm::ChatModel::from_bytes(bytes, None, None) {
        Ok(chat) => {
            let model = chat.model;
            let cache = model.new_cache();
            CHAT_TOKENIZER.with(|t| *t.borrow_mut() = Some(chat.tokenizer));
            STATE.with(|s| {
                *s.borrow_mut() = Some(State {
                    model,
                    cache,
                    logits: Vec::new(),
                })
            });
            0
        }
        Err(_) => 1,
    }
}

thread_local! {
    static CHAT_TOKENIZER: RefCell<Option<sotto::llm::tokenizer::TextTokenizer>> = const { RefCell::new(None) };
}

fn ids(n: usize, offset: usize, vocab: usize) -> Vec<u32> {
    (0..n)
        .map(|i| (100 + (i + offset) * 7919 % (vocab.min(40_000) - 200)) as u32)
        .collect()
}

/// Feeds `n` prompt tokens (same ids as the native benchmark); returns the cache length.
#[no_mangle]
pub extern "C" fn prefill(n: usize, offset: usize) -> usize {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = s.as_mut().expect("load first");
        let prompt = ids(n, offset, s.model.config.vocab_size);
        s.logits = s
            .model
            .forward(&prompt, &mut s.cache, false)
            .expect("prefill");
        s.cache.len()
    })
}

/// Generates `n` greedy tokens; returns the last id.
#[no_mangle]
pub extern "C" fn decode(n: usize) -> u32 {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = s.as_mut().expect("load first");
        let mut next = 0;
        for _ in 0..n {
            next = argmax(&s.logits);
            s.logits = s
                .model
                .forward(&[next], &mut s.cache, false)
                .expect("decode");
        }
        next
    })
}

/// Bytes held by the KV cache.
/// The loaded model's layer weights, one multiply-accumulate each per prompt token (q, k, v, o and
/// the three MLP matrices; prefill only looks rows of the embedding up, and computes the output
/// layer for the last token only).
#[no_mangle]
pub extern "C" fn matmul_macs_per_token() -> f64 {
    STATE.with(|s| {
        let guard = s.borrow();
        let c = &guard.as_ref().expect("load runs first").model.config;
        let (d, hd) = (c.embedding_length, c.attention_key_length);
        let q = c.attention_head_count * hd;
        let kv = c.attention_head_count_kv * hd;
        (c.block_count * (d * (q + 2 * kv) + q * d + 3 * d * c.feed_forward_length)) as f64
    })
}

/// A packed q8_0 matrix and a prefill input small enough to stay in cache, for timing the prefill
/// kernel alone: its multiply-accumulates per second bound the prefill rate of any model whose
/// products run through it, whatever the rest of a forward pass costs.
struct KernelProbe {
    matrix: sotto::kernels::quant::QMatrix,
    input: Vec<f32>,
    tokens: usize,
    out: Vec<f32>,
}

thread_local! {
    static PROBE: RefCell<Option<KernelProbe>> = const { RefCell::new(None) };
}

/// Builds the kernel probe (`rows` × `cols` q8_0 weights, `tokens` prompt tokens); returns the
/// multiply-accumulates of one product.
#[no_mangle]
pub extern "C" fn kernel_setup(rows: usize, cols: usize, tokens: usize) -> f64 {
    use sotto::kernels::quant::{encode::quantize_row, GgmlType, QMatrix};
    let value = |i: usize| ((i * 7919 % 2003) as f32 / 1001.5 - 1.0) * 0.1;
    let mut bytes = Vec::new();
    for r in 0..rows {
        let row: Vec<f32> = (0..cols).map(|c| value(r * cols + c)).collect();
        quantize_row(GgmlType::Q8_0, &row, &mut bytes);
    }
    // Packed once, as a model's layers are when it loads.
    let packed = sotto::kernels::quant::packed::pack_q8_0_in_place(&mut bytes, rows, cols);
    let probe = KernelProbe {
        matrix: QMatrix::new_packed(Arc::new(bytes), 0, rows, cols, packed),
        input: (0..tokens * cols).map(|i| value(i + 17)).collect(),
        tokens,
        out: vec![0.0; tokens * rows],
    };
    PROBE.with(|p| *p.borrow_mut() = Some(probe));
    (rows * cols * tokens) as f64
}

/// Runs the probe's product `reps` times (the input's quantization included, as in a forward
/// pass); returns one output value so the work is observable.
#[no_mangle]
pub extern "C" fn kernel_run(reps: usize) -> f32 {
    PROBE.with(|p| {
        let mut guard = p.borrow_mut();
        let probe = guard.as_mut().expect("kernel_setup runs first");
        for _ in 0..reps {
            probe
                .matrix
                .matmul(&probe.input, probe.tokens, &mut probe.out);
        }
        probe.out[1]
    })
}

/// Every matrix of a GGUF file, packed as a model's are when it loads, in file order: for timing
/// one decode step's products matrix by matrix (`examples/bench_llm_wasm.mjs --profile`), which
/// tells how a step's time splits between the encodings, the output projection and the rest
/// (attention and the elementwise steps: the step's time minus its products').
struct MatrixProbe {
    /// Name, view, and the GGML type id of its encoding.
    matrices: Vec<(String, sotto::kernels::quant::QMatrix, u32)>,
    input: Vec<f32>,
    out: Vec<f32>,
}

thread_local! {
    static MATRICES: RefCell<Option<MatrixProbe>> = const { RefCell::new(None) };
}

/// Takes a GGUF file from an [`alloc`] buffer and views its matrices ([`MatrixProbe`]); returns
/// their count, or -1 when the file does not parse.
#[no_mangle]
pub unsafe extern "C" fn matrices_load(ptr: *mut u8, len: usize) -> i32 {
    use sotto::kernels::quant::{packed, GgmlType, QMatrix};
    // SAFETY: as in `load`.
    let mut bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let Ok(gguf) = GgufFile::parse(&bytes) else {
        return -1;
    };
    let mut tensors: Vec<_> = gguf
        .tensors
        .iter()
        .filter(|(_, t)| t.dims.len() == 2)
        .map(|(name, t)| (name.clone(), t.clone()))
        .collect();
    tensors.sort_by_key(|(_, t)| t.offset);
    let packed: Vec<usize> = tensors
        .iter()
        .map(|(_, t)| {
            let (cols, rows) = (t.dims[0], t.dims[1]);
            let data = &mut bytes[t.offset..t.offset + t.len];
            packed::pack_in_place(t.dtype, data, rows, cols)
        })
        .collect();
    let id = |dtype: GgmlType| match dtype {
        GgmlType::F32 => 0,
        GgmlType::F16 => 1,
        GgmlType::Q4_0 => 2,
        GgmlType::Q4_1 => 3,
        GgmlType::Q5_0 => 6,
        GgmlType::Q5_1 => 7,
        GgmlType::Q8_0 => 8,
        GgmlType::Q2K => 10,
        GgmlType::Q3K => 11,
        GgmlType::Q4K => 12,
        GgmlType::Q5K => 13,
        GgmlType::Q6K => 14,
        GgmlType::BF16 => 30,
    };
    let buf = Arc::new(bytes);
    let widest = tensors.iter().map(|(_, t)| t.dims[0].max(t.dims[1]));
    let widest = widest.max().unwrap_or(0);
    let matrices: Vec<_> = tensors
        .into_iter()
        .zip(packed)
        .map(|((name, t), packed)| {
            let matrix = QMatrix::new(buf.clone(), t.offset, t.dims[1], t.dims[0], t.dtype);
            (name, matrix.with_packed_rows(packed), id(t.dtype))
        })
        .collect();
    let count = matrices.len() as i32;
    let probe = MatrixProbe {
        matrices,
        input: (0..widest)
            .map(|i| (i * 7919 % 2003) as f32 / 1001.5 - 1.0)
            .collect(),
        out: vec![0.0; widest.max(262_144)],
    };
    MATRICES.with(|m| *m.borrow_mut() = Some(probe));
    count
}

/// Matrix `i`'s GGML type id, or 100 for the output projection (`output.weight`, or the tied
/// `token_embd.weight` of a file without one), and -1 for the embedding table of a file with an
/// output layer (looked up, not multiplied, in decode).
#[no_mangle]
pub extern "C" fn matrix_kind(i: usize) -> i32 {
    MATRICES.with(|m| {
        let guard = m.borrow();
        let probe = guard.as_ref().expect("matrices_load runs first");
        let tied = !probe.matrices.iter().any(|(n, ..)| n == "output.weight");
        match probe.matrices[i].0.as_str() {
            "output.weight" => 100,
            "token_embd.weight" if tied => 100,
            "token_embd.weight" => -1,
            _ => probe.matrices[i].2 as i32,
        }
    })
}

/// Matrix `i`'s multiply-accumulates for one token.
#[no_mangle]
pub extern "C" fn matrix_macs(i: usize) -> f64 {
    MATRICES.with(|m| {
        let guard = m.borrow();
        let (_, matrix, _) = &guard.as_ref().expect("matrices_load runs first").matrices[i];
        (matrix.rows * matrix.cols) as f64
    })
}

/// One token's product with matrix `i` (its input's quantization included, as in a decode
/// step); returns one output so the work is observable.
#[no_mangle]
pub extern "C" fn matrix_run(i: usize) -> f32 {
    MATRICES.with(|m| {
        let mut guard = m.borrow_mut();
        let probe = guard.as_mut().expect("matrices_load runs first");
        let (_, matrix, _) = &probe.matrices[i];
        let out = &mut probe.out[..matrix.rows];
        matrix.matmul(&probe.input[..matrix.cols], 1, out);
        out[0]
    })
}

#[no_mangle]
pub extern "C" fn cache_bytes() -> usize {
    STATE.with(|s| s.borrow().as_ref().map_or(0, |s| s.cache.bytes()))
}

/// Frees our model (before loading candle's).
#[no_mangle]
pub extern "C" fn unload() {
    STATE.with(|s| *s.borrow_mut() = None);
}

#[cfg(feature = "candle-reference")]
mod candle_side {
    use candle_core::quantized::gguf_file;
    use candle_core::{Device, Tensor};
    use candle_transformers::models::{quantized_gemma3, quantized_llama, quantized_qwen2};

    pub enum Weights {
        Llama(quantized_llama::ModelWeights),
        Qwen2(quantized_qwen2::ModelWeights),
        Gemma3(quantized_gemma3::ModelWeights),
    }

    /// candle's quantized Gemma 3, as it is in candle-transformers 0.11.1 (for speed and memory
    /// only: it runs the MLP with SiLU where Gemma has GELU, so its tokens are not Gemma's).
    fn load_gemma3(
        content: gguf_file::Content,
        cursor: &mut std::io::Cursor<&[u8]>,
        dev: &Device,
    ) -> Weights {
        Weights::Gemma3(quantized_gemma3::ModelWeights::from_gguf(content, cursor, dev).unwrap())
    }

    pub struct State {
        pub weights: Weights,
        pub pos: usize,
        pub logits: Option<Tensor>,
        pub vocab: usize,
    }

    pub fn load(bytes: &[u8]) -> State {
        let mut cursor = std::io::Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut cursor).unwrap();
        let arch = content.metadata["general.architecture"]
            .to_string()
            .unwrap()
            .clone();
        let vocab = content.tensor_infos["token_embd.weight"].shape.dims()[0];
        let dev = Device::Cpu;
        let weights = match arch.as_str() {
            "qwen2" => Weights::Qwen2(
                quantized_qwen2::ModelWeights::from_gguf(content, &mut cursor, &dev).unwrap(),
            ),
            "gemma3" => load_gemma3(content, &mut cursor, &dev),
            _ => Weights::Llama(
                quantized_llama::ModelWeights::from_gguf(content, &mut cursor, &dev).unwrap(),
            ),
        };
        State {
            weights,
            pos: 0,
            logits: None,
            vocab,
        }
    }

    pub fn forward(s: &mut State, ids: &[u32]) {
        let x = Tensor::new(ids, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let out = match &mut s.weights {
            Weights::Llama(m) => m.forward(&x, s.pos),
            Weights::Qwen2(m) => m.forward(&x, s.pos),
            Weights::Gemma3(m) => m.forward(&x, s.pos),
        };
        s.pos += ids.len();
        s.logits = Some(out.unwrap());
    }

    pub fn argmax(s: &State) -> u32 {
        let l = s.logits.as_ref().unwrap();
        l.flatten_all()
            .unwrap()
            .argmax(0)
            .unwrap()
            .to_scalar::<u32>()
            .unwrap()
    }
}

/// Loads candle's model from an [`alloc`] buffer (candle copies the tensors; the buffer is freed).
#[cfg(feature = "candle-reference")]
#[no_mangle]
pub unsafe extern "C" fn candle_load(ptr: *mut u8, len: usize) -> i32 {
    // SAFETY: as in `load`.
    let bytes = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let state = candle_side::load(&bytes);
    drop(bytes);
    CANDLE.with(|c| *c.borrow_mut() = Some(state));
    0
}

/// candle: feeds `n` prompt tokens.
#[cfg(feature = "candle-reference")]
#[no_mangle]
pub extern "C" fn candle_prefill(n: usize, offset: usize) -> usize {
    CANDLE.with(|c| {
        let mut c = c.borrow_mut();
        let s = c.as_mut().unwrap();
        let prompt = ids(n, offset, s.vocab);
        candle_side::forward(s, &prompt);
        s.pos
    })
}

/// candle: generates `n` greedy tokens.
#[cfg(feature = "candle-reference")]
#[no_mangle]
pub extern "C" fn candle_decode(n: usize) -> u32 {
    CANDLE.with(|c| {
        let mut c = c.borrow_mut();
        let s = c.as_mut().unwrap();
        let mut next = 0;
        for _ in 0..n {
            next = candle_side::argmax(s);
            candle_side::forward(s, &[next]);
        }
        next
    })
}

fn main() {}
