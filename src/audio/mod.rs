//! Audio in and out: WAV reading and writing, resampling to 16 kHz (of a whole clip, or of live
//! audio push by push), and Whisper's log-mel front end.
//!
//! Everything here works on in-memory buffers so the browser build can use it; the file helpers
//! exist only natively.

mod mel;
mod resample;
mod stream;
mod wav;

pub use mel::{log_mel_spectrogram, mel_filters, MelSpectrogram, HOP_LENGTH, N_FFT, N_SAMPLES};
pub use resample::{resample, SUPPORTED_RATES};
pub use stream::StreamResampler;
pub use wav::{decode_wav, decode_wav_16k, encode_wav_i16, Audio, DEFAULT_MAX_SECONDS};
#[cfg(not(target_arch = "wasm32"))]
pub use wav::{read_wav_file, write_wav_file};

/// Whisper's sample rate: everything the recogniser sees is mono at this rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Why audio could not be read, written or converted. Every variant names its source.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The bytes are not a WAV file hound can parse (wrong magic, broken chunk, bad format tag).
    #[error("{name}: not a readable WAV file: {reason}")]
    NotWav {
        /// File name or a caller-chosen label for in-memory input.
        name: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The header promises more sample data than the file holds.
    #[error("{name}: truncated WAV: the header announces {expected} samples but the data ends after {found}")]
    Truncated {
        /// File name or label.
        name: String,
        /// Samples announced by the data chunk header.
        expected: u64,
        /// Samples actually present.
        found: u64,
    },
    /// A well-formed WAV that holds no audio.
    #[error("{name}: the WAV holds zero samples")]
    Empty {
        /// File name or label.
        name: String,
    },
    /// A WAV longer than the configured cap; refused before decoding anything.
    #[error("{name}: {seconds:.0} s of audio is longer than the {cap_seconds:.0} s limit")]
    TooLong {
        /// File name or label.
        name: String,
        /// Duration announced by the header.
        seconds: f64,
        /// The cap in force.
        cap_seconds: f64,
    },
    /// A layout hound reads but that makes no sense as audio (0 Hz, 0 channels).
    #[error("{name}: unsupported WAV layout: {reason}")]
    Unsupported {
        /// File name or label.
        name: String,
        /// What is wrong with the layout.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{name}: {source}")]
    Io {
        /// File name.
        name: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The resampler refused the rates or the buffer.
    #[error("resampling {from_rate} Hz to {to_rate} Hz failed: {reason}")]
    Resample {
        /// Input rate.
        from_rate: u32,
        /// Output rate.
        to_rate: u32,
        /// The resampler's message.
        reason: String,
    },
}
