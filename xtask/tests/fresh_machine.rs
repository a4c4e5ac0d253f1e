//! The commands of README and docs/ on a machine that lacks what they need: cargo-nextest
//! missing or too old, GoogleTest missing, a target directory configured elsewhere, a
//! reader that closes the pipe early.

mod common;

use common::{check, clean};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The folder of the toolchain's cargo and rustc; it holds no cargo-nextest.
fn toolchain_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    assert!(!bin.join("cargo-nextest").exists(), "{}", bin.display());
    bin
}

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A `cargo-nextest` that reports `version` and otherwise records its arguments (and the
/// target directory it was given) in `$FAKE_NEXTEST_LOG`.
fn fake_nextest(path: &Path, version: &str) {
    script(
        path,
        &format!(
            "if [ \"$1 $2\" = \"nextest --version\" ]; then echo 'cargo-nextest {version} (fake)'; exit 0; fi\n\
             echo \"CARGO_TARGET_DIR=$CARGO_TARGET_DIR $*\" >> \"$FAKE_NEXTEST_LOG\"\n"
        ),
    );
}

/// xtask on a machine whose PATH is `path` and whose cargo home is `home`, offline.
fn xtask(args: &[&str], path: &[&Path], home: &Path) -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(args)
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("CARGO", env!("CARGO"))
        .env("CARGO_HOME", home)
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("PYTORCH_ROOT");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_or_old_cargo_nextest_is_installed_or_named_exactly() {
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("suite.tar.zst");
    let archive = archive.to_str().unwrap();
    let commands: [&[&str]; 3] = [&["test"], &["check"], &["archive", archive]];
    for old in [None, Some("0.9.100")] {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let log = scratch.path().join("nextest.log");
        if let Some(version) = old {
            fake_nextest(&bin.path().join("cargo-nextest"), version);
        }
        for args in commands {
            let out = xtask(
                args,
                &[
                    bin.path(),
                    &toolchain_bin(),
                    Path::new("/usr/bin"),
                    Path::new("/bin"),
                ],
                home.path(),
            )
            .env("FAKE_NEXTEST_LOG", &log)
            .output()
            .unwrap();
            let err = stderr(&out);
            assert!(!out.status.success(), "{args:?}: {err}");
            let found = match old {
                Some(v) => format!("cargo-nextest {v} is installed"),
                None => "cargo-nextest is not installed (error: no such command: `nextest`)".into(),
            };
            assert!(
                err.contains(&format!(
                    "{found}; this workspace needs 0.9.138 or newer (.config/nextest.toml): installing it"
                )),
                "{args:?}: {err}"
            );
            // cargo install really ran (offline, with an empty cargo home, it cannot).
            assert!(
                err.contains("installing cargo-nextest 0.9.138 failed"),
                "{err}"
            );
            assert!(err.contains("could not find `cargo-nextest`"), "{err}");
            assert!(
                err.contains("    cargo install --locked cargo-nextest --version 0.9.138\n"),
                "{err}"
            );
            // Nothing ran, so no result path is printed.
            assert!(
                !err.contains("JUnit:") && !err.contains("logs and reports:"),
                "{err}"
            );
            assert!(!err.contains("panicked"), "{err}");
            assert!(!log.exists(), "the old nextest must not run");
        }
    }
}

#[test]
fn the_installed_cargo_nextest_then_runs_the_suite() {
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("cargo-home");
    let calls = scratch.path().join("cargo-install.log");
    let nextest_log = scratch.path().join("nextest.log");
    // A cargo whose `install` puts a 0.9.138 cargo-nextest into $CARGO_HOME/bin, where
    // the real cargo looks for subcommands; everything else goes to the real cargo.
    let new_nextest = home.join("bin/cargo-nextest");
    fake_nextest(&scratch.path().join("template"), "0.9.138");
    let cargo = scratch.path().join("cargo");
    script(
        &cargo,
        &format!(
            "if [ \"$1\" = install ]; then\n\
               echo \"$*\" >> '{calls}'\n\
               echo '   Compiling cargo-nextest v0.9.138' >&2\n\
               mkdir -p '{bin}' && cp '{template}' '{new}'\n\
               exit 0\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            calls = calls.display(),
            bin = home.join("bin").display(),
            template = scratch.path().join("template").display(),
            new = new_nextest.display(),
            real = env!("CARGO"),
        ),
    );
    let target = scratch.path().join("target");
    // A checkout of its own, so the demo's set-up does not run.
    let checkout = scratch.path().join("checkout");
    std::fs::create_dir_all(checkout.join("test")).unwrap();
    std::fs::write(checkout.join("test/test_nn.py"), "").unwrap();
    let out = xtask(
        &[
            "test",
            "--",
            "--target-dir",
            target.to_str().unwrap(),
            "-E",
            "test(=test_nn)",
        ],
        &[&toolchain_bin(), Path::new("/usr/bin"), Path::new("/bin")],
        &home,
    )
    .env("CARGO", &cargo)
    .env("PYTORCH_ROOT", &checkout)
    .env("FAKE_NEXTEST_LOG", &nextest_log)
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("cargo-nextest is not installed"), "{err}");
    assert!(err.contains("done: cargo-nextest 0.9.138"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "install --locked cargo-nextest --version 0.9.138\n"
    );
    // The new nextest ran the suite, building into the --target-dir it was passed, and
    // the harness was told the same folder.
    let ran = std::fs::read_to_string(&nextest_log).unwrap();
    // The user's filterset joins the selection's as one -E (here there is no other).
    let expected = format!(
        "CARGO_TARGET_DIR={t} nextest run --profile ci --package torch-suite -E test(=test_nn) ",
        t = target.display()
    );
    assert!(ran.starts_with(&expected), "{ran}");
    let tool_config = format!(
        " --tool-config-file xtask:{}/torch-harness/tool-configs/",
        target.display()
    );
    assert!(ran.contains(&tool_config), "{ran}");
    assert!(
        ran.ends_with(&format!("--target-dir {}\n", target.display())),
        "{ran}"
    );
    // The fake wrote no JUnit: xtask does not point at one.
    assert!(!err.contains("JUnit:"), "{err}");
}

#[test]
fn a_machine_without_googletest_is_told_the_apt_command() {
    // The demo's venv first, on this machine's own PATH (a venv made by a python3 found
    // through a temporary folder would point into it).
    check(
        &clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
            .arg("setup")
            .output()
            .unwrap(),
    );
    let home = tempfile::tempdir().unwrap();
    // No pkg-config, no g++.
    let tools = tempfile::tempdir().unwrap();
    let toolchain = toolchain_bin();
    let path = [tools.path(), toolchain.as_path()];
    let out = xtask(&["setup"], &path, home.path()).output().unwrap();
    check(&out);
    let apt = "run `sudo apt-get install -y libgtest-dev pkg-config g++` (Debian/Ubuntu), then `cargo xtask setup`";
    assert!(
        stderr(&out).contains(&format!(
            "note: the demo's C++ cases are listed as ignored: pkg-config is not installed; to build the demo's C++ tests {apt}"
        )),
        "{}",
        stderr(&out)
    );
    // pkg-config without GoogleTest's .pc file.
    std::os::unix::fs::symlink("/usr/bin/pkg-config", tools.path().join("pkg-config")).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = xtask(&["setup"], &path, home.path())
        .env("PKG_CONFIG_LIBDIR", empty.path())
        .env_remove("PKG_CONFIG_PATH")
        .output()
        .unwrap();
    check(&out);
    assert!(
        stderr(&out).contains(&format!(
            "GoogleTest was not found (`pkg-config gtest_main`); to build the demo's C++ tests {apt}"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_target_dir_set_in_cargo_config_is_where_xtask_writes() {
    let home = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    // $CARGO_HOME/config.toml applies as the workspace's .cargo/config.toml would.
    std::fs::write(
        home.path().join("config.toml"),
        format!("[build]\ntarget-dir = {:?}\n", target.path()),
    )
    .unwrap();
    let path = std::env::var_os("PATH").unwrap();
    let path: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let path: Vec<&Path> = path.iter().map(PathBuf::as_path).collect();
    // Under `cargo xtask check` the outer run passes its own CARGO_TARGET_DIR, which
    // cargo ranks above any config file.
    let out = xtask(&["test", "--dry-run"], &path, home.path())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap();
    check(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("would run: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let t = target.path().display();
    assert!(line.contains(&format!("CARGO_TARGET_DIR={t} ")), "{line}");
    let prefix = format!("xtask:{t}/torch-harness/tool-configs/");
    let config = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        target
            .path()
            .join("torch-harness/tool-configs")
            .join(config)
            .is_file()
    );
}

/// xtask with its stdout a pipe whose reader is already gone.
fn into_a_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(args)
        .env_remove("PYTORCH_ROOT")
        .stdout(writer)
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Our copy of the write end went into the child's stdout and was closed with cmd.
    drop(cmd);
    child.wait_with_output().unwrap()
}

#[test]
fn printing_commands_end_quietly_when_the_reader_goes_away() {
    for args in [
        &["plan", "--shards", "3"][..],
        &["test", "--dry-run"],
        &["expected-failures", "check"],
        &["--help"],
    ] {
        let out = into_a_closed_pipe(args);
        let err = stderr(&out);
        // As `cat` ends: by SIGPIPE, with nothing on stderr about it.
        assert_eq!(
            out.status.signal(),
            Some(13),
            "{args:?}: {:?} {err}",
            out.status
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn without_a_way_to_install_system_packages_xtask_stops_before_the_tests_with_the_command() {
    // A machine with cargo and a new enough cargo-nextest but none of the system
    // packages, and no apt-get, sudo or `id` on PATH: neither root nor a sudoer, so the
    // set-up cannot install them.
    let scratch = tempfile::tempdir().unwrap();
    let bin = scratch.path().join("bin");
    let log = scratch.path().join("nextest.log");
    fake_nextest(&bin.join("cargo-nextest"), "0.9.138");
    let toolchain = toolchain_bin();
    let home = tempfile::tempdir().unwrap();
    for (args, packages) in [
        (
            &["check"][..],
            "chromium libgtest-dev pkg-config g++ python3-dev",
        ),
        (&["test"][..], "libgtest-dev pkg-config g++"),
    ] {
        let out = xtask(args, &[&bin, &toolchain], home.path())
            .env_remove("TORCH_HARNESS_SYSTEM_SETUP")
            .env("FAKE_NEXTEST_LOG", &log)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(&format!("missing system packages: {packages};")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!(
                "Run:\n    install {packages} with the system's package manager \
                 (on Debian/Ubuntu: sudo apt-get install -y {packages})\n"
            )),
            "{args:?}: {err}"
        );
        // It stopped before anything ran.
        assert!(!log.exists(), "{args:?}: nextest ran");
        assert!(
            !err.contains("creating the demo's Python environment"),
            "{err}"
        );
    }
}

#[test]
fn as_root_with_apt_get_xtask_installs_the_missing_packages_with_a_log() {
    // `id` says root and a fake apt-get records what it was asked (and installs
    // nothing, so the set-up then says what is still missing): no real apt-get runs.
    let scratch = tempfile::tempdir().unwrap();
    let bin = scratch.path().join("bin");
    let calls = scratch.path().join("apt-get.log");
    script(&bin.join("id"), "echo 0\n");
    script(
        &bin.join("apt-get"),
        &format!(
            "echo \"DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*\" >> '{}'\necho 'Reading package lists...'\n",
            calls.display()
        ),
    );
    std::os::unix::fs::symlink("/usr/bin/env", bin.join("env")).unwrap();
    let nextest_log = scratch.path().join("nextest.log");
    fake_nextest(&bin.join("cargo-nextest"), "0.9.138");
    let target = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = xtask(&["test"], &[&bin, &toolchain_bin()], home.path())
        .env_remove("TORCH_HARNESS_SYSTEM_SETUP")
        .env("CARGO_TARGET_DIR", target.path())
        .env("FAKE_NEXTEST_LOG", &nextest_log)
        .output()
        .unwrap();
    let err = stderr(&out);
    let log = target.path().join("torch-harness/system-packages.log");
    assert!(
        err.contains(&format!(
            "missing system packages: libgtest-dev pkg-config g++: installing libgtest-dev pkg-config g++ (log: {})",
            log.display()
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "DEBIAN_FRONTEND=noninteractive update -q\n\
         DEBIAN_FRONTEND=noninteractive install -y -q libgtest-dev pkg-config g++\n"
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("Reading package lists..."),
        "apt-get's output is in the log"
    );
    // Nothing was installed: said, and nothing ran.
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("apt-get finished, but libgtest-dev pkg-config g++ are still missing"),
        "{err}"
    );
    assert!(!nextest_log.exists(), "nextest ran");
}
