//! WAV decoding (every layout hound reads) and 16-bit mono encoding.

use std::io::Cursor;

use super::{resample, AudioError, SAMPLE_RATE};

/// Default cap on input duration: one hour. A longer file is refused before any sample is decoded.
pub const DEFAULT_MAX_SECONDS: f64 = 3600.0;

/// Mono audio as f32 samples in [-1, 1] at `sample_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// The samples, channels already averaged.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Decodes a WAV held in memory: 8/16/24/32-bit integer or 32-bit float, any channel count and rate.
/// Channels are averaged into mono. `name` labels errors. Files announcing more than `max_seconds`
/// are refused before decoding.
pub fn decode_wav(bytes: &[u8], name: &str, max_seconds: f64) -> Result<Audio, AudioError> {
    let not_wav = |err: hound::Error| AudioError::NotWav {
        name: name.to_string(),
        reason: err.to_string(),
    };
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(not_wav)?;
    let spec = reader.spec();
    let unsupported = |reason: String| AudioError::Unsupported {
        name: name.to_string(),
        reason,
    };
    if !super::SUPPORTED_RATES.contains(&spec.sample_rate) {
        return Err(unsupported(format!(
            "a sample rate of {} Hz (supported: {} to {} Hz)",
            spec.sample_rate,
            super::SUPPORTED_RATES.start(),
            super::SUPPORTED_RATES.end()
        )));
    }
    if spec.channels == 0 {
        return Err(unsupported("zero channels".into()));
    }
    let channels = usize::from(spec.channels);
    let frames = u64::from(reader.duration());
    let seconds = frames as f64 / f64::from(spec.sample_rate);
    if seconds > max_seconds {
        return Err(AudioError::TooLong {
            name: name.to_string(),
            seconds,
            cap_seconds: max_seconds,
        });
    }
    let expected = u64::from(reader.len());
    if expected == 0 {
        return Err(AudioError::Empty {
            name: name.to_string(),
        });
    }
    // Never trust the header for the allocation: the bytes present bound the sample count.
    let bytes_per_sample = usize::from(spec.bits_per_sample).div_ceil(8).max(1);
    let capacity = (expected as usize).min(bytes.len() / bytes_per_sample);
    let interleaved = match spec.sample_format {
        hound::SampleFormat::Float => collect(reader.into_samples::<f32>(), capacity, |s| s),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            collect(reader.into_samples::<i32>(), capacity, |s| s as f32 * scale)
        }
    };
    let interleaved = interleaved.map_err(|(found, err)| match err {
        hound::Error::IoError(_) => AudioError::Truncated {
            name: name.to_string(),
            expected,
            found,
        },
        other => not_wav(other),
    })?;
    let samples = if channels == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    Ok(Audio {
        samples,
        sample_rate: spec.sample_rate,
    })
}

/// Decodes a WAV (see [`decode_wav`]) and resamples it to Whisper's 16 kHz.
pub fn decode_wav_16k(bytes: &[u8], name: &str, max_seconds: f64) -> Result<Audio, AudioError> {
    let audio = decode_wav(bytes, name, max_seconds)?;
    let samples = resample(&audio.samples, audio.sample_rate, SAMPLE_RATE)?;
    Ok(Audio {
        samples,
        sample_rate: SAMPLE_RATE,
    })
}

fn collect<S, I: Iterator<Item = hound::Result<S>>>(
    samples: I,
    capacity: usize,
    convert: impl Fn(S) -> f32,
) -> Result<Vec<f32>, (u64, hound::Error)> {
    let mut out = Vec::with_capacity(capacity);
    for sample in samples {
        match sample {
            Ok(s) => out.push(convert(s)),
            Err(err) => return Err((out.len() as u64, err)),
        }
    }
    Ok(out)
}

/// Encodes mono samples in [-1, 1] as a 16-bit PCM WAV file (values outside are clipped).
pub fn encode_wav_i16(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    // Writing into a Vec cannot fail except past 4 GiB, which the WAV format cannot hold either.
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("WAV header into memory");
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer.write_sample(v).expect("WAV sample into memory");
    }
    writer.finalize().expect("WAV trailer into memory");
    out.into_inner()
}

/// Reads a WAV file and resamples it to 16 kHz mono (see [`decode_wav`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_wav_file(path: &std::path::Path, max_seconds: f64) -> Result<Audio, AudioError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        name: name.clone(),
        source,
    })?;
    decode_wav_16k(&bytes, &name, max_seconds)
}

/// Writes mono samples as a 16-bit PCM WAV file.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_wav_file(
    path: &std::path::Path,
    samples: &[f32],
    sample_rate: u32,
) -> Result<(), AudioError> {
    std::fs::write(path, encode_wav_i16(samples, sample_rate)).map_err(|source| AudioError::Io {
        name: path.display().to_string(),
        source,
    })
}
