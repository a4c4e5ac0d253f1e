//! The harness outside nextest: `torch-harness python --list`, `torch-harness python
//! nn::test_pooling --exact`. The same code the test targets in tests/ run.

use std::process::ExitCode;
use torch_harness::run::{self, Kind};

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let kind = match args.next().as_deref().and_then(|k| k.to_str()) {
        Some("python") => Kind::Python,
        Some("distributed") => Kind::Distributed,
        Some("cpp") => Kind::Cpp,
        other => {
            eprintln!(
                "usage: torch-harness python|distributed|cpp [libtest arguments]\n(got {:?})",
                other.unwrap_or("nothing")
            );
            return ExitCode::from(2);
        }
    };
    let args = libtest_mimic::Arguments::from_iter(std::iter::once(argv0).chain(args));
    run::main_with(kind, args)
}
