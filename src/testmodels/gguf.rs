//! A streaming GGUF v3 writer.
//!
//! candle's `gguf_file::write` needs every tensor in memory at once and writes version 2; a
//! 0.5B-parameter f32 model would need 2 GB of RAM before the first byte is written. GGUF puts
//! all tensor sizes in the header, so they can be computed up front and the data produced one
//! tensor (one chunk of rows) at a time. The byte layout is otherwise exactly candle's (and
//! llama.cpp's): 32-byte alignment of the data section and of every tensor.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::GgmlDType;

use super::{io_error, TestModelError};

/// Alignment of the data section and of each tensor (GGUF's default, `general.alignment`).
const ALIGNMENT: u64 = 32;

/// A tensor's entry in a GGUF header.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufTensor {
    /// Name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Shape in row-major (PyTorch / candle) order; GGUF stores it reversed.
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: GgmlDType,
}

impl GgufTensor {
    /// Size of the tensor's data in bytes (without alignment padding).
    pub fn byte_len(&self) -> u64 {
        let elements: usize = self.shape.iter().product();
        (elements / self.dtype.block_size() * self.dtype.type_size()) as u64
    }

    /// Length of one row (the innermost dimension), which block quantization divides.
    pub fn row_len(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }
}

fn padding(len: u64) -> usize {
    (len.next_multiple_of(ALIGNMENT) - len) as usize
}

/// Writes a GGUF v3 file at `path`. `fill` is called once per tensor, in order, and must write
/// exactly [`GgufTensor::byte_len`] bytes of that tensor's data. Returns the file size.
pub fn write_gguf(
    path: &Path,
    metadata: &[(String, Value)],
    tensors: &[GgufTensor],
    mut fill: impl FnMut(&GgufTensor, &mut dyn Write) -> Result<(), TestModelError>,
) -> Result<u64, TestModelError> {
    for t in tensors {
        let elements: usize = t.shape.iter().product();
        if t.row_len() % t.dtype.block_size() != 0 || elements == 0 {
            return Err(TestModelError::Unsupported(format!(
                "{}: shape {:?} cannot be stored as {:?} (rows must divide by {})",
                t.name,
                t.shape,
                t.dtype,
                t.dtype.block_size()
            )));
        }
    }
    let file = File::create(path).map_err(io_error(path))?;
    let mut out = Counting {
        inner: BufWriter::with_capacity(1 << 20, file),
        written: 0,
    };
    write_header(&mut out, metadata, tensors).map_err(io_error(path))?;
    let pad = padding(out.written);
    out.write_all(&vec![0; pad]).map_err(io_error(path))?;
    for tensor in tensors {
        let start = out.written;
        fill(tensor, &mut out)?;
        let written = out.written - start;
        if written != tensor.byte_len() {
            return Err(TestModelError::Tensor {
                name: tensor.name.clone(),
                message: format!("wrote {written} bytes, expected {}", tensor.byte_len()),
            });
        }
        let pad = padding(written);
        out.write_all(&vec![0; pad]).map_err(io_error(path))?;
    }
    out.inner.flush().map_err(io_error(path))?;
    Ok(out.written)
}

fn write_header(
    w: &mut impl Write,
    metadata: &[(String, Value)],
    tensors: &[GgufTensor],
) -> std::io::Result<()> {
    w.write_all(b"GGUF")?;
    w.write_all(&3u32.to_le_bytes())?;
    w.write_all(&(tensors.len() as u64).to_le_bytes())?;
    w.write_all(&(metadata.len() as u64).to_le_bytes())?;
    for (key, value) in metadata {
        write_string(w, key)?;
        w.write_all(&value_type(value).to_le_bytes())?;
        write_value(w, value)?;
    }
    let mut offset = 0u64;
    for t in tensors {
        write_string(w, &t.name)?;
        w.write_all(&(t.shape.len() as u32).to_le_bytes())?;
        for &dim in t.shape.iter().rev() {
            w.write_all(&(dim as u64).to_le_bytes())?;
        }
        w.write_all(&ggml_type(t.dtype).to_le_bytes())?;
        w.write_all(&offset.to_le_bytes())?;
        offset += t.byte_len().next_multiple_of(ALIGNMENT);
    }
    Ok(())
}

fn write_string(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn write_value(w: &mut impl Write, value: &Value) -> std::io::Result<()> {
    match value {
        Value::U8(v) => w.write_all(&v.to_le_bytes()),
        Value::I8(v) => w.write_all(&v.to_le_bytes()),
        Value::U16(v) => w.write_all(&v.to_le_bytes()),
        Value::I16(v) => w.write_all(&v.to_le_bytes()),
        Value::U32(v) => w.write_all(&v.to_le_bytes()),
        Value::I32(v) => w.write_all(&v.to_le_bytes()),
        Value::U64(v) => w.write_all(&v.to_le_bytes()),
        Value::I64(v) => w.write_all(&v.to_le_bytes()),
        Value::F32(v) => w.write_all(&v.to_le_bytes()),
        Value::F64(v) => w.write_all(&v.to_le_bytes()),
        Value::Bool(v) => w.write_all(&[u8::from(*v)]),
        Value::String(s) => write_string(w, s),
        Value::Array(items) => {
            // GGUF arrays are homogeneous; an empty one is typed u32 by convention.
            let item_type: u32 = items.first().map_or(4, value_type);
            w.write_all(&item_type.to_le_bytes())?;
            w.write_all(&(items.len() as u64).to_le_bytes())?;
            items.iter().try_for_each(|item| write_value(w, item))
        }
    }
}

/// GGUF's metadata value type codes.
fn value_type(value: &Value) -> u32 {
    match value {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

/// ggml's tensor type codes (`enum ggml_type`).
fn ggml_type(dtype: GgmlDType) -> u32 {
    match dtype {
        GgmlDType::F32 => 0,
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q5_0 => 6,
        GgmlDType::Q5_1 => 7,
        GgmlDType::Q8_0 => 8,
        GgmlDType::Q8_1 => 9,
        GgmlDType::Q2K => 10,
        GgmlDType::Q3K => 11,
        GgmlDType::Q4K => 12,
        GgmlDType::Q5K => 13,
        GgmlDType::Q6K => 14,
        GgmlDType::Q8K => 15,
        GgmlDType::BF16 => 30,
    }
}

/// Counts bytes so tensor offsets and padding can be checked while streaming.
struct Counting<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
