//! CTranslate2 checkpoints (`model.bin`, as faster-whisper publishes them), read without
//! CTranslate2: the variables with their shapes and types, the aliases, and each variable as f32
//! (int8 and int16 dequantized with their saved scales). [`whisper`] maps a Whisper checkpoint to
//! Hugging Face names and configs.
//!
//! The layout, as CTranslate2 writes it (`ModelSpec._serialize` in
//! <https://github.com/OpenNMT/CTranslate2/blob/master/python/ctranslate2/specs/model_spec.py>)
//! and reads it (`Model::load` in
//! <https://github.com/OpenNMT/CTranslate2/blob/master/src/models/model.cc>), all little-endian:
//! `u32` binary version; the spec's name as a string; `u32` spec revision; `u32` variable count;
//! per variable its name, `u8` rank, `u32` per dimension, `u8` type id (0 f32, 1 i8, 2 i16, 3 i32,
//! 4 f16, 5 bf16), `u32` byte count and the bytes; then `u32` alias count and (alias, target) name
//! pairs. A string is a `u16` length that counts a terminating NUL, then the bytes and the NUL.
//! Scalars (head counts, flags) are variables of rank 0.
//!
//! Every count in the header is checked against the bytes that follow before it is used, so a
//! truncated or corrupt file is an error naming the file and what was expected, never a panic or
//! an allocation of a size the file made up.

pub mod whisper;
mod whisper_tensors;

use std::collections::HashMap;

use super::AsrError;

/// Binary versions this reader understands: 4 introduced explicit type ids; 6 is CTranslate2's
/// current version.
const OLDEST_VERSION: u32 = 4;
const NEWEST_VERSION: u32 = 6;

/// Smallest encoding of a variable: a one-character name (2 + 2 bytes), rank, type, byte count.
const MIN_VARIABLE_BYTES: usize = 4 + 1 + 1 + 4;
/// Smallest encoding of an alias: two one-character names.
const MIN_ALIAS_BYTES: usize = 2 * 4;

/// The storage type of a variable (CTranslate2's `DataType` enum, in its order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DType {
    /// IEEE 754 single precision.
    F32,
    /// 8-bit integers, with a `…_scale` variable (per row).
    I8,
    /// 16-bit integers, with a `…_scale` variable (per layer).
    I16,
    /// 32-bit integers.
    I32,
    /// IEEE 754 half precision.
    F16,
    /// bfloat16.
    BF16,
}

impl Ct2DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    /// Whether the type is a floating-point one (stored values are the weights themselves).
    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16)
    }
}

/// One stored variable; `data` borrows the file's bytes.
#[derive(Debug, Clone)]
pub struct Ct2Variable<'a> {
    /// Scoped name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions, outermost first (row-major); empty for a scalar.
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: Ct2DType,
    /// Little-endian element bytes (`shape` product × element size).
    pub data: &'a [u8],
}

impl Ct2Variable<'_> {
    /// Number of elements (1 for a scalar).
    pub fn elements(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// The stored values as f32, without any scale (integers converted exactly as numbers).
    pub fn raw_f32(&self) -> Vec<f32> {
        let chunks = self.data.chunks_exact(self.dtype.size());
        match self.dtype {
            Ct2DType::F32 => chunks
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Ct2DType::F16 => chunks
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Ct2DType::BF16 => chunks
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Ct2DType::I8 => self.data.iter().map(|&b| f32::from(b as i8)).collect(),
            Ct2DType::I16 => chunks
                .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            Ct2DType::I32 => chunks
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
        }
    }
}

/// A parsed `model.bin`: header, variables and aliases, borrowing the file's bytes.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    /// The file name errors mention.
    pub file: String,
    /// The binary format version.
    pub binary_version: u32,
    /// The model specification, e.g. `WhisperSpec`.
    pub spec: String,
    /// The specification's revision (its weight layout version).
    pub revision: u32,
    variables: Vec<Ct2Variable<'a>>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, String>,
}

impl<'a> Ct2Model<'a> {
    /// Parses a whole `model.bin`; `file` names it in errors.
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<Self, AsrError> {
        let mut r = Reader {
            bytes,
            pos: 0,
            file,
        };
        let binary_version = r.u32("the binary version")?;
        if !(OLDEST_VERSION..=NEWEST_VERSION).contains(&binary_version) {
            return Err(r.error(format!(
                "not a CTranslate2 model.bin of binary version {OLDEST_VERSION} to \
                 {NEWEST_VERSION}: the file starts with version {binary_version}"
            )));
        }
        let spec = r.string("the model spec's name")?;
        let revision = r.u32("the spec revision")?;
        let count = r.count("variables", MIN_VARIABLE_BYTES)?;
        let mut variables = Vec::new();
        let mut index = HashMap::new();
        for i in 0..count {
            let variable = r.variable(i)?;
            if index.insert(variable.name.clone(), i).is_some() {
                return Err(r.error(format!("variable {} is stored twice", variable.name)));
            }
            variables.push(variable);
        }
        let count = r.count("aliases", MIN_ALIAS_BYTES)?;
        let mut aliases = HashMap::new();
        for _ in 0..count {
            let alias = r.string("an alias name")?;
            let target = r.string("an alias target")?;
            if !index.contains_key(&target) {
                return Err(r.error(format!(
                    "alias {alias} points to {target}, which is not a stored variable"
                )));
            }
            if index.contains_key(&alias) || aliases.insert(alias.clone(), target).is_some() {
                return Err(r.error(format!("{alias} is defined twice")));
            }
        }
        if r.pos != bytes.len() {
            return Err(r.error(format!(
                "{} unexpected bytes after the last alias (is the file joined from parts \
                 correctly?)",
                bytes.len() - r.pos
            )));
        }
        Ok(Self {
            file: file.to_string(),
            binary_version,
            spec,
            revision,
            variables,
            index,
            aliases,
        })
    }

    /// The stored variables, in file order (sorted by name, as CTranslate2 writes them).
    pub fn variables(&self) -> &[Ct2Variable<'a>] {
        &self.variables
    }

    /// The aliases, as (alias, target) pairs.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases.iter().map(|(a, t)| (a.as_str(), t.as_str()))
    }

    /// A variable by name, following an alias. As in CTranslate2, an alias `a → b` also makes
    /// `a_scale` name `b_scale`.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable<'a>> {
        if let Some(&i) = self.index.get(name) {
            return Some(&self.variables[i]);
        }
        if let Some(target) = self.aliases.get(name) {
            return self.index.get(target).map(|&i| &self.variables[i]);
        }
        let base = name.strip_suffix("_scale")?;
        let target = self.aliases.get(base)?;
        self.index
            .get(&format!("{target}_scale"))
            .map(|&i| &self.variables[i])
    }

    /// A variable by name, or an error naming it.
    pub fn variable(&self, name: &str) -> Result<&Ct2Variable<'a>, AsrError> {
        self.get(name).ok_or_else(|| AsrError::MissingTensor {
            name: self.file.clone(),
            tensor: name.to_string(),
        })
    }

    /// A whole-number scalar (an integer variable of one element, e.g. `encoder/num_heads`).
    pub fn scalar_int(&self, name: &str) -> Result<i64, AsrError> {
        let v = self.variable(name)?;
        if v.dtype.is_float() || v.elements() != 1 {
            return Err(self.error(format!(
                "{name} should be one integer, found {:?} of shape {:?}",
                v.dtype, v.shape
            )));
        }
        Ok(v.raw_f32()[0] as i64)
    }

    /// A variable's values as f32: floats converted, int8 and int16 weights multiplied back by
    /// their saved `…_scale` (per row of the first dimension, or one for the whole variable),
    /// as CTranslate2's `Dequantize` does.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, AsrError> {
        let v = self.variable(name)?;
        let mut values = v.raw_f32();
        if v.dtype.is_float() || v.dtype == Ct2DType::I32 {
            return Ok(values);
        }
        let scale_name = format!("{name}_scale");
        let scale = self.get(&scale_name).ok_or_else(|| {
            self.error(format!(
                "{name} is stored as {:?} without its scale {scale_name}",
                v.dtype
            ))
        })?;
        if !scale.dtype.is_float() {
            return Err(self.error(format!("{scale_name} should be floating point")));
        }
        let scales = scale.raw_f32();
        let rows = v.shape.first().copied().unwrap_or(1);
        if scales.len() != 1 && scales.len() != rows {
            return Err(self.error(format!(
                "{scale_name} has {} values, expected 1 or one per row of {name} ({rows})",
                scales.len()
            )));
        }
        if scales.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return Err(self.error(format!("{scale_name} holds a zero or non-finite scale")));
        }
        let row_len = values.len() / rows.max(1);
        for (row, chunk) in values.chunks_mut(row_len.max(1)).enumerate() {
            let s = scales[if scales.len() == 1 { 0 } else { row }];
            chunk.iter_mut().for_each(|x| *x /= s);
        }
        Ok(values)
    }

    /// An error about this file.
    pub fn error(&self, reason: String) -> AsrError {
        AsrError::Weights {
            name: self.file.clone(),
            reason,
        }
    }
}

/// A bounds-checked little-endian cursor over the file.
struct Reader<'a, 'f> {
    bytes: &'a [u8],
    pos: usize,
    file: &'f str,
}

impl<'a> Reader<'a, '_> {
    fn error(&self, reason: String) -> AsrError {
        AsrError::Weights {
            name: self.file.to_string(),
            reason,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], AsrError> {
        let left = self.bytes.len() - self.pos;
        if n > left {
            return Err(self.error(format!(
                "truncated: {what} needs {n} bytes at offset {}, but the file ends {left} bytes \
                 later",
                self.pos
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, AsrError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, AsrError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, AsrError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u16`-length, NUL-terminated UTF-8 string.
    fn string(&mut self, what: &str) -> Result<String, AsrError> {
        let at = self.pos;
        let len = usize::from(self.u16(what)?);
        let bytes = self.take(len, what)?;
        match bytes.split_last() {
            Some((0, text)) => std::str::from_utf8(text)
                .map(str::to_string)
                .map_err(|_| self.error(format!("{what} at offset {at} is not valid UTF-8"))),
            _ => Err(self.error(format!(
                "{what} at offset {at} is not a NUL-terminated string (length {len})"
            ))),
        }
    }

    /// A `u32` count of items at least `min_bytes` long each, checked against what is left.
    fn count(&mut self, what: &str, min_bytes: usize) -> Result<usize, AsrError> {
        let count = self.u32(&format!("the number of {what}"))? as usize;
        let left = self.bytes.len() - self.pos;
        if count > left / min_bytes {
            return Err(self.error(format!(
                "the header claims {count} {what}, but only {left} bytes follow (at least \
                 {min_bytes} per item)"
            )));
        }
        Ok(count)
    }

    fn variable(&mut self, i: usize) -> Result<Ct2Variable<'a>, AsrError> {
        let name = self.string(&format!("the name of variable {i}"))?;
        let rank = usize::from(self.u8(&format!("the rank of {name}"))?);
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(self.u32(&format!("the shape of {name}"))? as usize);
        }
        let type_id = self.u8(&format!("the type of {name}"))?;
        let dtype = Ct2DType::from_id(type_id).ok_or_else(|| {
            self.error(format!(
                "{name} has unknown type id {type_id} (known: 0 f32, 1 int8, 2 int16, 3 int32, \
                 4 f16, 5 bf16)"
            ))
        })?;
        let byte_count = self.u32(&format!("the byte count of {name}"))? as usize;
        let expected = shape
            .iter()
            .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.error(format!("{name} has an impossible shape {shape:?}")))?;
        if byte_count != expected {
            return Err(self.error(format!(
                "{name} of shape {shape:?} and type {dtype:?} should have {expected} bytes, the \
                 file says {byte_count}"
            )));
        }
        let data = self.take(byte_count, &format!("the data of {name}"))?;
        Ok(Ct2Variable {
            name,
            shape,
            dtype,
            data,
        })
    }
}
