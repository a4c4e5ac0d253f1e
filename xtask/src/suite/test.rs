//! `cargo xtask test`.

use crate::plumbing::order::TdUse;
use crate::plumbing::selection::{Resolved, SelectArgs, resolve};
use crate::suite::plan::{LoadedTimes, PlanInputs, num_procs};
use anyhow::{Context, Result};
use clap::Args;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;
use torch_harness::mode::RunMode;
use torch_harness::plan::Plan;
use torch_harness::plan::document::PlanDocument;
use torch_harness::plan::times::FileTimes;
use torch_harness::settings::var;

#[derive(Args)]
pub struct TestArgs {
    /// Run the tests of a `cargo xtask archive` instead of building them.
    #[arg(long, value_name = "FILE")]
    archive_file: Option<PathBuf>,
    /// With --archive-file: the workspace checkout the archive runs against
    /// (default: this one).
    #[arg(long, value_name = "DIR", requires = "archive_file")]
    workspace_remap: Option<PathBuf>,
    /// Run shard i of n of the time-balanced plan.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// With --shard: run that shard of this plan file (`cargo xtask plan --json`, made once
    /// for every shard) instead of planning here. The file holds the selection and the
    /// times, so the flags that choose them are refused beside it; narrow a shard with
    /// `-- -E FILTER` instead.
    #[arg(
        long = "plan",
        value_name = "FILE",
        requires = "shard",
        conflicts_with_all = [
            "times", "threads", "changed", "enable_td", "include", "exclude", "core", "jit",
            "distributed_tests", "functorch", "include_cpython_tests", "include_dynamo_core_tests",
            "include_inductor_core_tests", "einops", "mps", "onnx", "xpu", "openreg", "exclude_jit_executor",
            "exclude_torch_export_tests", "exclude_aot_dispatch_tests",
            "exclude_distributed_tests", "exclude_inductor_tests",
            "exclude_quantization_tests", "cpp", "ignore_win_blocklist",
        ]
    )]
    plan_file: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanInputs,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    order: crate::plumbing::order::OrderArgs,
    /// Run every test under torch.compile with dynamo (PYTORCH_TEST_WITH_DYNAMO=1).
    #[arg(long, conflicts_with = "inductor")]
    dynamo: bool,
    /// Run every test under torch.compile with inductor (PYTORCH_TEST_WITH_INDUCTOR=1).
    #[arg(long)]
    inductor: bool,
    /// Passed to pytest as `-k EXPR`.
    #[arg(short = 'k', long = "pytest-k-expr", value_name = "EXPR")]
    pytest_k: Option<String>,
    /// What the doctests case runs, as run_test.py's option: `all` (the default),
    /// `list` (parse only), or the name of one doctest.
    #[arg(long, value_name = "COMMAND")]
    xdoctest_command: Option<String>,
    /// Keep running after a failing case (and, inside a case, after a failing test).
    #[arg(long, alias = "keep-going")]
    continue_through_error: bool,
    /// run_test.py's rerun-disabled-tests mode: only the disabled tests run, each many
    /// times (pytest-flakefinder); `cargo xtask report` then lists those that passed
    /// every time. Same as PYTORCH_TEST_RERUN_DISABLED_TESTS=1.
    #[arg(long)]
    rerun_disabled_tests: bool,
    /// Run the Python tests under `coverage run --parallel-mode --source=torch` and
    /// combine the run's data into one report at the end (PYTORCH_COLLECT_COVERAGE=1).
    #[arg(long)]
    coverage: bool,
    /// Print the selection, its filterset, the plan and the nextest command; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Arguments for `cargo nextest run`, after `--`.
    #[arg(last = true)]
    nextest_args: Vec<String>,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let root = match &args.workspace_remap {
        Some(dir) => std::path::absolute(dir)?,
        None => crate::plumbing::workspace::root(),
    };
    // The demo is set up before anything is planned: every shard must see the same
    // cases, the C++ suites included.
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let demo = set(var::PYTORCH_ROOT).is_none();
    // The demo runs under the user's PYTHON when one is set (as plain nextest does),
    // else under its own environment, made here.
    let user_python = set(var::PYTHON);
    let demo_python = match (demo, args.dry_run) {
        (true, false) => set_up_demo(&root, args.workspace_remap.is_some(), user_python.is_none())?,
        _ => None,
    };
    let mut resolved = resolve(
        &args.select,
        args.workspace_remap.is_some().then_some(root.as_path()),
    )?;
    let target = crate::plumbing::workspace::target_dir_with(&root, &args.nextest_args)?;
    // A plan file holds its selection, TD's cut included (`cargo xtask plan
    // --enable-td`); its shards use the scores for their order only.
    let td_use = match &args.plan_file {
        Some(_) => TdUse {
            cut: false,
            exclusions: false,
        },
        None => TdUse {
            cut: crate::plumbing::order::td_enabled(args.order.enable_td),
            exclusions: true,
        },
    };
    let td = crate::plumbing::order::apply_td(&mut resolved, td_use)?;
    let failed = if args.order.no_failed_first {
        Vec::new()
    } else {
        crate::plumbing::order::previous_failures(&torch_harness::settings::Settings {
            target_dir: target.clone(),
            ..resolved.settings.clone()
        })
    };
    let chosen = match &args.order.changed {
        Some(base) => Some(crate::plumbing::changed::apply(
            &mut resolved,
            base.as_deref(),
            &failed,
        )?),
        None => None,
    };
    let mut nextest = crate::plumbing::nextest::nextest_command(&root, &target);
    nextest.args(["run", "--profile", "ci"]);
    if !demo {
        // Absolute (resolved from where xtask was started), as xtask read it.
        nextest.env(var::PYTORCH_ROOT, &resolved.settings.root);
    }
    match &args.archive_file {
        // Built elsewhere: the archive's binaries run against this checkout.
        Some(archive) => {
            nextest
                .arg("--archive-file")
                .arg(std::path::absolute(archive)?)
                .arg("--workspace-remap")
                .arg(&root);
        }
        None => {
            nextest.args(["--package", "torch-suite"]);
        }
    }

    let (passthrough, user_filters) =
        crate::plumbing::filterset::take_filtersets(&args.nextest_args);
    let (document, cases) = match &args.shard {
        Some(shard) => {
            let (i, n) = crate::suite::plan::parse_shard(shard)?;
            let (path, mut document) = match &args.plan_file {
                Some(file) => {
                    let path = std::path::absolute(file)?;
                    (path.clone(), PlanDocument::read(&path)?)
                }
                None => {
                    let times = crate::suite::plan::load_times(
                        &resolved.settings,
                        args.plan.times.as_deref(),
                    )?;
                    let mut document =
                        crate::suite::plan::compute(&resolved, n, &times, args.plan.threads)?;
                    document.plan.selected_shard = Some(i);
                    let json = document.to_json().into_bytes();
                    let path = write_keyed(
                        &target.join("torch-harness/plans"),
                        &format!("shard-{i}-of-{n}"),
                        "json",
                        &json,
                    )?;
                    (path, document)
                }
            };
            let cases = document.shard(&path, i, n)?.1.to_vec();
            // For --dry-run's "this machine" mark; the file itself stays as it was.
            document.plan.selected_shard = Some(i);
            nextest
                .env(var::PLAN, &path)
                .env(var::SHARD, format!("{i}/{n}"));
            // The plan holds only the selection; nextest keeps what the user's filters
            // keep of it.
            for filter in &user_filters {
                nextest.args(["-E", filter]);
            }
            (Some(document), cases)
        }
        None => {
            if let Some(filterset) =
                crate::plumbing::filterset::both(resolved.filterset.as_deref(), &user_filters)
            {
                nextest.args(["-E", &filterset]);
            }
            (None, resolved.case_names())
        }
    };
    // Longer cases start first: the plan's expected seconds, else the times'.
    let times = match &document {
        Some(_) => LoadedTimes::default(),
        None => crate::suite::plan::load_times(&resolved.settings, args.plan.times.as_deref())?,
    };
    let planned: BTreeMap<&str, f64> = document
        .iter()
        .flat_map(|d| &d.cases)
        .filter_map(|c| Some((c.name.as_str(), c.seconds?)))
        .collect();
    let seconds = |case: &str| match &document {
        Some(_) => planned.get(case).copied(),
        None => expected_seconds(&resolved, &times.times, case),
    };
    let (td_first, td_last) = td
        .as_ref()
        .map(|td| crate::plumbing::order::td_order(&resolved, td))
        .unwrap_or_default();
    let first = match &chosen {
        // The change's own order: edited files, path matches, correlated, failed.
        Some(chosen) => {
            let order: Vec<String> = chosen.cases.iter().map(|(c, _)| c.clone()).collect();
            crate::plumbing::order::first_cases(&cases, &[], &order)
        }
        None => crate::plumbing::order::first_cases(&cases, &failed, &td_first),
    };
    let last: Vec<String> = td_last
        .into_iter()
        .filter(|c| cases.contains(c) && !first.contains(c))
        .collect();
    let user_threads = args
        .nextest_args
        .iter()
        .any(|a| a == "-j" || a.starts_with("--test-threads") || a.starts_with("-j"));
    // Detected once here, so no case runs the drivers' tools again.
    let mut mode = RunMode::from_env(&torch_harness::plan::test_config::TestConfig::from_env())?;
    mode.coverage |= args.coverage;
    for (name, value) in mode.env() {
        nextest.env(name, value);
    }
    let threads = if user_threads {
        user_thread_count(&args.nextest_args)
    } else {
        let threads = mode.threads().unwrap_or_else(|| {
            args.plan
                .threads
                .or(document.as_ref().map(|d| d.inputs.threads))
                .unwrap_or_else(|| num_procs(&resolved.policy))
        });
        nextest.arg(format!("--test-threads={threads}"));
        Some(threads)
    };
    let holds = |case: &str| holds(&resolved, case);
    let order = crate::plumbing::order::start_order(&cases, &holds, &seconds, &first, &last);
    // Any filter or option after `--` may leave a gated file out.
    let narrowed = !user_filters.is_empty() || !passthrough.is_empty();
    let (order, gated) = gate_serial_test_files(order, threads, narrowed);
    if !gated.is_empty() {
        nextest.env(torch_harness::launch::run_lock::FIRST_VAR, gated.join("\n"));
    }
    let tool_config = write_tool_config(&order, &target)?;
    nextest
        .arg("--tool-config-file")
        .arg(format!("xtask:{}", tool_config.display()));
    if args.continue_through_error {
        nextest
            .arg("--no-fail-fast")
            .env("CONTINUE_THROUGH_ERROR", "1");
    }
    if let Some(expr) = &args.pytest_k {
        nextest.env(var::PYTEST_K, expr);
    }
    if let Some(command) = &args.xdoctest_command {
        nextest.env(var::XDOCTEST_COMMAND, command);
    }
    if args.dynamo {
        nextest.env("PYTORCH_TEST_WITH_DYNAMO", "1");
    }
    for (name, value) in &resolved.child_env {
        nextest.env(name, value);
    }
    if args.inductor {
        nextest.env("PYTORCH_TEST_WITH_INDUCTOR", "1");
    }
    nextest.args(&passthrough);
    if args.rerun_disabled_tests {
        nextest.env(torch_harness::lists::var::RERUN_DISABLED, "1");
    }
    let coverage = mode.coverage;

    if let Some(chosen) = &chosen {
        if args.dry_run {
            for line in crate::plumbing::changed::describe(chosen) {
                println!("{line}");
            }
        }
        if chosen.cases.is_empty() {
            eprintln!("the change selects no tests; nothing to run");
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.dry_run {
        let failed = if chosen.is_some() {
            &[][..]
        } else {
            &failed[..]
        };
        for line in crate::plumbing::order::describe(td.as_ref(), failed, &first) {
            println!("{line}");
        }
        // In the order they start.
        let mut cases: Vec<String> = order.into_iter().flat_map(|(_, c)| c).collect();
        let selection = match (&document, &args.plan_file) {
            (Some(d), Some(file)) => Selection {
                cases: d.cases.len(),
                filterset: format!(
                    "the cases of the plan {} ({} in all)",
                    file.display(),
                    d.cases.len()
                ),
            },
            (Some(d), None) => Selection {
                cases: d.cases.len(),
                filterset: selection_filterset(resolved.filterset.as_deref()),
            },
            (None, _) => Selection {
                cases: resolved.case_names().len(),
                filterset: selection_filterset(resolved.filterset.as_deref()),
            },
        };
        // The user's own filters and options after `--`: nextest says what they keep.
        if !user_filters.is_empty() || !passthrough.is_empty() {
            let kept = crate::plumbing::dry_list::cases(&nextest)?;
            cases.retain(|c| kept.contains(c));
            let more: Vec<String> = kept
                .iter()
                .filter(|c| !cases.contains(c))
                .cloned()
                .collect();
            cases.extend(more);
            resolved.keep_only(&kept);
        }
        // Without --shard, the plan of this machine running every case it runs whole.
        let one_machine = match &document {
            Some(_) => None,
            None => Some(crate::suite::plan::one_machine(
                &resolved,
                &times.times,
                args.plan.threads,
            )?),
        };
        let plan = document.as_ref().map(|d| &d.plan).or(one_machine.as_ref());
        dry_run(&selection, &user_filters, plan, &cases, &nextest);
        return Ok(ExitCode::SUCCESS);
    }
    if let (Some(shard), true) = (&args.shard, cases.is_empty()) {
        // A matrix wider than the suite has empty shards; each of them passes.
        println!(
            "shard {shard} has no cases ({} cases over {} shards): nothing to run",
            document
                .as_ref()
                .map_or_else(|| resolved.case_names().len(), |d| d.cases.len()),
            document.as_ref().map_or(0, |d| d.plan.shards.len())
        );
        return Ok(ExitCode::SUCCESS);
    }
    crate::plumbing::nextest::ensure(&root)?;
    if let Some(python) = demo_python {
        nextest.env(var::PYTHON, python);
        eprintln!(
            "running the embedded demo ({})",
            root.join("demo").display()
        );
    } else if demo {
        eprintln!(
            "running the embedded demo ({}) with PYTHON={}",
            root.join("demo").display(),
            resolved.settings.python.display()
        );
    } else {
        eprintln!(
            "running the checkout at {}",
            resolved.settings.root.display()
        );
    }
    crate::plumbing::lists::prepare(&mut nextest, &resolved.settings, args.rerun_disabled_tests)?;
    let started = SystemTime::now();
    let status = nextest.status().context("cannot start `cargo nextest`")?;
    if let Some(why) = crate::plumbing::nextest::nextest_failure(status) {
        eprintln!("nextest: {why}");
    }
    // Only what this invocation wrote: a failed build leaves none of it.
    let fresh = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= started)
    };
    let junit = target.join("nextest/ci/junit.xml");
    if fresh(&junit) {
        eprintln!("JUnit: {}", junit.display());
    }
    // The run's folder: TORCH_HARNESS_OUT, else this checkout's newest, if this
    // invocation wrote it.
    let mut settings = resolved.settings.clone();
    settings.target_dir = target.clone();
    let run = match std::env::var_os(var::OUT).filter(|o| !o.is_empty()) {
        Some(_) => Some(resolved.settings.out_dir.clone()),
        None => crate::suite::report::run_dir(&settings, None)
            .ok()
            .filter(|dir| {
                let since = started
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                torch_harness::report::started::started_at(dir).is_some_and(|at| at >= since)
            }),
    };
    if let Some(run) = &run {
        eprintln!("logs and reports: {}", run.display());
    }
    if coverage {
        match run.as_deref().map(torch_harness::mode::combine_coverage) {
            Some(Ok(c)) => eprintln!(
                "coverage: {} data files combined into {}; {}; report: {}",
                c.parts,
                c.data.display(),
                c.total,
                c.report.display()
            ),
            Some(Err(e)) => eprintln!("warning: coverage: {e}"),
            None => eprintln!("warning: coverage: cannot tell which folder this run wrote"),
        }
    }
    Ok(crate::plumbing::nextest::exit_code(status))
}

/// The demo's C++ tests and, with `venv`, its Python environment (this workspace's),
/// whose interpreter it returns; a remapped checkout's demo runs its own C++ binaries,
/// which a fresh copy has not built yet.
fn set_up_demo(root: &Path, remapped: bool, venv: bool) -> Result<Option<PathBuf>> {
    let workspace = crate::plumbing::workspace::root();
    crate::plumbing::system::ensure(&workspace, crate::plumbing::system::FOR_DEMO)?;
    let python = if venv {
        Some(crate::suite::setup::demo(&workspace)?)
    } else {
        crate::suite::setup::demo_cpp_noted(&workspace)?;
        None
    };
    if remapped && let Some(why) = crate::suite::setup::demo_cpp(root)? {
        eprintln!(
            "note: the C++ cases of {} are listed as ignored: {why}",
            root.join("demo").display()
        );
    }
    Ok(python)
}

/// What the run chose before nextest's own filters: how many cases, and how.
struct Selection {
    cases: usize,
    filterset: String,
}

fn selection_filterset(filterset: Option<&str>) -> String {
    match filterset {
        Some(f) => f.to_string(),
        None => "all (no selection flags narrow the run)".into(),
    }
}

/// Prints what the run would run: `cases` are exactly the cases nextest will run, in
/// the order they start.
fn dry_run(
    selection: &Selection,
    user_filters: &[String],
    plan: Option<&Plan>,
    cases: &[String],
    nextest: &Command,
) {
    let whole = selection.cases;
    match plan.and_then(|p| Some((p.selected_shard?, p.shards.len()))) {
        Some((i, n)) => println!(
            "{} cases selected (shard {i}/{n}; {whole} in the whole selection)",
            cases.len()
        ),
        None if cases.len() != whole => println!(
            "{} cases selected ({whole} before the filters after --)",
            cases.len()
        ),
        None => println!("{whole} cases selected"),
    }
    println!("filterset: {}", selection.filterset);
    if !user_filters.is_empty() {
        println!(
            "and the filters after --: {}",
            crate::plumbing::filterset::both(None, user_filters).unwrap_or_default()
        );
    }
    if let Some(plan) = plan {
        for shard in &plan.shards {
            let mark = if Some(shard.shard) == plan.selected_shard {
                " <- this machine"
            } else {
                ""
            };
            println!(
                "shard {}/{}: {:.0} s predicted, {} cases{mark}",
                shard.shard,
                plan.shards.len(),
                shard.predicted_seconds,
                shard.cases.len()
            );
        }
        println!(
            "lower bound {:.0} s; longest shard / lower bound = {:.3}",
            plan.lower_bound_seconds,
            plan.longest_over_lower_bound()
        );
    }
    for case in cases {
        println!("    {case}");
    }
    let quote = torch_harness::launch::shell_quote;
    let mut line = String::new();
    for (k, v) in nextest.get_envs() {
        if let Some(v) = v {
            let _ = write!(
                line,
                "{}={} ",
                k.to_string_lossy(),
                quote(&v.to_string_lossy())
            );
        }
    }
    let _ = write!(line, "{}", nextest.get_program().to_string_lossy());
    for arg in nextest.get_args() {
        let _ = write!(line, " {}", quote(&arg.to_string_lossy()));
    }
    println!("would run: {line}");
}

/// The thread count of a `-j N` / `--test-threads N|=N` the user passed to nextest,
/// when it is a number.
fn user_thread_count(nextest_args: &[String]) -> Option<usize> {
    let mut value = None;
    for (i, a) in nextest_args.iter().enumerate() {
        let given = match a.as_str() {
            "-j" | "--test-threads" => nextest_args.get(i + 1).map(String::as_str),
            _ => a
                .strip_prefix("--test-threads=")
                .or_else(|| a.strip_prefix("-j").filter(|v| !v.is_empty())),
        };
        if let Some(v) = given {
            value = v.parse().ok();
        }
    }
    value
}

/// How `case` holds the machine (the harness's rules: `launch::serial_tests`,
/// `run::python`): alone throughout for a serial or distributed file or when the
/// config runs everything serially, alone for its marked tests when its file uses
/// `@serialTest`, else beside others.
fn holds(resolved: &Resolved, case: &str) -> crate::plumbing::order::Holds {
    let test = resolved.settings.root.join("test");
    holds_by_name(
        case,
        resolved.config.everything_serial(),
        |module| resolved.policy.must_serial(module),
        |module| {
            torch_harness::launch::serial_tests::file_uses_marker(
                &test.join(format!("{module}.py")),
            )
        },
    )
}

/// `holds` on the case's name alone: a distributed configuration (a TD class run of one
/// too) runs alone, as does a must-serial file; a file with `@serialTest` tests holds
/// the machine for them; a C++ suite or any other file shares it.
fn holds_by_name(
    case: &str,
    everything_serial: bool,
    must_serial: impl Fn(&str) -> bool,
    uses_marker: impl Fn(&str) -> bool,
) -> crate::plumbing::order::Holds {
    use crate::plumbing::order::Holds;
    use torch_harness::case::{DistributedCase, PythonCase};
    if everything_serial || DistributedCase::parse(case).is_ok() {
        return Holds::Alone;
    }
    let Ok(parsed) = PythonCase::parse(case) else {
        return Holds::Shared;
    };
    let module = parsed.module.as_str();
    if must_serial(module) {
        Holds::Alone
    } else if uses_marker(module) {
        Holds::AlonePhase
    } else {
        Holds::Shared
    }
}

/// Which files with `@serialTest` tests run their marked tests before the parallel
/// cases start, behind gates (`run_lock::FIRST_VAR`): as many as there are slots, so
/// that all of them start at once. The others run whole and alone with the run-alone
/// files, as do all of them when the thread count is not known or the user's own
/// filterset may leave some out (a parallel case would wait at a gate that never goes
/// up). Returns the order, those moved, and the gated cases.
fn gate_serial_test_files(
    order: Vec<(crate::plumbing::order::Holds, Vec<String>)>,
    threads: Option<usize>,
    user_filtered: bool,
) -> (
    Vec<(crate::plumbing::order::Holds, Vec<String>)>,
    Vec<String>,
) {
    use crate::plumbing::order::Holds;
    let room = if user_filtered {
        0
    } else {
        threads.unwrap_or(0)
    };
    let mut alone = Vec::new();
    let mut gated = Vec::new();
    let mut shared = Vec::new();
    for (tier, cases) in order {
        match tier {
            Holds::Alone => alone.extend(cases),
            Holds::AlonePhase => {
                for case in cases {
                    if gated.len() < room {
                        gated.push(case);
                    } else {
                        alone.push(case);
                    }
                }
            }
            Holds::Shared => shared.extend(cases),
        }
    }
    let order = [
        (Holds::Alone, alone),
        (Holds::AlonePhase, gated.clone()),
        (Holds::Shared, shared),
    ]
    .into_iter()
    .filter(|(_, cases)| !cases.is_empty())
    .collect();
    (order, gated)
}

/// nextest settings that depend on the checkout: the start order as priorities (each
/// tier of `order` above the next), and every slot for a case that runs alone
/// throughout (`threads-required = "num-test-threads"`), so nextest starts nothing
/// beside it.
fn write_tool_config(
    order: &[(crate::plumbing::order::Holds, Vec<String>)],
    target: &Path,
) -> Result<PathBuf> {
    use crate::plumbing::order::Holds;
    let serial: Vec<&String> = order
        .iter()
        .filter(|(t, _)| *t == Holds::Alone)
        .flat_map(|(_, c)| c)
        .collect();
    let tiers: Vec<Vec<String>> = order.iter().map(|(_, c)| c.clone()).collect();
    let mut by_priority: BTreeMap<i32, Vec<&String>> = BTreeMap::new();
    let priorities = crate::plumbing::order::priorities(&tiers);
    for (case, p) in &priorities {
        by_priority.entry(*p).or_default().push(case);
    }
    // Both lists are non-empty here, so the filter names exactly their cases.
    let exact = crate::plumbing::filterset::exact_filterset;
    let mut toml = String::from("# Written by `cargo xtask test`; regenerated on every run.\n");
    if !serial.is_empty() {
        let _ = write!(
            toml,
            "\n[[profile.default.overrides]]\nfilter = {:?}\nthreads-required = \"num-test-threads\"\n",
            exact(&serial)
        );
    }
    for (priority, names) in by_priority.iter().rev() {
        let _ = write!(
            toml,
            "\n[[profile.default.overrides]]\nfilter = {:?}\npriority = {priority}\n",
            exact(names)
        );
    }
    write_keyed(
        &target.join("torch-harness/tool-configs"),
        "tool-config",
        "toml",
        toml.as_bytes(),
    )
}

/// A case's expected seconds from the times (else the policy), shared among its pieces.
fn expected_seconds(resolved: &Resolved, times: &FileTimes, case: &str) -> Option<f64> {
    let parsed = torch_harness::case::PythonCase::parse(case).ok()?;
    let module = parsed.module.as_str();
    let t = times
        .get(module)
        .or_else(|| resolved.policy.expected_seconds.get(module))
        .copied()?;
    Some(t / f64::from(parsed.piece.map_or(1, |p| p.count)))
}

/// Writes `bytes` to `<dir>/<stem>-<hash of bytes>.<ext>`: runs with different
/// selections at the same time never read each other's file.
fn write_keyed(dir: &Path, stem: &str, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
    let hash = torch_harness::util::hash::stable_hash(&String::from_utf8_lossy(bytes));
    let path = dir.join(format!("{stem}-{hash:016x}.{ext}"));
    torch_harness::util::fs::write_atomic(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, error::ErrorKind};

    /// Every flag that chooses the selection or the times, given beside `--plan FILE`.
    fn refused_beside_a_plan() -> Vec<Vec<String>> {
        let mut flags = Vec::new();
        let select = SelectArgs::augment_args(Command::new("select"));
        let inputs = PlanInputs::augment_args(Command::new("inputs"));
        for arg in select.get_arguments().chain(inputs.get_arguments()) {
            let Some(long) = arg.get_long() else { continue };
            let mut flag = vec![format!("--{long}")];
            if arg.get_action().takes_values() {
                flag.push("1".into());
            }
            flags.push(flag);
        }
        flags.push(vec!["--changed".into()]);
        flags.push(vec!["--enable-td".into()]);
        flags
    }

    #[test]
    fn test_refuses_zero_threads_before_anything_runs() {
        let command = TestArgs::augment_args(Command::new("test"));
        let err = command
            .try_get_matches_from(["test", "--threads", "0"])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{err}");
        assert!(err.to_string().contains("--threads"), "{err}");
    }

    #[test]
    fn distributed_cases_and_their_td_class_runs_hold_the_machine_alone() {
        use crate::plumbing::order::Holds;
        let serial = |m: &str| m == "test_nn";
        let marked = |m: &str| m == "test_large_alloc";
        let of = |case: &str| holds_by_name(case, false, serial, marked);
        // The class-run name is no Python case name (its `only=` part is not last).
        assert_eq!(
            of(
                "distributed::algorithms::quantization::test_quantization::only=DistQuantizationTests::gloo::init_env"
            ),
            Holds::Alone
        );
        assert_eq!(
            of("distributed::test_c10d_gloo::gloo::init_file"),
            Holds::Alone
        );
        assert_eq!(of("test_nn"), Holds::Alone);
        assert_eq!(of("test_large_alloc"), Holds::AlonePhase);
        assert_eq!(of("test_ops::shard_2_of_9"), Holds::Shared);
        assert_eq!(of("test_api::TensorTest"), Holds::Shared);
        assert_eq!(
            holds_by_name("test_ops", true, serial, marked),
            Holds::Alone
        );
    }

    #[test]
    fn as_many_serial_test_files_as_slots_are_gated_and_the_rest_run_alone() {
        use crate::plumbing::order::Holds;
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let order = || {
            vec![
                (Holds::Alone, names(&["s"])),
                (Holds::AlonePhase, names(&["m1", "m2", "m3"])),
                (Holds::Shared, names(&["p"])),
            ]
        };
        let (tiers, gated) = gate_serial_test_files(order(), Some(2), false);
        assert_eq!(gated, names(&["m1", "m2"]));
        assert_eq!(
            tiers,
            [
                (Holds::Alone, names(&["s", "m3"])),
                (Holds::AlonePhase, names(&["m1", "m2"])),
                (Holds::Shared, names(&["p"])),
            ]
        );
        // A user's filterset, or an unknown thread count: no gates, all run alone.
        for (threads, filtered) in [(Some(8), true), (None, false)] {
            let (tiers, gated) = gate_serial_test_files(order(), threads, filtered);
            assert!(gated.is_empty());
            assert_eq!(
                tiers,
                [
                    (Holds::Alone, names(&["s", "m1", "m2", "m3"])),
                    (Holds::Shared, names(&["p"])),
                ]
            );
        }
    }

    #[test]
    fn a_plan_file_refuses_every_flag_that_would_choose_another_selection() {
        let command = TestArgs::augment_args(Command::new("test"));
        let flags = refused_beside_a_plan();
        // The selection's own flags, PlanInputs' two, --changed and --enable-td.
        assert!(flags.len() >= 20, "{flags:?}");
        for flag in flags {
            let mut argv = vec!["test", "--plan", "plan.json", "--shard", "1/2"];
            argv.extend(flag.iter().map(String::as_str));
            let err = command
                .clone()
                .try_get_matches_from(&argv)
                .err()
                .unwrap_or_else(|| panic!("{flag:?} was accepted beside --plan"));
            assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{flag:?}: {err}");
            assert!(err.to_string().contains(&flag[0]), "{err}");
        }
        // A filterset after -- still narrows the shard.
        let argv = [
            "test",
            "--plan",
            "p.json",
            "--shard",
            "1/2",
            "--",
            "-E",
            "test(/nn/)",
        ];
        command.try_get_matches_from(argv).unwrap();
    }
}
