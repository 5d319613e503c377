//! Whisper's log-mel front end, equal to openai-whisper's `log_mel_spectrogram(pad_or_trim(pcm))`.
//!
//! Reference: <https://github.com/openai/whisper/blob/main/whisper/audio.py#L110-L157>.
//! Single-threaded (the browser build has no threads) and lazy: only frames that can see audio are
//! transformed; every later frame of the 30 s window is digital silence, whose value is a constant
//! that [`MelSpectrogram::frames`] fills in.

use realfft::RealFftPlanner;

/// Window length of the short-time Fourier transform (25 ms at 16 kHz).
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms at 16 kHz).
pub const HOP_LENGTH: usize = 160;
/// Samples in Whisper's 30 s window.
pub const N_SAMPLES: usize = 480_000;
/// Frames in Whisper's 30 s window.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;
const N_BINS: usize = N_FFT / 2 + 1;

/// A log-mel spectrogram of one 30 s window, of which only the leading frames are stored.
#[derive(Debug, Clone)]
pub struct MelSpectrogram {
    /// Mel bands (80 or 128).
    pub n_mels: usize,
    /// Frames stored in `data`; later frames of the window all equal `silence_value`.
    pub n_computed: usize,
    /// Row-major `[n_mels, n_computed]`.
    pub data: Vec<f32>,
    /// The value of every band in a frame that sees only the zero padding.
    pub silence_value: f32,
}

impl MelSpectrogram {
    /// The first `n_frames` frames as row-major `[n_mels, n_frames]`, silence frames filled in.
    pub fn frames(&self, n_frames: usize) -> Vec<f32> {
        let mut out = vec![self.silence_value; self.n_mels * n_frames];
        let copied = n_frames.min(self.n_computed);
        for (band, row) in out.chunks_exact_mut(n_frames).enumerate() {
            let start = band * self.n_computed;
            row[..copied].copy_from_slice(&self.data[start..start + copied]);
        }
        out
    }
}

/// Slaney-style mel filters as librosa computes them (`librosa.filters.mel(sr=16000, n_fft=400,
/// n_mels)`), which is what whisper's `mel_filters.npz` holds: row-major `[n_mels, 201]`.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let sample_rate = 16_000.0f64;
    let fft_freqs: Vec<f64> = (0..N_BINS)
        .map(|k| k as f64 * sample_rate / N_FFT as f64)
        .collect();
    let max_mel = hz_to_mel(sample_rate / 2.0);
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut filters = vec![0f32; n_mels * N_BINS];
    for band in 0..n_mels {
        let (lo, mid, hi) = (mel_freqs[band], mel_freqs[band + 1], mel_freqs[band + 2]);
        let norm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            filters[band * N_BINS + k] = (lower.min(upper).max(0.0) * norm) as f32;
        }
    }
    filters
}

// Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa `htk=False`).
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// The log-mel spectrogram of the first 30 s of `pcm` (16 kHz mono), as whisper computes it after
/// `pad_or_trim`: periodic Hann window, centred STFT with reflect padding, power spectrum, mel
/// filters, `log10(max(x, 1e-10))`, floor at the window maximum minus 8, then `(x + 4) / 4`.
pub fn log_mel_spectrogram(pcm: &[f32], n_mels: usize) -> MelSpectrogram {
    let len = pcm.len().min(N_SAMPLES);
    // Frame t covers samples [t*HOP - N_FFT/2, t*HOP + N_FFT/2): later frames see only zeros.
    let n_computed = (len + N_FFT / 2).div_ceil(HOP_LENGTH).clamp(1, N_FRAMES);
    let filters = mel_filters(n_mels);
    let window: Vec<f32> = (0..N_FFT)
        .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32)
        .collect();
    // `pad_or_trim` zero-pads to 30 s; the STFT then reflects around both ends of that.
    let sample = |i: isize| -> f32 {
        let n = N_SAMPLES as isize;
        let j = if i < 0 {
            -i
        } else if i >= n {
            2 * n - 2 - i
        } else {
            i
        } as usize;
        pcm[..len].get(j).copied().unwrap_or(0.0)
    };
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
    let mut frame = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0f32; N_BINS];
    let mut data = vec![0f32; n_mels * n_computed];
    for t in 0..n_computed {
        let start = (t * HOP_LENGTH) as isize - (N_FFT / 2) as isize;
        for (n, slot) in frame.iter_mut().enumerate() {
            *slot = sample(start + n as isize) * window[n];
        }
        fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
            .expect("buffers come from the same plan");
        for (p, c) in power.iter_mut().zip(&spectrum) {
            *p = c.re * c.re + c.im * c.im;
        }
        for band in 0..n_mels {
            let row = &filters[band * N_BINS..(band + 1) * N_BINS];
            let energy: f32 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
            data[band * n_computed + t] = energy.max(1e-10).log10();
        }
    }
    // Frames past `n_computed` are log10(1e-10) = -10, which never raises the maximum.
    let max = data.iter().copied().fold(-10.0f32, f32::max);
    let floor = max - 8.0;
    for v in &mut data {
        *v = (v.max(floor) + 4.0) / 4.0;
    }
    MelSpectrogram {
        n_mels,
        n_computed,
        data,
        silence_value: ((-10.0f32).max(floor) + 4.0) / 4.0,
    }
}
