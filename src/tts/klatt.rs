//! A Klatt-style formant synthesizer: a glottal source and aspiration feed a cascade of formant
//! resonators (with a nasal pole–zero pair), while frication noise feeds a parallel branch.
//!
//! The synthesizer knows nothing about phonemes: it renders a sequence of [`Frame`]s, each holding
//! the control parameters for [`FRAME_SECONDS`] of sound. Frequencies are updated once per frame;
//! amplitudes are interpolated per sample so that onsets and offsets do not click.

use std::f32::consts::PI;

/// Duration of one control frame, in seconds.
pub const FRAME_SECONDS: f32 = 0.004;

/// Number of cascade formants whose frequency and bandwidth vary per frame.
pub const VARIABLE_FORMANTS: usize = 3;

/// One frame of synthesizer control parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Fundamental frequency in Hz.
    pub f0: f32,
    /// Voicing amplitude (linear, 0..=1).
    pub voicing: f32,
    /// Aspiration noise amplitude into the cascade (linear).
    pub aspiration: f32,
    /// Frication noise amplitude into the parallel branch (linear).
    pub frication: f32,
    /// F1–F3 frequencies in Hz.
    pub formants: [f32; VARIABLE_FORMANTS],
    /// F1–F3 bandwidths in Hz.
    pub bandwidths: [f32; VARIABLE_FORMANTS],
    /// Nasal zero frequency in Hz; equal to the nasal pole (270 Hz) when the velum is closed.
    pub nasal_zero: f32,
    /// The frication noise spectrum: two resonances and a flat bypass.
    pub noise: NoiseShape,
}

/// Spectral shape of the frication noise: two resonances `(Hz, bandwidth Hz, gain)` and a flat part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseShape {
    /// Lower resonance: frequency, bandwidth, gain.
    pub low: (f32, f32, f32),
    /// Higher resonance: frequency, bandwidth, gain.
    pub high: (f32, f32, f32),
    /// Gain of the unfiltered (flat) noise.
    pub flat: f32,
}

impl NoiseShape {
    /// No frication at all.
    pub const NONE: NoiseShape = NoiseShape {
        low: (1000.0, 500.0, 0.0),
        high: (4000.0, 1000.0, 0.0),
        flat: 0.0,
    };
}

impl Frame {
    /// Silence with neutral (schwa) formants.
    pub fn silence(f0: f32) -> Frame {
        Frame {
            f0,
            voicing: 0.0,
            aspiration: 0.0,
            frication: 0.0,
            formants: [500.0, 1500.0, 2500.0],
            bandwidths: [60.0, 90.0, 150.0],
            nasal_zero: NASAL_POLE_HZ,
            noise: NoiseShape::NONE,
        }
    }
}

/// Frequency of the fixed nasal pole; the nasal zero cancels it unless the frame is nasalised.
pub const NASAL_POLE_HZ: f32 = 270.0;
/// Fixed upper formants (frequency, bandwidth) of an adult male vocal tract.
const FIXED_FORMANTS: [(f32, f32); 2] = [(3300.0, 250.0), (3850.0, 300.0)];
/// Output gain that puts typical speech peaks near 0.5 full scale (no clipping).
const OUTPUT_GAIN: f32 = 0.025;
/// Level of the parallel frication branch: sibilants end up 5–10 dB below vowels, as in speech.
const FRICATION_GAIN: f32 = 6.0;
/// Level of aspiration noise in the cascade ([h], voiceless stop release, breathy voicing).
const ASPIRATION_GAIN: f32 = 1.2;
/// One-pole smoothing of the glottal pulse (1.0 = none): a slight extra spectral tilt.
const TILT: f32 = 0.8;

/// A two-pole digital resonator (Klatt 1980, eq. 2): `y = a·x + b·y1 + c·y2`.
#[derive(Clone, Copy, Default, Debug)]
struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    /// Sets the coefficients for centre `freq` and `bandwidth` (Hz) at `rate` Hz, with unity DC gain.
    fn tune(&mut self, freq: f32, bandwidth: f32, rate: f32) {
        let freq = freq.min(0.45 * rate);
        let r = (-PI * bandwidth / rate).exp();
        self.c = -r * r;
        self.b = 2.0 * r * (2.0 * PI * freq / rate).cos();
        self.a = 1.0 - self.b - self.c;
    }

    /// Like [`tune`](Self::tune) but scaled to unity gain at the centre frequency, for the
    /// parallel branch where each resonance has its own explicit amplitude.
    fn tune_peak(&mut self, freq: f32, bandwidth: f32, rate: f32) {
        self.tune(freq, bandwidth, rate);
        let theta = 2.0 * PI * freq.min(0.45 * rate) / rate;
        // |1 - b e^{-jθ} - c e^{-2jθ}| at the centre frequency.
        let re = 1.0 - self.b * theta.cos() - self.c * (2.0 * theta).cos();
        let im = self.b * theta.sin() + self.c * (2.0 * theta).sin();
        self.a = (re * re + im * im).sqrt();
    }

    fn step(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// The inverse of a resonator: a two-zero filter, used for the nasal zero.
#[derive(Clone, Copy, Default, Debug)]
struct AntiResonator {
    a: f32,
    b: f32,
    c: f32,
    x1: f32,
    x2: f32,
}

impl AntiResonator {
    fn tune(&mut self, freq: f32, bandwidth: f32, rate: f32) {
        let mut r = Resonator::default();
        r.tune(freq, bandwidth, rate);
        self.a = 1.0 / r.a;
        self.b = -r.b / r.a;
        self.c = -r.c / r.a;
    }

    fn step(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.x1 + self.c * self.x2;
        self.x2 = self.x1;
        self.x1 = x;
        y
    }
}

/// Deterministic white noise (a 32-bit LCG), so that output is bit-identical between runs.
#[derive(Clone, Debug)]
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        // Top 24 bits mapped to [-1, 1).
        ((self.0 >> 8) as f32 / 8_388_608.0) - 1.0
    }
}

/// The formant synthesizer state; render frames into PCM with [`Synthesizer::render`].
#[derive(Clone, Debug)]
pub struct Synthesizer {
    rate: f32,
    cascade: [Resonator; VARIABLE_FORMANTS + 2],
    nasal_pole: Resonator,
    nasal_zero: AntiResonator,
    fric_low: Resonator,
    fric_high: Resonator,
    fric_gains: (f32, f32),
    tilt: f32,
    noise: Noise,
    /// Position in the current glottal period, in samples.
    phase: f32,
    period: f32,
    previous: Option<Frame>,
}

impl Synthesizer {
    /// A synthesizer producing `sample_rate` Hz output.
    pub fn new(sample_rate: u32) -> Synthesizer {
        let rate = sample_rate as f32;
        let mut cascade = [Resonator::default(); VARIABLE_FORMANTS + 2];
        for (res, &(f, bw)) in cascade[VARIABLE_FORMANTS..].iter_mut().zip(&FIXED_FORMANTS) {
            res.tune(f, bw, rate);
        }
        let mut nasal_pole = Resonator::default();
        nasal_pole.tune(NASAL_POLE_HZ, 100.0, rate);
        Synthesizer {
            rate,
            cascade,
            nasal_pole,
            nasal_zero: AntiResonator::default(),
            fric_low: Resonator::default(),
            fric_high: Resonator::default(),
            fric_gains: (0.0, 0.0),
            tilt: 0.0,
            noise: Noise(0x5EED_1234),
            phase: 0.0,
            period: 0.0,
            previous: None,
        }
    }

    /// Number of output samples per control frame at this sample rate.
    pub fn samples_per_frame(&self) -> usize {
        (self.rate * FRAME_SECONDS).round() as usize
    }

    /// Renders `frames` and appends the PCM samples to `out`.
    pub fn render(&mut self, frames: &[Frame], out: &mut Vec<f32>) {
        let n = self.samples_per_frame();
        out.reserve(frames.len() * n);
        for frame in frames {
            let start = self.previous.unwrap_or(Frame {
                voicing: 0.0,
                aspiration: 0.0,
                frication: 0.0,
                ..*frame
            });
            self.tune(frame);
            for i in 0..n {
                let t = i as f32 / n as f32;
                let lerp = |a: f32, b: f32| a + (b - a) * t;
                let voicing = lerp(start.voicing, frame.voicing);
                let aspiration = lerp(start.aspiration, frame.aspiration);
                let frication = lerp(start.frication, frame.frication);
                out.push(self.sample(frame.f0, voicing, aspiration, frication, frame.noise.flat));
            }
            self.previous = Some(*frame);
        }
    }

    fn tune(&mut self, frame: &Frame) {
        for k in 0..VARIABLE_FORMANTS {
            self.cascade[k].tune(frame.formants[k], frame.bandwidths[k], self.rate);
        }
        self.nasal_zero.tune(frame.nasal_zero, 100.0, self.rate);
        let (f, bw, _) = frame.noise.low;
        self.fric_low.tune_peak(f, bw, self.rate);
        let (f, bw, _) = frame.noise.high;
        self.fric_high.tune_peak(f, bw, self.rate);
        self.fric_gains = (frame.noise.low.2, frame.noise.high.2);
    }

    fn sample(&mut self, f0: f32, voicing: f32, aspiration: f32, frication: f32, flat: f32) -> f32 {
        let glottal = self.glottal(f0);
        // Open-phase modulation makes aspiration mix naturally with voicing (breathy voice).
        let open = self.phase < self.period * OPEN_QUOTIENT;
        let noise = self.noise.next();
        let breath = if voicing > 0.0 && !open { 0.5 } else { 1.0 };
        let source = glottal * voicing + noise * aspiration * breath * ASPIRATION_GAIN;
        let mut y = self.nasal_zero.step(self.nasal_pole.step(source));
        for res in self.cascade.iter_mut().rev() {
            y = res.step(y);
        }
        let fric_noise = self.noise.next() * frication;
        let (g_low, g_high) = self.fric_gains;
        let fric = self.fric_low.step(fric_noise) * g_low
            - self.fric_high.step(fric_noise) * g_high
            + fric_noise * flat;
        (y + fric * FRICATION_GAIN) * OUTPUT_GAIN
    }

    /// The KLGLOTT88 glottal flow derivative `2at − 3bt²` over the open phase, then closed, run
    /// through a gentle low-pass for spectral tilt. Returns a sample with roughly unit peak.
    fn glottal(&mut self, f0: f32) -> f32 {
        if self.period <= 0.0 || self.phase >= self.period {
            self.phase -= self.period.max(0.0);
            self.period = self.rate / f0.clamp(40.0, 600.0);
            if self.phase >= self.period || self.phase < 0.0 {
                self.phase = 0.0;
            }
        }
        let open_len = self.period * OPEN_QUOTIENT;
        let t = self.phase / open_len;
        self.phase += 1.0;
        // Normalised so the closing excitation peak is −1 whatever the period.
        let v = if t < 1.0 { 2.0 * t - 3.0 * t * t } else { 0.0 };
        self.tilt += TILT * (v - self.tilt);
        self.tilt * 8.0
    }
}

/// Fraction of each glottal period during which the glottis is open.
const OPEN_QUOTIENT: f32 = 0.6;
