//! The tensor encodings this crate reads, with their GGML type ids and block sizes
//! (<https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h>).

use super::kernels::{QK8_0, QK_K};

/// A tensor whose GGML type id this crate does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tensor `{tensor}` has GGML type {id}; supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, \
     q8_0, q2_k, q3_k, q4_k, q5_k, q6_k"
)]
pub struct UnsupportedType {
    /// The GGML type id.
    pub id: u32,
    /// The tensor's name.
    pub tensor: String,
}

/// Tensor encodings this crate reads (GGML type ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half float.
    F16,
    /// bfloat16: the top half of an f32.
    BF16,
    /// Blocks of 32: f16 scale + 32 × 4-bit (offset 8).
    Q4_0,
    /// Blocks of 32: f16 scale and minimum + 32 × 4-bit.
    Q4_1,
    /// Blocks of 32: f16 scale + 32 × 5-bit (offset 16): llama.cpp's fallback for q4_K rows.
    Q5_0,
    /// Blocks of 32: f16 scale and minimum + 32 × 5-bit.
    Q5_1,
    /// Blocks of 32: f16 scale + 32 × i8.
    Q8_0,
    /// Super-blocks of 256: 16 sub-blocks with 4-bit scales and mins, 2-bit values.
    Q2K,
    /// Super-blocks of 256: 16 sub-blocks with 6-bit scales, 3-bit values (offset 4).
    Q3K,
    /// Super-blocks of 256: 8 sub-blocks with 6-bit scales and mins, 4-bit values.
    Q4K,
    /// Super-blocks of 256: 8 sub-blocks with 6-bit scales and mins, 5-bit values.
    Q5K,
    /// Super-blocks of 256: 16 sub-blocks with i8 scales, 6-bit values.
    Q6K,
}

impl GgmlType {
    /// Maps a GGML type id; unsupported encodings are an error naming the tensor.
    pub fn from_id(id: u32, tensor: &str) -> Result<Self, UnsupportedType> {
        Ok(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            6 => GgmlType::Q5_0,
            7 => GgmlType::Q5_1,
            8 => GgmlType::Q8_0,
            10 => GgmlType::Q2K,
            11 => GgmlType::Q3K,
            12 => GgmlType::Q4K,
            13 => GgmlType::Q5K,
            14 => GgmlType::Q6K,
            30 => GgmlType::BF16,
            other => {
                return Err(UnsupportedType {
                    id: other,
                    tensor: tensor.to_string(),
                })
            }
        })
    }

    /// Elements per block.
    pub fn block_len(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
                QK8_0
            }
            GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q4_1 => 20,
            GgmlType::Q5_0 => 22,
            GgmlType::Q5_1 => 24,
            GgmlType::Q8_0 => 34,
            GgmlType::Q2K => 84,
            GgmlType::Q3K => 110,
            GgmlType::Q4K => 144,
            GgmlType::Q5K => 176,
            GgmlType::Q6K => 210,
        }
    }

    /// Byte length of a tensor, or `None` when rows do not split into whole blocks or it overflows.
    pub fn byte_len(self, dims: &[usize]) -> Option<usize> {
        let row = *dims.first()?;
        if row % self.block_len() != 0 {
            return None;
        }
        let n_rows = dims[1..]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
        (row / self.block_len())
            .checked_mul(self.block_bytes())?
            .checked_mul(n_rows)
    }
}
