//! run_test.py's remaining run modes on a checkout written here: coverage of every
//! case combined into one report, and one case at a time under the CUDA memory-leak
//! check.

mod common;

use common::{Checkout, demo_python};
use std::path::Path;
use std::process::Output;

fn harness(root: &Path, out: &Path, target: &Path, case: &str, vars: &[(&str, &str)]) -> Output {
    common::harness_command()
        .args(["python", case, "--exact", "--nocapture"])
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", demo_python())
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                root.join("python").display(),
                common::workspace().join("demo/python").display()
            ),
        )
        .env("TORCH_HARNESS_OUT", out)
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("TORCH_HARNESS_PYTEST", "0")
        // Locks and caches of these runs stay in the test's own folder.
        .env("CARGO_TARGET_DIR", target)
        .env("NEXTEST", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

/// A stand-in package named `torch`, since coverage measures `--source=torch`.
const FAKE_TORCH: &str = "\
def double(x):
    return 2 * x


def square(x):
    return x * x


def unused():
    return 0
";

fn unittest_file(call: &str) -> String {
    format!(
        "import torch\nfrom demo_testing import TestCase, run_tests\n\n\nclass T(TestCase):\n    def test_it(self):\n        {call}\n\n\nif __name__ == \"__main__\":\n    run_tests()\n"
    )
}

#[test]
fn coverage_measures_every_case_and_combines_them_into_one_report() {
    let a = unittest_file("self.assertEqual(torch.double(3), 6)");
    let b = unittest_file("self.assertEqual(torch.square(3), 9)");
    let root = Checkout::new(&[
        ("python/torch/__init__.py", FAKE_TORCH),
        ("test/test_cov_a.py", &a),
        ("test/test_cov_b.py", &b),
    ]);
    let out = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    for case in ["test_cov_a", "test_cov_b"] {
        let o = harness(
            root.root(),
            out.path(),
            target.path(),
            case,
            &[("PYTORCH_COLLECT_COVERAGE", "1")],
        );
        assert!(o.status.success(), "{case}: {}", common::stderr(&o));
        assert!(
            common::stderr(&o).contains("-m coverage run --parallel-mode --source=torch test_cov"),
            "{}",
            common::stderr(&o)
        );
    }
    let combined = torch_harness::launch::coverage::combine(out.path(), None).unwrap();
    assert_eq!(combined.parts, 2, "one data file per case");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&combined.json).unwrap()).unwrap();
    let files = json["files"].as_object().unwrap();
    let (_, torch) = files
        .iter()
        .find(|(path, _)| path.ends_with("torch/__init__.py"))
        .unwrap_or_else(|| panic!("torch/__init__.py not measured: {files:?}"));
    let lines = |key: &str| -> Vec<u64> {
        torch[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    // The defs run on import; each case ran one body; `unused` never ran.
    assert_eq!(lines("executed_lines"), [1, 2, 5, 6, 9]);
    assert_eq!(lines("missing_lines"), [10]);
    assert!(combined.total.starts_with("TOTAL"), "{}", combined.total);
    // Combining again (cargo xtask report after xtask test) keeps the same data.
    let again = torch_harness::launch::coverage::combine(out.path(), None).unwrap();
    assert_eq!(again.parts, 0);
    assert_eq!(again.total, combined.total);
}

#[test]
fn without_coverage_data_combining_says_so() {
    let out = tempfile::tempdir().unwrap();
    let err = torch_harness::launch::coverage::combine(out.path(), None).unwrap_err();
    assert!(
        err.to_string().contains("did the run use --coverage"),
        "{err}"
    );
}

#[test]
fn the_memory_leak_check_runs_one_case_at_a_time() {
    let record = "\
import os, time
from demo_testing import TestCase, run_tests


class T(TestCase):
    def test_it(self):
        start = time.time()
        time.sleep(0.4)
        with open(os.path.join(os.environ['E1_SPANS'], os.path.basename(__file__)), 'w') as f:
            f.write(f'{start} {time.time()}')


if __name__ == '__main__':
    run_tests()
";
    let root = Checkout::new(&[
        ("test/test_leak_a.py", record),
        ("test/test_leak_b.py", record),
        ("test/test_leak_c.py", record),
    ]);
    let out = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let spans = tempfile::tempdir().unwrap();
    let spans_dir = spans.path().to_str().unwrap();
    std::thread::scope(|s| {
        for case in ["test_leak_a", "test_leak_b", "test_leak_c"] {
            let (root, out, target) = (root.root(), out.path(), target.path());
            s.spawn(move || {
                let o = harness(
                    root,
                    out,
                    target,
                    case,
                    &[
                        ("PYTORCH_TEST_CUDA_MEM_LEAK_CHECK", "1"),
                        ("E1_SPANS", spans_dir),
                    ],
                );
                assert!(o.status.success(), "{case}: {}", common::stderr(&o));
            });
        }
    });
    let mut intervals: Vec<(f64, f64)> = std::fs::read_dir(spans.path())
        .unwrap()
        .map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let (a, b) = text.split_once(' ').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(intervals.len(), 3);
    intervals.sort_by(|x, y| x.0.total_cmp(&y.0));
    for pair in intervals.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two cases overlapped: {intervals:?}"
        );
    }
}
