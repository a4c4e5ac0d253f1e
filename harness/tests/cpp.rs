//! C++ gtest binaries, with stand-in binaries (shell scripts that speak gtest's
//! command line) for every way a binary can end.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

/// A gtest stand-in: lists `Suite.` / `  test` lines, and on a run writes an XML
/// report, records what it saw, then does `$1`.
fn fake(behaviour: &str) -> String {
    format!(
        r#"#!/bin/sh
echo "$0 $*" >> "$CALLS"
case "$1" in
  --gtest_list_tests)
    echo "Running main() from gtest_main.cc"
    echo "Typed/0.  # TypeParam = int"
    echo "  Works"
    echo "Plain."
    echo "  One"
    echo "  Two"
    exit 0;;
esac
out="${{2#--gtest_output=xml:}}"
mkdir -p "$(dirname "$out")"
echo '<testsuites tests="1"><testsuite name="s"><testcase name="t" classname="s" time="0.001"/></testsuite></testsuites>' > "$out"
echo "filter=$1 shard=${{GTEST_SHARD_INDEX:-unset}}" >> "$SEEN"
{behaviour}
"#
    )
}

fn checkout() -> common::Checkout {
    let c = common::Checkout::new(&[
        ("build/bin/fake_ok", &fake("exit 0")),
        (
            "build/bin/fake_fail",
            &fake("echo '[  FAILED  ] Plain.One' >&2; exit 1"),
        ),
        ("build/bin/fake_segv", &fake("kill -SEGV $$")),
        ("build/bin/fake_abort", &fake("kill -ABRT $$")),
        (
            "build/bin/fake_badlist",
            "#!/bin/sh\necho 'cannot load libtorch.so' >&2\nexit 1\n",
        ),
        ("build/bin/not_an_elf", "\u{7f}ELF this is not a program"),
        // Not tests: PyTorch's list of build/bin executables to skip, and non-executables.
        ("build/bin/protoc", "#!/bin/sh\nexit 0\n"),
        ("build/bin/CMakeCache.txt", "x"),
        (
            "torch-harness.toml",
            "[cpp]\nexpected_binaries = [\"fake_ok\", \"not_built_yet\"]\n",
        ),
    ]);
    for bin in [
        "fake_ok",
        "fake_fail",
        "fake_segv",
        "fake_abort",
        "fake_badlist",
        "not_an_elf",
        "protoc",
    ] {
        let path = c.root().join("build/bin").join(bin);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    c
}

fn harness(root: &Path, target: &Path, args: &[&str]) -> Output {
    common::harness_command()
        .arg("cpp")
        .args(args)
        .env("PYTORCH_ROOT", root)
        .env("CARGO_TARGET_DIR", target)
        .env("TORCH_HARNESS_OUT", root.join("out"))
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("TORCH_HARNESS_DEVICES", "none")
        .env("NEXTEST", "1")
        .env("CALLS", root.join("calls"))
        .env("SEEN", root.join("seen"))
        // Inherited gtest sharding must never reach a case.
        .env("GTEST_SHARD_INDEX", "1")
        .env("GTEST_TOTAL_SHARDS", "4")
        .output()
        .unwrap()
}

fn calls(root: &Path) -> usize {
    std::fs::read_to_string(root.join("calls")).map_or(0, |t| t.lines().count())
}

#[test]
fn one_case_per_suite_and_placeholders_that_say_why() {
    let c = checkout();
    let target = tempfile::tempdir().unwrap();
    let list = harness(c.root(), target.path(), &["--list", "--format", "terse"]);
    assert!(list.status.success(), "{}", common::stderr(&list));
    let names: Vec<String> = common::stdout(&list)
        .lines()
        .map(|n| n.trim_end_matches(": test").to_string())
        .collect();
    for bin in ["fake_abort", "fake_fail", "fake_ok", "fake_segv"] {
        assert!(names.contains(&format!("{bin}::Typed/0")), "{names:?}");
        assert!(names.contains(&format!("{bin}::Plain")), "{names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("protoc") || n.starts_with("CMakeCache"))
    );
    let ignored = harness(
        c.root(),
        target.path(),
        &["--list", "--format", "terse", "--ignored"],
    );
    let ignored: Vec<String> = common::stdout(&ignored).lines().map(String::from).collect();
    assert!(
        ignored.contains(&"fake_badlist::LIST_FAILED: test".to_string()),
        "{ignored:?}"
    );
    assert!(
        ignored.contains(&"not_an_elf::LIST_FAILED: test".to_string()),
        "{ignored:?}"
    );
    assert!(
        ignored.contains(&"not_built_yet::NOT_BUILT: test".to_string()),
        "{ignored:?}"
    );
}

#[test]
fn a_placeholder_says_why_the_binary_cannot_list_or_is_missing() {
    let c = checkout();
    let target = tempfile::tempdir().unwrap();
    let listing_failed =
        "fake_badlist --gtest_list_tests failed (exited with code 1): cannot load libtorch.so";
    // Listing says why on stderr (nextest shows it only on failure; a person sees it).
    let list = harness(c.root(), target.path(), &["--list", "--format", "terse"]);
    let said = common::stderr(&list);
    assert!(
        said.contains("fake_badlist::LIST_FAILED is ignored: ") && said.contains(listing_failed),
        "{said}"
    );
    // Run, as nextest runs an ignored case: the failure carries the real reason.
    for (case, why) in [
        ("fake_badlist::LIST_FAILED", listing_failed),
        (
            "not_built_yet::NOT_BUILT",
            "not_built_yet does not exist: build it",
        ),
    ] {
        let run = harness(c.root(), target.path(), &[case, "--exact", "--ignored"]);
        assert!(!run.status.success());
        let err = common::stderr(&run);
        let error = err
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_else(|| panic!("no Error: line in {err}"));
        assert!(error.starts_with(&format!("Error: {case} ")), "{error}");
        assert!(error.contains(why), "{error}");
    }
}

#[test]
fn listings_are_cached_until_the_binary_changes() {
    let c = checkout();
    let target = tempfile::tempdir().unwrap();
    harness(c.root(), target.path(), &["--list", "--format", "terse"]);
    let first = calls(c.root());
    assert_eq!(first, 4, "each listable binary was asked once");
    harness(c.root(), target.path(), &["--list", "--format", "terse"]);
    assert_eq!(calls(c.root()), first, "a warm cache asks no binary");
    // A rebuilt binary is asked again.
    let ok = c.root().join("build/bin/fake_ok");
    let text = std::fs::read_to_string(&ok).unwrap();
    std::fs::write(&ok, format!("{text}\n# rebuilt\n")).unwrap();
    harness(c.root(), target.path(), &["--list", "--format", "terse"]);
    assert_eq!(calls(c.root()), first + 1);
    // --exact needs no listing at all.
    harness(c.root(), target.path(), &["fake_ok::Plain", "--exact"]);
    let last = std::fs::read_to_string(c.root().join("calls")).unwrap();
    assert!(
        last.lines()
            .last()
            .unwrap()
            .contains("--gtest_filter=Plain.*"),
        "{last}"
    );
}

#[test]
fn each_ending_gets_its_verdict() {
    let c = checkout();
    let target = tempfile::tempdir().unwrap();
    let run = |name: &str| harness(c.root(), target.path(), &[name, "--exact"]);
    let ok = run("fake_ok::Typed/0");
    assert!(ok.status.success(), "{}", common::stderr(&ok));
    let seen = std::fs::read_to_string(c.root().join("seen")).unwrap();
    assert!(
        seen.contains("filter=--gtest_filter=Typed/0.* shard=unset"),
        "{seen}"
    );
    let report = c
        .root()
        .join("out/fake_ok.Typed.0/attempt-1/test-reports/cpp/fake_ok/fake_ok-Typed.0.xml");
    assert!(report.is_file(), "{}", report.display());
    for (name, says) in [
        ("fake_fail::Plain", "exited with code 1"),
        ("fake_segv::Plain", "crashed with SIGSEGV"),
        ("fake_abort::Plain", "crashed with SIGABRT"),
        ("not_an_elf::Plain", "could not start"),
    ] {
        let out = run(name);
        assert!(!out.status.success(), "{name}");
        let err = common::stderr(&out);
        assert!(
            err.contains(&format!("Error: {name} {says}")),
            "{name}: {err}"
        );
    }
    let missing = run("not_built_yet::Suite");
    assert_eq!(missing.status.code(), Some(2));
    assert!(common::stderr(&missing).contains("does not exist"));
}
