//! GGUF container parsing: metadata and tensor directory, every size checked against the buffer.
//!
//! The one GGUF reader of the crate: the chat model ([`crate::llm`]) loads its files with it,
//! Whisper ([`crate::asr`]) reads quantized weights with it, and the browser's model check
//! (`web::inspect`) validates headers with it.
//!
//! Format reference: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>. The parser never
//! copies tensor data: [`GgufFile`] records where each tensor lies in the caller's buffer, so the model
//! can keep the one buffer and slice its quantized blocks out of it.

use std::collections::HashMap;

use crate::kernels::quant::{GgmlType, UnsupportedType};

/// Why a GGUF buffer could not be read. The messages say what is wrong; callers add the file name.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The container is malformed or truncated, or lacks a required metadata value.
    #[error("invalid GGUF: {0}")]
    Invalid(String),
    /// A tensor uses an encoding this crate does not read.
    #[error("unsupported: {0}")]
    Unsupported(#[from] UnsupportedType),
}

/// One metadata value. Integers of every width are widened; arrays keep their element values.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Any unsigned integer type.
    U64(u64),
    /// Any signed integer type.
    I64(i64),
    /// `f32` or `f64`.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string (invalid UTF-8 is replaced, as llama.cpp tolerates it in vocabularies).
    Str(String),
    /// An array of values.
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U64(v) => Some(v),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F64(v) => Some(v),
            MetaValue::U64(v) => Some(v as f64),
            MetaValue::I64(v) => Some(v as f64),
            _ => None,
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Where one tensor lies in the buffer and how it is encoded.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Dimensions, innermost first (GGML order: `dims[0]` is the row length).
    pub dims: Vec<usize>,
    /// Element encoding.
    pub dtype: GgmlType,
    /// Absolute byte offset of the data in the buffer.
    pub offset: usize,
    /// Byte length of the data.
    pub len: usize,
}

/// A parsed GGUF header: metadata plus the tensor directory (data stays in the caller's buffer).
#[derive(Debug)]
pub struct GgufFile {
    /// The format version (2 or 3).
    pub version: u32,
    /// Metadata key/values.
    pub metadata: HashMap<String, MetaValue>,
    /// Tensor directory by name.
    pub tensors: HashMap<String, TensorInfo>,
}

/// The smallest encodings, used to reject counts that cannot possibly fit in what is left.
const MIN_KV_BYTES: usize = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES: usize = 8 + 4 + 4 + 8;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Invalid(format!(
                "truncated: {what} needs {n} bytes at offset {} but only {} remain",
                self.pos,
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    /// A count that must fit in what remains, given the minimum encoded size of one item.
    fn count(&mut self, what: &str, min_item_bytes: usize) -> Result<usize, GgufError> {
        let n = self.u64(what)?;
        let fits = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(min_item_bytes))
            .is_some_and(|bytes| bytes <= self.remaining());
        if !fits {
            return Err(GgufError::Invalid(format!(
                "truncated or corrupt: {what} is {n}, more than the {} remaining bytes can hold",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let len = self.count(what, 1)?;
        Ok(String::from_utf8_lossy(self.take(len, what)?).into_owned())
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<MetaValue, GgufError> {
        Ok(match ty {
            0 => MetaValue::U64(self.take(1, key)?[0] as u64),
            1 => MetaValue::I64(self.take(1, key)?[0] as i8 as i64),
            2 => MetaValue::U64(u16::from_le_bytes(self.take(2, key)?.try_into().unwrap()) as u64),
            3 => MetaValue::I64(i16::from_le_bytes(self.take(2, key)?.try_into().unwrap()) as i64),
            4 => MetaValue::U64(self.u32(key)? as u64),
            5 => MetaValue::I64(self.u32(key)? as i32 as i64),
            6 => MetaValue::F64(f32::from_bits(self.u32(key)?) as f64),
            7 => MetaValue::Bool(self.take(1, key)?[0] != 0),
            8 => MetaValue::Str(self.string(key)?),
            9 if depth == 0 => {
                let elem_ty = self.u32(key)?;
                let min = match elem_ty {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    other => {
                        return Err(GgufError::Invalid(format!(
                            "metadata `{key}`: unknown array element type {other}"
                        )))
                    }
                };
                let n = self.count(key, min)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(elem_ty, key, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::U64(self.u64(key)?),
            11 => MetaValue::I64(self.u64(key)? as i64),
            12 => MetaValue::F64(f64::from_bits(self.u64(key)?)),
            other => {
                return Err(GgufError::Invalid(format!(
                    "metadata `{key}`: unsupported value type {other}"
                )))
            }
        })
    }
}

impl GgufFile {
    /// Parses the header of a GGUF buffer and checks that every tensor lies inside it.
    pub fn parse(buf: &[u8]) -> Result<Self, GgufError> {
        let mut r = Reader { buf, pos: 0 };
        if r.take(4, "magic")? != b"GGUF" {
            return Err(GgufError::Invalid("not a GGUF file (bad magic)".into()));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::Invalid(format!(
                "GGUF version {version} (expected 2 or 3)"
            )));
        }
        let n_tensors = r.count("tensor count", MIN_TENSOR_INFO_BYTES)?;
        let n_kv = r.count("metadata count", MIN_KV_BYTES)?;
        let mut metadata = HashMap::with_capacity(n_kv);
        for _ in 0..n_kv {
            let key = r.string("metadata key")?;
            let ty = r.u32(&key)?;
            let value = r.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }

        let mut infos = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = r.string("tensor name")?;
            let n_dims = r.u32(&name)? as usize;
            if n_dims == 0 || n_dims > 4 {
                return Err(GgufError::Invalid(format!(
                    "tensor `{name}` has {n_dims} dimensions (expected 1 to 4)"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                let d = r.u64(&name)?;
                dims.push(usize::try_from(d).map_err(|_| {
                    GgufError::Invalid(format!("tensor `{name}` dimension {d} is too large"))
                })?);
            }
            let dtype = GgmlType::from_id(r.u32(&name)?, &name)?;
            let offset = r.u64(&name)?;
            infos.push((name, dims, dtype, offset));
        }

        let alignment = match metadata.get("general.alignment") {
            Some(v) => v
                .as_u64()
                .filter(|a| *a > 0 && *a <= 1 << 16)
                .ok_or_else(|| {
                    GgufError::Invalid("general.alignment must be a small positive integer".into())
                })? as usize,
            None => 32,
        };
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let mut tensors = HashMap::with_capacity(infos.len());
        for (name, dims, dtype, offset) in infos {
            let len = dtype.byte_len(&dims).ok_or_else(|| {
                GgufError::Invalid(format!(
                    "tensor `{name}` {dims:?} does not fit {dtype:?} blocks of {}",
                    dtype.block_len()
                ))
            })?;
            let start = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(data_start));
            let end = start.and_then(|s| s.checked_add(len));
            match (start, end) {
                (Some(start), Some(end)) if end <= buf.len() => {
                    tensors.insert(
                        name,
                        TensorInfo {
                            dims,
                            dtype,
                            offset: start,
                            len,
                        },
                    );
                }
                _ => {
                    return Err(GgufError::Invalid(format!(
                        "truncated: tensor `{name}` ({len} bytes at data offset {offset}) lies past the end of the {}-byte file",
                        buf.len()
                    )))
                }
            }
        }
        Ok(GgufFile {
            version,
            metadata,
            tensors,
        })
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// A required unsigned integer.
    pub fn u64(&self, key: &str) -> Result<u64, GgufError> {
        self.get(key)
            .and_then(MetaValue::as_u64)
            .ok_or_else(|| GgufError::Invalid(format!("missing or non-integer metadata `{key}`")))
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&str, GgufError> {
        self.get(key)
            .and_then(MetaValue::as_str)
            .ok_or_else(|| GgufError::Invalid(format!("missing or non-string metadata `{key}`")))
    }

    /// An array of strings (for vocabularies and merges).
    pub fn str_array(&self, key: &str) -> Option<Vec<&str>> {
        match self.get(key)? {
            MetaValue::Array(items) => items.iter().map(MetaValue::as_str).collect(),
            _ => None,
        }
    }
}
