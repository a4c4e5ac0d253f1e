//! The torch lane's checks of run_test.py's set-up handlers: doctests over the real
//! wheel (narrowed with `--xdoctest-command`), and the C++ extension builds of
//! e2e-torch/test/cpp_extensions (AOT with and without ninja, autoload on and off,
//! openreg), each built in its case's folder and never installed into the venv.

use super::lane::{Lane, find, tests};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Instant;
use torch_harness::report::junit::Outcome;
use torch_harness::report::record::Record;

/// One doctest of torch that runs anywhere (torch/functional.py's broadcast_shapes).
const DOCTEST: &str = "broadcast_shapes";
const BUILT: [&str; 5] = [
    "doctests",
    "test_cpp_extensions_aot_ninja",
    "test_cpp_extensions_aot_no_ninja",
    "test_autoload_enable",
    "test_autoload_disable",
];

pub(crate) fn check(lane: &Lane, check: &mut impl FnMut(bool, String)) -> Result<()> {
    let started = Instant::now();
    let mut args = vec!["-i"];
    args.extend(BUILT);
    args.extend(["--xdoctest-command", DOCTEST]);
    let built = lane.run("handlers", &args, &[])?;
    let openreg = lane.run("openreg", &["--openreg"], &[])?;
    let seconds = started.elapsed().as_secs_f64();
    let mut records = crate::suite::report::records(&built.dir)?;
    records.extend(crate::suite::report::records(&openreg.dir)?);
    check(
        built.passed && openreg.passed,
        format!("the six set-up handler cases pass ({seconds:.0} s with their builds)"),
    );
    for r in &records {
        println!(
            "  {:<34} {:<10} {:>6.1} s",
            r.case,
            r.verdict.describe(),
            r.wall_seconds
        );
    }

    // Doctests: xdoctest over the installed torch ran exactly the named doctest.
    let doctests = find(&records, "doctests")?;
    let ran = tests(doctests)?;
    check(
        ran.len() == 1
            && ran[0].name == format!("{DOCTEST}:0")
            && ran[0].classname == "torch.functional"
            && ran[0].outcome == Outcome::Passed,
        format!(
            "--xdoctest-command {DOCTEST} ran torch.functional's one doctest: {:?}",
            ran.iter()
                .map(|t| format!("{} {:?}", t.id(), t.outcome))
                .collect::<Vec<_>>()
        ),
    );
    let log = read(&doctests.log);
    check(
        log.contains("TORCH_DOCTEST_CUDA=unset") && log.contains("TORCH_DOCTEST_ONNX=unset"),
        "the doctests ran with run_test.py's feature switches (CUDA and ONNX off here)".into(),
    );

    // AOT: the variant's copy of test_cpp_extensions_aot.py ran its tests, against
    // the extension built with (or without) ninja in the case's own folder.
    for (case, ninja) in [
        ("test_cpp_extensions_aot_ninja", true),
        ("test_cpp_extensions_aot_no_ninja", false),
    ] {
        let record = find(&records, case)?;
        let ran = tests(record)?;
        let passed = ran.iter().filter(|t| t.outcome == Outcome::Passed).count();
        check(
            passed == 4 && ran.len() == 4,
            format!("{case} ran its copy's 4 tests: {passed} passed"),
        );
        let staged = attempt_dir(record).join("cpp_extensions");
        let ninja_files = files_named(&staged.join("build"), "build.ninja");
        check(
            ninja_files.is_empty() != ninja,
            format!(
                "{case} built {} ninja ({} build.ninja under {})",
                if ninja { "with" } else { "without" },
                ninja_files.len(),
                staged.display()
            ),
        );
        let suffixless = files_named(&staged.join("no_python_abi_suffix_test/build"), "");
        check(
            suffixless.iter().any(|p| {
                p.file_name()
                    .is_some_and(|n| n == "no_python_abi_suffix_test.so")
            }),
            format!("{case} built no_python_abi_suffix_test.so beside it"),
        );
        let copy = lane.checkout.join("test").join(format!("{case}.py"));
        let link = lane
            .checkout
            .join("test/cpp_extensions/no_python_abi_suffix_test/build");
        check(
            !copy.exists() && link.symlink_metadata().is_err(),
            format!("{case}'s copy of the test file and link to its build are gone after the run"),
        );
    }

    // Autoload: test_autoload.py saw torch run the backend's entry point exactly when
    // TORCH_DEVICE_BACKEND_AUTOLOAD was 1.
    for case in ["test_autoload_enable", "test_autoload_disable"] {
        let ran = tests(find(&records, case)?)?;
        check(
            ran.len() == 1 && ran[0].outcome == Outcome::Passed,
            format!("{case}: test_autoload passed ({} reported)", ran.len()),
        );
    }

    // Openreg: the backend's own tests, through unittest discovery.
    let openreg = find(&records, "test_openreg")?;
    let log = read(&openreg.log);
    check(
        log.contains("Ran 2 tests") && log.contains("\nOK"),
        "test_openreg ran torch_openreg's 2 tests with unittest discover".into(),
    );

    // Nothing went into the shared environment.
    let venv_lib = lane
        .python
        .parent()
        .and_then(Path::parent)
        .map(|venv| venv.join("lib"))
        .unwrap_or_default();
    let site: Vec<PathBuf> = [
        "torch_test_cpp_extension",
        "torch_openreg",
        "autoload_extension",
    ]
    .iter()
    .flat_map(|pkg| files_named(&venv_lib, pkg))
    .collect();
    check(
        site.is_empty(),
        format!("no extension was installed into the torch venv ({site:?})"),
    );
    Ok(())
}

fn attempt_dir(record: &Record) -> PathBuf {
    record
        .log
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Paths under `dir` whose file name is `name` (every file when `name` is empty).
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| name.is_empty() || e.file_name() == name)
        .map(|e| e.into_path())
        .collect()
}
