//! Weight files: Hugging Face safetensors (f32/f16) and GGUF (f32/f16/q8_0/q4_0 with the same
//! tensor names, as in candle's quantized Whisper files), from bytes or (natively) from a file.
//!
//! Every tensor is checked against the shape the config implies before the model uses it, so a
//! mismatched config is an error naming the tensor, not a panic deep in a matmul.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use super::AsrError;
use crate::gguf::GgufFile;
use crate::kernels::quant::packed::pack_q8_0_in_place;
use crate::kernels::quant::{GgmlType, QMatrix};

/// The container format of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// Hugging Face safetensors.
    Safetensors,
    /// GGUF (llama.cpp / candle quantized).
    Gguf,
}

impl WeightFormat {
    /// Guesses the format from the first bytes (`GGUF` magic, else safetensors).
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"GGUF") {
            Self::Gguf
        } else {
            Self::Safetensors
        }
    }
}

enum Store {
    Dense(HashMap<String, Tensor>),
    Quantized(HashMap<String, Arc<QTensor>>),
}

/// The tensors of one weight file, looked up by name with a shape check.
pub struct Weights {
    store: Store,
    name: String,
}

impl Weights {
    /// Parses weights held in memory. The bytes are only borrowed: once this returns, the caller
    /// can drop them and only the model's own copy remains.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, AsrError> {
        // A file named `.gguf` is read as GGUF even without the magic, so that its error says
        // what is wrong with it as a GGUF (not that it is no valid safetensors file).
        let named_gguf = name.to_ascii_lowercase().ends_with(".gguf");
        let format = if named_gguf {
            WeightFormat::Gguf
        } else {
            WeightFormat::sniff(bytes)
        };
        let store =
            match format {
                WeightFormat::Safetensors => {
                    let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
                        .map_err(|e| AsrError::Weights {
                            name: name.to_string(),
                            reason: format!("not a valid safetensors file: {e}"),
                        })?;
                    Store::Dense(tensors)
                }
                WeightFormat::Gguf => Store::Quantized(read_gguf(bytes, name)?),
            };
        Ok(Self {
            store,
            name: name.to_string(),
        })
    }

    /// Wraps tensors already in memory (generated models, benchmarks).
    pub fn from_tensors(tensors: HashMap<String, Tensor>, name: &str) -> Self {
        Self {
            store: Store::Dense(tensors),
            name: name.to_string(),
        }
    }

    /// Wraps quantized tensors already in memory (generated models, benchmarks).
    pub fn from_qtensors(tensors: HashMap<String, Arc<QTensor>>, name: &str) -> Self {
        Self {
            store: Store::Quantized(tensors),
            name: name.to_string(),
        }
    }

    /// Reads a weight file (natively).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(path: &std::path::Path) -> Result<Self, AsrError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| AsrError::Io {
            name: name.clone(),
            source,
        })?;
        Self::from_bytes(&bytes, &name)
    }

    /// The file name errors mention.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the file is GGUF.
    pub fn format(&self) -> WeightFormat {
        match self.store {
            Store::Dense(_) => WeightFormat::Safetensors,
            Store::Quantized(_) => WeightFormat::Gguf,
        }
    }

    fn found_shape(&self, tensor: &str) -> Option<Vec<usize>> {
        match &self.store {
            Store::Dense(map) => map.get(tensor).map(|t| t.dims().to_vec()),
            Store::Quantized(map) => map.get(tensor).map(|t| t.shape().dims().to_vec()),
        }
    }

    fn check(&self, tensor: &str, shape: &[usize]) -> Result<(), AsrError> {
        match self.found_shape(tensor) {
            None => Err(AsrError::MissingTensor {
                name: self.name.clone(),
                tensor: tensor.to_string(),
            }),
            Some(found) if found != shape => Err(AsrError::ShapeMismatch {
                name: self.name.clone(),
                tensor: tensor.to_string(),
                expected: shape.to_vec(),
                found,
            }),
            Some(_) => Ok(()),
        }
    }

    /// A tensor as f32, after checking it exists with `shape`.
    pub fn tensor(&self, tensor: &str, shape: &[usize]) -> Result<Tensor, AsrError> {
        self.check(tensor, shape)?;
        let t = match &self.store {
            Store::Dense(map) => map[tensor].to_dtype(DType::F32)?,
            Store::Quantized(map) => map[tensor].dequantize(&Device::Cpu)?,
        };
        Ok(t)
    }

    /// A `[out, in]` matrix for `x @ W^T`, kept quantized when the file is.
    pub fn matmul(&self, tensor: &str, out: usize, inp: usize) -> Result<Matrix, AsrError> {
        self.check(tensor, &[out, inp])?;
        Ok(match &self.store {
            Store::Dense(map) => Matrix::Candle(QMatMul::Tensor(map[tensor].to_dtype(DType::F32)?)),
            Store::Quantized(map) => {
                let q = &map[tensor];
                match block_type(q.dtype()) {
                    // q8_0 rows are packed once for the product kernel (in the matrix's own
                    // copy, taking the same bytes), as the chat model's layers are.
                    Some(GgmlType::Q8_0) => {
                        let mut bytes = q.data()?.into_owned();
                        let packed = pack_q8_0_in_place(&mut bytes, out, inp);
                        Matrix::Blocks(QMatrix::new_packed(Arc::new(bytes), 0, out, inp, packed))
                    }
                    Some(dtype) => Matrix::Blocks(QMatrix::new(
                        Arc::new(q.data()?.into_owned()),
                        0,
                        out,
                        inp,
                        dtype,
                    )),
                    None => Matrix::Candle(QMatMul::from_arc(q.clone())?),
                }
            }
        })
    }
}

/// The quantized encodings the dialog model's integer kernels multiply (dense ones stay with
/// candle's matmul, whose f32 path is exact).
fn block_type(dtype: GgmlDType) -> Option<GgmlType> {
    Some(match dtype {
        GgmlDType::Q8_0 => GgmlType::Q8_0,
        GgmlDType::Q4_0 => GgmlType::Q4_0,
        GgmlDType::Q5_0 => GgmlType::Q5_0,
        GgmlDType::Q5_1 => GgmlType::Q5_1,
        GgmlDType::Q4K => GgmlType::Q4K,
        GgmlDType::Q6K => GgmlType::Q6K,
        _ => return None,
    })
}

/// A `[out, in]` weight matrix for `x @ Wᵀ`.
pub enum Matrix {
    /// Dense weights (or an encoding of GGUF the block kernels lack): candle's matmul.
    Candle(QMatMul),
    /// Quantized blocks, multiplied with the dialog model's integer kernels
    /// ([`crate::kernels::quant`]): activations quantized to 8 bits as ggml does, four frames or
    /// tokens at a time, SIMD in wasm. Candle's quantized matmul is several times slower there.
    Blocks(QMatrix),
}

impl Matrix {
    /// `x · Wᵀ` for `x` of shape `[.., in]`, giving `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Matrix::Candle(m) => m.forward(x),
            Matrix::Blocks(m) => {
                let mut dims = x.dims().to_vec();
                let rows = x.elem_count() / m.cols;
                let xs = x.flatten_all()?.to_vec1::<f32>()?;
                let mut out = vec![0f32; rows * m.rows];
                m.matmul(&xs, rows, &mut out);
                *dims.last_mut().expect("a matrix operand has dimensions") = m.rows;
                Tensor::from_vec(out, dims, x.device())
            }
        }
    }
}

/// The tensors of a GGUF file, read with the crate's own reader ([`crate::gguf`]); each tensor's
/// blocks are copied into a candle [`QTensor`] (dimensions outermost first, as candle orders them).
fn read_gguf(bytes: &[u8], name: &str) -> Result<HashMap<String, Arc<QTensor>>, AsrError> {
    let file = GgufFile::parse(bytes).map_err(|e| AsrError::Weights {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    let mut tensors = HashMap::with_capacity(file.tensors.len());
    let mut scratch = Vec::new();
    for (tensor, info) in &file.tensors {
        // The reader checked that the data lies inside the buffer and fits the blocks.
        let data = aligned(&bytes[info.offset..info.offset + info.len], &mut scratch);
        let dims = info.dims.iter().rev().copied().collect();
        let q =
            qtensor_from_ggml(candle_type(info.dtype), data, dims, &Device::Cpu).map_err(|e| {
                AsrError::Weights {
                    name: name.to_string(),
                    reason: format!("tensor {tensor}: {e}"),
                }
            })?;
        tensors.insert(tensor.clone(), Arc::new(q));
    }
    Ok(tensors)
}

/// `data`, or a copy of it in `scratch` that starts on an 8-byte boundary. Candle reads a
/// tensor's blocks in place as `f32`, `f16` and block structs, which must be aligned (a
/// misaligned read is undefined behaviour, caught by a panic only in debug builds), while a GGUF
/// tensor starts wherever the file puts it: a `general.alignment` of 1, a bad offset, or a
/// buffer that itself starts unaligned.
fn aligned<'a>(data: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    const ALIGN: usize = 8;
    if data.as_ptr().align_offset(ALIGN) == 0 {
        return data;
    }
    scratch.clear();
    scratch.resize(data.len() + ALIGN, 0);
    let shift = scratch.as_ptr().align_offset(ALIGN);
    scratch[shift..shift + data.len()].copy_from_slice(data);
    &scratch[shift..shift + data.len()]
}

/// Candle's name for an encoding (it reads every one this crate does).
fn candle_type(dtype: GgmlType) -> GgmlDType {
    match dtype {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::F16 => GgmlDType::F16,
        GgmlType::BF16 => GgmlDType::BF16,
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q2K => GgmlDType::Q2K,
        GgmlType::Q3K => GgmlDType::Q3K,
        GgmlType::Q4K => GgmlDType::Q4K,
        GgmlType::Q5K => GgmlDType::Q5K,
        GgmlType::Q6K => GgmlDType::Q6K,
    }
}
