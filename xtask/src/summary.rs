//! Counts what the test runners report and prints one closing line, `N passed, N failed`,
//! so the whole run reads as one result whichever runner ran last.
//!
//! A skipped test never counts as passed: node's `# skipped` and `# todo` tests, and every Rust
//! test whose output has a line starting with `SKIPPED` (`cargo test` runs with `--show-output`
//! so that the output of passing tests reaches this count), count as failed, by name.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{describe, Result};

/// Passed and failed test counts summed over runners.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    /// Tests that skipped, which count as failed.
    skipped: Vec<String>,
    /// Prints nothing: not the command (whose arguments are the fake output in this module's
    /// tests), not its output, not the counts. Those tests feed it fake test output that, shown
    /// under the outer `cargo test --show-output`, the outer run would count as its own skips.
    quiet: bool,
}

impl Tally {
    /// Runs a test command, streaming its output while counting `cargo test`'s
    /// `test result:` lines and node's `# pass`/`# fail` lines.
    pub fn run_counted(&mut self, label: &str, command: &mut Command) -> Result {
        if !self.quiet {
            eprintln!("+ {}", describe(command));
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {label}: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (mut passed, mut failed) = (0, 0);
        let mut skipped = Vec::new();
        // The passing test whose captured output `--show-output` is printing.
        let mut showing: Option<String> = None;
        let mut in_successes = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            if !self.quiet {
                println!("{line}");
            }
            if line == "successes:" || line == "failures:" {
                in_successes = line == "successes:";
                showing = None;
            } else if let Some(rest) = line.strip_prefix("test result: ") {
                in_successes = false;
                passed += count_before(rest, " passed");
                failed += count_before(rest, " failed");
            } else if let Some(n) = line.strip_prefix("# pass ") {
                passed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) = line.strip_prefix("# fail ") {
                failed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) =
                (line.strip_prefix("# skipped ")).or(line.strip_prefix("# todo "))
            {
                let n = n.trim().parse::<u64>().unwrap_or(0);
                skipped.extend((0..n).map(|_| format!("{label}: a node test marked skip or todo")));
            } else if let Some(name) = line
                .strip_prefix("---- ")
                .and_then(|l| l.strip_suffix(" stdout ----"))
            {
                showing = Some(name.to_string());
            } else if in_successes && line.trim_start().starts_with("SKIPPED") {
                let name = showing.clone().unwrap_or_else(|| label.to_string());
                if !skipped.contains(&name) {
                    skipped.push(name);
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        // A Rust test that skipped was reported as passed.
        let rust_skips = skipped
            .iter()
            .filter(|name| !name.ends_with("skip or todo"))
            .count() as u64;
        passed = passed.saturating_sub(rust_skips);
        failed += skipped.len() as u64;
        self.passed += passed;
        self.failed += failed;
        if !self.quiet {
            eprintln!("{label}: {passed} passed, {failed} failed");
            for name in &skipped {
                eprintln!("{label}: SKIPPED, counted as failed: {name}");
            }
        }
        self.skipped.extend(skipped);
        if status.success() && self.skipped.is_empty() {
            Ok(())
        } else if status.success() {
            self.finish_line();
            Err(format!(
                "{label}: {} test(s) skipped, which counts as failing (install what they need: \
                 `cargo xtask setup`)",
                self.skipped.len()
            ))
        } else {
            self.finish_line();
            Err(format!("{label} failed ({status})"))
        }
    }

    /// Counts a step that is one test (a fuzz target's run): passed, or failed with its error,
    /// which stops the run as a failed runner does.
    pub fn record(&mut self, label: &str, result: Result) -> Result {
        match result {
            Ok(()) => {
                self.passed += 1;
                Ok(())
            }
            Err(message) => {
                self.failed += 1;
                self.finish_line();
                Err(format!("{label}: {message}"))
            }
        }
    }

    /// Prints the closing line; fails if any test failed.
    pub fn finish(&self) -> Result {
        self.finish_line();
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!("{} tests failed", self.failed))
        }
    }

    fn finish_line(&self) {
        if self.quiet {
            return;
        }
        println!("{} passed, {} failed", self.passed, self.failed);
    }
}

/// In `ok. 12 passed; 0 failed; ...`, the number before `marker`.
fn count_before(text: &str, marker: &str) -> u64 {
    let Some(end) = text.find(marker) else {
        return 0;
    };
    let digits: String = text[..end]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// The gzip -9 size of a file, as a browser would download it compressed.
pub fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally_of(output: &str) -> (Tally, Result) {
        let mut tally = Tally {
            quiet: true,
            ..Tally::default()
        };
        let result = tally.run_counted(
            "fake",
            Command::new("printf")
                .arg("%s")
                .arg(output)
                .stderr(Stdio::null()),
        );
        (tally, result)
    }

    #[test]
    fn a_rust_test_that_skipped_counts_as_failed() {
        let output = "running 2 tests\ntest a ... ok\ntest b ... ok\n\nsuccesses:\n\n\
                      ---- b stdout ----\nSKIPPED b: needs pocketsphinx\n\n\
                      test result: ok. 2 passed; 0 failed; 0 ignored\n";
        let (tally, result) = tally_of(output);
        assert!(result.is_err());
        assert_eq!((tally.passed, tally.failed), (1, 1));
        assert_eq!(tally.skipped, ["b"]);
    }

    /// Run under `cargo test --show-output` by `cargo xtask test` itself: were anything of the fake
    /// output printed, the outer count would take it for skips of its own.
    #[test]
    fn node_skips_count_as_failed_and_clean_runs_pass() {
        let (tally, result) = tally_of("# pass 3\n# fail 0\n# skipped 1\n# todo 0\n");
        assert!(result.is_err());
        assert_eq!((tally.passed, tally.failed), (3, 1));
        let (tally, result) = tally_of("test result: ok. 4 passed; 0 failed\n");
        assert!(result.is_ok());
        assert_eq!((tally.passed, tally.failed), (4, 0));
    }

    #[test]
    fn a_recorded_step_counts_once_and_its_failure_stops_the_run() {
        let mut tally = Tally {
            quiet: true,
            ..Tally::default()
        };
        assert!(tally.record("fuzz a", Ok(())).is_ok());
        let failed = tally.record("fuzz b", Err("crashed".into()));
        assert_eq!(failed, Err("fuzz b: crashed".to_string()));
        assert_eq!((tally.passed, tally.failed), (1, 1));
        assert!(tally.finish().is_err());
    }
}
