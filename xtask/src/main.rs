//! `cargo xtask`: the commands people type. One subcommand per job; each is plain Rust
//! over cargo, nextest and the harness library. `dispatch` lists the commands; their
//! modules are grouped by who types them: `suite` (a PyTorch developer or CI job),
//! `lanes` (this project's own developers) and `plumbing` (what both use).

mod dispatch;
mod lanes;
mod plumbing;
mod suite;

use std::process::ExitCode;

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    resolve_path_variables();
    let result = dispatch::run();
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

/// `cargo xtask plan | head`: once the reader is gone, the next write ends xtask by
/// SIGPIPE, silently, as it ends `cat` or `find`. Rust ignores SIGPIPE by default, so a
/// write would instead fail with EPIPE and `println!` would panic. The default
/// disposition covers every write (ours, clap's, a library's, stderr too) where a
/// BrokenPipe-aware writer would cover only the writes routed through it; children are
/// unaffected (std resets SIGPIPE in them either way) and xtask writes to no pipe whose
/// reader may go away early except its own output.
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: at the start of main, before any thread exists; SIG_DFL installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// A relative `PYTORCH_ROOT` (or another path variable) means a path from where
/// `cargo xtask` was started, which is xtask's folder: resolved here, once, and set
/// absolute, so xtask's own reading (selection, plans, lists) and the harness under
/// nextest (started in the workspace) see the same path.
fn resolve_path_variables() {
    let Ok(here) = std::env::current_dir() else {
        return;
    };
    for name in torch_harness::settings::PATH_VARS {
        let Some(value) = std::env::var_os(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let resolved = torch_harness::settings::resolve_from(name, &value, &here);
        if resolved != value {
            // SAFETY: at the start of main, before any thread exists.
            unsafe { std::env::set_var(name, resolved) };
        }
    }
}
