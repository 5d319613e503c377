//! The latency record: marks on the capture clock, the first audio where playback sounds it, and
//! barge-in from the interrupting voice to the reply's last rendered sample.

use super::*;

/// The latest record of `turn` among `events`.
fn record(events: &[AssistantEvent], turn: u64) -> Option<Latency> {
    events.iter().rev().find_map(|e| match e {
        AssistantEvent::Latency(l) if l.turn == turn => Some(l.clone()),
        _ => None,
    })
}

#[test]
fn speech_marks_are_capture_times_and_the_first_audio_is_when_playback_sounds() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    // Two seconds of speech after half a second of quiet; frames are captured every 20 ms.
    let audio = concat(&[silence(500), voice(1500, 0.2), silence(700)]);
    let mut events = Vec::new();
    let mut clock = 0.0;
    for frame in audio.chunks(320) {
        clock += 20.0;
        events.extend(assistant.push_audio(frame, clock));
    }
    // The worker was busy: nothing is done before all the audio has arrived. The speech marks
    // still fall where the audio says, not when the frames were handled.
    let mut steps = 0;
    while assistant.has_work() && steps < 200 {
        events.extend(assistant.step(clock + 500.0));
        steps += 1;
    }
    assert!(
        record(&events, 1).is_none(),
        "no record before playback sounds"
    );
    let (first_chunk, rate) = events
        .iter()
        .find_map(|e| match e {
            AssistantEvent::Audio {
                samples,
                sample_rate,
                ..
            } => Some((samples.clone(), *sample_rate)),
            _ => None,
        })
        .expect("a chunk");
    assert_eq!(
        first_chunk[0], 0.1,
        "the scripted voice sounds from its first sample"
    );
    let started = assistant.playback_started(1, 5000.0);
    let latency = record(&started, 1).expect("sent when playback starts");
    let speech_end = latency.speech_end.unwrap();
    assert!((1990.0..=2020.0).contains(&speech_end), "{latency:?}");
    assert_eq!(latency.endpoint, Some(speech_end + 400.0), "{latency:?}");
    assert_eq!(latency.first_audio, Some(5000.0));
    assert_eq!(
        latency.after_speech_end(latency.first_audio),
        Some(5000.0 - speech_end)
    );
    assert_eq!(rate, 16_000);
    // Reported once.
    assert!(assistant.playback_started(1, 6000.0).is_empty());
}

#[test]
fn the_first_audio_skips_the_silence_a_chunk_starts_with() {
    assert_eq!(playback_leading_silence(&[0.0; 160], 16_000), 10.0);
    let mut chunk = vec![0.0005; 480];
    chunk.extend([0.2, 0.1]);
    assert_eq!(playback_leading_silence(&chunk, 16_000), 30.0);
    assert_eq!(playback_leading_silence(&[-0.3, 0.0], 24_000), 0.0);
}

#[test]
fn a_barge_in_is_timed_from_the_voice_onset_to_the_last_rendered_sample() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(500), voice(1000, 0.2), silence(500)]),
        &mut clock,
    );
    let first = record(&events, 1).expect("the reply sounded");
    assistant.playback_progress(1, 1000, clock);
    let onset = clock + 200.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(200), voice(400, 0.3)]),
        &mut clock,
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AssistantEvent::Interrupted { turn: 1, .. })),
        "{events:?}"
    );
    assert!(
        record(&events, 1).is_none(),
        "complete only once playback stops"
    );
    // The worklet flushed the turn; its last sample was rendered 15 ms after the cut.
    let stopped = assistant.playback_stopped(1, 2000, clock + 15.0);
    let barge_in = record(&stopped, 1).expect("the record, completed");
    let voice_onset = barge_in.interrupt_onset.unwrap();
    assert!(
        (onset..=onset + 20.0).contains(&voice_onset),
        "the voice began at {onset} ms: {barge_in:?}"
    );
    assert_eq!(barge_in.playback_stop, Some(clock + 15.0));
    assert_eq!(barge_in.barge_in_ms(), Some(clock + 15.0 - voice_onset));
    assert_eq!(barge_in.first_audio, first.first_audio, "the same record");
    // Another stop of the same turn adds nothing; a stop button is not a barge-in.
    assert!(record(&assistant.playback_stopped(1, 2000, clock + 30.0), 1).is_none());
}

#[test]
fn a_reply_cut_by_the_stop_button_is_no_barge_in() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(1000, 0.2), silence(500)]),
        &mut clock,
    );
    assistant.interrupt();
    assert!(record(&assistant.playback_stopped(1, 500, clock), 1).is_none());
}

#[test]
fn the_record_says_how_the_turn_was_prepared() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    // A pause long enough for a speculation, then more words, then the end of the turn.
    let events = feed(
        &mut assistant,
        &concat(&[
            silence(500),
            voice(900, 0.2),
            silence(250),
            voice(700, 0.2),
            silence(700),
        ]),
        &mut clock,
    );
    let latency = record(&events, 1).expect("a record");
    assert_eq!(latency.speculations, 2, "{latency:?}");
    assert!(latency.speculative_final, "{latency:?}");
    assert_eq!(
        latency.prompt, None,
        "the scripted responder keeps no statistics"
    );
}

#[test]
fn digital_silence_is_passed_on_and_cleared() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    let zeros = vec![0.0; 16 * 3500];
    let events = feed(&mut assistant, &concat(&[zeros, silence(100)]), &mut clock);
    let reports: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                AssistantEvent::DigitalSilence { .. } | AssistantEvent::DigitalSilenceEnded
            )
        })
        .collect();
    assert_eq!(
        reports,
        [
            &AssistantEvent::DigitalSilence { for_ms: 3000 },
            &AssistantEvent::DigitalSilenceEnded
        ]
    );
}
