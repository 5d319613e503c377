//! Views of a GGUF file's tensors for the model files: matrices stay in their encoding inside the
//! one weight buffer, small vectors (norms, biases) are decoded to f32, and every shape is checked
//! against what the architecture expects.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::Config;
use super::LlmError;
use crate::gguf::GgufFile;
use crate::kernels::quant::{packed, GgmlType, QMatrix};

/// The matrices of layer `i`, as every supported architecture names them: name, rows and row
/// length.
pub(crate) fn layer_matrices(config: &Config, i: usize) -> [(String, usize, usize); 7] {
    let d = config.embedding_length;
    let ff = config.feed_forward_length;
    let (q_dim, kv_dim) = (config.q_dim(), config.kv_dim());
    [
        ("attn_q", q_dim, d),
        ("attn_k", kv_dim, d),
        ("attn_v", kv_dim, d),
        ("attn_output", d, q_dim),
        ("ffn_gate", ff, d),
        ("ffn_up", ff, d),
        ("ffn_down", d, ff),
    ]
    .map(|(name, rows, cols)| (format!("blk.{i}.{name}.weight"), rows, cols))
}

/// Packs every matrix of its expected shape in `bytes` whose encoding is packed in place
/// ([`packed::pack_in_place`]: q8_0, q4_1, q5_0, q5_1): the layers', and the embedding table
/// and output layer, whose rows are looked up from the tiles; the others are left for
/// [`Loader::matrix`] to check and refuse. Returns how many rows of each are packed.
fn pack_matrices(gguf: &GgufFile, config: &Config, bytes: &mut [u8]) -> HashMap<String, usize> {
    let mut packed = HashMap::new();
    let (vocab, d) = (config.vocab_size, config.embedding_length);
    let tables = ["token_embd.weight", "output.weight"].map(|name| (name.to_string(), vocab, d));
    let layers = (0..config.block_count).flat_map(|i| layer_matrices(config, i));
    for (name, rows, cols) in tables.into_iter().chain(layers) {
        let Some(t) = gguf.tensors.get(&name) else {
            continue;
        };
        if t.dims == [cols, rows] {
            let data = &mut bytes[t.offset..t.offset + t.len];
            packed.insert(name, packed::pack_in_place(t.dtype, data, rows, cols));
        }
    }
    packed
}

/// Hands out the tensors of one GGUF file over the model's weight buffer.
pub(crate) struct Loader<'a> {
    gguf: &'a GgufFile,
    buf: Arc<Vec<u8>>,
    /// The matrices packed in place, by name: how many of their rows are packed tiles.
    packed: HashMap<String, usize>,
}

impl<'a> Loader<'a> {
    /// Takes `bytes` (the whole file, parsed as `gguf`) as the weight buffer, after packing its
    /// 32-value-encoded matrices in place for the tile kernel. No tensor data is copied.
    pub(crate) fn new(gguf: &'a GgufFile, config: &Config, mut bytes: Vec<u8>) -> Self {
        let packed = pack_matrices(gguf, config, &mut bytes);
        Loader {
            gguf,
            buf: Arc::new(bytes),
            packed,
        }
    }

    /// The GGUF header the tensors come from.
    pub(crate) fn gguf(&self) -> &GgufFile {
        self.gguf
    }

    /// Whether the file has tensor `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.gguf.tensors.contains_key(name)
    }

    /// Matrix `name` of `rows` × `cols`, as a view of its encoded bytes.
    pub(crate) fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, LlmError> {
        let t = self
            .gguf
            .tensors
            .get(name)
            .ok_or_else(|| LlmError::MissingTensor(name.into()))?;
        if t.dims.len() != 2 || t.dims[0] != cols || t.dims[1] != rows {
            return Err(LlmError::Gguf(format!(
                "tensor `{name}` has shape {:?}, expected [{cols}, {rows}]",
                t.dims
            )));
        }
        let packed_rows = self.packed.get(name).copied().unwrap_or(0);
        Ok(
            QMatrix::new(self.buf.clone(), t.offset, rows, cols, t.dtype)
                .with_packed_rows(packed_rows),
        )
    }

    /// Vector `name` of `len` values (stored as f32 or f16), decoded.
    pub(crate) fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, LlmError> {
        let t = self
            .gguf
            .tensors
            .get(name)
            .ok_or_else(|| LlmError::MissingTensor(name.into()))?;
        if t.dims != [len] || !matches!(t.dtype, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) {
            return Err(LlmError::Gguf(format!(
                "tensor `{name}` is {:?} {:?}, expected an f32/f16/bf16 vector of {len}",
                t.dtype, t.dims
            )));
        }
        let mut out = vec![0f32; len];
        crate::kernels::quant::kernels::dequantize_row(
            t.dtype,
            &self.buf[t.offset..t.offset + t.len],
            &mut out,
        );
        Ok(out)
    }

    /// [`Loader::vector`] of a tensor the file may lack.
    pub(crate) fn optional_vector(
        &self,
        name: &str,
        len: usize,
    ) -> Result<Option<Vec<f32>>, LlmError> {
        match self.has(name) {
            true => self.vector(name, len).map(Some),
            false => Ok(None),
        }
    }
}
