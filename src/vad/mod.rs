//! Voice activity detection and endpointing: when the user starts and stops speaking.
//!
//! An adaptive energy and spectral detector, cheap enough to run on every 20 ms frame in the
//! engine worker:
//! - the noise floor follows the quietest recent frames (rising slowly, falling at once), so the
//!   detector adapts to a quiet room, a fan or a café without a calibration step;
//! - a frame is voiced when it is loud enough above that floor *and* its spectrum looks like a
//!   voice (energy concentrated in the speech band, not flat like hiss);
//! - speech starts after a few voiced frames and carries a pre-roll, so word onsets are not
//!   clipped; the turn ends after a configurable silence, provided it held enough speech;
//!   an utterance that runs too long is cut;
//! - while the assistant speaks, [`Endpointer::set_playback_level`] raises the bar to the echo
//!   that may leak back into the microphone, so only the user talking over it counts (barge-in).

mod spectrum;

use spectrum::FrameAnalyzer;

/// The sample rate the detector works at (the capture worklet delivers 16 kHz).
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per analysis frame (20 ms).
pub const FRAME: usize = 320;
const FRAME_MS: u32 = 20;

/// Endpointing settings. Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct VadConfig {
    /// Silence that ends a turn.
    pub endpoint_ms: u32,
    /// Audio kept from before speech was detected.
    pub pre_roll_ms: u32,
    /// Voiced time needed before speech counts as started.
    pub start_ms: u32,
    /// Speech shorter than this (a cough, a click) is dropped instead of ending a turn.
    pub min_speech_ms: u32,
    /// An utterance is cut (and ends the turn) at this length.
    pub max_utterance_ms: u32,
    /// How far above the noise floor a frame must be to be voiced, in dB.
    pub threshold_db: f32,
    /// Frames quieter than this (dBFS) are never voiced, however quiet the room.
    pub min_level_db: f32,
    /// How much quieter the assistant's own voice arrives in the microphone than it is played
    /// (echo cancellation plus the room), in dB: the echo estimate is the playback level minus this.
    pub echo_return_loss_db: f32,
    /// During playback, how far above the echo estimate the user must be, in dB.
    pub echo_margin_db: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            endpoint_ms: 400,
            pre_roll_ms: 300,
            start_ms: 60,
            min_speech_ms: 200,
            max_utterance_ms: 30_000,
            threshold_db: 9.0,
            min_level_db: -55.0,
            echo_return_loss_db: 20.0,
            echo_margin_db: 6.0,
        }
    }
}

/// What happened in the audio just pushed.
#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// The user started speaking; `at_ms` is where the utterance (with its pre-roll) begins.
    SpeechStart {
        /// Stream time of the utterance's first sample, in milliseconds.
        at_ms: u64,
        /// Stream time at which the voice began: the first of the voiced frames that started the
        /// speech (`start_ms` of them), in milliseconds. A barge-in is timed from here.
        onset_ms: u64,
    },
    /// The turn ended: the whole utterance, pre-roll included, at 16 kHz.
    EndOfTurn {
        /// The utterance's samples.
        utterance: Vec<f32>,
        /// Stream time at which the last voiced frame ended (the user stopped), in ms.
        speech_end_ms: u64,
        /// Stream time at which the turn ended (the end of the frame that completed the endpoint
        /// silence, or of the last frame when the turn was cut or finished early), in ms.
        at_ms: u64,
        /// Whether the turn was cut at the maximum utterance length.
        truncated: bool,
    },
    /// Speech too short to be a turn (a cough, a click) was dropped.
    Discarded {
        /// Its voiced length in milliseconds.
        speech_ms: u32,
    },
    /// The input has been digital silence (zeros, or below one 16-bit step) for
    /// [`DIGITAL_SILENCE_MS`] while nothing was played and no speech was in progress: a muted or
    /// broken device, not a quiet room (a real microphone always delivers some noise). Reported
    /// once per stretch of zeros.
    DigitalSilence {
        /// How long the input has been all zeros, in ms.
        for_ms: u64,
    },
    /// Sound arrived again after a [`VadEvent::DigitalSilence`]: the warning no longer holds.
    DigitalSilenceEnded,
}

/// How long the input must be digital silence before [`VadEvent::DigitalSilence`] is reported: a
/// few seconds, so that a file or a device that pauses in digital zeros between sentences does
/// not raise it, while a muted microphone is still reported before the user gives up.
pub const DIGITAL_SILENCE_MS: u64 = 3000;

/// The detector's state between pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum VadState {
    /// No speech.
    Silence,
    /// Voiced frames are accumulating but have not reached `start_ms` yet.
    Onset,
    /// Inside an utterance.
    Speech,
}

/// Streaming voice activity detection and endpointing over 16 kHz mono audio.
pub struct Endpointer {
    config: VadConfig,
    analyzer: FrameAnalyzer,
    pending: Vec<f32>,
    /// Recent audio before speech, at most `pre_roll_ms` plus the onset.
    pre_roll: std::collections::VecDeque<f32>,
    utterance: Vec<f32>,
    state: VadState,
    noise_db: f32,
    playback_db: Option<f32>,
    voiced_run: u32,
    silent_run: u32,
    speech_frames: u32,
    frames_seen: u64,
    /// Consecutive all-zero frames heard while nothing was played and no speech was in progress.
    zero_frames: u64,
    digital_silence_reported: bool,
    last_level_db: f32,
    /// Samples pushed so far (the stream clock).
    samples_seen: u64,
}

const DIGITAL_SILENCE_FRAMES: u64 = DIGITAL_SILENCE_MS / FRAME_MS as u64;

/// The RMS below which a frame counts as digital silence: -90 dBFS, one step of a 16-bit
/// converter. A browser does not pass a muted device's zeros on as zeros: its capture path
/// (conversion, resampling, the echo canceller) leaves noise around -105 dBFS RMS (peaks near
/// -86 dBFS) on them, while a real microphone in a quiet room stays far above this.
const DIGITAL_SILENCE_RMS: f32 = 3.162e-5;

/// Whether `frame` is digital silence: exact zeros, or noise below one 16-bit step.
fn is_digital_silence(frame: &[f32]) -> bool {
    if frame.iter().all(|&s| s == 0.0) {
        return true;
    }
    let energy: f32 = frame.iter().map(|s| s * s).sum();
    energy.is_finite() && (energy / frame.len() as f32).sqrt() < DIGITAL_SILENCE_RMS
}

impl Endpointer {
    /// A detector with the given settings.
    pub fn new(config: VadConfig) -> Self {
        Self {
            config,
            analyzer: FrameAnalyzer::new(FRAME),
            pending: Vec::with_capacity(FRAME),
            pre_roll: std::collections::VecDeque::new(),
            utterance: Vec::new(),
            state: VadState::Silence,
            noise_db: -60.0,
            playback_db: None,
            voiced_run: 0,
            silent_run: 0,
            speech_frames: 0,
            frames_seen: 0,
            zero_frames: 0,
            digital_silence_reported: false,
            last_level_db: -100.0,
            samples_seen: 0,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &VadConfig {
        &self.config
    }

    /// Changes the settings; an utterance in progress keeps going under the new ones.
    pub fn set_config(&mut self, config: VadConfig) {
        self.config = config;
    }

    /// Where the detector is.
    pub fn state(&self) -> VadState {
        self.state
    }

    /// The level of the last frame in dBFS (for a level meter).
    pub fn level_db(&self) -> f32 {
        self.last_level_db
    }

    /// The adaptive noise floor in dBFS.
    pub fn noise_floor_db(&self) -> f32 {
        self.noise_db
    }

    /// The utterance so far (pre-roll included) while the user speaks: what partial transcripts
    /// are made from. Empty outside speech.
    pub fn utterance(&self) -> &[f32] {
        &self.utterance
    }

    /// How long the utterance in progress has been silent since its last voiced frame, in ms
    /// (0 outside speech): the endpoint silence so far, for work that can start before the turn
    /// is known to be over (a speculative final transcript).
    pub fn trailing_silence_ms(&self) -> u32 {
        match self.state {
            VadState::Speech => self.silent_run * FRAME_MS,
            _ => 0,
        }
    }

    /// Stream time at which the last voiced frame of the utterance in progress ended, in ms, on
    /// the clock of [`VadEvent::EndOfTurn`]'s `speech_end_ms` (`None` outside speech). It moves
    /// only when the user speaks again, so equal values mean the utterance only grew by silence.
    pub fn speech_end_ms(&self) -> Option<u64> {
        (self.state == VadState::Speech)
            .then(|| Self::ms(self.frames_seen.saturating_sub(u64::from(self.silent_run))))
    }

    /// Voiced time of the utterance in progress, in ms (0 outside speech): it becomes a turn,
    /// rather than being discarded, once this reaches `min_speech_ms`.
    pub fn voiced_ms(&self) -> u32 {
        match self.state {
            VadState::Speech => self.speech_frames * FRAME_MS,
            _ => 0,
        }
    }

    /// Tells the detector how loud the assistant's own playback is (RMS of what is being played,
    /// 0 when nothing is), so that its echo does not count as the user speaking.
    pub fn set_playback_level(&mut self, rms: f32) {
        self.playback_db = (rms > 0.0).then(|| to_db(rms * rms));
    }

    /// Forgets any utterance in progress (for example when push-to-talk is released early).
    pub fn reset(&mut self) {
        self.state = VadState::Silence;
        self.utterance.clear();
        self.voiced_run = 0;
        self.silent_run = 0;
        self.speech_frames = 0;
    }

    /// Ends the current utterance now (push-to-talk released), as if the endpoint silence passed.
    pub fn finish(&mut self) -> Option<VadEvent> {
        if self.state != VadState::Speech {
            self.reset();
            return None;
        }
        Some(self.end_turn(false))
    }

    /// Stream time of the end of the audio pushed so far, in ms (fractional: a push need not end
    /// on a frame). The stream times of the events are on this clock, so a caller who knows when
    /// the last sample was captured can place them on its own clock.
    pub fn position_ms(&self) -> f64 {
        self.samples_seen as f64 * 1000.0 / f64::from(SAMPLE_RATE)
    }

    /// Feeds 16 kHz mono samples of any length; returns what happened, in order.
    pub fn push(&mut self, samples: &[f32]) -> Vec<VadEvent> {
        self.samples_seen += samples.len() as u64;
        let mut events = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == FRAME {
                let frame = std::mem::take(&mut self.pending);
                self.frame(&frame, &mut events);
                self.pending = frame;
                self.pending.clear();
            }
        }
        events
    }

    fn ms(frames: u64) -> u64 {
        frames * u64::from(FRAME_MS)
    }

    fn frames_for(ms: u32) -> u32 {
        ms.div_ceil(FRAME_MS).max(1)
    }

    fn frame(&mut self, frame: &[f32], events: &mut Vec<VadEvent>) {
        self.frames_seen += 1;
        self.check_digital_silence(frame, events);
        let features = self.analyzer.analyze(frame);
        self.last_level_db = features.level_db;
        let voiced = self.is_voiced(&features);
        self.track_noise(features.level_db, voiced);

        match self.state {
            VadState::Silence | VadState::Onset => {
                self.pre_roll.extend(frame);
                let keep =
                    (self.config.pre_roll_ms + self.config.start_ms + FRAME_MS) as usize * 16;
                while self.pre_roll.len() > keep {
                    self.pre_roll.pop_front();
                }
                if voiced {
                    self.voiced_run += 1;
                    self.state = VadState::Onset;
                    if self.voiced_run >= Self::frames_for(self.config.start_ms) {
                        self.start_speech(events);
                    }
                } else {
                    self.voiced_run = 0;
                    self.state = VadState::Silence;
                }
            }
            VadState::Speech => {
                self.utterance.extend_from_slice(frame);
                if voiced {
                    self.speech_frames += 1;
                    self.silent_run = 0;
                } else {
                    self.silent_run += 1;
                }
                let length_ms = self.utterance.len() as u64 * 1000 / u64::from(SAMPLE_RATE);
                if self.silent_run >= Self::frames_for(self.config.endpoint_ms) {
                    let event = if self.speech_frames * FRAME_MS >= self.config.min_speech_ms {
                        self.end_turn(false)
                    } else {
                        let speech_ms = self.speech_frames * FRAME_MS;
                        self.reset();
                        VadEvent::Discarded { speech_ms }
                    };
                    events.push(event);
                } else if length_ms >= u64::from(self.config.max_utterance_ms) {
                    events.push(self.end_turn(true));
                }
            }
        }
    }

    /// Counts all-zero frames towards [`VadEvent::DigitalSilence`]. Zeros while the assistant
    /// plays (some echo cancellers gate the microphone then) or inside an utterance do not count:
    /// the warning is for a device that delivers nothing while the user could be talking.
    fn check_digital_silence(&mut self, frame: &[f32], events: &mut Vec<VadEvent>) {
        if !is_digital_silence(frame) {
            self.zero_frames = 0;
            if std::mem::take(&mut self.digital_silence_reported) {
                events.push(VadEvent::DigitalSilenceEnded);
            }
            return;
        }
        if self.playback_db.is_some() || self.state == VadState::Speech {
            return;
        }
        self.zero_frames += 1;
        if self.zero_frames >= DIGITAL_SILENCE_FRAMES && !self.digital_silence_reported {
            self.digital_silence_reported = true;
            events.push(VadEvent::DigitalSilence {
                for_ms: Self::ms(self.zero_frames),
            });
        }
    }

    fn is_voiced(&self, features: &spectrum::Features) -> bool {
        let mut bar = (self.noise_db + self.config.threshold_db).max(self.config.min_level_db);
        if let Some(echo) = self.playback_db {
            bar = bar.max(echo - self.config.echo_return_loss_db + self.config.echo_margin_db);
        }
        features.level_db > bar && features.speech_band_ratio > 0.4 && features.flatness < 0.45
    }

    /// Minimum tracking: the floor drops to a quieter frame at once and creeps up slowly, and
    /// never learns from voiced frames, so a long sentence does not raise it.
    fn track_noise(&mut self, level_db: f32, voiced: bool) {
        if level_db < self.noise_db {
            self.noise_db = 0.7 * self.noise_db + 0.3 * level_db;
        } else if !voiced {
            self.noise_db += 0.02 * (level_db - self.noise_db).min(20.0);
        }
        self.noise_db = self.noise_db.clamp(-100.0, -10.0);
    }

    fn start_speech(&mut self, events: &mut Vec<VadEvent>) {
        let onset_ms = Self::ms(self.frames_seen - u64::from(self.voiced_run));
        self.state = VadState::Speech;
        self.utterance.clear();
        self.utterance.extend(self.pre_roll.drain(..));
        self.speech_frames = self.voiced_run;
        self.silent_run = 0;
        self.voiced_run = 0;
        let at_samples =
            (self.frames_seen * FRAME as u64).saturating_sub(self.utterance.len() as u64);
        events.push(VadEvent::SpeechStart {
            at_ms: at_samples * 1000 / u64::from(SAMPLE_RATE),
            onset_ms,
        });
    }

    fn end_turn(&mut self, truncated: bool) -> VadEvent {
        let trailing = self.silent_run as u64;
        let utterance = std::mem::take(&mut self.utterance);
        let speech_end_ms = Self::ms(self.frames_seen.saturating_sub(trailing));
        self.reset();
        VadEvent::EndOfTurn {
            utterance,
            speech_end_ms,
            at_ms: Self::ms(self.frames_seen),
            truncated,
        }
    }
}

fn to_db(power: f32) -> f32 {
    10.0 * (power.max(1e-12)).log10()
}

#[cfg(test)]
pub(crate) mod test_signals;
#[cfg(test)]
mod tests;
