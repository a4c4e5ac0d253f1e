//! PyTorch CI's test configs (`TEST_CONFIG`: default, distributed, slow, dynamo_wrapped,
//! inductor, crossref, …) and build environments: which files a config runs, what the
//! test processes see, and how the config changes scheduling (research §2.8, §10).

use crate::plan::select::Selection;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestConfig {
    /// `TEST_CONFIG`; empty when unset.
    pub name: String,
    /// `BUILD_ENVIRONMENT`; empty when unset.
    pub build_environment: String,
}

/// The modules CI's `inductor` config runs (test.sh's `test_inductor_shard`: two
/// run_test.py calls); only the non-inductor ones run under
/// `PYTORCH_TEST_WITH_INDUCTOR=1`.
const INDUCTOR_CONFIG_TESTS: [&str; 8] = [
    "test_modules",
    "test_ops",
    "test_ops_gradients",
    "test_torch",
    "inductor/test_torchinductor",
    "inductor/test_torchinductor_opinfo",
    "inductor/test_aot_inductor",
    "inductor/test_cpu_select_algorithm",
];

/// What test.sh's `test_inductor_core` leaves out of `--include-inductor-core-tests`.
const INDUCTOR_CORE_EXCLUDES: [&str; 14] = [
    "inductor/test_benchmark_fusion",
    "inductor/test_cutlass_backend",
    "inductor/test_flex_attention",
    "inductor/test_max_autotune",
    "inductor/test_aot_inductor_arrayref",
    "inductor/test_compiled_autograd",
    "inductor/test_compile_subprocess",
    "inductor/test_cpu_cpp_wrapper",
    "inductor/test_cpu_repro",
    "inductor/test_cpu_select_algorithm",
    "inductor/test_torchinductor_dynamic_shapes",
    "inductor/test_torchinductor",
    "inductor/test_mkldnn_pattern_matcher",
    "inductor/test_torchinductor_codegen_dynamic_shapes",
];

impl TestConfig {
    pub fn from_env() -> TestConfig {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        TestConfig {
            name: var("TEST_CONFIG"),
            build_environment: var("BUILD_ENVIRONMENT"),
        }
    }

    /// run_test.py's IS_SLOW: longer timeouts.
    pub fn is_slow(&self) -> bool {
        self.name.contains("slow") || self.build_environment.contains("slow")
    }

    /// The `distributed` config runs every file alone (run_test.py's must_serial).
    pub fn everything_serial(&self) -> bool {
        self.name.contains("distributed")
            || std::env::var("PYTORCH_TEST_RUN_EVERYTHING_IN_SERIAL").is_ok_and(|v| v == "1")
    }

    /// The selection `.ci/pytorch/test.sh` passes to run_test.py for this config, or
    /// None when no config is set (then every file runs).
    pub fn selection(&self, existing: impl Fn(&str) -> bool) -> Option<Selection> {
        // test.sh's test_python_shard / test_python (default, slow and the rest).
        let ci_default = Selection {
            exclude_jit_executor: true,
            exclude_distributed_tests: true,
            exclude_quantization_tests: true,
            ..Selection::default()
        };
        Some(match self.name.as_str() {
            "" => return None,
            "distributed" => Selection {
                distributed_tests: true,
                ..Selection::default()
            },
            "dynamo_wrapped" => Selection {
                exclude_inductor_tests: true,
                exclude_torch_export_tests: true,
                exclude_aot_dispatch_tests: true,
                ..ci_default
            },
            // test_python_legacy_jit: `--include test_jit_legacy test_jit_fuser_legacy`.
            // A checkout without them gets --include's error naming the missing file.
            "jit_legacy" => Selection {
                include: vec!["test_jit_legacy".into(), "test_jit_fuser_legacy".into()],
                ..Selection::default()
            },
            "inductor" => Selection {
                include: INDUCTOR_CONFIG_TESTS
                    .iter()
                    .filter(|m| existing(m))
                    .map(|m| m.to_string())
                    .collect(),
                ..Selection::default()
            },
            // test.sh's configs that call run_test.py with one flag of their own.
            "inductor_core" => Selection {
                include_inductor_core_tests: true,
                exclude: INDUCTOR_CORE_EXCLUDES
                    .iter()
                    .map(|m| m.to_string())
                    .collect(),
                ..Selection::default()
            },
            "dynamo_core" => Selection {
                include_dynamo_core_tests: true,
                ..Selection::default()
            },
            "dynamo_cpython" => Selection {
                include_cpython_tests: true,
                ..Selection::default()
            },
            "einops" => Selection {
                einops: true,
                ..Selection::default()
            },
            "openreg" => Selection {
                openreg: true,
                ..Selection::default()
            },
            _ => ci_default,
        })
    }

    /// Variables the config sets for the test process of `module`.
    pub fn child_env(&self, module: &str) -> Vec<(&'static str, &'static str)> {
        let mut env = Vec::new();
        let build = self.build_environment.as_str();
        if self.name == "slow" {
            env.extend([
                ("PYTORCH_TEST_WITH_SLOW", "1"),
                ("PYTORCH_TEST_SKIP_FAST", "1"),
            ]);
        }
        // test.sh passes --dynamo for both.
        if self.name == "dynamo_wrapped" || self.name == "dynamo_cpython" {
            env.push(("PYTORCH_TEST_WITH_DYNAMO", "1"));
        }
        if self.name == "inductor" && !module.starts_with("inductor") {
            env.push(("PYTORCH_TEST_WITH_INDUCTOR", "1"));
        }
        if self.name.contains("crossref") || build.contains("crossref") {
            env.push(("PYTORCH_TEST_WITH_CROSSREF", "1"));
        }
        if build.contains("slow-gradcheck") {
            env.extend([
                ("PYTORCH_TEST_WITH_SLOW_GRADCHECK", "1"),
                ("PYTORCH_TEST_CUDA_MEM_LEAK_CHECK", "1"),
            ]);
        }
        if build.contains("asan") {
            env.extend([
                ("PYTORCH_TEST_WITH_ASAN", "1"),
                ("PYTORCH_TEST_WITH_UBSAN", "1"),
            ]);
        }
        match self.name.as_str() {
            "nogpu_NO_AVX2" => env.push(("ATEN_CPU_CAPABILITY", "default")),
            "nogpu_AVX512" => env.push(("ATEN_CPU_CAPABILITY", "avx2")),
            _ => {}
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, build: &str) -> TestConfig {
        TestConfig {
            name: name.into(),
            build_environment: build.into(),
        }
    }

    #[test]
    fn configs_set_what_test_sh_sets() {
        assert_eq!(
            config("slow", "linux-jammy").child_env("test_nn"),
            [
                ("PYTORCH_TEST_WITH_SLOW", "1"),
                ("PYTORCH_TEST_SKIP_FAST", "1")
            ]
        );
        assert!(config("slow", "").is_slow());
        assert!(config("default", "linux-jammy-py3-slow-gradcheck").is_slow());
        assert_eq!(
            config("dynamo_wrapped", "").child_env("test_nn"),
            [("PYTORCH_TEST_WITH_DYNAMO", "1")]
        );
        let inductor = config("inductor", "");
        assert_eq!(
            inductor.child_env("test_ops"),
            [("PYTORCH_TEST_WITH_INDUCTOR", "1")]
        );
        assert!(inductor.child_env("inductor/test_torchinductor").is_empty());
        assert_eq!(
            config("crossref", "").child_env("test_nn"),
            [("PYTORCH_TEST_WITH_CROSSREF", "1")]
        );
        assert!(config("distributed", "").everything_serial());
        assert!(!config("default", "").everything_serial());
    }

    #[test]
    fn configs_select_what_test_sh_selects() {
        assert_eq!(config("", "").selection(|_| true), None);
        let default = config("default", "").selection(|_| true).unwrap();
        assert!(default.exclude_distributed_tests && default.exclude_jit_executor);
        assert!(
            config("distributed", "")
                .selection(|_| true)
                .unwrap()
                .distributed_tests
        );
        let inductor = config("inductor", "")
            .selection(|m| m == "test_ops" || m == "inductor/test_torchinductor")
            .unwrap();
        assert_eq!(
            inductor.include,
            ["test_ops", "inductor/test_torchinductor"]
        );
        // Not CI's default (which leaves out the JIT executor tests): its own two files.
        assert!(default.exclude_quantization_tests);
        let core = config("inductor_core", "").selection(|_| true).unwrap();
        assert!(core.include_inductor_core_tests && !core.exclude_distributed_tests);
        assert_eq!(core.exclude.len(), 14);
        assert!(
            core.exclude
                .contains(&"inductor/test_cpu_repro".to_string())
        );
        let own = |name: &str| config(name, "").selection(|_| true).unwrap();
        assert!(own("dynamo_core").include_dynamo_core_tests);
        assert!(own("dynamo_cpython").include_cpython_tests);
        assert!(own("einops").einops);
        assert!(own("openreg").openreg);
        for name in ["dynamo_core", "dynamo_cpython", "einops", "openreg"] {
            assert!(!own(name).exclude_jit_executor, "{name}: not CI's default");
        }
        assert_eq!(
            config("dynamo_cpython", "").child_env("test_nn"),
            [("PYTORCH_TEST_WITH_DYNAMO", "1")]
        );
        let legacy = config("jit_legacy", "").selection(|_| true).unwrap();
        assert_eq!(legacy.include, ["test_jit_legacy", "test_jit_fuser_legacy"]);
        assert!(!legacy.exclude_jit_executor);
    }
}
