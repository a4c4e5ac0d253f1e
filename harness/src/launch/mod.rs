//! Launching a case: here, the command PyTorch's runner would build for it (research
//! §5.2), without starting anything: program, arguments, working directory, environment
//! and where the attempt's log and reports go. The submodules start and watch it.

pub mod coverage;
pub mod devices;
pub mod mem_leak;
pub mod process;
pub mod rendezvous;
pub mod run_lock;
pub mod serial_tests;
pub mod stepcurrent;

use crate::case::{ClassFilter, CppCase, DistributedCase, InitMethod, PythonCase};
use crate::discover::distributed::BackendSetup;
use crate::launch::rendezvous::{MASTER_ADDR, Rendezvous};
use crate::lists::Imported;
use crate::plan::test_config::TestConfig;
use crate::policy::{Handler, Policy};
use crate::settings::Settings;
use crate::util::hash::random_u64;
use std::path::{Path, PathBuf};

/// How the test file runs its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--use-pytest`, through the checkout's conftest. `reruns` is false when the
    /// interpreter lacks pytest-rerunfailures, whose `--reruns` flag would be unknown.
    Pytest { reruns: bool },
    /// `unittest.main`; no in-file sharding or stepcurrent.
    Unittest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub case: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// Set on top of the inherited environment.
    pub env: Vec<(String, String)>,
    /// Removed from the inherited environment.
    pub env_remove: Vec<String>,
    /// Unique to this attempt; marks the processes that belong to it.
    pub token: String,
    /// This attempt's folder: its log, reports and record.
    pub dir: PathBuf,
    /// The stepcurrent key, in pytest mode (`--sc/--scs/--rs=<key>`).
    pub stepcurrent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    // The caller says why the run is in unittest mode, and names the case.
    #[error("is a piece of a split file, which needs pytest mode (--shard-id/--num-shards)")]
    PieceNeedsPytest,
    #[error("runs every class but some, which needs pytest mode (`-k not (...)`)")]
    ExceptNeedsPytest,
}

/// Facts about this run that change the command, gathered once by the caller.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub mode: Mode,
    /// The run's disabled and slow test lists (`CI` set, as PyTorch's IS_CI, or asked
    /// for by variable).
    pub lists: Imported,
    /// run_test.py's rerun-disabled-tests mode: only disabled tests, many times each.
    pub rerun_disabled: bool,
    /// Under `coverage run --parallel-mode --source=torch` (PYTORCH_COLLECT_COVERAGE).
    pub coverage: bool,
    /// nextest's attempt number (1 on the first try).
    pub attempt: u32,
    pub config: TestConfig,
    /// `-k EXPR` for pytest (TORCH_HARNESS_PYTEST_K).
    pub pytest_k: Option<String>,
}

impl Launch {
    pub fn python(
        case: &PythonCase,
        settings: &Settings,
        policy: &Policy,
        ctx: &RunContext,
    ) -> Result<Launch, LaunchError> {
        let name = case.name();
        let module = case.module.as_str();
        let dir = attempt_dir(&settings.out_dir, &name, ctx.attempt);
        let coverage = ctx
            .coverage
            .then(|| crate::launch::coverage::wrap(&settings.out_dir, &policy.coverage.source));
        let mut args = match &coverage {
            Some((wrapper, _)) => wrapper.clone(),
            None => vec!["-bb".to_string()],
        };
        args.push(format!("{module}.py"));
        if let Mode::Pytest { .. } = ctx.mode {
            let piece = case.piece.map_or((1, 1), |p| (p.index, p.count));
            args.push(format!("--shard-id={}", piece.0));
            args.push(format!("--num-shards={}", piece.1));
        } else if case.piece.is_some() {
            return Err(LaunchError::PieceNeedsPytest);
        }
        if policy.handler(module) == Some(Handler::Subprocess) {
            args.push("--subprocess".into());
        }
        // unittest.main runs the classes named on its command line.
        if ctx.mode == Mode::Unittest {
            match &case.classes {
                Some(ClassFilter::Only(classes)) => args.extend(classes.iter().cloned()),
                Some(ClassFilter::Except(_)) => {
                    return Err(LaunchError::ExceptNeedsPytest);
                }
                None => {}
            }
        }
        if let Mode::Pytest { reruns } = ctx.mode {
            args.extend(["-vv", "-rfEX", "-p", "no:xdist", "--use-pytest"].map(String::from));
            // pytest keeps only the last `-k`, so the user's expression and the case's
            // classes (run_test.py's TestRun filter) go in one.
            let k = match (&ctx.pytest_k, &case.classes) {
                (Some(user), Some(classes)) => {
                    Some(format!("({user}) and ({})", classes.pytest_k()))
                }
                (Some(user), None) => Some(user.clone()),
                (None, Some(classes)) => Some(classes.pytest_k()),
                (None, None) => None,
            };
            if let Some(expr) = k {
                args.extend(["-k".to_string(), expr]);
            }
            if ctx.rerun_disabled {
                // Every disabled test many times, to tell a fixed one from a flaky one;
                // fewer for slow distributed and ASAN runs (run_test.py's counts).
                let slow = module.contains("distributed")
                    || std::env::var("PYTORCH_TEST_WITH_ASAN").is_ok_and(|v| v == "1");
                args.push("--flake-finder".into());
                args.push(format!("--flake-runs={}", if slow { 15 } else { 50 }));
            } else {
                // In-file reruns hide distributed failures (pytorch#162978), and some
                // files must never rerun at all.
                args.push("-x".into());
            }
            if reruns && !ctx.rerun_disabled && !policy.skips_pytest_retries(module) {
                let count = if module.contains("distributed") { 0 } else { 2 };
                args.push(format!("--reruns={count}"));
            }
        }
        if let Some(slow) = &ctx.lists.slow {
            args.push(format!("--import-slow-tests={}", slow.display()));
        }
        if let Some(disabled) = &ctx.lists.disabled {
            args.push(format!("--import-disabled-tests={}", disabled.display()));
        }
        if ctx.rerun_disabled {
            args.push("--rerun-disabled-tests".into());
        }
        // common_utils puts reports under <dir>/<dotted module>/, with python-unittest
        // turned into python-pytest in pytest mode: PyTorch's test-reports layout, kept
        // per attempt so no run overwrites another.
        let reports = dir.join("test-reports/python-unittest");
        args.push(format!("--save-xml={}", reports.display()));
        // pytest mode tracks its progress under a fresh stepcurrent key (run_test.py's
        // `<file>_<shard>_<16 hex>`), so no state leaks between runs.
        let stepcurrent = matches!(ctx.mode, Mode::Pytest { .. }).then(|| {
            let piece = case.piece.map_or(1, |p| p.index);
            format!("{}_{piece}_{:016x}", case.module.dotted(), random_u64())
        });

        let root = settings.root.display().to_string();
        let mut env: Vec<(String, String)> = policy
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{root}", &root)))
            .collect();
        env.extend(
            ctx.config
                .child_env(module)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        if let Some((_, file)) = coverage {
            env.push(file);
        }
        // Unbuffered, so a crash loses no output and the log streams as it happens.
        env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        Ok(Launch {
            token: format!("{name}#{:016x}", random_u64()),
            case: name,
            program: settings.python.clone(),
            args,
            cwd: settings.root.join("test"),
            env,
            env_remove: Vec::new(),
            dir,
            stepcurrent,
        })
    }

    /// One suite of a gtest binary, with its XML report in the attempt's folder.
    pub fn cpp(
        case: &CppCase,
        binary: PathBuf,
        cwd: PathBuf,
        settings: &Settings,
        attempt: u32,
    ) -> Launch {
        let name = case.name();
        let dir = attempt_dir(&settings.out_dir, &name, attempt);
        let report = dir
            .join("test-reports/cpp")
            .join(&case.binary)
            .join(format!(
                "{}-{}.xml",
                case.binary,
                case.suite.replace('/', ".")
            ));
        Launch {
            token: format!("{name}#{:016x}", random_u64()),
            case: name,
            program: binary,
            args: vec![
                format!("--gtest_filter={}", case.filter()),
                format!("--gtest_output=xml:{}", report.display()),
            ],
            cwd,
            env: Vec::new(),
            // A shard of ours is a suite; gtest's own sharding would run a part of it.
            env_remove: [
                "GTEST_SHARD_INDEX",
                "GTEST_TOTAL_SHARDS",
                "GTEST_SHARD_STATUS_FILE",
                "GTEST_FILTER",
            ]
            .map(String::from)
            .to_vec(),
            dir,
            stepcurrent: None,
        }
    }

    /// Turns the launch of a distributed file into one backend and init method's:
    /// `--subprocess`, the variables PyTorch's handler sets, reports under
    /// `test-reports/dist-<backend>-init-<method>/`, and MPI's launcher in front.
    pub fn distributed(
        &mut self,
        case: &DistributedCase,
        setup: &BackendSetup,
        meeting: &Rendezvous,
        settings: &Settings,
        attempt: u32,
    ) {
        self.case = case.name();
        // The token names the configuration, so its processes are told from a sibling's.
        self.token = format!("{}#{:016x}", self.case, random_u64());
        self.dir = attempt_dir(&settings.out_dir, &self.case, attempt);
        let reports = self.dir.join("test-reports").join(case.report_source());
        for arg in &mut self.args {
            if arg.starts_with("--save-xml=") {
                *arg = format!("--save-xml={}", reports.display());
            }
        }
        self.args.push("--subprocess".into());
        let temp = meeting.temp_dir.path();
        let init = match case.init {
            InitMethod::Env => "env://".to_string(),
            InitMethod::File => format!("file://{}/shared_init_file", temp.display()),
        };
        self.env.extend([
            ("TEMP_DIR".to_string(), temp.display().to_string()),
            ("BACKEND".into(), case.backend.clone()),
            ("WORLD_SIZE".into(), setup.world_size.to_string()),
            ("INIT_METHOD".into(), init),
            ("MASTER_ADDR".into(), MASTER_ADDR.into()),
            ("MASTER_PORT".into(), meeting.port.to_string()),
            ("TEST_REPORT_SOURCE_OVERRIDE".into(), case.report_source()),
        ]);
        if let Some((program, rest)) = setup.launcher.split_first() {
            let python = std::mem::replace(&mut self.program, PathBuf::from(program));
            let mut args: Vec<String> = rest.to_vec();
            args.push(python.display().to_string());
            args.append(&mut self.args);
            self.args = args;
        }
    }

    /// The same launch selecting tests by a pytest marker expression (`-m serial`), as
    /// run_test.py's extra arguments go first, under a stepcurrent key of its own so it
    /// does not resume where another part of the file stopped.
    pub fn with_markexpr(&self, expr: &str) -> Launch {
        let mut launch = self.clone();
        // Right after the test file, whatever runs it (`-bb`, or coverage's `-m coverage run …`).
        let at = launch
            .args
            .iter()
            .position(|a| !a.starts_with('-') && a.ends_with(".py"))
            .map_or(launch.args.len(), |file| file + 1);
        launch
            .args
            .splice(at..at, ["-m".to_string(), expr.to_string()]);
        if let Some(key) = &mut launch.stepcurrent {
            let stem = key.rsplit_once('_').map_or(key.as_str(), |(stem, _)| stem);
            *key = format!("{stem}_{:016x}", random_u64());
        }
        launch
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("output.log")
    }

    /// The variables that shape what the child does, as it sees them: the inherited
    /// ones a shell of the user's would lack ([`passed_on`]), then what the harness sets.
    pub fn shaping_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = passed_on()
            .into_iter()
            .filter(|(k, _)| !self.env.iter().any(|(set, _)| set == k))
            .filter(|(k, _)| !self.env_remove.contains(k))
            .collect();
        env.extend(self.env.iter().cloned());
        env
    }

    /// The command as one shell line that runs the child as the harness did, from any
    /// shell: `cd <cwd> && env [-u VAR]… VAR=value… <program> <args>`.
    pub fn command_line(&self) -> String {
        let mut words = vec!["env".to_string()];
        for name in &self.env_remove {
            words.extend(["-u".to_string(), shell_quote(name)]);
        }
        for (k, v) in self.shaping_env() {
            words.push(shell_quote(&format!("{k}={v}")));
        }
        words.extend(
            std::iter::once(self.program.display().to_string())
                .chain(self.args.iter().cloned())
                .map(|a| shell_quote(&a)),
        );
        format!(
            "cd {} && {}",
            shell_quote(&self.cwd.display().to_string()),
            words.join(" ")
        )
    }
}

/// Inherited variables that change what a test does (PyTorch's `PYTORCH_TEST*` switches,
/// keep-going, CI, device visibility): set on the `cargo nextest` process by `cargo
/// xtask test`, so a command run by hand needs them written out. Sorted by name.
pub fn passed_on() -> Vec<(String, String)> {
    passed_on_from(std::env::vars())
}

/// [`passed_on`] out of `vars` (an environment as name and value).
pub fn passed_on_from(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    const NAMES: [&str; 4] = [
        "CONTINUE_THROUGH_ERROR",
        "CI",
        "CUDA_VISIBLE_DEVICES",
        "HIP_VISIBLE_DEVICES",
    ];
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, v)| {
            !v.is_empty() && (k.starts_with("PYTORCH_TEST") || NAMES.contains(&k.as_str()))
        })
        .collect();
    vars.sort();
    vars
}

/// `<out>/<case, with :: and / as .>/attempt-<n>`: one folder per case.
pub fn attempt_dir(out_dir: &Path, case: &str, attempt: u32) -> PathBuf {
    out_dir
        .join(case.replace("::", ".").replace('/', "."))
        .join(format!("attempt-{attempt}"))
}

/// `arg` as one shell word: as it is when plain, else in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let plain = arg
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_=./:,@+".contains(&b));
    if plain && !arg.is_empty() {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// 64 random bits from the standard library's randomly keyed hasher.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::PythonCase;
    use std::ffi::OsString;

    fn fixture() -> (Settings, Policy) {
        let settings = Settings::from_lookup(|name| match name {
            "NEXTEST_WORKSPACE_ROOT" => Some(OsString::from("/ws")),
            "NEXTEST_RUN_ID" => Some(OsString::from("run1")),
            "PYTORCH_ROOT" => Some(OsString::from("/pt")),
            "PYTHON" => Some(OsString::from("/py/bin/python")),
            "TORCH_HARNESS_OUT" => Some(OsString::from("/ws/target/torch-harness/runs/run1")),
            _ => None,
        });
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        (
            settings,
            Policy::load(&manifests, Path::new("/pt")).unwrap(),
        )
    }

    /// A pytest launch with reruns, outside CI mode.
    fn pytest(name: &str) -> Launch {
        launch(name, Mode::Pytest { reruns: true }, false)
    }

    fn launch(name: &str, mode: Mode, ci: bool) -> Launch {
        let (settings, policy) = fixture();
        let lists = Imported {
            disabled: Some("/run/lists/disabled-tests.json".into()),
            slow: Some("/run/lists/slow-tests.json".into()),
            ..Imported::default()
        };
        let ctx = RunContext {
            mode,
            lists: if ci { lists } else { Imported::default() },
            rerun_disabled: false,
            coverage: false,
            attempt: 1,
            config: TestConfig::default(),
            pytest_k: None,
        };
        Launch::python(&PythonCase::parse(name).unwrap(), &settings, &policy, &ctx).unwrap()
    }

    #[test]
    fn pytest_mode_builds_pytorchs_command() {
        let l = launch("nn::test_pooling", Mode::Pytest { reruns: true }, true);
        assert_eq!(l.program, Path::new("/py/bin/python"));
        assert_eq!(l.cwd, Path::new("/pt/test"));
        assert_eq!(
            l.args,
            [
                "-bb",
                "nn/test_pooling.py",
                "--shard-id=1",
                "--num-shards=1",
                "-vv",
                "-rfEX",
                "-p",
                "no:xdist",
                "--use-pytest",
                "-x",
                "--reruns=2",
                "--import-slow-tests=/run/lists/slow-tests.json",
                "--import-disabled-tests=/run/lists/disabled-tests.json",
                "--save-xml=/ws/target/torch-harness/runs/run1/nn.test_pooling/attempt-1/test-reports/python-unittest",
            ]
        );
        let key = l.stepcurrent.as_deref().unwrap();
        assert!(
            key.starts_with("nn.test_pooling_1_") && key.len() == 18 + 16,
            "{key}"
        );
        assert!(l.env.contains(&("PYTHONUNBUFFERED".into(), "1".into())));
    }

    #[test]
    fn pieces_pass_their_shard_and_keys_differ_per_launch() {
        let a = pytest("test_ops::shard_2_of_3");
        assert!(a.args.contains(&"--shard-id=2".to_string()));
        assert!(a.args.contains(&"--num-shards=3".to_string()));
        let b = pytest("test_ops::shard_2_of_3");
        assert!(a.stepcurrent.as_deref().unwrap().starts_with("test_ops_2_"));
        assert_ne!(a.stepcurrent, b.stepcurrent);
    }

    #[test]
    fn a_marker_expression_goes_first_under_a_key_of_its_own() {
        let l = pytest("test_ops::shard_2_of_3");
        let serial = l.with_markexpr("serial");
        assert_eq!(
            serial.args[..6],
            [
                "-bb",
                "test_ops.py",
                "-m",
                "serial",
                "--shard-id=2",
                "--num-shards=3"
            ]
        );
        assert_eq!(serial.args.len(), l.args.len() + 2);
        let (a, b) = (l.stepcurrent.unwrap(), serial.stepcurrent.unwrap());
        assert!(b.starts_with("test_ops_2_") && b.len() == a.len(), "{b}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_test_config_and_k_expression_reach_the_command() {
        let (settings, policy) = fixture();
        let ctx = RunContext {
            mode: Mode::Pytest { reruns: true },
            lists: Imported::default(),
            rerun_disabled: false,
            coverage: false,
            attempt: 1,
            config: TestConfig {
                name: "dynamo_wrapped".into(),
                build_environment: String::new(),
            },
            pytest_k: Some("not slow and add".into()),
        };
        let l = Launch::python(
            &PythonCase::parse("test_nn").unwrap(),
            &settings,
            &policy,
            &ctx,
        )
        .unwrap();
        let k = l.args.iter().position(|a| a == "-k").unwrap();
        assert_eq!(l.args[k + 1], "not slow and add");
        assert!(
            l.env
                .contains(&("PYTORCH_TEST_WITH_DYNAMO".into(), "1".into()))
        );
    }

    #[test]
    fn class_runs_pass_their_classes_to_the_file() {
        let pytest = Mode::Pytest { reruns: true };
        let k_of = |l: &Launch| {
            let at = l.args.iter().position(|a| a == "-k").unwrap();
            l.args[at + 1].clone()
        };
        let only = launch("test_nn::only=TestConv,TestLinear", pytest, false);
        assert_eq!(k_of(&only), "TestConv or TestLinear");
        let except = launch("test_nn::except=TestConv", pytest, false);
        assert_eq!(k_of(&except), "not (TestConv)");
        // The user's -k narrows within the classes.
        let (settings, policy) = fixture();
        let ctx = RunContext {
            mode: pytest,
            lists: Imported::default(),
            rerun_disabled: false,
            coverage: false,
            attempt: 1,
            config: TestConfig::default(),
            pytest_k: Some("add or sub".into()),
        };
        let case = PythonCase::parse("test_nn::only=TestConv").unwrap();
        let both = Launch::python(&case, &settings, &policy, &ctx).unwrap();
        assert_eq!(k_of(&both), "(add or sub) and (TestConv)");
        assert_eq!(both.args.iter().filter(|a| *a == "-k").count(), 1);
        // unittest.main takes class names as arguments; it cannot leave classes out.
        let unittest = launch("test_nn::only=TestConv,TestLinear", Mode::Unittest, false);
        assert_eq!(
            unittest.args[..4],
            ["-bb", "test_nn.py", "TestConv", "TestLinear"]
        );
        let ctx = RunContext {
            mode: Mode::Unittest,
            pytest_k: None,
            ..ctx
        };
        let case = PythonCase::parse("test_nn::except=TestConv").unwrap();
        let err = Launch::python(&case, &settings, &policy, &ctx).unwrap_err();
        assert!(err.to_string().contains("needs pytest mode"), "{err}");
    }

    #[test]
    fn rerun_disabled_mode_runs_each_test_many_times_without_reruns() {
        let (settings, policy) = fixture();
        let ctx = |rerun_disabled| RunContext {
            mode: Mode::Pytest { reruns: true },
            lists: Imported {
                disabled: Some("/run/lists/disabled-tests.json".into()),
                ..Imported::default()
            },
            rerun_disabled,
            coverage: false,
            attempt: 1,
            config: TestConfig::default(),
            pytest_k: None,
        };
        let args = |name: &str| {
            Launch::python(
                &PythonCase::parse(name).unwrap(),
                &settings,
                &policy,
                &ctx(true),
            )
            .unwrap()
            .args
        };
        let nn = args("test_nn");
        let tail: Vec<&str> = nn[nn.len() - 5..].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "--flake-finder",
                "--flake-runs=50",
                "--import-disabled-tests=/run/lists/disabled-tests.json",
                "--rerun-disabled-tests",
                "--save-xml=/ws/target/torch-harness/runs/run1/test_nn/attempt-1/test-reports/python-unittest",
            ]
        );
        assert!(!nn.iter().any(|a| a == "-x" || a.starts_with("--reruns")));
        assert!(args("distributed::test_store").contains(&"--flake-runs=15".to_string()));
        let normal = Launch::python(
            &PythonCase::parse("test_nn").unwrap(),
            &settings,
            &policy,
            &ctx(false),
        )
        .unwrap();
        assert!(
            !normal
                .args
                .iter()
                .any(|a| a.contains("flake") || a == "--rerun-disabled-tests")
        );
    }

    #[test]
    fn coverage_runs_the_file_under_coverage_with_its_data_in_the_run_folder() {
        let (settings, policy) = fixture();
        let ctx = RunContext {
            mode: Mode::Unittest,
            lists: Imported::default(),
            rerun_disabled: false,
            coverage: true,
            attempt: 1,
            config: TestConfig::default(),
            pytest_k: None,
        };
        let l = Launch::python(
            &PythonCase::parse("test_nn").unwrap(),
            &settings,
            &policy,
            &ctx,
        )
        .unwrap();
        assert_eq!(
            l.args[..6],
            [
                "-m",
                "coverage",
                "run",
                "--parallel-mode",
                "--source=torch",
                "test_nn.py"
            ]
        );
        // An `@serialTest` phase's marker goes to pytest, after the file, not to python.
        let serial = Launch::python(
            &PythonCase::parse("test_nn").unwrap(),
            &settings,
            &policy,
            &RunContext {
                mode: Mode::Pytest { reruns: true },
                ..ctx.clone()
            },
        )
        .unwrap()
        .with_markexpr("serial");
        assert_eq!(
            serial.args[..8],
            [
                "-m",
                "coverage",
                "run",
                "--parallel-mode",
                "--source=torch",
                "test_nn.py",
                "-m",
                "serial"
            ]
        );
        assert!(l.env.contains(&(
            "COVERAGE_FILE".into(),
            "/ws/target/torch-harness/runs/run1/coverage/.coverage".into()
        )));
    }

    #[test]
    fn retries_follow_the_policy() {
        let dist = pytest("distributed::test_store");
        assert!(dist.args.contains(&"--reruns=0".to_string()));
        assert!(dist.args.contains(&"--subprocess".to_string()));
        let skip = pytest("test_public_bindings");
        assert!(!skip.args.iter().any(|a| a.starts_with("--reruns")));
        let no_plugin = launch("test_nn", Mode::Pytest { reruns: false }, false);
        assert!(!no_plugin.args.iter().any(|a| a.starts_with("--reruns")));
    }

    #[test]
    fn unittest_mode_has_no_pytest_flags_and_refuses_pieces() {
        let l = launch("test_nn", Mode::Unittest, false);
        assert_eq!(
            l.args,
            [
                "-bb",
                "test_nn.py",
                "--save-xml=/ws/target/torch-harness/runs/run1/test_nn/attempt-1/test-reports/python-unittest"
            ]
        );
        let (settings, policy) = fixture();
        let ctx = RunContext {
            mode: Mode::Unittest,
            lists: Imported::default(),
            rerun_disabled: false,
            coverage: false,
            attempt: 1,
            config: TestConfig::default(),
            pytest_k: None,
        };
        let piece = PythonCase::parse("test_ops::shard_1_of_2").unwrap();
        let err = Launch::python(&piece, &settings, &policy, &ctx).unwrap_err();
        assert!(err.to_string().contains("pytest"));
    }
}
