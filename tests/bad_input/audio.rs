//! WAV decoding and transcription of odd audio: empty, header only, one sample, NaN and Inf,
//! not a WAV at all, hours long, and layouts that make no sense.

use sotto::asr::DecodeOptions;
use sotto::audio::{self, DEFAULT_MAX_SECONDS};

use super::{load_whisper, Corpus};

const HELLO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/asr/hello_16k.wav"
);

fn good() -> Result<(), String> {
    let bytes = std::fs::read(HELLO).unwrap();
    let audio = audio::decode_wav_16k(&bytes, "hello_16k.wav", 60.0).map_err(|e| e.to_string())?;
    if audio.samples.is_empty() {
        return Err("no samples".into());
    }
    Ok(())
}

/// A canonical 44-byte-header WAV: `format` 1 (integer PCM) or 3 (float); `data_len` is what
/// the header claims, `data` what follows it.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, data_len: u32, data: &[u8]) -> Vec<u8> {
    let block = channels.wrapping_mul(bits.div_ceil(8));
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&36u32.wrapping_add(data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate.wrapping_mul(u32::from(block))).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(data);
    b
}

fn float_wav(samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav(3, 1, 16_000, 32, data.len() as u32, &data)
}

#[test]
fn bad_wav_files() {
    let mut corpus = Corpus::default();
    let mut case = |name: &str, bytes: Vec<u8>, needles: &[&str]| {
        let mut all = vec![name];
        all.extend_from_slice(needles);
        corpus.case(
            name,
            || audio::decode_wav_16k(&bytes, name, DEFAULT_MAX_SECONDS),
            &all,
            good,
        );
    };
    case("zero-bytes.wav", Vec::new(), &["not a readable WAV"]);
    case(
        "empty.wav",
        wav(1, 1, 16_000, 16, 0, &[]),
        &["zero samples"],
    );
    case(
        "header-only.wav",
        wav(1, 1, 16_000, 16, 2000, &[]),
        &["truncated", "1000 samples"],
    );
    let one = audio::encode_wav_i16(&vec![0.1; 1000], 16_000);
    case("cut.wav", one[..one.len() - 501].to_vec(), &["truncated"]);
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    case("noise.wav", noise, &["not a readable WAV"]);
    let mut mp3 = b"\xff\xfb\x90\x64\x00\x00\x00\x00".to_vec();
    mp3.resize(2048, 0x55);
    case("frame.mp3", mp3, &["not a readable WAV"]);
    case(
        "id3.mp3",
        b"ID3\x04\x00\x00\x00\x00\x00\x21rest of an mp3".to_vec(),
        &["not a readable WAV"],
    );
    let mut riff_avi = wav(1, 1, 16_000, 16, 4, &[0; 4]);
    riff_avi[8..12].copy_from_slice(b"AVI ");
    case("riff-avi.wav", riff_avi, &["not a readable WAV"]);
    case(
        "hours.wav",
        wav(1, 1, 16_000, 16, u32::MAX - 1, &[0; 64]),
        &["longer than the 3600 s limit"],
    );
    case(
        "zero-channels.wav",
        wav(1, 0, 16_000, 16, 4, &[0; 4]),
        &["channels"],
    );
    case("zero-rate.wav", wav(1, 1, 0, 16, 4, &[0; 4]), &["0 Hz"]);
    // Announcing 4.29 GHz: rubato planned an FFT as long as the rate and took minutes (the `wav`
    // fuzz target's timeout).
    case(
        "4-GHz.wav",
        wav(1, 1, u32::MAX, 8, 64, &[0; 64]),
        &["4294967295 Hz", "supported"],
    );
    case("1-Hz.wav", wav(1, 1, 1, 16, 4, &[0; 4]), &["1 Hz"]);
    case("12-bit.wav", wav(1, 1, 16_000, 12, 4, &[0; 4]), &["bits"]);
    case(
        "64-bit-float.wav",
        wav(3, 1, 16_000, 64, 8, &[0; 8]),
        &["64"],
    );
    case("alaw.wav", wav(6, 1, 8_000, 8, 4, &[0; 4]), &["format"]);
    corpus.finish(16);
}

#[test]
fn odd_audio_transcribes_or_fails_clearly() {
    let model = load_whisper().unwrap();
    let opts = DecodeOptions {
        language: Some("en".into()),
        no_speech_threshold: 1.0,
        max_tokens: 4,
        ..DecodeOptions::default()
    };
    let good = || {
        let pcm = audio::read_wav_file(std::path::Path::new(HELLO), 60.0)
            .map_err(|e| e.to_string())?
            .samples;
        model
            .transcribe(&pcm, &opts)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let mut corpus = Corpus::default();
    let inputs = [
        ("one-sample.wav", float_wav(&[0.25])),
        ("nan.wav", float_wav(&[f32::NAN; 1600])),
        (
            "inf.wav",
            float_wav(&[f32::INFINITY, f32::NEG_INFINITY].repeat(800)),
        ),
        (
            "some-nan.wav",
            float_wav(
                &(0..16_000)
                    .map(|i| if i % 97 == 0 { f32::NAN } else { 0.1 })
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    for (name, bytes) in inputs {
        corpus.no_panic(
            name,
            name,
            || -> Result<(), String> {
                let audio = audio::decode_wav_16k(&bytes, name, DEFAULT_MAX_SECONDS)
                    .map_err(|e| e.to_string())?;
                let t = model
                    .transcribe(&audio.samples, &opts)
                    .map_err(|e| format!("{name}: {e}"))?;
                eprintln!("{name}: {:?} p(no speech) {}", t.text, t.no_speech_prob);
                assert!(
                    t.no_speech_prob.is_finite(),
                    "{name}: p(no speech) is not finite"
                );
                Ok(())
            },
            good,
        );
    }
    corpus.finish(4);
}

/// NaN, infinite and huge samples in a WAV that is not at 16 kHz: clipped (NaN as zero).
/// rubato's FFT resampler panicked on them ("Imaginary part of first value was non-zero"); found by the `wav`
/// fuzz target (the 16 kHz cases above never resample).
#[test]
fn non_finite_and_huge_samples_resample_clipped() {
    let mut samples = vec![0.25f32; 4410];
    samples[7] = f32::NAN;
    samples[100] = f32::INFINITY;
    samples[2000] = f32::NEG_INFINITY;
    samples[3000] = f32::MAX;
    let mut bytes = float_wav(&samples);
    // float_wav writes 16 kHz; this one says 44.1 kHz (sample rate, then byte rate).
    bytes[24..28].copy_from_slice(&44_100u32.to_le_bytes());
    bytes[28..32].copy_from_slice(&(44_100u32 * 4).to_le_bytes());
    let audio = audio::decode_wav_16k(&bytes, "nan-44k.wav", DEFAULT_MAX_SECONDS).unwrap();
    assert_eq!(audio.sample_rate, 16_000);
    assert_eq!(audio.samples.len(), 1600);
    assert!(audio.samples.iter().all(|s| s.is_finite()));
    assert!(
        audio.samples.iter().all(|s| s.abs() < 2.0),
        "clipped before resampling"
    );
}
