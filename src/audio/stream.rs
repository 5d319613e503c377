//! Streaming resampling of live audio: the microphone's frames as the device delivers them
//! (interleaved channels, at the device's rate) downmixed to mono and resampled, push by push.
//!
//! The output does not depend on how the input was cut into pushes: rubato's sinc resampler
//! works on fixed chunks of [`CHUNK`] input frames, and what is left of a push waits for the next.
//! Its delay is trimmed, and the output starts with [`StreamResampler::lead_in`] samples of
//! silence, as many as the largest lag (the filter's look-ahead and a chunk waiting): so the output
//! never falls behind the input's own count, and each 20 ms of input completes 20 ms of output at
//! once (a detector's 20 ms frame is not held back a whole push by a few samples). Output sample
//! `j` lies at input time `(j - lead_in) / output_rate` (to within a fraction of an output sample),
//! and [`StreamResampler::lag_seconds`] says how far the newest output lies behind the newest
//! input: what a caller subtracts from the input's capture time.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::{AudioError, SUPPORTED_RATES};

/// Input frames resampled at a time: at most this much input (2.7 ms at 48 kHz) waits for the
/// next push.
pub const CHUNK: usize = 128;

/// The sinc filter's length in input frames: its delay is half of it (2.7 ms at 48 kHz), its
/// cutoff near the output's Nyquist frequency (about 7.5 kHz for 16 kHz).
const SINC_LEN: usize = 256;

/// A streaming downmixer and resampler from one device rate to one output rate.
pub struct StreamResampler {
    input_rate: u32,
    output_rate: u32,
    /// `None` when the rates are equal: the frames are only downmixed.
    resampler: Option<Async<f32>>,
    /// Mono input not resampled yet (less than one chunk after a push).
    pending: Vec<f32>,
    /// The resampler's output buffer, sized once.
    scratch: Vec<f32>,
    /// Output frames of the resampler's delay still to drop.
    to_trim: usize,
    /// Samples of silence the output starts with (see the module's documentation).
    lead_in: usize,
    /// Input frames taken in so far.
    taken: u64,
    /// Output frames given out so far.
    given: u64,
}

impl StreamResampler {
    /// A resampler from `input_rate` to `output_rate` (both within [`SUPPORTED_RATES`]).
    pub fn new(input_rate: u32, output_rate: u32) -> Result<Self, AudioError> {
        let fail = |reason: String| AudioError::Resample {
            from_rate: input_rate,
            to_rate: output_rate,
            reason,
        };
        for rate in [input_rate, output_rate] {
            if !SUPPORTED_RATES.contains(&rate) {
                return Err(fail(format!(
                    "{rate} Hz is outside the supported {} to {} Hz",
                    SUPPORTED_RATES.start(),
                    SUPPORTED_RATES.end()
                )));
            }
        }
        let (resampler, scratch, to_trim, lead_in) = if input_rate == output_rate {
            (None, Vec::new(), 0, 0)
        } else {
            let parameters = SincInterpolationParameters {
                sinc_len: SINC_LEN,
                f_cutoff: None,
                interpolation: SincInterpolationType::Linear,
                oversampling_factor: 128,
                window: WindowFunction::BlackmanHarris2,
            };
            let ratio = f64::from(output_rate) / f64::from(input_rate);
            let resampler =
                Async::<f32>::new_sinc(ratio, 1.0, &parameters, CHUNK, 1, FixedAsync::Input)
                    .map_err(|e| fail(e.to_string()))?;
            let scratch = vec![0.0; resampler.output_frames_max()];
            let to_trim = resampler.output_delay();
            let lead_in = to_trim + (CHUNK as f64 * ratio).ceil() as usize + 1;
            (Some(resampler), scratch, to_trim, lead_in)
        };
        Ok(StreamResampler {
            input_rate,
            output_rate,
            resampler,
            pending: Vec::with_capacity(CHUNK * 2),
            scratch,
            to_trim,
            lead_in,
            taken: 0,
            given: 0,
        })
    }

    /// The rate of the frames [`StreamResampler::push`] takes.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// The rate of the samples [`StreamResampler::push`] gives.
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// The samples of silence the output starts with: the largest lag of the output behind the
    /// input, so that the output keeps up with the input's count.
    pub fn lead_in(&self) -> usize {
        self.lead_in
    }

    /// Takes `samples`, whole frames of `channels` interleaved channels at the input rate,
    /// downmixes them to mono (a NaN or infinity counts as silence) and appends what can be
    /// resampled so far to `out`; returns how many samples it appended.
    pub fn push(
        &mut self,
        samples: &[f32],
        channels: usize,
        out: &mut Vec<f32>,
    ) -> Result<usize, AudioError> {
        let fail = |reason: String| AudioError::Resample {
            from_rate: self.input_rate,
            to_rate: self.output_rate,
            reason,
        };
        if channels == 0 || samples.len() % channels != 0 {
            return Err(fail(format!(
                "{} samples are not whole frames of {channels} channels",
                samples.len()
            )));
        }
        let before = out.len();
        let scale = 1.0 / channels as f32;
        let mono = samples.chunks_exact(channels).map(|frame| {
            let sum: f32 = frame
                .iter()
                .map(|s| if s.is_finite() { *s } else { 0.0 })
                .sum();
            sum * scale
        });
        self.taken += (samples.len() / channels) as u64;
        let Some(resampler) = self.resampler.as_mut() else {
            out.extend(mono);
            self.given += (out.len() - before) as u64;
            return Ok(out.len() - before);
        };
        if self.given == 0 && out.len() == before {
            out.resize(before + self.lead_in, 0.0);
        }
        self.pending.extend(mono);
        let mut start = 0;
        while self.pending.len() - start >= CHUNK {
            let input = InterleavedSlice::new(&self.pending[start..start + CHUNK], 1, CHUNK)
                .map_err(|e| fail(e.to_string()))?;
            let frames = self.scratch.len();
            let mut output = InterleavedSlice::new_mut(&mut self.scratch[..], 1, frames)
                .map_err(|e| fail(e.to_string()))?;
            let (used, made) = resampler
                .process_into_buffer(&input, &mut output, None)
                .map_err(|e| fail(e.to_string()))?;
            start += used;
            let trim = self.to_trim.min(made);
            self.to_trim -= trim;
            out.extend_from_slice(&self.scratch[trim..made]);
        }
        self.pending.drain(..start);
        self.given += (out.len() - before) as u64;
        Ok(out.len() - before)
    }

    /// How long before the newest input frame the newest output sample lies, in seconds: the
    /// input still waiting for a whole chunk and the filter's look-ahead. `None` before the first
    /// output.
    pub fn lag_seconds(&self) -> Option<f64> {
        if self.given == 0 {
            return None;
        }
        let last_in = (self.taken - 1) as f64 / f64::from(self.input_rate);
        let last_out =
            (self.given as f64 - 1.0 - self.lead_in as f64) / f64::from(self.output_rate);
        Some(last_in - last_out)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
