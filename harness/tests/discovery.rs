//! Discovery by PyTorch's rules, against fixture trees and the demo.

mod common;

use common::{Checkout, manifests};
use std::path::Path;
use torch_harness::case::PythonCase;
use torch_harness::discover::host::Host;
use torch_harness::discover::platform::Platform;
use torch_harness::discover::python::{discover, lookup};
use torch_harness::handlers::SetUp;
use torch_harness::policy::Policy;

const T: &str = "class T: pass\n";

/// This platform, with nothing known of an interpreter: the discovery rules alone.
fn here() -> Host {
    Host::on(Platform::detect())
}

fn names(root: &Path) -> Vec<(String, bool)> {
    let policy = Policy::load(&manifests(), root).unwrap();
    discover(root, &policy, &here())
        .unwrap()
        .into_iter()
        .map(|d| (d.case.name(), d.ignored.is_some()))
        .collect()
}

#[test]
fn rules_of_discover_tests_apply() {
    let checkout = Checkout::new(&[
        ("test/test_nn.py", T),
        ("test/nn/test_pooling.py", T),
        ("test/distributed/fsdp/test_fsdp_core.py", T),
        // Not test_*.py, or in a blocklisted folder, or a blocklisted name.
        ("test/helper.py", T),
        ("test/test_nn.txt", T),
        ("test/jit/test_script.py", T),
        ("test/fx/test_graph.py", T),
        ("test/test_jit_fuser.py", T),
        ("test/distributed/test_c10d_spawn.py", T),
        // A prefix pattern only drops names that start with it.
        ("test/test_fx.py", T),
        // Hidden folders are not searched.
        ("test/.cache/test_hidden.py", T),
        // An extra test without the test_ prefix that exists, and one that does not.
        ("test/distributed/elastic/timer/api_test.py", T),
        // A file run per backend belongs to the distributed binary, not this one.
        ("test/distributed/test_distributed_spawn.py", T),
    ]);
    assert_eq!(
        names(checkout.root()),
        [
            ("distributed::elastic::timer::api_test".to_string(), false),
            ("distributed::fsdp::test_fsdp_core".to_string(), false),
            ("nn::test_pooling".to_string(), false),
            ("test_fx".to_string(), false),
            ("test_nn".to_string(), false),
        ]
    );
}

#[test]
fn symlinked_folders_are_followed() {
    let checkout = Checkout::new(&[("test/test_a.py", T), ("elsewhere/test_linked.py", T)]);
    std::os::unix::fs::symlink(
        checkout.root().join("elsewhere"),
        checkout.root().join("test/domain"),
    )
    .unwrap();
    let found: Vec<String> = names(checkout.root()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, ["domain::test_linked", "test_a"]);
}

#[test]
fn handler_cases_are_listed_only_in_pytorchs_own_tree_and_name_the_sources_they_lack() {
    let plain = Checkout::new(&[("test/test_a.py", T)]);
    assert_eq!(names(plain.root()), [("test_a".to_string(), false)]);
    let pytorch = Checkout::new(&[("test/test_a.py", T), ("torch/__init__.py", "")]);
    let policy = Policy::load(&manifests(), pytorch.root()).unwrap();
    let found = discover(pytorch.root(), &policy, &here()).unwrap();
    let reason = |case: &str| {
        found
            .iter()
            .find(|d| d.case.name() == case)
            .unwrap_or_else(|| panic!("{case} is not listed: {found:?}"))
            .ignored
            .clone()
    };
    // Doctests need nothing from the checkout; the builds need their sources.
    assert_eq!(reason("doctests"), None);
    for case in [
        "test_cpp_extensions_aot_ninja",
        "test_cpp_extensions_aot_no_ninja",
    ] {
        assert!(
            reason(case)
                .unwrap()
                .ends_with("test/test_cpp_extensions_aot.py is missing from the checkout"),
            "{case}"
        );
    }
    assert!(
        reason("test_autoload_enable")
            .unwrap()
            .contains("test_autoload.py is missing")
    );
    assert!(
        reason("test_openreg")
            .unwrap()
            .contains("torch_openreg has no setup.py")
    );
    // A checkout's overlay can ask for them without a torch/ folder.
    let overlay = Checkout::new(&[
        ("test/test_a.py", T),
        ("torch-harness.toml", "[discovery]\nhandler_cases = true\n"),
    ]);
    assert!(names(overlay.root()).contains(&("doctests".to_string(), false)));
}

#[test]
fn every_discovered_case_round_trips_through_its_name() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let fixture = Checkout::new(&[
        ("test/test_nn.py", T),
        ("test/a/b/c/test_deep.py", T),
        ("test/distributed/elastic/timer/api_test.py", T),
        ("torch/__init__.py", ""),
    ]);
    for root in [demo.as_path(), fixture.root()] {
        let policy = Policy::load(&manifests(), root).unwrap();
        let all = discover(root, &policy, &here()).unwrap();
        assert!(!all.is_empty());
        for found in all {
            let name = found.case.name();
            let parsed = PythonCase::parse(&name).unwrap();
            assert_eq!(parsed, found.case, "{name}");
            // The --exact path finds the same case, with the same ignored state,
            // without walking test/.
            assert_eq!(
                lookup(root, &policy, &parsed, &here()).unwrap(),
                found,
                "{name}"
            );
            // A set-up handler's case (doctests) may run without a file of its own.
            let handler = policy.handler(parsed.module.as_str());
            if found.ignored.is_none() && SetUp::of(parsed.module.as_str(), handler).is_none() {
                assert!(parsed.module.file(root).is_file(), "{name}");
            }
        }
    }
}

#[test]
fn the_aot_inductor_utils_file_runs_as_in_run_test_py() {
    // run_test.py blocklists `test/inductor/test_aot_inductor_utils`, a name that matches
    // nothing, so it runs the file; so does this harness.
    let checkout = Checkout::new(&[
        ("test/inductor/test_aot_inductor_utils.py", T),
        ("test/inductor/test_aoti_cross_compile_windows.py", T),
    ]);
    assert_eq!(
        names(checkout.root()),
        [("inductor::test_aot_inductor_utils".to_string(), false)]
    );
}

#[test]
fn the_demo_has_files_across_the_required_folders() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let found = names(&demo);
    assert!(found.len() >= 12, "{found:?}");
    for prefix in ["nn::", "inductor::", "distributed::"] {
        assert!(found.iter().any(|(n, _)| n.starts_with(prefix)), "{prefix}");
    }
    assert!(found.iter().all(|(_, ignored)| !ignored), "{found:?}");
}

#[test]
fn lookup_refuses_blocklisted_and_missing_files() {
    let checkout = Checkout::new(&[("test/jit/test_script.py", T)]);
    let policy = Policy::load(&manifests(), checkout.root()).unwrap();
    let blocked = lookup(
        checkout.root(),
        &policy,
        &PythonCase::parse("jit::test_script").unwrap(),
        &here(),
    )
    .unwrap_err()
    .to_string();
    assert!(blocked.contains("`jit`"), "{blocked}");
    let missing = lookup(
        checkout.root(),
        &policy,
        &PythonCase::parse("test_nothing").unwrap(),
        &here(),
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("test/test_nothing.py"), "{missing}");
}

#[test]
fn a_checkout_without_test_folder_is_a_clear_error() {
    let checkout = Checkout::new(&[("README", "")]);
    let policy = Policy::load(&manifests(), checkout.root()).unwrap();
    let err = discover(checkout.root(), &policy, &here())
        .unwrap_err()
        .to_string();
    assert!(err.contains("PYTORCH_ROOT"), "{err}");
}

#[test]
fn platform_blocklists_list_their_files_as_ignored() {
    let checkout = Checkout::new(&[
        ("test/test_nn.py", T),
        ("test/test_jit_legacy.py", T),
        ("test/distributed/test_store.py", T),
    ]);
    let policy = Policy::load(&manifests(), checkout.root()).unwrap();
    let on = |platform| -> Vec<(String, bool)> {
        discover(checkout.root(), &policy, &Host::on(platform))
            .unwrap()
            .into_iter()
            .map(|d| (d.case.name(), d.ignored.is_some()))
            .collect()
    };
    assert_eq!(
        on(Platform::Rocm),
        [
            ("distributed::test_store".to_string(), false),
            ("test_jit_legacy".to_string(), true),
            ("test_nn".to_string(), false),
        ]
    );
    // s390x drops every distributed file, test_nn, and (by prefix) test_jit*.
    assert_eq!(
        on(Platform::S390x),
        [
            ("distributed::test_store".to_string(), true),
            ("test_jit_legacy".to_string(), true),
            ("test_nn".to_string(), true),
        ]
    );
    assert!(on(Platform::Other).iter().all(|(_, ignored)| !ignored));
}
