//! `cargo xtask parity`: what run_test.py selects (a recorded oracle, see
//! `harness/tests/fixtures/README.md`) against what `cargo xtask test` selects, on the
//! same stub tree and the same interpreter and torch build, flag set by flag set.
//!
//! Each flag set runs in a child (`xtask parity-case`) with its own environment: the
//! selection reads TEST_CONFIG, the probe's stand-in (TORCH_HARNESS_PROBE) and the
//! checkout from the environment, as `cargo xtask test` does.

use crate::plumbing::selection::{SelectArgs, resolve};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use torch_harness::plan::td::TestRun;
use torch_harness::plan::times::FileTimes;

/// The oracle inside the checkout.
pub const FIXTURE: &str = "harness/tests/fixtures/parity-run-test-py.json";

/// run_test.py flags that change how tests run, not which: dropped before ours parses
/// the flag set.
const NOT_SELECTION: [&str; 5] = [
    "--dynamo",
    "--inductor",
    "-v",
    "--verbose",
    "--upload-artifacts-while-running",
];

/// Variables of the outer environment that would change a flag set's selection; every
/// child starts without them and gets the flag set's own.
const SCRUBBED: [&str; 15] = [
    "CI",
    "PR_NUMBER",
    "GITHUB_WORKFLOW",
    "GITHUB_REF",
    "NO_TD",
    "TEST_CONFIG",
    "BUILD_ENVIRONMENT",
    "JOB_NAME",
    "PYTHON",
    "PYTORCH_TEST_WITH_SLOW_GRADCHECK",
    "PYTORCH_TEST_CUDA_MEM_LEAK_CHECK",
    "PYTORCH_TEST_RUN_EVERYTHING_IN_SERIAL",
    "TORCH_HARNESS_MANIFESTS",
    "PYTORCH_TEST_WITH_ROCM",
    "CPP_TESTS_DIR",
];

#[derive(Args)]
pub struct ParityArgs {
    /// The oracle: a JSON file in the fixture's shape (default: the fixture).
    oracle: Option<PathBuf>,
    /// Print every mismatching module, not only the first few of each flag set.
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
pub struct CaseArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Cut the selection by the checkout's TD results, as run_test.py's --enable-td.
    #[arg(long)]
    enable_td: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Oracle {
    about: Vec<String>,
    /// Every module any flag set selects, sorted; the flag sets index into it.
    modules: Vec<String>,
    /// Modules that are not `test/<module>.py` in the tree (run_test.py's own names).
    not_files: Vec<String>,
    /// The tree's other files.
    more_files: Vec<String>,
    /// GoogleTest binaries of build/bin and their suites (none: not a test binary).
    cpp_binaries: BTreeMap<String, Vec<String>>,
    cases: Vec<Case>,
    td_results: serde_json::Value,
    td_cases: Vec<TdCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    args: Vec<String>,
    build: Build,
    env: BTreeMap<String, String>,
    /// Files of the tree that are absent while this flag set runs.
    #[serde(default)]
    without: Vec<String>,
    /// The flags ours gets instead of `args`: `[]` for `TEST_CONFIG=X cargo xtask test`
    /// against the flags CI's test.sh passes run_test.py for X.
    #[serde(default)]
    ours_args: Option<Vec<String>>,
    /// Index ranges into `modules`: `0-3,7`.
    selected: String,
    run_alone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TdCase {
    name: String,
    args: Vec<String>,
    build: Build,
    env: BTreeMap<String, String>,
    kept: Vec<String>,
    excluded_count: usize,
    /// Every excluded run, or (when there are many) only the class runs.
    excluded: Vec<String>,
    /// With many excluded runs: the whole files among them, as index ranges.
    excluded_whole_files: Option<String>,
}

/// The interpreter and torch build a flag set runs under.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Build {
    python: String,
    cuda: Option<String>,
    lapack: bool,
    distributed: bool,
    slow_gradcheck: bool,
}

/// What ours selects for one flag set (the child's answer).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Ours {
    modules: BTreeSet<String>,
    run_alone: BTreeSet<String>,
    td_kept: Vec<String>,
    td_excluded: Vec<String>,
}

/// One flag set's comparison.
#[derive(Debug)]
struct Row {
    name: String,
    theirs: usize,
    /// None when ours refused the flag set.
    ours: Option<usize>,
    missing: Vec<String>,
    extra: Vec<String>,
    /// Modules both select that one runs alone and the other does not.
    run_alone: Vec<String>,
    error: Option<String>,
}

/// `cargo xtask parity`.
pub fn run(args: ParityArgs) -> Result<ExitCode> {
    let root = crate::plumbing::workspace::root();
    let path = args.oracle.unwrap_or_else(|| root.join(FIXTURE));
    let oracle = load(&path)?;
    let rows = compare(&oracle)?;
    print!("{}", table(&oracle, &rows, args.all));
    Ok(ExitCode::SUCCESS)
}

fn load(path: &Path) -> Result<Oracle> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the oracle {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an oracle in the shape of {FIXTURE} (see harness/tests/fixtures/README.md)",
            path.display()
        )
    })
}

/// `0-3,7` over `modules`.
fn expand(ranges: &str, modules: &[String], what: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for part in ranges.split(',').filter(|p| !p.is_empty()) {
        let bad = || anyhow::anyhow!("{what}: `{part}` is not an index or a range a-b");
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        for i in a..=b {
            let m = modules.get(i).with_context(|| {
                format!("{what}: index {i} is past the {} modules", modules.len())
            })?;
            out.insert(m.clone());
        }
    }
    Ok(out)
}

/// The stub tree: an empty file for every module run_test.py knows as a file, and
/// the rest of the tree's files.
fn build_tree(oracle: &Oracle, root: &Path) -> Result<()> {
    let not_files: BTreeSet<&String> = oracle.not_files.iter().collect();
    let files = oracle
        .modules
        .iter()
        .filter(|m| !not_files.contains(m))
        .map(|m| format!("test/{m}.py"))
        .chain(oracle.more_files.iter().cloned());
    for file in files {
        if file.split('/').any(|p| p == ".." || p.is_empty()) {
            bail!("the oracle's tree names `{file}`, which is not a path inside the tree");
        }
        let path = root.join(&file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, "").with_context(|| format!("cannot write {}", path.display()))?;
    }
    for (binary, suites) in &oracle.cpp_binaries {
        if binary.contains('/') || !suites.iter().all(|s| torch_harness::case::is_class_name(s)) {
            bail!("the oracle's C++ binary `{binary}` or one of its suites is not a plain name");
        }
        let path = root.join("build/bin").join(binary);
        std::fs::create_dir_all(root.join("build/bin"))?;
        // A stand-in that answers --gtest_list_tests with its suites, one test each.
        let listing: String = suites
            .iter()
            .map(|s| format!("{s}.\\n  Works\\n"))
            .collect();
        let script = match listing.is_empty() {
            true => "#!/bin/sh\n".to_string(),
            false => format!("#!/bin/sh\nprintf '{listing}'\n"),
        };
        std::fs::write(&path, script)
            .with_context(|| format!("cannot write {}", path.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Runs `f` with `files` of the tree moved aside, and puts them back.
fn without<T>(tree: &Path, files: &[String], f: impl FnOnce() -> Result<T>) -> Result<T> {
    let aside = |file: &String| {
        let path = tree.join(file);
        let away = tree.join(format!("{file}.away"));
        (path, away)
    };
    for file in files {
        let (path, away) = aside(file);
        std::fs::rename(&path, &away).with_context(|| {
            format!("a flag set runs without `{file}`, which is not in the oracle's tree")
        })?;
    }
    let result = f();
    for file in files {
        let (path, away) = aside(file);
        std::fs::rename(&away, &path)?;
    }
    result
}

/// The probe's answer for `build` (TORCH_HARNESS_PROBE's shape).
fn probe(build: &Build) -> serde_json::Value {
    serde_json::json!({
        "pytest": true,
        "rerunfailures": true,
        "version": format!("{}.0", build.python),
        "paths": [],
        "distributed": {
            "available": build.distributed,
            "gloo": build.distributed,
            "nccl": false,
            "mpi": false,
            "ucc": false,
        },
        "torch": {"cuda": build.cuda, "lapack": build.lapack},
    })
}

/// Runs ours on one flag set in a child.
fn ours(
    tree: &Path,
    scratch: &Path,
    args: &[String],
    build: &Build,
    env: &BTreeMap<String, String>,
) -> Result<std::result::Result<Ours, String>> {
    let probe_file = scratch.join("probe.json");
    std::fs::write(&probe_file, serde_json::to_vec(&probe(build))?)?;
    let exe = std::env::current_exe().context("cannot find xtask's own binary")?;
    let mut cmd = Command::new(exe);
    cmd.arg("parity-case")
        .args(args.iter().filter(|a| !NOT_SELECTION.contains(&a.as_str())))
        .env("PYTORCH_ROOT", tree)
        .env("TORCH_HARNESS_PROBE", &probe_file);
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    if build.slow_gradcheck {
        cmd.env("PYTORCH_TEST_WITH_SLOW_GRADCHECK", "1");
    }
    cmd.envs(env);
    let out = cmd.output().context("cannot start `xtask parity-case`")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Ok(Err(line.trim().to_string()));
    }
    let answer = serde_json::from_slice(&out.stdout)
        .context("`xtask parity-case` printed something other than its answer")?;
    Ok(Ok(answer))
}

/// Every flag set of the oracle against ours, selection rows first, then TD's.
fn compare(oracle: &Oracle) -> Result<Vec<Row>> {
    let scratch = tempfile::tempdir()?;
    let tree = scratch.path().join("pytorch");
    build_tree(oracle, &tree)?;
    let mut rows = Vec::new();
    for case in &oracle.cases {
        let what = format!("flag set `{}`", case.name);
        let theirs = expand(&case.selected, &oracle.modules, &what)?;
        let alone = expand(&case.run_alone, &oracle.modules, &what)?;
        let mut row = Row {
            name: case.name.clone(),
            theirs: theirs.len(),
            ours: None,
            missing: Vec::new(),
            extra: Vec::new(),
            run_alone: Vec::new(),
            error: None,
        };
        let args = case.ours_args.as_ref().unwrap_or(&case.args);
        let answer = without(&tree, &case.without, || {
            ours(&tree, scratch.path(), args, &case.build, &case.env)
        })?;
        match answer {
            Err(e) => {
                row.missing = theirs.iter().cloned().collect();
                row.error = Some(e);
            }
            Ok(o) => {
                row.ours = Some(o.modules.len());
                row.missing = theirs.difference(&o.modules).cloned().collect();
                row.extra = o.modules.difference(&theirs).cloned().collect();
                row.run_alone = theirs
                    .intersection(&o.modules)
                    .filter(|m| alone.contains(*m) != o.run_alone.contains(*m))
                    .cloned()
                    .collect();
            }
        }
        rows.push(row);
    }
    let results = tree.join(torch_harness::plan::td::RESULTS_FILE);
    std::fs::create_dir_all(results.parent().context("TD results path")?)?;
    std::fs::write(&results, serde_json::to_vec(&oracle.td_results)?)?;
    for case in &oracle.td_cases {
        rows.extend(compare_td(oracle, case, &tree, scratch.path())?);
    }
    Ok(rows)
}

/// TD's kept runs (in order) and excluded runs, as two rows.
fn compare_td(oracle: &Oracle, case: &TdCase, tree: &Path, scratch: &Path) -> Result<Vec<Row>> {
    let what = format!("TD flag set `{}`", case.name);
    let mut excluded: BTreeSet<String> = case.excluded.iter().cloned().collect();
    if let Some(whole) = &case.excluded_whole_files {
        excluded.extend(expand(whole, &oracle.modules, &what)?);
    }
    if excluded.len() != case.excluded_count {
        bail!(
            "{what}: {} excluded runs listed, {} counted",
            excluded.len(),
            case.excluded_count
        );
    }
    let answer = ours(tree, scratch, &case.args, &case.build, &case.env)?;
    let row = |name: String, theirs: usize, ours: Option<usize>| Row {
        name,
        theirs,
        ours,
        missing: Vec::new(),
        extra: Vec::new(),
        run_alone: Vec::new(),
        error: None,
    };
    let mut kept = row(format!("{}: kept", case.name), case.kept.len(), None);
    let mut out = row(format!("{}: excluded", case.name), excluded.len(), None);
    match answer {
        Err(e) => {
            kept.missing = case.kept.clone();
            kept.error = Some(e.clone());
            out.missing = excluded.into_iter().collect();
            out.error = Some(e);
        }
        Ok(o) => {
            kept.ours = Some(o.td_kept.len());
            let theirs: BTreeSet<&String> = case.kept.iter().collect();
            let mine: BTreeSet<&String> = o.td_kept.iter().collect();
            kept.missing = theirs.difference(&mine).map(|s| s.to_string()).collect();
            kept.extra = mine.difference(&theirs).map(|s| s.to_string()).collect();
            // In order: the first place the two orders part (on the runs both keep).
            let a: Vec<&String> = case.kept.iter().filter(|r| mine.contains(r)).collect();
            let b: Vec<&String> = o.td_kept.iter().filter(|r| theirs.contains(r)).collect();
            if let Some(i) = a.iter().zip(&b).position(|(x, y)| x != y) {
                kept.error = Some(format!(
                    "order differs at kept run {}: run_test.py `{}`, ours `{}`",
                    i + 1,
                    a[i],
                    b[i]
                ));
            }
            out.ours = Some(o.td_excluded.len());
            let mine: BTreeSet<String> = o.td_excluded.into_iter().collect();
            out.missing = excluded.difference(&mine).cloned().collect();
            out.extra = mine.difference(&excluded).cloned().collect();
        }
    }
    Ok(vec![kept, out])
}

fn table(oracle: &Oracle, rows: &[Row], all: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if let Some(first) = oracle.about.first() {
        let _ = writeln!(s, "{first}\n");
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(
        s,
        "{:width$}  {:>11}  {:>5}  {:>7}  {:>5}  {:>9}",
        "flag set", "run_test.py", "ours", "missing", "extra", "run-alone"
    );
    for r in rows {
        let ours = r.ours.map_or("error".to_string(), |n| n.to_string());
        let _ = writeln!(
            s,
            "{:width$}  {:>11}  {:>5}  {:>7}  {:>5}  {:>9}",
            r.name,
            r.theirs,
            ours,
            r.missing.len(),
            r.extra.len(),
            r.run_alone.len()
        );
    }
    // With --all, one line per item (`flag set: what: item`), for scripts and the
    // parity test; else the first few of each.
    let mut details = String::new();
    for r in rows {
        if let Some(e) = &r.error {
            let _ = writeln!(details, "  {}: note: {e}", r.name);
        }
        for (what, items) in [
            ("missing", &r.missing),
            ("extra", &r.extra),
            ("run-alone differs", &r.run_alone),
        ] {
            if all {
                for item in items {
                    let _ = writeln!(details, "  {}: {what}: {item}", r.name);
                }
            } else if !items.is_empty() {
                let more = match items.len() {
                    n if n > 6 => format!("; … ({n} in all)"),
                    _ => String::new(),
                };
                let first: Vec<&str> = items.iter().take(6).map(String::as_str).collect();
                let _ = writeln!(details, "  {}: {what}: {}{more}", r.name, first.join("; "));
            }
        }
    }
    if !details.is_empty() {
        let _ = writeln!(s, "\nMismatches:\n{details}");
    }
    s
}

/// `xtask parity-case` (hidden): what `cargo xtask test` selects here, as JSON.
pub fn case(args: CaseArgs) -> Result<ExitCode> {
    let mut resolved = resolve(&args.select, None)?;
    let use_td = crate::plumbing::order::TdUse {
        cut: args.enable_td,
        exclusions: false,
    };
    let td = crate::plumbing::order::apply_td(&mut resolved, use_td)?;
    let mut answer = Ours::default();
    // Under the CUDA memory-leak check every case holds one machine-wide lock (and xtask
    // runs one thread): all of them run alone, as under run_test.py's NUM_PROCS 1.
    let one_at_a_time = torch_harness::mode::RunMode::mem_leak_on(&resolved.config);
    for file in resolved.plan_files(&FileTimes::default()) {
        let module = file.module.as_str().to_string();
        if file.serial || one_at_a_time {
            answer.run_alone.insert(module.clone());
        }
        answer.modules.insert(module);
    }
    // C++ suites are planned as `cpp/<binary>`, run_test.py's names for them.
    if let Some(td) = td.filter(|t| t.enabled) {
        answer.td_kept = td.included.iter().map(run_name).collect();
        answer.td_excluded = td.excluded.iter().map(run_name).collect();
    }
    println!("{}", serde_json::to_string(&answer)?);
    Ok(ExitCode::SUCCESS)
}

/// A TestRun as run_test.py prints it: `file`, `file, A or B`, `file, not (A)`.
fn run_name(run: &TestRun) -> String {
    match &run.classes {
        None => run.file.clone(),
        Some(c) => format!("{}, {}", run.file, c.pytest_k()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_over_the_module_list() {
        let modules: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let got = expand("0-1,3", &modules, "t").unwrap();
        assert_eq!(got, ["a", "b", "d"].map(String::from).into());
        assert!(expand("2-9", &modules, "t").is_err());
        assert!(expand("x", &modules, "t").is_err());
        assert!(expand("", &modules, "t").unwrap().is_empty());
    }
}
