//! run_test.py's set-up handlers on synthetic checkouts: listed as ignored with what
//! is missing, built in the case's folder and onto PYTHONPATH, and a failing build
//! that still leaves its log and a verdict. The real wheel's builds and doctests are
//! the torch lane's (`cargo xtask e2e-torch`).

mod common;

use common::{Checkout, demo_python, harness_with, stderr, stdout};
use std::path::Path;

const OVERLAY: &str = "[discovery]\nhandler_cases = true\n";

/// A `torch` package that only has to be importable, for the tool probe.
fn fake_torch(dir: &Path) -> String {
    let pkg = dir.join("fake-site/torch");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    dir.join("fake-site").display().to_string()
}

fn listed(root: &Path, out: &Path, vars: &[(&str, &str)]) -> Vec<String> {
    let o = harness_with(
        root,
        out,
        &["--list", "--format", "terse", "--ignored"],
        vars,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = stdout(&o)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(String::from)
        .collect();
    names.sort();
    names
}

#[test]
fn handler_cases_without_their_tools_are_listed_as_ignored_with_the_reason() {
    let checkout = Checkout::new(&[
        ("torch-harness.toml", OVERLAY),
        ("test/test_a.py", ""),
        ("test/test_cpp_extensions_aot.py", ""),
        ("test/cpp_extensions/setup.py", ""),
    ]);
    let out = tempfile::tempdir().unwrap();
    let python = demo_python();
    let python = python.to_str().unwrap();
    // The demo's interpreter has no torch: every set-up case says so.
    let vars = [("PYTHON", python), ("PYTHONPATH", "")];
    let ignored = listed(checkout.root(), out.path(), &vars);
    for case in [
        "doctests",
        "test_cpp_extensions_aot_ninja",
        "test_cpp_extensions_aot_no_ninja",
    ] {
        assert!(ignored.contains(&case.to_string()), "{ignored:?}");
    }
    assert!(!ignored.contains(&"test_a".to_string()));
    // test_autoload.py and torch_openreg are missing: ignored for that.
    assert!(ignored.contains(&"test_autoload_enable".to_string()));
    assert!(ignored.contains(&"test_openreg".to_string()));
    let run = |case: &str, vars: &[(&str, &str)]| {
        let o = harness_with(
            checkout.root(),
            out.path(),
            &[case, "--exact", "--ignored", "--nocapture"],
            vars,
        );
        assert!(!o.status.success(), "{case} ran");
        stderr(&o)
    };
    let why = run("doctests", &vars);
    assert!(
        why.contains(&format!(
            "Error: doctests needs torch importable by {python}"
        )),
        "{why}"
    );
    let why = run("test_autoload_enable", &vars);
    assert!(
        why.contains("test_autoload.py is missing from the checkout"),
        "{why}"
    );

    // With torch importable, a missing compiler is the reason, and doctests say
    // what they lack instead.
    let site = fake_torch(out.path());
    let no_cxx = [
        ("PYTHON", python),
        ("PYTHONPATH", site.as_str()),
        ("CXX", "no-such-compiler-e3"),
    ];
    let why = run("test_cpp_extensions_aot_no_ninja", &no_cxx);
    assert!(
        why.contains("needs a C++ compiler: `no-such-compiler-e3` is not on PATH"),
        "{why}"
    );
    let why = run("doctests", &no_cxx);
    assert!(why.contains("needs xdoctest importable by"), "{why}");
}

/// A synthetic checkout whose extension package is pure Python (the harness runs the
/// same pip command; no compiler work), and whose test files check what they see.
fn buildable(setup_py: &str) -> Checkout {
    Checkout::new(&[
        ("torch-harness.toml", OVERLAY),
        ("test/cpp_extensions/setup.py", setup_py),
        ("test/cpp_extensions/e3_ext/__init__.py", "MARK = 'built'\n"),
        // A leftover build folder must not reach the staged copy.
        ("test/cpp_extensions/build/stale.txt", "old"),
        (
            "test/test_autoload.py",
            "import os, sys, e3_ext\n\
             assert os.environ['TORCH_DEVICE_BACKEND_AUTOLOAD'] == '1'\n\
             assert os.sep + 'install' + os.sep in e3_ext.__file__, e3_ext.__file__\n\
             assert any(a.startswith('--save-xml=') for a in sys.argv[1:]), sys.argv\n\
             print('AUTOLOAD SAW', e3_ext.__file__)\n",
        ),
        (
            "test/test_cpp_extensions_aot.py",
            "import os, sys, e3_ext\n\
             assert os.environ['USE_NINJA'] == '0'\n\
             assert sys.argv[0] == 'test_cpp_extensions_aot_no_ninja.py', sys.argv\n\
             print('AOT SAW', e3_ext.MARK)\n",
        ),
    ])
}

const PURE_SETUP: &str =
    "from setuptools import setup\nsetup(name='e3_ext', packages=['e3_ext'])\n";

#[test]
fn a_build_handler_installs_into_its_case_folder_and_runs_the_test_with_it() {
    let checkout = buildable(PURE_SETUP);
    let out = tempfile::tempdir().unwrap();
    let python = demo_python();
    let site = fake_torch(out.path());
    let vars = [
        ("PYTHON", python.to_str().unwrap()),
        ("PYTHONPATH", site.as_str()),
    ];
    for (case, saw) in [
        ("test_autoload_enable", "AUTOLOAD SAW"),
        ("test_cpp_extensions_aot_no_ninja", "AOT SAW built"),
    ] {
        let o = harness_with(
            checkout.root(),
            out.path(),
            &[case, "--exact", "--nocapture"],
            &vars,
        );
        assert!(o.status.success(), "{case}: {}", stderr(&o));
        let attempt = out.path().join(case).join("attempt-1");
        let log = std::fs::read_to_string(attempt.join("output.log")).unwrap();
        assert!(log.contains(saw), "{log}");
        assert!(
            log.contains("-m pip install --no-build-isolation . --root ./install"),
            "{log}"
        );
        // Installed under the case's folder, from a copy without the stale build.
        let staged = attempt.join("cpp_extensions");
        assert!(staged.join("install").is_dir());
        assert!(!staged.join("build/stale.txt").exists());
        if case == "test_autoload_enable" {
            let from = log.lines().find(|l| l.starts_with("AUTOLOAD SAW")).unwrap();
            assert!(from.contains(&staged.display().to_string()), "{from}");
        }
    }
    // The checkout keeps no build outputs and no copy of the AOT test.
    let ext = checkout.root().join("test/cpp_extensions");
    assert!(!ext.join("install").exists());
    assert!(!ext.join("e3_ext.egg-info").exists());
    assert!(
        !checkout
            .root()
            .join("test/test_cpp_extensions_aot_no_ninja.py")
            .exists()
    );
    // Nothing was installed into the interpreter's environment.
    let check = std::process::Command::new(&python)
        .args([
            "-c",
            "import importlib.util as u; print(u.find_spec('e3_ext'))",
        ])
        .current_dir(out.path())
        .output()
        .unwrap();
    assert_eq!(stdout(&check).trim(), "None");
}

#[test]
fn a_failing_build_fails_the_case_with_its_log_and_verdict() {
    let checkout = buildable("import sys\nprint('BUILD BROKEN HERE')\nsys.exit(3)\n");
    let out = tempfile::tempdir().unwrap();
    let python = demo_python();
    let site = fake_torch(out.path());
    let vars = [
        ("PYTHON", python.to_str().unwrap()),
        ("PYTHONPATH", site.as_str()),
    ];
    let case = "test_cpp_extensions_aot_no_ninja";
    let o = harness_with(
        checkout.root(),
        out.path(),
        &[case, "--exact", "--nocapture"],
        &vars,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("Error: {case} exited with code 1"))
            && err.contains("set-up failed: `")
            && err.contains("pip install --no-build-isolation . --root ./install"),
        "{err}"
    );
    let attempt = out.path().join(case).join("attempt-1");
    let log = std::fs::read_to_string(attempt.join("output.log")).unwrap();
    assert!(log.contains("BUILD BROKEN HERE"), "{log}");
    // The test never ran, and its copy was never left in the checkout.
    assert!(!log.contains("AOT SAW"));
    assert!(
        !checkout
            .root()
            .join("test/test_cpp_extensions_aot_no_ninja.py")
            .exists()
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(attempt.join("record.json")).unwrap()).unwrap();
    assert_eq!(record["verdict"], "failed", "{record}");
}
