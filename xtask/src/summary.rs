//! Counts what the test runners report and prints one closing line, `N passed, N failed`,
//! so the whole run reads as one result whichever runner ran last.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{describe, Result};

/// Passed and failed test counts summed over runners.
#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs a test command, streaming its output while counting `cargo test`'s
    /// `test result:` lines and node's `# pass`/`# fail` lines.
    pub fn run_counted(&mut self, label: &str, command: &mut Command) -> Result {
        eprintln!("+ {}", describe(command));
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {label}: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (mut passed, mut failed) = (0, 0);
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count_before(rest, " passed");
                failed += count_before(rest, " failed");
            } else if let Some(n) = line.strip_prefix("# pass ") {
                passed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) = line.strip_prefix("# fail ") {
                failed += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        self.passed += passed;
        self.failed += failed;
        eprintln!("{label}: {passed} passed, {failed} failed");
        if status.success() {
            Ok(())
        } else {
            self.finish_line();
            Err(format!("{label} failed ({status})"))
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
