//! Stage wrappers that note when each piece of work finished.
//!
//! One [`sotto::assistant::Assistant::step`] can do several things (the final transcript and
//! the prefill of the reply; a token and the speech it completes), so the time the step
//! returns is late for all but the last of them. The marks are taken here, when each stage's
//! own call returns, on the same clock as the simulation.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use sotto::assistant::{Recognizer, Responder, Voice};

/// Completion times (ms since `start`) not yet claimed by an event.
pub struct StageTimes {
    start: Instant,
    /// The last final transcript (speculative ones included: made before the endpoint).
    pub transcript: Option<f64>,
    /// The last reply piece.
    pub piece: Option<f64>,
    /// Each speech chunk synthesized, in order.
    pub audio: VecDeque<f64>,
}

impl StageTimes {
    /// Times measured from `start`, shared between the wrappers and the simulation.
    pub fn shared(start: Instant) -> Rc<RefCell<StageTimes>> {
        Rc::new(RefCell::new(StageTimes {
            start,
            transcript: None,
            piece: None,
            audio: VecDeque::new(),
        }))
    }

    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }
}

/// A stage that reports when its calls finish.
pub struct Timed<T> {
    /// The stage doing the work.
    pub inner: T,
    /// Where the completion times go.
    pub times: Rc<RefCell<StageTimes>>,
}

impl<R: Recognizer> Recognizer for Timed<R> {
    fn transcribe(&mut self, pcm: &[f32], partial: bool) -> Result<String, String> {
        let result = self.inner.transcribe(pcm, partial);
        if !partial {
            let mut times = self.times.borrow_mut();
            times.transcript = Some(times.now_ms());
        }
        result
    }
}

impl<L: Responder> Responder for Timed<L> {
    fn begin(&mut self, user_text: &str) -> Result<(), String> {
        self.inner.begin(user_text)
    }

    fn next_piece(&mut self) -> Result<Option<String>, String> {
        let result = self.inner.next_piece();
        let mut times = self.times.borrow_mut();
        times.piece = Some(times.now_ms());
        result
    }

    fn interrupt(&mut self, heard: &str) {
        self.inner.interrupt(heard)
    }

    fn prepare(&mut self) -> Result<bool, String> {
        self.inner.prepare()
    }

    fn prepare_turn(&mut self, user_text: &str) -> Result<bool, String> {
        self.inner.prepare_turn(user_text)
    }

    fn prepare_partial_turn(&mut self, partial_text: &str) -> Result<bool, String> {
        self.inner.prepare_partial_turn(partial_text)
    }
}

impl<V: Voice> Voice for Timed<V> {
    fn synthesize(&mut self, text: &str) -> Result<Vec<f32>, String> {
        let result = self.inner.synthesize(text);
        if result.is_ok() {
            let mut times = self.times.borrow_mut();
            let now = times.now_ms();
            times.audio.push_back(now);
        }
        result
    }

    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }
}
