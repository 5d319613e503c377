//! Weight values (seeded, streamed in row chunks) and their encoding in each storage type.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::gguf::GgufTensor;
use super::rng::{portable_exp, portable_sin_cos, Rng};
use super::{io_error, TestModelError};

/// The seed of every generated model (one stream per tensor is derived from it).
pub(crate) const MODEL_SEED: u64 = 0x5077_7020_2026;

/// How a tensor's values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Init {
    /// N(0, σ²): weight matrices of the tiny models (σ = 0.25, like the parity models) and
    /// biases (σ = 0.1).
    Normal(f64),
    /// 1 + N(0, σ²): norm weights of the tiny models, so a norm bug cannot hide behind ones.
    OnePlusNormal(f64),
    /// U(−a, a): the fast fill of real-shape models, which only need to cost what real ones do.
    Uniform(f64),
    /// Every value equal (norms and biases of real-shape models).
    Constant(f32),
    /// Whisper's sinusoidal encoder positions (rows = positions, columns = channels), the values
    /// HF initialises `model.encoder.embed_positions` with and candle recomputes.
    Sinusoids,
}

impl Init {
    /// U(−a, a) with standard deviation `std`.
    pub(crate) fn uniform_with_std(std: f64) -> Self {
        Init::Uniform(std * 1.732_050_807_568_877_2)
    }

    /// How every generated model fills a tensor: tiny test models like the parity models
    /// (weights N(0, 0.25²), biases N(0, 0.1²), norms 1 + N(0, 0.1²)); real-shape models fast
    /// (uniform weights, zero biases, unit norms).
    pub(crate) fn for_tensor(test_init: bool, is_norm_weight: bool, is_bias: bool) -> Self {
        match (test_init, is_norm_weight, is_bias) {
            (true, true, _) => Init::OnePlusNormal(0.1),
            (true, false, true) => Init::Normal(0.1),
            (true, false, false) => Init::Normal(0.25),
            (false, true, _) => Init::Constant(1.0),
            (false, false, true) => Init::Constant(0.0),
            (false, false, false) => Init::uniform_with_std(0.02),
        }
    }
}

/// The values of one tensor, produced row chunk by row chunk in a fixed order.
pub(crate) struct ValueStream {
    rng: Rng,
    init: Init,
    cols: usize,
    next_row: usize,
}

impl ValueStream {
    /// The stream keyed by `key` (a tensor name, optionally prefixed by the model's): the seed
    /// depends on the key, not on the order tensors are written in.
    pub(crate) fn new(key: &str, init: Init, cols: usize) -> Self {
        Self {
            rng: Rng::for_tensor(MODEL_SEED, key),
            init,
            cols,
            next_row: 0,
        }
    }

    /// Appends the next `rows` rows to `out`.
    pub(crate) fn next_rows(&mut self, rows: usize, out: &mut Vec<f32>) {
        out.reserve(rows * self.cols);
        for row in self.next_row..self.next_row + rows {
            for col in 0..self.cols {
                let value = match self.init {
                    Init::Normal(std) => self.rng.normal() * std,
                    Init::OnePlusNormal(std) => 1.0 + self.rng.normal() * std,
                    Init::Uniform(a) => (self.rng.unit() * 2.0 - 1.0) * a,
                    Init::Constant(c) => f64::from(c),
                    Init::Sinusoids => sinusoid(row, col, self.cols),
                };
                out.push(value as f32);
            }
        }
        self.next_row += rows;
    }

    /// All values of a tensor with `rows` rows.
    pub(crate) fn all(mut self, rows: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.next_rows(rows, &mut out);
        out
    }
}

/// Whisper's `sinusoids(length, channels)`: sin of the first half of the channels, cos of the
/// second, with log-spaced timescales from 1 to 10000.
fn sinusoid(position: usize, channel: usize, channels: usize) -> f64 {
    let half = channels / 2;
    let increment = LN_10000 / (half.max(2) - 1) as f64;
    let i = channel % half;
    let angle = position as f64 * portable_exp(-(i as f64) * increment);
    let (sin, cos) = portable_sin_cos(angle);
    if channel < half {
        sin
    } else {
        cos
    }
}

const LN_10000: f64 = 9.210_340_371_976_184;

/// Encodes row-major `values` (`rows` × `cols`) in `dtype`, exactly as it is stored in a GGUF.
pub(crate) fn encode(
    name: &str,
    values: Vec<f32>,
    rows: usize,
    cols: usize,
    dtype: GgmlDType,
) -> Result<Vec<u8>, TestModelError> {
    if dtype == GgmlDType::F32 {
        return Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect());
    }
    let tensor_error = |e: candle_core::Error| TestModelError::Tensor {
        name: name.to_string(),
        message: e.to_string(),
    };
    let tensor = Tensor::from_vec(values, (rows, cols), &Device::Cpu).map_err(tensor_error)?;
    let quantized = QTensor::quantize(&tensor, dtype).map_err(tensor_error)?;
    let data: Cow<'_, [u8]> = quantized.data().map_err(tensor_error)?;
    Ok(data.into_owned())
}

/// Streams one GGUF tensor's data: values in chunks of about a million, each encoded and
/// written before the next is drawn, so memory stays small whatever the tensor's size.
/// `key` selects the random stream (see [`ValueStream::new`]).
pub(crate) fn stream_tensor(
    path: &Path,
    tensor: &GgufTensor,
    key: &str,
    init: Init,
    out: &mut dyn Write,
) -> Result<(), TestModelError> {
    let cols = tensor.row_len();
    let rows: usize = tensor.shape.iter().product::<usize>() / cols;
    let chunk_rows = ((1 << 20) / cols).max(1);
    let mut stream = ValueStream::new(key, init, cols);
    let mut done = 0;
    while done < rows {
        let n = chunk_rows.min(rows - done);
        let mut values = Vec::new();
        stream.next_rows(n, &mut values);
        let bytes = encode(&tensor.name, values, n, cols, tensor.dtype)?;
        out.write_all(&bytes).map_err(io_error(path))?;
        done += n;
    }
    Ok(())
}
