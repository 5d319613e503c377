//! A Klatt (1980) cascade/parallel formant synthesizer.
//!
//! Voicing and aspiration feed a cascade of formant resonators (with a nasal pole–zero pair), the
//! path that gives vowels, approximants and nasals their relative formant levels for free.
//! Frication noise feeds a parallel bank of resonators on F2–F6 plus a flat bypass, each with its
//! own gain, so that every fricative and stop burst gets the spectrum of its place of
//! articulation; F2 and F3 of that bank follow the frame's formants, so a velar burst moves with
//! the vowel after it as in speech.
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
    /// Nasal zero frequency in Hz; equal to the nasal pole ([`NASAL_POLE_HZ`]) when the velum is
    /// closed.
    pub nasal_zero: f32,
    /// Gains of the frication noise's parallel resonators.
    pub noise: NoiseShape,
}

/// The frication spectrum: linear gains of the parallel resonators on F2 and F3 (which follow the
/// frame's formants), on the fixed F4, F5 and F6, and of the flat bypass. Each resonator has unit
/// gain at its centre, so a gain is the level of that spectral peak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseShape {
    /// Gains of the resonators on F2, F3, F4, F5 and F6.
    pub peaks: [f32; 5],
    /// Gain of the flat bypass (labial and dental sounds).
    pub bypass: f32,
}

impl NoiseShape {
    /// No frication at all.
    pub const NONE: NoiseShape = NoiseShape {
        peaks: [0.0; 5],
        bypass: 0.0,
    };

    /// A shape from levels in dB (`None` for off): F2, F3, F4, F5, F6 and the bypass.
    pub fn from_db(peaks: [Option<f32>; 5], bypass: Option<f32>) -> NoiseShape {
        let lin = |db: Option<f32>| db.map_or(0.0, |d| 10f32.powf(d / 20.0));
        NoiseShape {
            peaks: peaks.map(lin),
            bypass: lin(bypass),
        }
    }
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
/// Fixed upper cascade formants (frequency, bandwidth) of an adult male vocal tract, about one
/// every kilohertz: without them the cascade falls off steeply above F3 and the voice sounds
/// muffled (Klatt's "higher-pole correction" does the same job).
const FIXED_FORMANTS: [(f32, f32); FIXED] = [
    (3500.0, 250.0),
    (4500.0, 300.0),
    (5500.0, 400.0),
    (6500.0, 500.0),
];
const FIXED: usize = 4;
/// The parallel branch's fixed F4, F5 and F6 (frequency, bandwidth): Klatt's values, F6 where
/// [s] has its peak.
const PARALLEL_FIXED: [(f32, f32); 3] = [(3400.0, 300.0), (3900.0, 400.0), (4900.0, 1000.0)];
/// Output gain that puts typical speech peaks near 0.5 full scale (no clipping).
const OUTPUT_GAIN: f32 = 0.025;
/// Level of the parallel frication branch relative to the cascade: `frication` 1.0 is about
/// 12 dB below a steady open vowel, which is where [s] and [t]'s burst sit in speech.
const FRICATION_GAIN: f32 = 3.2;
/// Level of aspiration noise in the cascade ([h], voiceless stop release, breathy voicing).
const ASPIRATION_GAIN: f32 = 1.2;
/// First-order pre-emphasis of the voiced path (0 = none).
const PRE_EMPHASIS: f32 = 0.5;
/// One-pole smoothing of the glottal pulse (1.0 = none): a slight extra spectral tilt.
const TILT: f32 = 1.0;

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
    cascade: [Resonator; VARIABLE_FORMANTS + FIXED],
    nasal_pole: Resonator,
    nasal_zero: AntiResonator,
    /// Parallel resonators on F2, F3 (tuned per frame) and the fixed F4, F5, F6.
    parallel: [Resonator; 5],
    gains: NoiseShape,
    /// Scales the parallel branch so that a frame's `frication` sets its loudness whatever the
    /// spectrum's shape.
    fric_norm: f32,
    tilt: f32,
    noise: Noise,
    last_fric_noise: f32,
    last_cascade: f32,
    /// Position in the current glottal period, in samples.
    phase: f32,
    period: f32,
    previous: Option<Frame>,
}

impl Synthesizer {
    /// A synthesizer producing `sample_rate` Hz output.
    pub fn new(sample_rate: u32) -> Synthesizer {
        let rate = sample_rate as f32;
        let mut cascade = [Resonator::default(); VARIABLE_FORMANTS + FIXED];
        for (res, &(f, bw)) in cascade[VARIABLE_FORMANTS..].iter_mut().zip(&FIXED_FORMANTS) {
            res.tune(f, bw, rate);
        }
        let mut nasal_pole = Resonator::default();
        nasal_pole.tune(NASAL_POLE_HZ, 100.0, rate);
        let mut parallel = [Resonator::default(); 5];
        for (res, &(f, bw)) in parallel[2..].iter_mut().zip(&PARALLEL_FIXED) {
            res.tune_peak(f, bw, rate);
        }
        Synthesizer {
            rate,
            cascade,
            nasal_pole,
            nasal_zero: AntiResonator::default(),
            parallel,
            gains: NoiseShape::NONE,
            fric_norm: 0.0,
            tilt: 0.0,
            noise: Noise(0x5EED_1234),
            last_fric_noise: 0.0,
            last_cascade: 0.0,
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
                out.push(self.sample(frame.f0, voicing, aspiration, frication));
            }
            self.previous = Some(*frame);
        }
    }

    fn tune(&mut self, frame: &Frame) {
        for k in 0..VARIABLE_FORMANTS {
            self.cascade[k].tune(frame.formants[k], frame.bandwidths[k], self.rate);
        }
        self.nasal_zero.tune(frame.nasal_zero, 100.0, self.rate);
        // The parallel F2 and F3 are wider than the cascade's: frication excites a damped tract.
        let mut bands = [(0.0, 0.0); 5];
        for (k, band) in bands.iter_mut().enumerate().take(2) {
            let bw = (frame.bandwidths[k + 1] * 1.5).max(150.0);
            self.parallel[k].tune_peak(frame.formants[k + 1], bw, self.rate);
            *band = (frame.formants[k + 1], bw);
        }
        bands[2..].copy_from_slice(&PARALLEL_FIXED);
        self.gains = frame.noise;
        // Noise power through the branch, relative to white noise through the bypass alone: a
        // resonator of unit peak gain and bandwidth B passes about (π/2)·B of the spectrum, and
        // the first difference weights frequency f by 2·sin(πf/rate).
        let nyquist = self.rate / 2.0;
        let mut power = frame.noise.bypass * frame.noise.bypass;
        for (k, &(f, bw)) in bands.iter().enumerate() {
            let g = frame.noise.peaks[k] * 2.0 * (PI * f.min(0.45 * self.rate) / self.rate).sin();
            power += g * g * (PI / 2.0) * bw / nyquist;
        }
        self.fric_norm = if power > 0.0 {
            power.sqrt().recip()
        } else {
            0.0
        };
    }

    fn sample(&mut self, f0: f32, voicing: f32, aspiration: f32, frication: f32) -> f32 {
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
        // A gentle pre-emphasis lifts F2–F4, where a listener (and a recognizer) finds most of
        // the place cues, to the level of natural voices (about +6 dB at 3–4 kHz).
        let cascade = y - PRE_EMPHASIS * self.last_cascade;
        self.last_cascade = y;
        let y = cascade / (1.0 - PRE_EMPHASIS);
        let fric_noise = self.noise.next() * frication;
        // Klatt feeds the parallel resonators the noise's first difference, which keeps their
        // low-frequency skirts out of the high-frequency sounds; signs alternate so neighbouring
        // peaks add rather than cancel between them.
        let diff = fric_noise - self.last_fric_noise;
        self.last_fric_noise = fric_noise;
        let mut fric = fric_noise * self.gains.bypass;
        for (k, res) in self.parallel.iter_mut().enumerate() {
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            fric += sign * self.gains.peaks[k] * res.step(diff);
        }
        (y + fric * self.fric_norm * FRICATION_GAIN) * OUTPUT_GAIN
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
const OPEN_QUOTIENT: f32 = 0.5;
