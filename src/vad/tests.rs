use super::test_signals::{concat, noise, silence, voice};
use super::*;

fn starts(events: &[VadEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, VadEvent::SpeechStart { .. }))
        .count()
}

fn turns(events: &[VadEvent]) -> Vec<(usize, u64, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            VadEvent::EndOfTurn {
                utterance,
                speech_end_ms,
                truncated,
                ..
            } => Some((utterance.len(), *speech_end_ms, *truncated)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_sentence_between_silences_is_one_turn_with_its_pre_roll() {
    let audio = concat(&[silence(1000), voice(1000, 0.2), silence(800)]);
    let mut vad = Endpointer::new(VadConfig::default());
    let events = vad.push(&audio);
    assert_eq!(starts(&events), 1, "{events:?}");
    let turns = turns(&events);
    assert_eq!(turns.len(), 1, "{events:?}");
    let (samples, end_ms, truncated) = turns[0];
    assert!(!truncated);
    assert!(
        (1980..=2040).contains(&end_ms),
        "speech ended at {end_ms} ms"
    );
    // Pre-roll (300 ms) + the sentence + the endpoint silence (400 ms), give or take a frame.
    let ms = samples as u64 * 1000 / 16_000;
    assert!((1650..=1800).contains(&ms), "utterance of {ms} ms");
    let VadEvent::SpeechStart { at_ms, onset_ms } = events[0] else {
        panic!("{events:?}")
    };
    assert!(
        (650..=720).contains(&at_ms),
        "utterance starts at {at_ms} ms"
    );
    // The voice starts at 1000 ms: its first voiced frame, not the frame that confirmed it.
    assert!(
        (1000..=1020).contains(&onset_ms),
        "the voice began at {onset_ms} ms"
    );
}

#[test]
fn the_onset_is_not_clipped() {
    let speech = voice(600, 0.2);
    let audio = concat(&[silence(500), speech.clone(), silence(600)]);
    let mut vad = Endpointer::new(VadConfig::default());
    let events = vad.push(&audio);
    let VadEvent::EndOfTurn { utterance, .. } = events.last().unwrap().clone() else {
        panic!("{events:?}")
    };
    let onset = &speech[..320];
    let found = utterance.windows(320).any(|w| w == onset);
    assert!(found, "the first 20 ms of speech are in the utterance");
}

#[test]
fn a_click_is_discarded_not_a_turn() {
    let audio = concat(&[silence(800), voice(100, 0.3), silence(800)]);
    let mut vad = Endpointer::new(VadConfig::default());
    let events = vad.push(&audio);
    assert!(turns(&events).is_empty(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, VadEvent::Discarded { .. })),
        "{events:?}"
    );
}

#[test]
fn steady_noise_is_not_speech_but_a_voice_over_it_is() {
    let mut vad = Endpointer::new(VadConfig::default());
    let fan = noise(3000, 0.05, 3);
    assert_eq!(starts(&vad.push(&fan)), 0, "white noise is not a voice");
    let mut talk = voice(1000, 0.3);
    for (s, n) in talk.iter_mut().zip(noise(1000, 0.05, 4)) {
        *s += n;
    }
    let events = vad.push(&concat(&[talk, noise(800, 0.05, 5)]));
    assert_eq!(turns(&events).len(), 1, "{events:?}");
}

#[test]
fn the_floor_adapts_to_a_louder_room() {
    let mut vad = Endpointer::new(VadConfig::default());
    vad.push(&silence(500));
    let quiet = vad.noise_floor_db();
    vad.push(&noise(4000, 0.02, 9));
    assert!(
        vad.noise_floor_db() > quiet + 10.0,
        "{} vs {quiet}",
        vad.noise_floor_db()
    );
}

#[test]
fn a_long_utterance_is_cut_at_the_maximum() {
    let config = VadConfig {
        max_utterance_ms: 1000,
        ..VadConfig::default()
    };
    let mut vad = Endpointer::new(config);
    let events = vad.push(&concat(&[silence(500), voice(3000, 0.2)]));
    let turns = turns(&events);
    assert!(!turns.is_empty() && turns[0].2, "{events:?}");
    assert!(turns[0].0 <= 16_000 + 320, "cut at one second");
}

fn digital_silence_reports(events: &[VadEvent]) -> Vec<&VadEvent> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                VadEvent::DigitalSilence { .. } | VadEvent::DigitalSilenceEnded
            )
        })
        .collect()
}

#[test]
fn digital_silence_is_reported_once_after_a_few_seconds_and_clears_itself() {
    let ms = DIGITAL_SILENCE_MS as u32;
    let mut vad = Endpointer::new(VadConfig::default());
    let early = vad.push(&vec![0.0; (ms as usize - 100) * 16]);
    assert!(digital_silence_reports(&early).is_empty(), "{early:?}");
    let events = vad.push(&vec![0.0; 16_000 * 5]);
    assert_eq!(
        digital_silence_reports(&events),
        [&VadEvent::DigitalSilence {
            for_ms: DIGITAL_SILENCE_MS
        }],
        "once, when the zeros reach the threshold"
    );
    let back = vad.push(&silence(100));
    assert_eq!(
        digital_silence_reports(&back),
        [&VadEvent::DigitalSilenceEnded]
    );
    assert!(digital_silence_reports(&vad.push(&silence(1000))).is_empty());
}

#[test]
fn digital_zero_pauses_between_sentences_do_not_cry_wolf() {
    // A fake-microphone file: a second of digital zeros, then sentences with exact-zero pauses
    // (the case that raised the warning while the page was transcribing).
    let zeros = |ms: usize| vec![0.0f32; ms * 16];
    let audio = concat(&[
        zeros(1000),
        voice(1500, 0.2),
        zeros(2500),
        voice(1200, 0.2),
        zeros(2000),
        voice(900, 0.2),
        zeros(2900),
    ]);
    let mut vad = Endpointer::new(VadConfig::default());
    let events = vad.push(&audio);
    assert_eq!(turns(&events).len(), 3, "{events:?}");
    assert!(digital_silence_reports(&events).is_empty(), "{events:?}");
}

#[test]
fn zeros_while_the_assistant_plays_or_inside_speech_do_not_count() {
    let mut vad = Endpointer::new(VadConfig::default());
    // A device gated by its echo canceller while the reply plays.
    vad.set_playback_level(0.1);
    let played = vad.push(&vec![0.0; 16_000 * 10]);
    assert!(digital_silence_reports(&played).is_empty(), "{played:?}");
    vad.set_playback_level(0.0);
    let after = vad.push(&vec![0.0; 16_000 * 2]);
    assert!(
        digital_silence_reports(&after).is_empty(),
        "the count starts when the playback stops"
    );
    // A long endpoint silence in digital zeros: the utterance is in progress, no warning.
    let config = VadConfig {
        endpoint_ms: 5000,
        ..VadConfig::default()
    };
    let mut patient = Endpointer::new(config);
    let events = patient.push(&concat(&[
        silence(300),
        voice(800, 0.2),
        vec![0.0; 16 * 4000],
    ]));
    assert_eq!(patient.state(), VadState::Speech);
    assert!(digital_silence_reports(&events).is_empty(), "{events:?}");
}

#[test]
fn playback_echo_is_ignored_but_talking_over_it_is_not() {
    let played = voice(1000, 0.2);
    let rms = (played.iter().map(|s| s * s).sum::<f32>() / played.len() as f32).sqrt();
    // What reaches the microphone: the played voice 20 dB down (echo cancellation and the room).
    let echo: Vec<f32> = played.iter().map(|s| s * 0.1).collect();
    let mut vad = Endpointer::new(VadConfig::default());
    vad.push(&silence(500));
    let mut control = Endpointer::new(VadConfig::default());
    control.push(&silence(500));
    let without_playback = control.push(&concat(&[echo.clone(), silence(500)]));
    assert_eq!(
        starts(&without_playback),
        1,
        "without playback the echo would count"
    );
    vad.set_playback_level(rms);
    assert_eq!(starts(&vad.push(&concat(&[echo, silence(500)]))), 0);
    assert_eq!(
        starts(&vad.push(&voice(500, 0.2))),
        1,
        "the user talking over the reply at its level"
    );
}

#[test]
fn results_do_not_depend_on_how_audio_is_chunked() {
    let audio = concat(&[
        silence(700),
        voice(900, 0.2),
        silence(700),
        voice(500, 0.25),
        silence(700),
    ]);
    let mut whole = Endpointer::new(VadConfig::default());
    let expected = whole.push(&audio);
    let mut chunked = Endpointer::new(VadConfig::default());
    let got: Vec<VadEvent> = audio.chunks(128).flat_map(|c| chunked.push(c)).collect();
    assert_eq!(got, expected);
    assert_eq!(turns(&expected).len(), 2);
}

#[test]
fn push_to_talk_release_ends_the_turn() {
    let mut vad = Endpointer::new(VadConfig::default());
    vad.push(&concat(&[silence(300), voice(600, 0.2)]));
    assert_eq!(vad.state(), VadState::Speech);
    assert!(matches!(vad.finish(), Some(VadEvent::EndOfTurn { .. })));
    assert_eq!(vad.state(), VadState::Silence);
    assert!(vad.finish().is_none());
}

#[test]
fn the_trailing_silence_and_the_speech_end_are_known_before_the_endpoint() {
    let mut vad = Endpointer::new(VadConfig::default());
    assert_eq!(
        (
            vad.trailing_silence_ms(),
            vad.speech_end_ms(),
            vad.voiced_ms()
        ),
        (0, None, 0)
    );
    vad.push(&concat(&[silence(500), voice(1000, 0.2)]));
    let voiced_end = vad.speech_end_ms().expect("inside speech");
    assert_eq!(vad.trailing_silence_ms(), 0);
    assert!(vad.voiced_ms() >= 900, "{} ms voiced", vad.voiced_ms());
    vad.push(&silence(200));
    assert_eq!(vad.trailing_silence_ms(), 200);
    assert_eq!(
        vad.speech_end_ms(),
        Some(voiced_end),
        "silence does not move it"
    );
    let events = vad.push(&silence(300));
    let end = events.iter().find_map(|e| match e {
        VadEvent::EndOfTurn {
            speech_end_ms,
            at_ms,
            ..
        } => Some((*speech_end_ms, *at_ms)),
        _ => None,
    });
    assert_eq!(
        end,
        Some((voiced_end, voiced_end + 400)),
        "the same clock as the end of turn, which came after the endpoint silence"
    );
    assert_eq!(vad.position_ms(), 2000.0, "all the audio pushed");
    assert_eq!((vad.trailing_silence_ms(), vad.speech_end_ms()), (0, None));
}

#[test]
fn zeros_a_browser_dithered_still_count_as_digital_silence() {
    // A browser's capture path turns a muted device's zeros into noise around -105 dBFS RMS:
    // still a microphone that delivers nothing. A quiet room (-71 dBFS) is not.
    let ms = DIGITAL_SILENCE_MS as u32 + 500;
    let mut vad = Endpointer::new(VadConfig::default());
    let events = vad.push(&noise(ms, 0.000_01, 3));
    assert_eq!(digital_silence_reports(&events).len(), 1, "{events:?}");
    let mut quiet = Endpointer::new(VadConfig::default());
    assert!(digital_silence_reports(&quiet.push(&silence(ms))).is_empty());
}
