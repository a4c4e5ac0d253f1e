//! run_test.py's custom handlers that set something up before a file's tests run
//! (research §5.13): the C++ extension builds (ahead-of-time with and without ninja,
//! device-backend autoload, openreg) and the doctests over the installed torch.
//!
//! Each is one case. Its set-up steps run in the case's attempt folder, into the same
//! log, under the same process supervision as its tests: the extension sources are
//! copied there and built with run_test.py's command, `pip install
//! --no-build-isolation . --root ./install`, so nothing is installed into the
//! interpreter's environment and concurrent cases never share a build folder.

pub mod sources;
pub mod steps;
pub mod tools;

use crate::launch::{Launch, LaunchError, RunContext};
use crate::policy::{Handler, Policy};
use crate::settings::Settings;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The driver the doctests case runs: xdoctest over torch, as run_test.py calls it.
const DOCTEST_DRIVER: &str = include_str!("doctests.py");

/// A handler with a set-up of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetUp {
    /// `test_cpp_extensions_aot_ninja` / `_no_ninja`: build test/cpp_extensions, run a
    /// copy of test_cpp_extensions_aot.py under the variant's name.
    CppExtensionsAot { ninja: bool },
    /// `test_autoload_enable` / `_disable`: install test/cpp_extensions, run
    /// test_autoload.py with TORCH_DEVICE_BACKEND_AUTOLOAD=1/0.
    Autoload { enable: bool },
    /// `test_openreg`: install the torch_openreg backend, run its tests.
    Openreg,
    /// `doctests`: xdoctest over the installed torch.
    Doctests,
}

impl SetUp {
    /// The set-up `module`'s handler has, if it has one.
    pub fn of(module: &str, handler: Option<Handler>) -> Option<SetUp> {
        Some(match handler? {
            Handler::CppExtensionsAot => SetUp::CppExtensionsAot {
                ninja: !module.ends_with("_no_ninja"),
            },
            Handler::Autoload => SetUp::Autoload {
                enable: !module.ends_with("_disable"),
            },
            Handler::Openreg => SetUp::Openreg,
            Handler::Doctests => SetUp::Doctests,
            _ => return None,
        })
    }
}

/// A set-up case, ready to run: its steps, then its test command.
#[derive(Debug)]
pub struct Prepared {
    pub steps: Vec<steps::Step>,
    pub test: Launch,
    /// Whether the stepcurrent loop may rerun failing tests (only where run_test.py's
    /// handler goes through its ordinary `run_test`).
    pub retries: bool,
}

/// The steps and test command of `setup` for `case`, as run_test.py's handler runs them.
pub fn prepare(
    setup: SetUp,
    case: &crate::case::PythonCase,
    settings: &Settings,
    policy: &Policy,
    ctx: &RunContext,
    found: &tools::Interpreter,
) -> Result<Prepared, LaunchError> {
    let mut test = Launch::python(case, settings, policy, ctx)?;
    let tests_dir = settings.root.join("test");
    let dir = test.dir.clone();
    let python = settings.python.clone();
    let search = found.search_path(std::env::var_os("PATH"));
    let mut steps = Vec::new();
    // pip's build runs with the environment's tools first on PATH (its ninja).
    let mut build_env = vec![("PATH".to_string(), search.to_string_lossy().into_owned())];
    let install = |at: &Path, env: &[(String, String)]| -> Launch {
        let mut step = test.clone();
        step.program = python.clone();
        step.args = [
            "-m",
            "pip",
            "install",
            "--no-build-isolation",
            ".",
            "--root",
            "./install",
        ]
        .map(String::from)
        .to_vec();
        step.cwd = at.to_path_buf();
        step.env.extend(env.iter().cloned());
        step.stepcurrent = None;
        step
    };
    let retries = match setup {
        SetUp::CppExtensionsAot { ninja } => {
            let staged = dir.join("cpp_extensions");
            steps.push(steps::Step::Stage {
                from: tests_dir.join("cpp_extensions"),
                to: staged.clone(),
            });
            let use_ninja = (
                "USE_NINJA".to_string(),
                if ninja { "1" } else { "0" }.to_string(),
            );
            build_env.push(use_ninja.clone());
            steps.push(steps::Step::Run(install(&staged, &build_env)));
            // Built beside the main extension everywhere but Windows; the
            // CUDA-only ones are left to a CUDA machine.
            let suffix = tests_dir.join("cpp_extensions/no_python_abi_suffix_test");
            if suffix.is_dir() {
                let built = staged.join("no_python_abi_suffix_test");
                steps.push(steps::Step::Run(install(&built, &build_env)));
                // PyTorch's test looks for this build under test/cpp_extensions/.
                steps.push(steps::Step::Link {
                    target: built.join("build"),
                    link: suffix.join("build"),
                });
            }
            // run_test.py runs a copy named after the variant, then deletes it.
            steps.push(steps::Step::Place {
                from: tests_dir.join(sources::AOT_TEST),
                to: case.module.file(&settings.root),
            });
            test.env.push(use_ninja);
            extend_python_path(&mut test, found.installed_under(&staged.join("install")));
            true
        }
        SetUp::Autoload { enable } => {
            let staged = dir.join("cpp_extensions");
            steps.push(steps::Step::Stage {
                from: tests_dir.join("cpp_extensions"),
                to: staged.clone(),
            });
            steps.push(steps::Step::Run(install(&staged, &build_env)));
            // `python test_autoload.py`: no pytest, no retries; the reports go to the
            // case's folder like every case's.
            let reports = report_arg(&test);
            test.args = vec![sources::AUTOLOAD_TEST.into(), reports];
            test.stepcurrent = None;
            test.env.push((
                "TORCH_DEVICE_BACKEND_AUTOLOAD".into(),
                if enable { "1" } else { "0" }.into(),
            ));
            extend_python_path(&mut test, found.installed_under(&staged.join("install")));
            false
        }
        SetUp::Openreg => {
            let staged = dir.join("torch_openreg");
            steps.push(steps::Step::Stage {
                from: tests_dir.join(sources::OPENREG_DIR),
                to: staged.clone(),
            });
            steps.push(steps::Step::Run(install(&staged, &build_env)));
            extend_python_path(&mut test, found.installed_under(&staged.join("install")));
            if case.module.file(&settings.root).is_file() {
                // A checkout with test/test_openreg.py runs it as run_test does.
                true
            } else {
                // Else its tests folder, through unittest discovery.
                let discover = staged.join("tests").display().to_string();
                test.args = ["-m", "unittest", "discover", "-s", &discover, "-v"]
                    .map(String::from)
                    .to_vec();
                test.stepcurrent = None;
                false
            }
        }
        SetUp::Doctests => {
            let driver = dir.join("run_doctests.py");
            steps.push(steps::Step::Write {
                path: driver.clone(),
                text: DOCTEST_DRIVER,
            });
            let command = std::env::var(crate::settings::var::XDOCTEST_COMMAND)
                .ok()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "all".into());
            let xml = dir.join("test-reports/python-xdoctest/doctests/doctests.xml");
            test.args = vec![
                driver.display().to_string(),
                format!("--command={command}"),
                format!("--junit-xml={}", xml.display()),
            ];
            test.stepcurrent = None;
            false
        }
    };
    Ok(Prepared {
        steps,
        test,
        retries,
    })
}

/// The `--save-xml=<dir>` argument the launch already carries.
fn report_arg(launch: &Launch) -> String {
    launch
        .args
        .iter()
        .find(|a| a.starts_with("--save-xml="))
        .cloned()
        .unwrap_or_else(|| {
            format!(
                "--save-xml={}",
                launch.dir.join("test-reports/python-unittest").display()
            )
        })
}

/// Puts `dirs` in front of the PYTHONPATH the launch would have (its own setting,
/// else the inherited one), as run_test.py's `extend_python_path` does.
fn extend_python_path(launch: &mut Launch, dirs: Vec<PathBuf>) {
    let current = launch
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PYTHONPATH")
        .map(|(_, v)| OsString::from(v))
        .or_else(|| std::env::var_os("PYTHONPATH"));
    let mut all: Vec<PathBuf> = dirs;
    if let Some(current) = current.filter(|c| !c.is_empty()) {
        all.extend(std::env::split_paths(&current));
    }
    let joined = std::env::join_paths(all).unwrap_or_default();
    launch.env.retain(|(k, _)| k != "PYTHONPATH");
    launch
        .env
        .push(("PYTHONPATH".into(), joined.to_string_lossy().into_owned()));
}
