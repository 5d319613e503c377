//! Places the audio clock's times on the caller's clock.
//!
//! In the browser the capture and playback worklets stamp their frames with the AudioContext's
//! time (seconds), which they share; the engine worker runs on `performance.now()`. Frames reach
//! the worker late when it is busy (a transcription, a prefill), so stamping them on arrival
//! would move the end of speech and the endpoint later and hide the wait from the latency
//! marks. The offset between the clocks is learned from the frames that arrive soonest.
//!
//! The two clocks also drift apart: a capture device's clock may run about 1% slower than
//! `performance.now()` (Chromium's fake device does), so an offset learned once and kept would
//! map later audio times ever earlier (110 ms early after 11 s, earlier than the events they
//! follow). The learned offset may therefore grow by up to [`MAX_DRIFT`] of the audio time that
//! passed, so prompt frames keep it current, while a busy stretch moves the marks by at most
//! that fraction of its length.

/// The largest drift between the clocks followed: 2% of the audio time passed.
pub const MAX_DRIFT: f64 = 0.02;

/// Maps audio-clock times (seconds) onto the caller's clock (milliseconds).
#[derive(Debug, Clone)]
pub struct AudioClock {
    /// Caller time minus audio time, in ms: the frame that was least late, allowing for drift.
    offset_ms: f64,
    /// The latest audio time seen (a new AudioContext restarts its clock at 0).
    last_audio_s: f64,
}

impl Default for AudioClock {
    fn default() -> Self {
        Self {
            offset_ms: f64::INFINITY,
            last_audio_s: f64::NEG_INFINITY,
        }
    }
}

impl AudioClock {
    /// The caller-clock time (ms) of an audio-clock time `audio_s` reported at caller time
    /// `now_ms`: never later than `now_ms`. A time that is not a finite number maps to `now_ms`.
    pub fn to_caller_ms(&mut self, audio_s: f64, now_ms: f64) -> f64 {
        if !audio_s.is_finite() {
            return now_ms;
        }
        // A clock running backwards is a new AudioContext: learn its offset afresh. (A report
        // that is older than the newest one seen, such as a playback render time, is not.)
        if audio_s + 1.0 < self.last_audio_s {
            self.offset_ms = f64::INFINITY;
            self.last_audio_s = f64::NEG_INFINITY;
        }
        let audio_ms = audio_s * 1000.0;
        let passed_ms = (audio_ms - self.last_audio_s * 1000.0).max(0.0);
        self.last_audio_s = self.last_audio_s.max(audio_s);
        let drifted = self.offset_ms + MAX_DRIFT * passed_ms;
        self.offset_ms = drifted.min(now_ms - audio_ms);
        (audio_ms + self.offset_ms).min(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(mapped: f64, expected: f64) {
        assert!((mapped - expected).abs() < 1e-6, "{mapped} != {expected}");
    }

    #[test]
    fn late_frames_keep_their_capture_time() {
        let mut clock = AudioClock::default();
        // The context started at caller time 1000 ms; frames arrive 2 ms after capture.
        assert_close(clock.to_caller_ms(0.02, 1022.0), 1022.0);
        assert_close(clock.to_caller_ms(0.04, 1042.0), 1042.0);
        // The worker was busy: the next frames arrive 300 ms late, and keep their capture
        // time but for the drift allowed (2% of the 20 ms passed each).
        assert_close(clock.to_caller_ms(0.06, 1362.0), 1062.4);
        assert_close(clock.to_caller_ms(0.08, 1362.5), 1082.8);
        // A frame that arrives sooner refines the offset.
        assert_close(clock.to_caller_ms(0.10, 1100.5), 1100.5);
        assert_close(clock.to_caller_ms(0.12, 1300.0), 1120.9);
    }

    #[test]
    fn a_slow_audio_clock_is_followed() {
        // The audio clock runs 1% slow: 10 ms of audio take 10.1 ms of caller time, and every
        // frame arrives 1 ms after capture. Mapped times stay on the caller's clock.
        let mut clock = AudioClock::default();
        for frame in 1..=1100 {
            let audio_s = frame as f64 * 0.01;
            let captured_ms = 1000.0 + frame as f64 * 10.1;
            let mapped = clock.to_caller_ms(audio_s, captured_ms + 1.0);
            assert!(
                (mapped - (captured_ms + 1.0)).abs() < 1e-6,
                "frame {frame}: {mapped} for {captured_ms}"
            );
        }
        // After 11 s, a render time reported 20 ms late maps within a few ms of when it was.
        let mapped = clock.to_caller_ms(11.01, 1000.0 + 1101.0 * 10.1 + 20.0);
        assert!(
            (mapped - (1000.0 + 1101.0 * 10.1 + 1.0)).abs() < 0.5,
            "{mapped}"
        );
    }

    #[test]
    fn a_new_context_relearns_the_offset_and_bad_times_map_to_now() {
        let mut clock = AudioClock::default();
        clock.to_caller_ms(10.0, 20_000.0);
        assert_close(clock.to_caller_ms(0.02, 31_000.0), 31_000.0);
        assert_close(clock.to_caller_ms(0.04, 31_050.0), 31_020.4);
        assert_close(clock.to_caller_ms(f64::NAN, 5.0), 5.0);
        // A playback render time a little older than the newest capture time is no new context.
        assert_close(clock.to_caller_ms(0.03, 31_100.0), 31_010.4);
    }
}
