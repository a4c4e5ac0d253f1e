//! Selection parity with run_test.py: for every flag set recorded in
//! harness/tests/fixtures/parity-run-test-py.json (run_test.py's own `--dry-run -v` on a
//! stub tree, under stubbed interpreters and torch builds), `cargo xtask parity` builds
//! the same tree and compares what ours selects, which of it runs alone, and TD's kept
//! and excluded runs. Only the deliberate divergences below may differ.

mod common;

use common::clean;
use std::collections::BTreeSet;
use std::process::Command;

/// Where ours differs from run_test.py on purpose (docs/selection.md, "Deliberate divergences
/// from run_test.py"):
/// what differs, the module or TD run, the flag sets it shows in (empty: any), why.
struct Divergence {
    what: &'static str,
    item: &'static str,
    flag_sets: &'static [&'static str],
    why: &'static str,
}

/// The flag sets with no run_test.py selection flag and no TEST_CONFIG.
const BARE: &[&str] = &[
    "no flags",
    "no flags, no distributed build",
    "no flags, python 3.13 cuda",
];

const DIVERGENCES: &[Divergence] = &[
    Divergence {
        what: "missing",
        item: "test_metal",
        flag_sets: &["--mps, a checkout without test_metal.py"],
        why: "--mps selects only the files of its fixed list that the checkout has",
    },
    Divergence {
        what: "missing",
        item: "test_openreg",
        flag_sets: &["--openreg, a checkout without torch_openreg's setup.py"],
        why: "--openreg selects test_openreg only where the checkout has torch_openreg to build",
    },
    Divergence {
        what: "extra",
        item: "cpp/c10_util_test",
        flag_sets: BARE,
        why: "bare `cargo xtask test` runs the C++ suites too; run_test.py only with --cpp",
    },
    Divergence {
        what: "extra",
        item: "cpp/test_api",
        flag_sets: BARE,
        why: "the same",
    },
    Divergence {
        what: "extra",
        item: "cpp/test_jit",
        flag_sets: BARE,
        why: "the same",
    },
];

impl Divergence {
    fn allows(&self, m: &Mismatch) -> bool {
        m.what == self.what
            && m.item == self.item
            && (self.flag_sets.is_empty() || self.flag_sets.contains(&m.flag_set.as_str()))
    }
}

/// One line of `parity --all`'s mismatch list: flag set, what differs, the item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Mismatch {
    flag_set: String,
    what: String,
    item: String,
}

fn parity(args: &[&str]) -> String {
    let out = clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .arg("parity")
        .arg("--all")
        .args(args)
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "xtask parity failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The mismatch list of `parity --all`: `  <flag set>: <what>: <item>` after the
/// `Mismatches:` line.
fn mismatches(table: &str) -> Vec<Mismatch> {
    let Some((_, list)) = table.split_once("\nMismatches:\n") else {
        return Vec::new();
    };
    list.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let kinds = [
                ": missing: ",
                ": extra: ",
                ": run-alone differs: ",
                ": note: ",
            ];
            let (at, kind) = kinds
                .iter()
                .filter_map(|k| line.find(k).map(|i| (i, *k)))
                .min()
                .unwrap_or_else(|| panic!("unreadable mismatch line `{line}`"));
            Mismatch {
                flag_set: line[..at].trim().to_string(),
                what: kind.trim_matches([':', ' ']).to_string(),
                item: line[at + kind.len()..].to_string(),
            }
        })
        .collect()
}

#[test]
fn every_flag_set_selects_what_run_test_py_selects_apart_from_the_listed_divergences() {
    let table = parity(&[]);
    let found = mismatches(&table);
    let unlisted: Vec<&Mismatch> = found
        .iter()
        .filter(|m| !DIVERGENCES.iter().any(|d| d.allows(m)))
        .collect();
    let rows = table.split("\nMismatches:\n").next().unwrap_or_default();
    assert!(
        unlisted.is_empty(),
        "{} mismatches with run_test.py that are not deliberate divergences (the first 40; \
         `cargo xtask parity --all` lists them all):\n{}\n\n{rows}",
        unlisted.len(),
        unlisted
            .iter()
            .take(40)
            .map(|m| format!("  {}: {}: {}", m.flag_set, m.what, m.item))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The list holds nothing stale: each divergence still shows.
    for d in DIVERGENCES {
        assert!(
            found.iter().any(|m| d.allows(m)),
            "the divergence `{} {}` ({}) no longer shows; drop it here and in docs/selection.md",
            d.what,
            d.item,
            d.why
        );
    }
    // Every flag set was compared: one row each, TD's as two.
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::workspace().join(FIXTURE)).expect("the fixture"),
    )
    .expect("the fixture is JSON");
    let count = |key: &str| fixture[key].as_array().map_or(0, Vec::len);
    let rows = table
        .lines()
        .skip_while(|l| !l.starts_with("flag set"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .count();
    assert_eq!(rows, count("cases") + 2 * count("td_cases"), "{table}");
    assert!(count("cases") >= 40 && count("td_cases") >= 2, "{table}");
}

const FIXTURE: &str = "harness/tests/fixtures/parity-run-test-py.json";

#[test]
fn a_changed_oracle_shows_as_missing_extra_and_run_alone_rows() {
    // The fixture with one flag set doctored: `--core` now "selects" the first module
    // of the list instead of CORE_TEST_LIST, and runs test_nn in parallel.
    let text = std::fs::read_to_string(common::workspace().join(FIXTURE)).expect("fixture");
    let mut oracle: serde_json::Value = serde_json::from_str(&text).expect("json");
    let modules: Vec<String> = oracle["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| m.as_str().expect("name").to_string())
        .collect();
    let at = |m: &str| modules.iter().position(|x| x == m).expect(m);
    let core = oracle["cases"]
        .as_array_mut()
        .expect("cases")
        .iter_mut()
        .find(|c| c["name"] == "--core")
        .expect("the --core flag set");
    core["selected"] = format!("0,{},{}", at("test_nn"), at("test_ops")).into();
    core["run_alone"] = "".into();
    oracle["cases"] = serde_json::Value::Array(vec![core.clone()]);
    oracle["td_cases"] = serde_json::Value::Array(Vec::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("oracle.json");
    std::fs::write(&path, oracle.to_string()).expect("write");

    let table = parity(&[path.to_str().expect("utf-8 path")]);
    let found: BTreeSet<(String, String)> = mismatches(&table)
        .into_iter()
        .map(|m| (m.what, m.item))
        .collect();
    let expect = |what: &str, item: &str| {
        assert!(
            found.contains(&(what.to_string(), item.to_string())),
            "`{what}: {item}` not reported:\n{table}"
        );
    };
    expect("missing", &modules[0]);
    for m in [
        "test_autograd",
        "test_modules",
        "test_torch",
        "test_ops_gradients",
    ] {
        expect("extra", m);
    }
    // test_nn runs alone in ours (CI_SERIAL_LIST); the doctored oracle says it does not.
    expect("run-alone differs", "test_nn");
    assert!(!found.contains(&("run-alone differs".into(), "test_ops".into())));
    let row = table
        .lines()
        .find(|l| l.starts_with("--core "))
        .expect("the --core row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..], ["3", "9", "1", "7", "1"], "{table}");
}
