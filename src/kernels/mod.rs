//! The compute kernels both models run on: quantized matrix products, elementwise float
//! functions and attention.
//!
//! Nothing here knows about a model. Whisper ([`crate::asr`]) and the chat model
//! ([`crate::llm`]) both call these loops, so they live on their own rather than inside either
//! model, and neither model imports the other.
//!
//! - [`quant`]: weight encodings (GGUF's block formats) viewed in place ([`quant::QMatrix`]) and
//!   multiplied llama.cpp's way (activations quantized to 8 bits, integer dot products per
//!   block), with the repacked tiles and the wasm32 simd128 versions of those loops.
//! - [`elementwise`]: softmax, GELU, RMS norm, rotary embedding and biases, written so their loops
//!   vectorize.
//! - [`attention`]: the scores, softmax and weighted sum of the query heads that share a
//!   key-value head, over a cache laid out by [`attention::HeadLayout`].
//!
//! The portable code defines each result; the simd128 paths compute the same values, so wasm and
//! native outputs agree bit for bit.

pub mod attention;
pub mod elementwise;
pub mod quant;
