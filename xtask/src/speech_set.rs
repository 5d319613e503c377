//! `cargo xtask speech-set`: renders the real-speech test set (`tests/speech/utterances.tsv`) with
//! Debian's synthesizers (espeak-ng, flite, festival) and sox into `target/speech-set/`, with a
//! `manifest.tsv` of each file's sha256.
//!
//! Every step is deterministic: the synthesizers are, and sox runs with `-D` (no dither) and `-R`
//! (its fixed random seed, so its noise is the same on every run). A second run with the same
//! utterance list and the same tool versions rewrites nothing. The committed copy of the manifest
//! (`tests/fixtures/speech/manifest.tsv`) is what the reference transcripts were made from; the
//! tests compare the files against it, so a new synthesizer or sox release shows up as drifted audio.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{root, Result};

/// Bump when the rendering below changes, so that an existing set is regenerated.
const GENERATOR_VERSION: u32 = 1;
/// The Debian packages whose versions decide the audio (recorded in the manifest).
pub const PACKAGES: &[&str] = &[
    "espeak-ng",
    "espeak-ng-data",
    "flite",
    "festival",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "festvox-us-slt-hts",
    "sox",
    "libsox3",
];
/// espeak-ng's default pace in words per minute; `speed` scales it.
const ESPEAK_WPM: f64 = 175.0;
/// Silence before and after each utterance, seconds (a microphone turn starts and ends quiet).
const PAD: (&str, &str) = ("0.25", "0.35");

/// One row of `tests/speech/utterances.tsv`.
struct Row {
    id: String,
    synth: String,
    voice: String,
    speed: f64,
    effect: String,
    rate: u32,
    channels: u32,
    format: String,
    text: String,
}

/// Renders the set if it is missing or stale; returns the output folder.
pub fn speech_set() -> Result<PathBuf> {
    let root = root();
    let list_path = root.join("tests/speech/utterances.tsv");
    let list = std::fs::read_to_string(&list_path)
        .map_err(|e| format!("read {}: {e}", list_path.display()))?;
    let rows = parse(&list, &list_path)?;
    let out = root.join("target/speech-set");
    let tools = tool_versions()?;
    let spec = format!(
        "generator {GENERATOR_VERSION}, list {:016x}",
        fnv1a(list.as_bytes())
    );
    if up_to_date(&out, &spec, &tools)? {
        eprintln!(
            "speech set: {} files in {} are up to date",
            rows.len(),
            out.display()
        );
        return Ok(out);
    }
    let work = out.join(".work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let mut manifest = format!(
        "# The real-speech test set rendered by `cargo xtask speech-set` from tests/speech/utterances.tsv.\n\
         # spec\t{spec}\n# tools\t{tools}\n# id\tsha256\ttext\n"
    );
    for row in &rows {
        let file = out.join(format!("{}.wav", row.id));
        render(row, &work, &file).map_err(|e| format!("{}: {e}", row.id))?;
        manifest.push_str(&format!("{}\t{}\t{}\n", row.id, sha256(&file)?, row.text));
    }
    std::fs::remove_dir_all(&work).map_err(|e| format!("remove {}: {e}", work.display()))?;
    let path = out.join("manifest.tsv");
    std::fs::write(&path, manifest).map_err(|e| format!("write {}: {e}", path.display()))?;
    eprintln!(
        "speech set: rendered {} files into {}",
        rows.len(),
        out.display()
    );
    Ok(out)
}

fn parse(list: &str, path: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (n, line) in list.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| format!("{}:{}: {what}", path.display(), n + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 9 {
            return Err(bad(&format!(
                "expected 9 tab-separated columns, found {}",
                cols.len()
            )));
        }
        let number = |i: usize| {
            cols[i]
                .parse::<f64>()
                .map_err(|_| bad(&format!("column {} is not a number: {:?}", i + 1, cols[i])))
        };
        rows.push(Row {
            id: cols[0].to_string(),
            synth: cols[1].to_string(),
            voice: cols[2].to_string(),
            speed: number(3)?,
            effect: cols[4].to_string(),
            rate: number(5)? as u32,
            channels: number(6)? as u32,
            format: cols[7].to_string(),
            text: cols[8].to_string(),
        });
    }
    Ok(rows)
}

/// True when `out/manifest.tsv` was made from the same list and tools and every file still hashes
/// to what it says.
fn up_to_date(out: &Path, spec: &str, tools: &str) -> Result<bool> {
    let Ok(manifest) = std::fs::read_to_string(out.join("manifest.tsv")) else {
        return Ok(false);
    };
    if !manifest.contains(&format!("# spec\t{spec}\n"))
        || !manifest.contains(&format!("# tools\t{tools}\n"))
    {
        return Ok(false);
    }
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (Some(id), Some(hash)) = (cols.next(), cols.next()) else {
            return Ok(false);
        };
        let file = out.join(format!("{id}.wav"));
        if !file.is_file() || sha256(&file)? != hash {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `package=version` of each audio tool, from dpkg.
pub fn tool_versions() -> Result<String> {
    let out = capture(
        Command::new("dpkg-query")
            .arg("-W")
            .arg("-f=${Package}=${Version} ")
            .args(PACKAGES),
    )
    .map_err(|e| {
        format!(
            "{e}: the speech set needs the Debian packages {} (`cargo xtask setup` installs them)",
            PACKAGES.join(" ")
        )
    })?;
    Ok(out.trim().to_string())
}

/// One file: synthesize (or make the no-speech sound), level and pad, apply the effect, then
/// convert to the row's rate, channels and sample format.
fn render(row: &Row, work: &Path, file: &Path) -> Result {
    let raw = work.join(format!("{}.raw.wav", row.id));
    let leveled = work.join(format!("{}.level.wav", row.id));
    let affected = work.join(format!("{}.effect.wav", row.id));
    synthesize(row, work, &raw)?;
    // Float intermediates at the synthesizer's own rate: mono, peak at -6 dBFS, padded.
    sox(|c| {
        c.arg(&raw)
            .args(FLOAT)
            .arg(&leveled)
            .args(["remix", "-", "gain", "-n", "-6", "pad", PAD.0, PAD.1]);
    })?;
    apply_effect(row, work, &leveled, &affected)?;
    let (bits, encoding) = match row.format.as_str() {
        "s16" => ("16", "signed-integer"),
        "s24" => ("24", "signed-integer"),
        "s32" => ("32", "signed-integer"),
        "f32" => ("32", "floating-point"),
        other => return Err(format!("unknown format {other:?} (s16, s24, s32, f32)")),
    };
    let (rate, channels) = (row.rate.to_string(), row.channels.to_string());
    sox(|c| {
        c.arg(&affected)
            .args(["-r", &rate, "-c", &channels, "-b", bits, "-e", encoding])
            .arg(file);
    })
}

/// 32-bit float WAV: the intermediates keep every sample exactly.
const FLOAT: [&str; 4] = ["-b", "32", "-e", "floating-point"];

fn synthesize(row: &Row, work: &Path, raw: &Path) -> Result {
    let stretch = format!("{:.4}", 1.0 / row.speed);
    match row.synth.as_str() {
        "espeak-ng" => run_quiet(
            Command::new("espeak-ng")
                .args(["-v", &row.voice, "-s"])
                .arg(format!("{:.0}", ESPEAK_WPM * row.speed))
                .arg("-w")
                .arg(raw)
                .arg(&row.text),
        ),
        "flite" => run_quiet(
            Command::new("flite")
                .args(["-voice", &row.voice, "--setf"])
                .arg(format!("duration_stretch={stretch}"))
                .args(["-t", &row.text, "-o"])
                .arg(raw),
        ),
        "festival" => {
            let text = work.join(format!("{}.txt", row.id));
            std::fs::write(&text, format!("{}\n", row.text))
                .map_err(|e| format!("write {}: {e}", text.display()))?;
            run_quiet(
                Command::new("text2wave")
                    .arg("-eval")
                    .arg(format!("(voice_{})", row.voice))
                    .arg("-eval")
                    .arg(format!("(Parameter.set 'Duration_Stretch {stretch})"))
                    .arg(&text)
                    .arg("-o")
                    .arg(raw),
            )
        }
        "sox" => no_speech(&row.voice, work, raw),
        other => Err(format!(
            "unknown synthesizer {other:?} (espeak-ng, flite, festival, sox)"
        )),
    }
}

/// The sounds that must produce no text, at 16 kHz (the row's format conversion follows).
fn no_speech(kind: &str, work: &Path, raw: &Path) -> Result {
    let null = |c: &mut Command, seconds: &str| {
        c.args(["-n", "-r", "16000", "-c", "1"])
            .args(FLOAT)
            .arg(raw)
            .args(["synth", seconds]);
    };
    match kind {
        // A quiet room: rumble and air, no voices.
        "room-noise" => sox(|c| {
            null(c, "4");
            c.args([
                "brownnoise",
                "highpass",
                "40",
                "lowpass",
                "3000",
                "gain",
                "-n",
                "-30",
            ]);
        }),
        // Music-like: a plucked guitar chord (sox's manual example), twice.
        "chord" => sox(|c| {
            null(c, "2");
            c.args([
                "pl", "G2", "pl", "B2", "pl", "D3", "pl", "G3", "pl", "D4", "pl", "G4", "delay",
                "0", ".05", ".1", ".15", ".2", ".25", "remix", "-", "fade", "0", "2", ".1",
                "repeat", "1", "gain", "-n", "-8",
            ]);
        }),
        // Mains hum with two harmonics.
        "hum" => sox(|c| {
            // Three synth channels (one per tone) mixed down to one.
            c.args(["-c", "3", "-r", "16000", "-n", "-c", "1"])
                .args(FLOAT)
                .arg(raw)
                .args([
                    "synth", "4", "sine", "60", "sine", "120", "sine", "180", "remix", "-", "gain",
                    "-n", "-20",
                ]);
        }),
        // Digital near-silence: white noise at -60 dBFS peak.
        "near-silence" => sox(|c| {
            null(c, "3");
            c.args(["whitenoise", "gain", "-n", "-60"]);
        }),
        // Keyboard-like clicks: short high-passed noise bursts at uneven gaps.
        "clicks" => {
            const GAPS: [&str; 14] = [
                "0.18", "0.31", "0.12", "0.22", "0.40", "0.15", "0.27", "0.09", "0.35", "0.20",
                "0.13", "0.29", "0.24", "0.50",
            ];
            let mut parts = Vec::new();
            for (i, gap) in GAPS.iter().enumerate() {
                let part = work.join(format!("click{i}.wav"));
                let level = format!("-{}", 12 + (i * 5) % 9);
                sox(|c| {
                    c.args(["-n", "-r", "16000", "-c", "1"])
                        .args(FLOAT)
                        .arg(&part)
                        .args([
                            "synth",
                            "0.015",
                            "whitenoise",
                            "highpass",
                            "800",
                            "fade",
                            "q",
                            "0.001",
                            "0.015",
                            "0.012",
                            "gain",
                            "-n",
                            &level,
                            "pad",
                            "0",
                            gap,
                        ]);
                })?;
                parts.push(part);
            }
            sox(|c| {
                c.args(&parts).arg(raw).args(["pad", "0.3", "0"]);
            })
        }
        other => Err(format!(
            "unknown no-speech kind {other:?} (room-noise, chord, hum, near-silence, clicks)"
        )),
    }
}

fn apply_effect(row: &Row, work: &Path, input: &Path, output: &Path) -> Result {
    let effect = row.effect.as_str();
    if effect == "clean" {
        return sox(|c| {
            c.arg(input).args(FLOAT).arg(output);
        });
    }
    if effect == "telephone" {
        // Through an 8 kHz channel with the telephone band; the final conversion brings it back up.
        return sox(|c| {
            c.arg(input)
                .args(FLOAT)
                .arg(output)
                .args(["rate", "8000", "sinc", "300-3400", "gain", "-n", "-6"]);
        });
    }
    if let Some(reverberance) = effect.strip_prefix("reverb-") {
        return sox(|c| {
            c.arg(input).args(FLOAT).arg(output).args([
                "reverb",
                reverberance,
                "50",
                "100",
                "gain",
                "-n",
                "-6",
            ]);
        });
    }
    if let Some(rest) = effect.strip_prefix("noise-") {
        let (color, snr) = rest
            .split_once('-')
            .ok_or_else(|| format!("effect {effect:?}: expected noise-COLOR-SNR"))?;
        let snr: f64 = snr
            .parse()
            .map_err(|_| format!("effect {effect:?}: SNR {snr:?} is not a number"))?;
        if !["white", "pink", "brown"].contains(&color) {
            return Err(format!(
                "effect {effect:?}: noise color is white, pink or brown"
            ));
        }
        // Noise as long as the speech, scaled so that RMS(speech) / RMS(noise) is the SNR (both
        // over the whole file, the padding included).
        let samples = capture(Command::new("soxi").arg("-s").arg(input))?;
        let rate = capture(Command::new("soxi").arg("-r").arg(input))?;
        let noise = work.join(format!("{}.noise.wav", row.id));
        sox(|c| {
            c.args(["-n", "-r", rate.trim(), "-c", "1"])
                .args(FLOAT)
                .arg(&noise)
                .args([
                    "synth",
                    &format!("{}s", samples.trim()),
                    &format!("{color}noise"),
                ]);
        })?;
        let gain = rms(input)? / rms(&noise)? / 10f64.powf(snr / 20.0);
        return sox(|c| {
            c.args(["-m", "-v", "1"])
                .arg(input)
                .args(["-v", &format!("{gain:.6}")])
                .arg(&noise)
                .args(FLOAT)
                .arg(output)
                .args(["gain", "-n", "-6"]);
        });
    }
    Err(format!(
        "unknown effect {effect:?} (clean, telephone, reverb-N, noise-COLOR-SNR)"
    ))
}

/// RMS amplitude of a file, from `sox FILE -n stat`.
fn rms(file: &Path) -> Result<f64> {
    let out = Command::new("sox")
        .arg(file)
        .args(["-n", "stat"])
        .output()
        .map_err(|e| format!("cannot start sox: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.strip_prefix("RMS     amplitude:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .ok_or_else(|| {
            format!(
                "sox stat of {} gave no RMS amplitude:\n{text}",
                file.display()
            )
        })
}

/// `sox -D -R <args>`: no dither, sox's repeatable random seed.
fn sox(args: impl FnOnce(&mut Command)) -> Result {
    let mut command = Command::new("sox");
    command.args(["-D", "-R"]);
    args(&mut command);
    run_quiet(&mut command)
}

/// Runs a command; on failure the error carries its stderr.
fn run_quiet(command: &mut Command) -> Result {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} exited with {}: {}",
            crate::describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn capture(command: &mut Command) -> Result<String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            crate::describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// sha256 of a file, by coreutils' `sha256sum` (xtask stays std-only).
fn sha256(file: &Path) -> Result<String> {
    let out = capture(Command::new("sha256sum").arg("-b").arg(file))?;
    out.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum printed nothing for {}", file.display()))
}

/// FNV-1a of the utterance list: a stamp, not a security hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
