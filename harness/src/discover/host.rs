//! The machine a case runs on, as run_test.py's get_selected_tests sees it: the
//! platform (its blocklists), the interpreter's version and the torch build (CUDA,
//! LAPACK, torch.distributed), and slow-gradcheck mode. Files it leaves out here are
//! listed as ignored, with the reason, by every entry point.

use crate::discover::platform::Platform;
use crate::discover::probe::{PythonEnv, TorchBuild};
use crate::policy::{Policy, PyVersion};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub platform: Platform,
    /// The interpreter probe's answer; None when the interpreter could not be probed,
    /// and then no interpreter or build rule applies (its cases fail to start anyway).
    pub env: Option<PythonEnv>,
    /// common_utils' TEST_WITH_SLOW_GRADCHECK: `PYTORCH_TEST_WITH_SLOW_GRADCHECK=1`.
    pub slow_gradcheck: bool,
}

impl Host {
    /// This machine with the settings' interpreter (probed once, cached).
    pub fn detect(settings: &crate::settings::Settings) -> Host {
        let env = crate::discover::probe::python_env(&settings.python, &settings.cache_dir()).ok();
        Host {
            platform: Platform::detect(),
            env,
            slow_gradcheck: std::env::var(crate::settings::var::SLOW_GRADCHECK)
                .is_ok_and(|v| v == "1"),
        }
    }

    /// A host that knows nothing of its interpreter: only the platform rules apply.
    pub fn on(platform: Platform) -> Host {
        Host {
            platform,
            env: None,
            slow_gradcheck: false,
        }
    }

    fn build(&self) -> Option<&TorchBuild> {
        self.env.as_ref()?.torch_build()
    }

    /// Whether torch.distributed is available. A checkout that names its backends
    /// (`distributed.available_backends`) has it; unknown without torch.
    fn distributed(&self, policy: &Policy) -> Option<bool> {
        if let Some(listed) = &policy.distributed.available_backends {
            return Some(!listed.is_empty());
        }
        self.env.as_ref()?.distributed_available()
    }

    /// Why `module` does not run here, if run_test.py would leave it out.
    pub fn blocked(&self, module: &str, policy: &Policy) -> Option<String> {
        // The order of get_selected_tests: the build and version excludes join
        // options.exclude, then the platform blocklists, then distributed, LAPACK and
        // slow gradcheck. Only the first reason is told.
        let prefix = |list: &[String]| {
            list.iter()
                .find(|p| module.starts_with(p.as_str()))
                .cloned()
        };
        let rules = &policy.torch_build;
        let build = self.build();
        if let Some(cuda) = build.and_then(|b| b.cuda.as_deref())
            && let Some(entry) = prefix(&rules.cuda_exclude)
        {
            return Some(format!(
                "left out on a CUDA build (CUDA {cuda}) by `{entry}`, as run_test.py does (test-manifests/build.toml)"
            ));
        }
        if let Some((major, minor)) = self.env.as_ref().and_then(PythonEnv::version_tuple) {
            let version = PyVersion(major, minor);
            for rule in policy
                .python_versions
                .iter()
                .filter(|r| r.applies_to(version))
            {
                if let Some(entry) = prefix(&rule.exclude) {
                    return Some(format!(
                        "left out on Python {major}.{minor} by `{entry}`, as run_test.py does (test-manifests/build.toml)"
                    ));
                }
            }
        }
        if let Some(reason) = self.platform_blocked(module, policy) {
            return Some(reason);
        }
        if self.distributed(policy) == Some(false)
            && let Some(entry) = prefix(&rules.no_distributed_exclude)
        {
            return Some(format!(
                "torch is built without distributed support (`{entry}`, test-manifests/build.toml)"
            ));
        }
        if build.is_some_and(|b| !b.lapack)
            && let Some(entry) = prefix(&rules.tests_requiring_lapack)
        {
            return Some(format!(
                "torch is built without LAPACK (`{entry}` in TESTS_REQUIRING_LAPACK, test-manifests/build.toml)"
            ));
        }
        if self.slow_gradcheck && rules.tests_not_using_gradcheck.iter().any(|m| m == module) {
            return Some(
                "does not use gradcheck, left out in slow-gradcheck mode (PYTORCH_TEST_WITH_SLOW_GRADCHECK=1; TESTS_NOT_USING_GRADCHECK in test-manifests/build.toml)"
                    .into(),
            );
        }
        None
    }

    /// The platform's blocklist, grown on Windows by the GPU's compute capability
    /// (get_selected_tests: `if SM89OrLater`, `if SM120OrLater`).
    fn platform_blocked(&self, module: &str, policy: &Policy) -> Option<String> {
        if let Some(reason) = self.platform.blocked(module, policy) {
            return Some(reason);
        }
        if self.platform != Platform::Windows {
            return None;
        }
        let capability = self.build().and_then(|b| b.capability)?;
        let windows = &policy.platforms.windows;
        let grown = [
            ((8, 9), &windows.sm89_blocklist, "SM89"),
            ((12, 0), &windows.sm120_blocklist, "SM120"),
        ];
        grown.into_iter().find_map(|(at_least, list, name)| {
            let entry = list.iter().find(|p| module.starts_with(p.as_str()))?;
            (capability >= at_least).then(|| {
                format!("blocklisted on Windows with an {name} or later GPU by `{entry}` (test-manifests/platforms.toml)")
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn policy() -> Policy {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        Policy::load(&manifests, Path::new("/nonexistent")).unwrap()
    }

    /// A Linux host whose probe answered `json`.
    fn host(json: &str) -> Host {
        Host {
            platform: Platform::Other,
            env: Some(serde_json::from_str(json).unwrap()),
            slow_gradcheck: false,
        }
    }

    const CPU_311: &str = r#"{"version": "3.11.9", "torch": {"cuda": null, "lapack": true},
        "distributed": {"available": true}}"#;

    fn runs(host: &Host, module: &str) -> bool {
        host.blocked(module, &policy()).is_none()
    }

    #[test]
    fn cpython_3_13_tests_run_on_python_3_13_only() {
        // run_test.py: `sys.version_info[:2] < (3, 13) or >= (3, 14)` excludes them.
        let file = "dynamo/cpython/3_13/test_list";
        for (version, expected) in [
            ("3.11.9", false),
            ("3.12.0", false),
            ("3.13.2", true),
            ("3.14.0", false),
        ] {
            let host = host(&format!(r#"{{"version": "{version}"}}"#));
            assert_eq!(runs(&host, file), expected, "Python {version}");
        }
        assert!(runs(&host(CPU_311), "dynamo/test_misc"));
    }

    #[test]
    fn five_files_are_left_out_from_python_3_12() {
        let files = [
            "functorch/test_dims",
            "functorch/test_rearrange",
            "functorch/test_parsing",
            "functorch/test_memory_efficient_fusion",
            "torch_np/numpy_tests/core/test_multiarray",
        ];
        for file in files {
            assert!(runs(&host(CPU_311), file), "{file} on 3.11");
            let on_312 = host(r#"{"version": "3.12.1"}"#).blocked(file, &policy());
            assert!(
                on_312.as_deref().is_some_and(|r| r.contains("Python 3.12")),
                "{on_312:?}"
            );
            assert!(
                !runs(&host(r#"{"version": "3.13.0"}"#), file),
                "{file} on 3.13"
            );
        }
        assert!(runs(
            &host(r#"{"version": "3.12.1"}"#),
            "functorch/test_vmap"
        ));
    }

    #[test]
    fn a_cuda_build_leaves_out_test_constraints() {
        let cuda = host(r#"{"version": "3.11.9", "torch": {"cuda": "12.6", "lapack": true}}"#);
        let reason = cuda
            .blocked("distributions/test_constraints", &policy())
            .unwrap();
        assert!(reason.contains("CUDA 12.6"), "{reason}");
        assert!(runs(&cuda, "distributions/test_distributions"));
        assert!(runs(&host(CPU_311), "distributions/test_constraints"));
    }

    #[test]
    fn without_lapack_the_lapack_tests_are_left_out() {
        let no_lapack = host(r#"{"version": "3.11.9", "torch": {"lapack": false}}"#);
        assert!(!runs(&no_lapack, "distributions/test_constraints"));
        assert!(!runs(&no_lapack, "distributions/test_distributions"));
        assert!(runs(&no_lapack, "test_linalg"));
        assert!(runs(&host(CPU_311), "distributions/test_distributions"));
    }

    #[test]
    fn without_distributed_every_distributed_file_is_left_out() {
        let no_dist = host(
            r#"{"version": "3.11.9", "torch": {"lapack": true}, "distributed": {"available": false}}"#,
        );
        for file in ["distributed/test_store", "distributed/fsdp/test_fsdp_core"] {
            let reason = no_dist.blocked(file, &policy()).unwrap();
            assert!(reason.contains("without distributed"), "{reason}");
            assert!(runs(&host(CPU_311), file));
        }
        assert!(runs(&no_dist, "test_nn"));
        // A checkout that names its backends has distributed whatever torch says.
        let mut policy = policy();
        policy.distributed.available_backends = Some(vec!["gloo".into()]);
        assert!(no_dist.blocked("distributed/test_store", &policy).is_none());
    }

    #[test]
    fn slow_gradcheck_mode_leaves_out_exactly_the_listed_files() {
        let mut slow = host(CPU_311);
        slow.slow_gradcheck = true;
        assert!(!runs(&slow, "test_ops"));
        assert!(!runs(&slow, "inductor/test_max_autotune"));
        // exact_match=True: a longer name with the same start still runs.
        assert!(runs(&slow, "test_ops_gradients"));
        assert!(runs(&host(CPU_311), "test_ops"));
    }

    #[test]
    fn nothing_known_of_the_interpreter_means_only_platform_rules() {
        let unknown = Host::on(Platform::Other);
        for file in [
            "dynamo/cpython/3_13/test_list",
            "functorch/test_dims",
            "distributions/test_constraints",
            "distributed/test_store",
        ] {
            assert!(runs(&unknown, file), "{file}");
        }
        // Python without torch: the version rules apply, the build rules do not.
        let no_torch = host(r#"{"version": "3.12.3"}"#);
        assert!(!runs(&no_torch, "functorch/test_dims"));
        assert!(runs(&no_torch, "distributions/test_distributions"));
        assert!(runs(&no_torch, "distributed/test_store"));
    }

    #[test]
    fn windows_grows_its_blocklist_on_newer_gpus() {
        let on = |capability: Option<(u32, u32)>| Host {
            platform: Platform::Windows,
            env: Some(PythonEnv {
                version: "3.12.0".into(),
                torch: Some(TorchBuild {
                    cuda: Some("12.8".into()),
                    lapack: true,
                    capability,
                    error: None,
                }),
                ..Default::default()
            }),
            slow_gradcheck: false,
        };
        let policy = policy();
        assert!(on(None).blocked("test_nn", &policy).is_none());
        assert!(on(Some((8, 6))).blocked("test_nn", &policy).is_none());
        let sm89 = on(Some((8, 9))).blocked("test_nn", &policy).unwrap();
        assert!(sm89.contains("SM89"), "{sm89}");
        assert!(on(Some((9, 0))).blocked("cpp/test_api", &policy).is_none());
        assert!(on(Some((12, 0))).blocked("cpp/test_api", &policy).is_some());
        // The three entries run_test.py's missing commas join into one string still run.
        assert!(
            on(None)
                .blocked("distributed/_shard/checkpoint/test_checkpoint", &policy)
                .is_none()
        );
        assert!(
            on(None)
                .blocked("distributed/fsdp/test_fsdp_core", &policy)
                .is_some()
        );
    }
}
