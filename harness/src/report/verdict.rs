//! What a finished process means for its case.

use serde::{Deserialize, Serialize};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// pytest's "no tests collected" (and unittest's "no tests ran" on Python 3.12+):
/// PyTorch's runner counts it as a pass.
pub const NO_TESTS_COLLECTED: i32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    /// Passed, after some tests failed and then passed when rerun.
    Flaky {
        tests: Vec<String>,
    },
    /// Exit code 5: nothing to run in this file or piece; a pass.
    NoTestsCollected,
    Failed {
        exit_code: i32,
    },
    Crashed {
        signal: String,
        number: i32,
    },
    /// The harness ended it at its time limit.
    TimedOut {
        after_seconds: f64,
        expected_seconds: Option<f64>,
    },
    /// The harness was told to stop (nextest's timeout, Ctrl-C) and ended it.
    Interrupted {
        signal: String,
    },
}

impl Verdict {
    pub fn from_status(status: ExitStatus) -> Verdict {
        match (status.code(), status.signal()) {
            (Some(0), _) => Verdict::Passed,
            (Some(NO_TESTS_COLLECTED), _) => Verdict::NoTestsCollected,
            (Some(code), _) => Verdict::Failed { exit_code: code },
            (None, Some(number)) => Verdict::Crashed {
                signal: signal_name(number),
                number,
            },
            // Neither code nor signal: the platform reported nothing we can read.
            (None, None) => Verdict::Failed { exit_code: -1 },
        }
    }

    pub fn is_pass(&self) -> bool {
        matches!(
            self,
            Verdict::Passed | Verdict::NoTestsCollected | Verdict::Flaky { .. }
        )
    }

    /// "exited with code 1", "crashed with SIGSEGV (signal 11)".
    pub fn describe(&self) -> String {
        match self {
            Verdict::Passed => "passed".into(),
            Verdict::Flaky { tests } => format!("passed; flaky: {}", tests.join(", ")),
            Verdict::NoTestsCollected => "passed (no tests collected, exit code 5)".into(),
            Verdict::Failed { exit_code } => format!("exited with code {exit_code}"),
            Verdict::Crashed { signal, number } => {
                format!("crashed with {signal} (signal {number})")
            }
            Verdict::TimedOut {
                after_seconds,
                expected_seconds,
            } => match expected_seconds {
                Some(e) => format!("timed out after {after_seconds:.0} s (expected {e:.0} s)"),
                None => format!("timed out after {after_seconds:.0} s (no expected time)"),
            },
            Verdict::Interrupted { signal } => format!("interrupted by {signal}"),
        }
    }
}

/// `SIGSEGV` for 11; `signal 77` for numbers the platform does not name.
pub fn signal_name(number: i32) -> String {
    nix::sys::signal::Signal::try_from(number)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_verdicts() {
        // Raw wait statuses: exit code in the high byte, signal in the low bits.
        assert_eq!(
            Verdict::from_status(ExitStatus::from_raw(0)),
            Verdict::Passed
        );
        let five = Verdict::from_status(ExitStatus::from_raw(5 << 8));
        assert_eq!(five, Verdict::NoTestsCollected);
        assert!(five.is_pass());
        let one = Verdict::from_status(ExitStatus::from_raw(1 << 8));
        assert_eq!(one, Verdict::Failed { exit_code: 1 });
        assert!(!one.is_pass());
        let segv = Verdict::from_status(ExitStatus::from_raw(11));
        assert_eq!(segv.describe(), "crashed with SIGSEGV (signal 11)");
        assert!(!segv.is_pass());
    }

    #[test]
    fn unnamed_signals_still_get_a_name() {
        assert_eq!(signal_name(6), "SIGABRT");
        assert_eq!(signal_name(200), "signal 200");
    }
}
