//! WAV decoding of every common layout, downmixing, resampling, encoding, and bad input.

use sotto::audio::{self, AudioError};

fn wav_bytes(
    spec: hound::WavSpec,
    write: impl FnOnce(&mut hound::WavWriter<&mut std::io::Cursor<Vec<u8>>>),
) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        write(&mut writer);
        writer.finalize().unwrap();
    }
    cursor.into_inner()
}

fn spec(channels: u16, rate: u32, bits: u16, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

#[test]
fn integer_layouts_scale_to_unit_range() {
    for bits in [8u16, 16, 24, 32] {
        let full = (1i64 << (bits - 1)) as f64;
        let values = [0.5f64, -0.25, 0.0];
        let bytes = wav_bytes(spec(1, 16_000, bits, false), |w| {
            for v in values {
                w.write_sample((v * full) as i32).unwrap();
            }
        });
        let audio = audio::decode_wav(&bytes, "layout.wav", 10.0).unwrap();
        assert_eq!(audio.sample_rate, 16_000);
        for (got, want) in audio.samples.iter().zip(values) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-6,
                "{bits}-bit: {got} vs {want}"
            );
        }
    }
}

#[test]
fn float_stereo_is_averaged_to_mono() {
    let bytes = wav_bytes(spec(2, 16_000, 32, true), |w| {
        for (l, r) in [(0.5f32, -0.5f32), (1.0, 0.0), (-0.2, -0.4)] {
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
    });
    let audio = audio::decode_wav(&bytes, "stereo.wav", 10.0).unwrap();
    let want = [0.0f32, 0.5, -0.3];
    assert_eq!(audio.samples.len(), 3);
    for (got, want) in audio.samples.iter().zip(want) {
        assert!((got - want).abs() < 1e-6);
    }
}

#[test]
fn multichannel_44k_resamples_to_16k_and_keeps_the_tone() {
    let rate = 44_100u32;
    let n = rate as usize; // one second
    let tone = |i: usize| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5;
    let bytes = wav_bytes(spec(3, rate, 16, false), |w| {
        for i in 0..n {
            for _ in 0..3 {
                w.write_sample((tone(i) * 32767.0) as i16).unwrap();
            }
        }
    });
    let audio = audio::decode_wav_16k(&bytes, "tone.wav", 10.0).unwrap();
    assert_eq!(audio.sample_rate, 16_000);
    assert!(
        (audio.samples.len() as i64 - 16_000).abs() <= 1,
        "{}",
        audio.samples.len()
    );
    // Aligned with the input: compare with the ideal 16 kHz tone away from the edges.
    let ideal = |i: usize| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin() * 0.5;
    let worst = (1000..15_000)
        .map(|i| (audio.samples[i] - ideal(i)).abs())
        .fold(0.0f32, f32::max);
    // A fraction of a sample of phase error is allowed (the slope here is 0.086 per sample).
    assert!(worst < 0.03, "resampled tone deviates by {worst}");
    let rms = (audio.samples[1000..15_000]
        .iter()
        .map(|s| s * s)
        .sum::<f32>()
        / 14_000.0)
        .sqrt();
    assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.01, "rms {rms}");
}

#[test]
fn encode_then_decode_round_trips() {
    let samples: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.01).sin() * 0.9).collect();
    let bytes = audio::encode_wav_i16(&samples, 22_050);
    let back = audio::decode_wav(&bytes, "round.wav", 10.0).unwrap();
    assert_eq!(back.sample_rate, 22_050);
    assert_eq!(back.samples.len(), samples.len());
    for (a, b) in samples.iter().zip(&back.samples) {
        assert!((a - b).abs() < 1.0 / 16_000.0);
    }
    // Clipping rather than wrapping.
    let loud = audio::decode_wav(&audio::encode_wav_i16(&[2.0, -2.0], 16_000), "x", 1.0).unwrap();
    assert!(loud.samples[0] > 0.99 && loud.samples[1] < -0.99);
}

#[test]
fn write_wav_file_and_read_it_back() {
    let dir = std::env::temp_dir().join(format!("sotto-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.wav");
    audio::write_wav_file(&path, &[0.1, 0.2, -0.3], 16_000).unwrap();
    let audio = audio::read_wav_file(&path, 10.0).unwrap();
    assert_eq!(audio.samples.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_names_the_file_and_the_problem() {
    let err = audio::decode_wav(b"ID3 this is an mp3", "song.mp3", 10.0).unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
    assert!(err.to_string().contains("song.mp3"));

    let empty = wav_bytes(spec(1, 16_000, 16, false), |_| {});
    let err = audio::decode_wav(&empty, "empty.wav", 10.0).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty.wav") && err.to_string().contains("zero samples"));

    let full = audio::encode_wav_i16(&vec![0.1; 1000], 16_000);
    let err = audio::decode_wav(&full[..full.len() - 500], "cut.wav", 10.0).unwrap_err();
    assert!(
        matches!(err, AudioError::Truncated { expected: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("cut.wav"));

    // A header announcing ~37 hours (u32::MAX bytes of data): refused before any allocation.
    let mut huge = audio::encode_wav_i16(&[0.0; 4], 16_000);
    huge[40..44].copy_from_slice(&(u32::MAX - 1).to_le_bytes());
    let err = audio::decode_wav(&huge, "huge.wav", audio::DEFAULT_MAX_SECONDS).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err}");
    assert!(err.to_string().contains("huge.wav"));

    let err = audio::read_wav_file(std::path::Path::new("/nonexistent/x.wav"), 10.0).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.wav"));
}
