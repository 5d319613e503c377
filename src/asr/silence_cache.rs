//! The encoded silence tail ([`super::context`]) kept on disk per model, natively: a
//! transcriber that trims its audio context needs the cross-attention keys and values of a
//! window of pure silence, one full-window encoder pass (seconds natively on one thread), which
//! `sotto transcribe` would otherwise pay on every call since each call is a new process. The
//! browser computes it once per page at load ([`Transcriber::warm_up`]).
//!
//! A cache file holds every decoder layer's keys and values of the silent window as f32, under
//! a name made of the weight file's sha256, the window's encoder positions and mel bands, and
//! [`CACHE_VERSION`]: other weights, another context or another layout never read it. Files are
//! written whole under a temporary name and renamed, so a reader never sees a partial one; a
//! file that does not have exactly the expected shape is ignored and rewritten.

use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use super::context::SILENCE_LEVEL;
use super::whisper::CrossKv;
use super::{AsrError, Config, Transcriber};

/// The layout version of the cache files, in their names: raised when the layout or the
/// computation of the tail changes, so that old files are no longer read.
pub const CACHE_VERSION: u32 = 1;

/// The first bytes of a cache file.
const MAGIC: &[u8; 8] = b"SOTTOKV\x01";

/// Where [`Transcriber::warm_up_cached`] found the silence tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceTailSource {
    /// Read from the cache file.
    Loaded,
    /// Computed (one full-window encoder pass) and, when the folder is writable, saved.
    Computed,
}

/// A folder of silence-tail files.
#[derive(Debug, Clone)]
pub struct SilenceCache {
    dir: PathBuf,
}

impl SilenceCache {
    /// A cache in `dir` (created when the first file is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The user's cache: `$SOTTO_CACHE_DIR`, else `$XDG_CACHE_HOME/sotto`, else
    /// `$HOME/.cache/sotto`; `None` when none is set.
    pub fn user() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = var("SOTTO_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sotto")))
            .or_else(|| var("HOME").map(|d| PathBuf::from(d).join(".cache/sotto")))?;
        Some(Self::new(dir))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the weights whose sha256 is `weights_sha256` (hex), for `cfg`'s window.
    pub fn file(&self, weights_sha256: &str, cfg: &Config) -> PathBuf {
        self.dir.join(format!(
            "silence-tail-{weights_sha256}-ctx{}-mels{}-level{:08x}-v{CACHE_VERSION}.kv",
            cfg.max_source_positions,
            cfg.num_mel_bins,
            SILENCE_LEVEL.to_bits()
        ))
    }
}

/// The sha256 (hex) of a file, read in pieces.
pub fn file_sha256(path: &Path) -> Result<String, AsrError> {
    let io = |source| AsrError::Io {
        name: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let (mut hasher, mut buf) = (Sha256::new(), vec![0u8; 1 << 20]);
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Ok(crate::hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

impl Transcriber {
    /// [`Transcriber::warm_up`] through `cache`: the silence tail of the weights in `weights`
    /// (the file this transcriber was loaded from) is read from the cache when it holds it,
    /// else computed and saved there. A cache that cannot be written costs only the saving.
    pub fn warm_up_cached(
        &self,
        cache: &SilenceCache,
        weights: &Path,
    ) -> Result<SilenceTailSource, AsrError> {
        let path = cache.file(&file_sha256(weights)?, &self.model.config);
        if let Some(kv) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| decode(&bytes, &self.model.config))
        {
            self.silence.set(kv);
            return Ok(SilenceTailSource::Loaded);
        }
        self.warm_up()?;
        if let Some(kv) = self.silence.get() {
            // Saving is best effort: the tail is in memory either way.
            let _ = save(&path, &encode(&kv)?);
        }
        Ok(SilenceTailSource::Computed)
    }
}

/// Writes `bytes` to `path` under a temporary name first, then renames it.
fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

/// The file's shape: decoder layers, heads, positions, head length.
fn shape(cfg: &Config) -> [usize; 4] {
    let heads = cfg.decoder_attention_heads;
    [
        cfg.decoder_layers,
        heads,
        cfg.max_source_positions,
        cfg.d_model / heads.max(1),
    ]
}

/// The magic, the four dimensions (u32), then each layer's keys and values (f32, little-endian).
fn encode(kv: &CrossKv) -> Result<Vec<u8>, AsrError> {
    let first = kv.layers().first().map(|(k, _)| k.dims().to_vec());
    let [heads, positions, head_dim] = first.as_deref().unwrap_or(&[0, 0, 0])[..] else {
        return Err(AsrError::Option(
            "keys and values of an unexpected shape".into(),
        ));
    };
    let mut out = MAGIC.to_vec();
    for d in [kv.layers().len(), heads, positions, head_dim] {
        out.extend((d as u32).to_le_bytes());
    }
    for (k, v) in kv.layers() {
        for t in [k, v] {
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    Ok(out)
}

/// The keys and values in `bytes`, if it is a whole file of `cfg`'s shape.
fn decode(bytes: &[u8], cfg: &Config) -> Option<CrossKv> {
    let [layers, heads, positions, head_dim] = shape(cfg);
    let header = MAGIC.len() + 16;
    let per_tensor = heads * positions * head_dim;
    if bytes.len() != header + 2 * layers * per_tensor * 4 || !bytes.starts_with(MAGIC) {
        return None;
    }
    let dims: Vec<usize> = bytes[MAGIC.len()..header]
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    if dims != [layers, heads, positions, head_dim] {
        return None;
    }
    let mut tensors = bytes[header..].chunks_exact(per_tensor * 4).map(|chunk| {
        let values: Vec<f32> = chunk
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Tensor::from_vec(values, (heads, positions, head_dim), &Device::Cpu).ok()
    });
    let layers = (0..layers)
        .map(|_| Some((tensors.next()??, tensors.next()??)))
        .collect::<Option<Vec<_>>>()?;
    Some(CrossKv::from_layers(layers))
}
