//! run_test.py's selection flags (research §2.2-2.4) over the discovered test modules,
//! and the same selection as a nextest filterset, so `cargo nextest run -E '…'` picks
//! exactly the cases `cargo xtask test` would. The steps follow run_test.py's 2026
//! `get_selected_tests` in its order; what it leaves out for the platform, interpreter
//! and torch build is left out by discovery (`discover::host`), for every entry point.

use crate::case::TestModule;
use crate::policy::Policy;

/// The flags, with run_test.py's meanings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `-i`: test modules (`test_nn`, `nn/test_pooling.py`) or folders (`distributed`).
    pub include: Vec<String>,
    /// `-x`: prefixes; `-x test_jit` also drops `test_jit_fuser_te`.
    pub exclude: Vec<String>,
    pub jit: bool,
    pub distributed_tests: bool,
    pub core: bool,
    /// `--include-cpython-tests`: only CPYTHON_TESTS.
    pub include_cpython_tests: bool,
    pub include_dynamo_core_tests: bool,
    pub include_inductor_core_tests: bool,
    pub functorch: bool,
    /// `--einops`: only files starting `dynamo/test_einops`.
    pub einops: bool,
    /// `--mps`: run_test.py's fixed MPS list instead of the selection, with
    /// `PYTORCH_TESTING_DEVICE_ONLY_FOR=mps`.
    pub mps: bool,
    pub onnx: bool,
    pub xpu: bool,
    pub openreg: bool,
    pub exclude_jit_executor: bool,
    pub exclude_torch_export_tests: bool,
    pub exclude_aot_dispatch_tests: bool,
    pub exclude_distributed_tests: bool,
    pub exclude_inductor_tests: bool,
    pub exclude_quantization_tests: bool,
    /// `--cpp`: only the C++ gtest cases (narrowed by `-i cpp/<binary>`).
    pub cpp: bool,
    /// `--ignore-win-blocklist`: run_test.py then skips WINDOWS_BLOCKLIST. Accepted so
    /// its command lines work here; this harness runs on Unix-like systems only, where
    /// that blocklist never applies.
    pub ignore_win_blocklist: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("--include {0}: no test module or folder of that name in this checkout")]
    UnknownInclude(String),
    #[error(
        "--include {entry} beside --cpp: --cpp runs only the C++ gtest cases, and `{entry}` is not \
         a C++ test binary here (binaries: {known}); name binaries (`-i cpp/<binary>`), or leave \
         out --cpp to run Python files"
    )]
    NotCppBinary { entry: String, known: String },
    #[error(
        "{0} beside --cpp: {0} selects Python files and --cpp runs only the C++ gtest cases; \
         leave out one of them"
    )]
    PythonFlagWithCpp(&'static str),
}

/// One clause of the selection: a case passes when its module matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// The module, or a piece of it.
    Exact(String),
    /// Every module whose path starts with this (run_test.py's prefix rule).
    Prefix(String),
    /// Every module whose path contains this.
    Contains(String),
}

impl Matcher {
    fn matches(&self, module: &str) -> bool {
        match self {
            Matcher::Exact(m) => module == m,
            Matcher::Prefix(p) => module.starts_with(p.as_str()),
            Matcher::Contains(s) => module.contains(s.as_str()),
        }
    }

    fn filterset(&self) -> String {
        match self {
            // The file, its class runs, a piece of either, or one of its distributed
            // configurations (of the whole file or a class run).
            Matcher::Exact(m) => format!(
                r"test(/^{}(::(only|except)=[^:]+)?((::shard_\d+_of_\d+)?|::[^:]+::init_[a-z]+)$/)",
                escape(&case_name(m))
            ),
            Matcher::Prefix(p) => format!("test(/^{}/)", escape(&case_name(p))),
            Matcher::Contains(s) => format!("test(/{}/)", escape(&case_name(s))),
        }
    }
}

/// A step of the selection: keep what matches any matcher, or drop what matches any.
#[derive(Debug, Clone)]
enum Step {
    Keep(Vec<Matcher>),
    Drop(Vec<Matcher>),
}

impl Selection {
    /// Whether the C++ gtest cases run: with `--cpp` (and then only they), or when no
    /// flag is given at all, which runs the whole suite. run_test.py leaves CPP_TESTS out
    /// whenever `--cpp` is missing (`options.exclude.extend(CPP_TESTS)`), so any of its
    /// flags (or a TEST_CONFIG, whose flags join these) does too. docs/selection.md lists the
    /// no-flag case as a deliberate divergence.
    pub fn includes_cpp(&self) -> bool {
        self.cpp || *self == Selection::default()
    }

    /// Variables the selected test processes get (run_test.py sets them in its own
    /// environment, which every test inherits).
    pub fn child_env(&self) -> Vec<(&'static str, &'static str)> {
        if self.mps {
            vec![("PYTORCH_TESTING_DEVICE_ONLY_FOR", "mps")]
        } else {
            Vec::new()
        }
    }

    /// A flag that keeps only some Python files cannot also keep only C++ cases: the
    /// two together would run nothing, so they are refused rather than one dropped.
    fn python_flag_with_cpp(&self) -> Result<(), SelectError> {
        if !self.cpp {
            return Ok(());
        }
        let flags = [
            (self.jit, "--jit"),
            (self.distributed_tests, "--distributed-tests"),
            (self.core, "--core"),
            (
                self.include_dynamo_core_tests,
                "--include-dynamo-core-tests",
            ),
            (
                self.include_inductor_core_tests,
                "--include-inductor-core-tests",
            ),
            (self.functorch, "--functorch"),
            (self.onnx, "--onnx"),
            (self.openreg, "--openreg"),
        ];
        match flags.iter().find(|(on, _)| *on) {
            Some((_, flag)) => Err(SelectError::PythonFlagWithCpp(flag)),
            None => Ok(()),
        }
    }

    /// Under `--cpp`, which of `binaries` (the checkout's C++ test binaries) run:
    /// `-i` names binaries as run_test.py does (`cpp/test_api`, or `test_api`) and
    /// refuses any other name; `-x` drops binaries by prefix. Every binary without `-i`.
    pub fn cpp_binaries(&self, binaries: &[String]) -> Result<Vec<String>, SelectError> {
        self.python_flag_with_cpp()?;
        let bare = |entry: &str| -> String {
            let entry = entry.trim_end_matches('/');
            entry.strip_prefix("cpp/").unwrap_or(entry).to_string()
        };
        let mut kept: Vec<String> = if self.include.is_empty() {
            binaries.to_vec()
        } else {
            let mut kept = Vec::new();
            for entry in &self.include {
                let name = bare(entry);
                if !binaries.contains(&name) {
                    let known = if binaries.is_empty() {
                        "none".to_string()
                    } else {
                        binaries.join(", ")
                    };
                    return Err(SelectError::NotCppBinary {
                        entry: entry.clone(),
                        known,
                    });
                }
                if !kept.contains(&name) {
                    kept.push(name);
                }
            }
            kept
        };
        // `-x` is a prefix of run_test.py's `cpp/<binary>` (`-x cpp` drops them all), or
        // of the bare binary name.
        kept.retain(|b| {
            let named = format!("cpp/{b}");
            !self.exclude.iter().any(|x| {
                let x = x.trim_end_matches('/');
                if x == "cpp" || x.starts_with("cpp/") {
                    named.starts_with(x)
                } else {
                    b.starts_with(x)
                }
            })
        });
        Ok(kept)
    }

    /// The `--cpp` selection of `binaries` as a filterset.
    pub fn cpp_filterset(&self, binaries: &[String]) -> Result<String, SelectError> {
        let kept = self.cpp_binaries(binaries)?;
        if self.include.is_empty() && self.exclude.is_empty() {
            return Ok("binary(cpp)".into());
        }
        if kept.is_empty() {
            return Ok("none()".into());
        }
        let suites: Vec<String> = kept
            .iter()
            .map(|b| format!("test(/^{}::/)", escape(b)))
            .collect();
        Ok(format!("binary(cpp) & ({})", suites.join(" | ")))
    }

    /// The modules of `all` that the flags select, in `all`'s order.
    pub fn apply(
        &self,
        all: &[TestModule],
        policy: &Policy,
    ) -> Result<Vec<TestModule>, SelectError> {
        if self.cpp {
            self.python_flag_with_cpp()?;
            return Ok(Vec::new());
        }
        let steps = self.steps(all, policy)?;
        Ok(all
            .iter()
            .filter(|m| {
                steps.iter().all(|step| match step {
                    Step::Keep(any) => any.iter().any(|x| x.matches(m.as_str())),
                    Step::Drop(any) => !any.iter().any(|x| x.matches(m.as_str())),
                })
            })
            .cloned()
            .collect())
    }

    /// The selection as a nextest filterset, or None when it keeps everything.
    pub fn filterset(
        &self,
        all: &[TestModule],
        policy: &Policy,
    ) -> Result<Option<String>, SelectError> {
        if self.cpp {
            // Which binaries stay needs their listing: `cpp_filterset` says it exactly.
            return Ok(Some("binary(cpp)".into()));
        }
        let steps = self.steps(all, policy)?;
        let clauses: Vec<String> = steps
            .iter()
            .filter_map(|step| match step {
                Step::Keep(any) if !any.is_empty() => Some(join(any, " | ")),
                Step::Keep(_) => Some("none()".into()),
                Step::Drop(any) if !any.is_empty() => Some(format!("not {}", join(any, " | "))),
                Step::Drop(_) => None,
            })
            .collect();
        if clauses.is_empty() {
            return Ok((!self.includes_cpp()).then(|| "not binary(cpp)".into()));
        }
        // Module clauses speak of Python files; C++ suites pass or fail as a whole.
        let modules = clauses.join(" & ");
        Ok(Some(if self.includes_cpp() {
            format!("binary(cpp) | ({modules})")
        } else {
            format!("not binary(cpp) & ({modules})")
        }))
    }

    fn steps(&self, all: &[TestModule], policy: &Policy) -> Result<Vec<Step>, SelectError> {
        let prefix = |p: &str| Matcher::Prefix(p.into());
        let exact = |m: &str| Matcher::Exact(m.into());
        let mut steps = Vec::new();
        if !self.include.is_empty() {
            let mut any = Vec::new();
            for entry in &self.include {
                // run_test.py accepts `test_nn.py` as well as `test_nn`.
                let name = entry
                    .strip_suffix(".py")
                    .unwrap_or(entry)
                    .trim_end_matches('/');
                if all.iter().any(|m| m.as_str() == name) {
                    any.push(exact(name));
                } else if all
                    .iter()
                    .any(|m| m.as_str().starts_with(&format!("{name}/")))
                {
                    any.push(prefix(&format!("{name}/")));
                } else {
                    return Err(SelectError::UnknownInclude(entry.clone()));
                }
            }
            steps.push(Step::Keep(any));
        }
        // get_selected_tests, in its order: each flag below narrows the selection at
        // once (`selected_tests = filter(...)`), `--mps` and `--openreg` replace it,
        // and `exclude` gathers options.exclude, applied after them all.
        if self.jit {
            steps.push(Step::Keep(vec![Matcher::Contains("jit".into())]));
        }
        if self.distributed_tests {
            steps.push(Step::Keep(vec![prefix("distributed")]));
        }
        if self.core {
            steps.push(Step::Keep(
                policy.core_test_list.iter().map(|m| exact(m)).collect(),
            ));
        }
        if self.include_cpython_tests {
            steps.push(Step::Keep(
                policy.cpython_tests.iter().map(|m| prefix(m)).collect(),
            ));
        }
        if self.include_dynamo_core_tests {
            steps.push(Step::Keep(vec![prefix("dynamo")]));
        }
        if self.include_inductor_core_tests {
            steps.push(Step::Keep(vec![prefix("inductor")]));
        }
        if self.functorch {
            steps.push(Step::Keep(vec![prefix("functorch")]));
        }
        if self.einops {
            steps.push(Step::Keep(vec![prefix("dynamo/test_einops")]));
        }
        let mps = &policy.platforms.mps;
        let mut drop = Vec::new();
        if self.mps {
            // `selected_tests = [...]`: whatever came before no longer counts.
            steps.clear();
            steps.push(Step::Keep(mps.selection.iter().map(|m| exact(m)).collect()));
        } else {
            drop.extend(mps.mps_only.iter().map(|m| prefix(m)));
        }
        if self.xpu {
            // exclude_tests(XPU_BLOCKLIST, selected_tests): on the selection now.
            steps.push(Step::Drop(
                policy
                    .platforms
                    .xpu
                    .blocklist
                    .iter()
                    .map(|m| prefix(m))
                    .collect(),
            ));
        } else {
            drop.extend(policy.platforms.xpu.xpu_test.iter().map(|m| prefix(m)));
        }
        if self.openreg {
            steps.clear();
            steps.push(Step::Keep(vec![exact("test_openreg")]));
        } else {
            drop.push(prefix("test_openreg"));
        }
        if self.onnx {
            steps.push(Step::Keep(vec![prefix("onnx")]));
        } else {
            drop.push(prefix("onnx"));
        }
        let flagged: [(bool, Vec<&str>); 6] = [
            (
                self.exclude_jit_executor,
                policy
                    .jit_executor_tests
                    .iter()
                    .map(String::as_str)
                    .collect(),
            ),
            (self.exclude_torch_export_tests, vec!["export"]),
            (
                self.exclude_aot_dispatch_tests,
                vec!["functorch/test_aotdispatch"],
            ),
            (self.exclude_distributed_tests, vec!["distributed"]),
            (self.exclude_inductor_tests, vec!["inductor"]),
            (self.exclude_quantization_tests, vec!["test_quantization"]),
        ];
        for (on, prefixes) in flagged {
            if on {
                drop.extend(prefixes.into_iter().map(prefix));
            }
        }
        drop.extend(
            self.exclude
                .iter()
                .map(|x| prefix(x.strip_suffix(".py").unwrap_or(x))),
        );
        steps.push(Step::Drop(drop));
        // Only matchers that match something here, so the filterset stays short.
        for step in &mut steps {
            let (Step::Keep(any) | Step::Drop(any)) = step;
            any.retain(|m| all.iter().any(|x| m.matches(x.as_str())));
        }
        Ok(steps)
    }
}

fn join(any: &[Matcher], sep: &str) -> String {
    let parts: Vec<String> = any.iter().map(Matcher::filterset).collect();
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(sep))
    }
}

fn case_name(module: &str) -> String {
    module.replace('/', "::")
}

/// Escapes regex metacharacters (and `/`, which ends a filterset regex).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn policy() -> Policy {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        Policy::load(&manifests, Path::new("/nonexistent")).unwrap()
    }

    fn modules() -> Vec<TestModule> {
        [
            "distributed/fsdp/test_fsdp_core",
            "distributed/test_c10d_gloo",
            "export/test_export",
            "functorch/test_aotdispatch",
            "functorch/test_vmap",
            "inductor/test_torchinductor",
            "nn/test_pooling",
            "onnx/test_utility_funs",
            "test_autograd",
            "test_jit",
            "test_jit_fuser_te",
            "test_jit_legacy",
            "test_nn",
            "test_openreg",
            "test_ops",
            "test_torch",
            "test_xpu",
        ]
        .iter()
        .map(|m| TestModule::new(m).unwrap())
        .collect()
    }

    fn select(selection: Selection) -> Vec<String> {
        selection
            .apply(&modules(), &policy())
            .unwrap()
            .iter()
            .map(|m| m.to_string())
            .collect()
    }

    #[test]
    fn with_cpp_include_names_binaries_and_refuses_python_files() {
        let binaries = ["test_api".to_string(), "c10_test".to_string()];
        let cpp = |include: &[&str], exclude: &[&str]| Selection {
            cpp: true,
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..Selection::default()
        };
        // run_test.py's spelling and the bare binary both name it.
        assert_eq!(
            cpp(&["cpp/test_api"], &[]).cpp_binaries(&binaries),
            Ok(vec!["test_api".to_string()])
        );
        assert_eq!(
            cpp(&["test_api"], &[]).cpp_filterset(&binaries),
            Ok("binary(cpp) & (test(/^test_api::/))".to_string())
        );
        assert_eq!(cpp(&[], &[]).cpp_binaries(&binaries), Ok(binaries.to_vec()));
        assert_eq!(
            cpp(&[], &[]).cpp_filterset(&binaries),
            Ok("binary(cpp)".to_string())
        );
        assert_eq!(
            cpp(&[], &["c10"]).cpp_binaries(&binaries),
            Ok(vec!["test_api".to_string()])
        );
        // A Python module beside --cpp is refused, naming it and what is there.
        let err = cpp(&["test_nn"], &[]).cpp_binaries(&binaries).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--include test_nn beside --cpp"), "{text}");
        assert!(text.contains("test_api, c10_test"), "{text}");
        // So is a flag that keeps only some Python files.
        let jit = Selection {
            cpp: true,
            jit: true,
            ..Selection::default()
        };
        assert_eq!(
            jit.cpp_binaries(&binaries),
            Err(SelectError::PythonFlagWithCpp("--jit"))
        );
        assert_eq!(
            jit.apply(&modules(), &policy()),
            Err(SelectError::PythonFlagWithCpp("--jit"))
        );
    }

    #[test]
    fn by_default_onnx_xpu_and_openreg_are_left_out() {
        let all = select(Selection::default());
        assert!(
            !all.iter()
                .any(|m| m.starts_with("onnx") || m == "test_xpu" || m == "test_openreg")
        );
        assert_eq!(all.len(), 14);
    }

    #[test]
    fn excludes_are_prefixes() {
        let all = select(Selection {
            exclude: vec!["test_jit".into(), "distributed".into()],
            ..Default::default()
        });
        assert!(
            !all.iter()
                .any(|m| m.starts_with("test_jit") || m.starts_with("distributed"))
        );
        assert!(all.contains(&"test_nn".to_string()));
    }

    #[test]
    fn core_keeps_the_core_list() {
        let all = select(Selection {
            core: true,
            ..Default::default()
        });
        assert_eq!(all, ["test_autograd", "test_nn", "test_ops", "test_torch"]);
    }

    #[test]
    fn distributed_tests_keeps_the_folder() {
        let all = select(Selection {
            distributed_tests: true,
            ..Default::default()
        });
        assert_eq!(
            all,
            [
                "distributed/fsdp/test_fsdp_core",
                "distributed/test_c10d_gloo"
            ]
        );
    }

    #[test]
    fn include_takes_files_and_folders_and_rejects_unknown_names() {
        let all = select(Selection {
            include: vec!["test_nn.py".into(), "nn".into()],
            ..Default::default()
        });
        assert_eq!(all, ["nn/test_pooling", "test_nn"]);
        let err = Selection {
            include: vec!["test_nope".into()],
            ..Default::default()
        }
        .apply(&modules(), &policy())
        .unwrap_err();
        assert_eq!(err, SelectError::UnknownInclude("test_nope".into()));
    }

    #[test]
    fn ci_default_excludes_as_test_sh_does() {
        let all = select(Selection {
            exclude_jit_executor: true,
            exclude_distributed_tests: true,
            exclude_torch_export_tests: true,
            exclude_aot_dispatch_tests: true,
            exclude_inductor_tests: true,
            ..Default::default()
        });
        for gone in [
            "test_jit_legacy",
            "distributed/test_c10d_gloo",
            "export/test_export",
            "functorch/test_aotdispatch",
            "inductor/test_torchinductor",
        ] {
            assert!(!all.contains(&gone.to_string()), "{gone}");
        }
        assert!(all.contains(&"functorch/test_vmap".to_string()));
        assert!(all.contains(&"test_jit".to_string()));
    }

    fn select_from(selection: Selection, modules: &[&str]) -> Vec<String> {
        let all: Vec<TestModule> = modules
            .iter()
            .map(|m| TestModule::new(m).unwrap())
            .collect();
        selection
            .apply(&all, &policy())
            .unwrap()
            .iter()
            .map(|m| m.to_string())
            .collect()
    }

    const TREE_2026: [&str; 13] = [
        "cpython/v3_13/test_bool",
        "dynamo/cpython/3_13/test_list",
        "dynamo/test_einops",
        "dynamo/test_einops_extra",
        "dynamo/test_misc",
        "nn/test_convolution",
        "test_metal",
        "test_mps",
        "test_mps_extra",
        "test_nn",
        "test_openreg",
        "test_ops",
        "test_torch",
    ];

    #[test]
    fn the_2026_flags_keep_their_groups() {
        let cpython = Selection {
            include_cpython_tests: true,
            ..Default::default()
        };
        assert_eq!(
            select_from(cpython, &TREE_2026),
            ["cpython/v3_13/test_bool", "dynamo/cpython/3_13/test_list"]
        );
        let einops = Selection {
            einops: true,
            ..Default::default()
        };
        assert_eq!(
            select_from(einops, &TREE_2026),
            ["dynamo/test_einops", "dynamo/test_einops_extra"]
        );
    }

    #[test]
    fn mps_replaces_the_selection_with_its_list() {
        // `selected_tests = [...]` after --core narrowed it: --core no longer counts.
        let mps = Selection {
            core: true,
            mps: true,
            ..Default::default()
        };
        assert_eq!(
            select_from(mps.clone(), &TREE_2026),
            [
                "nn/test_convolution",
                "test_metal",
                "test_mps",
                "test_nn",
                "test_ops"
            ]
        );
        assert_eq!(
            mps.child_env(),
            [("PYTORCH_TESTING_DEVICE_ONLY_FOR", "mps")]
        );
        // Without it test_mps and test_metal are excluded, as prefixes (options.exclude).
        let plain = select_from(Selection::default(), &TREE_2026);
        assert!(
            !plain
                .iter()
                .any(|m| m.starts_with("test_mps") || m == "test_metal"),
            "{plain:?}"
        );
        assert!(Selection::default().child_env().is_empty());
    }

    #[test]
    fn openreg_replaces_the_selection_even_after_xpu_dropped_it() {
        for before in [
            Selection {
                core: true,
                ..Default::default()
            },
            Selection {
                xpu: true,
                ..Default::default()
            },
        ] {
            let openreg = Selection {
                openreg: true,
                ..before
            };
            assert_eq!(select_from(openreg, &TREE_2026), ["test_openreg"]);
        }
    }

    #[test]
    fn cpp_cases_run_with_no_flag_or_with_cpp_only() {
        assert!(Selection::default().includes_cpp());
        let cpp = Selection {
            cpp: true,
            ..Default::default()
        };
        assert!(cpp.includes_cpp());
        // Any run_test.py flag leaves CPP_TESTS out, as run_test.py does without --cpp;
        // the filterset says so even when it has nothing else to say.
        let exclude = Selection {
            exclude: vec!["test_nothing_here".into()],
            ..Default::default()
        };
        assert!(!exclude.includes_cpp());
        let plain: Vec<TestModule> = ["test_nn", "test_ops"]
            .iter()
            .map(|m| TestModule::new(m).unwrap())
            .collect();
        assert_eq!(
            exclude.filterset(&plain, &policy()).unwrap().as_deref(),
            Some("not binary(cpp)")
        );
        assert_eq!(
            Selection::default().filterset(&plain, &policy()).unwrap(),
            None
        );
        let ci_default = Selection {
            exclude_jit_executor: true,
            exclude_distributed_tests: true,
            ..Default::default()
        };
        assert!(!ci_default.includes_cpp());
    }

    #[test]
    fn cpp_excludes_are_prefixes_of_run_test_pys_cpp_names() {
        let binaries: Vec<String> = ["c10_util_test", "test_api", "test_jit"]
            .iter()
            .map(|b| b.to_string())
            .collect();
        let excluding = |x: &[&str]| Selection {
            cpp: true,
            exclude: x.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        // `-x cpp` drops every binary, as run_test.py's prefix match on `cpp/<binary>`.
        assert_eq!(excluding(&["cpp"]).cpp_binaries(&binaries), Ok(vec![]));
        assert_eq!(
            excluding(&["cpp"]).cpp_filterset(&binaries).as_deref(),
            Ok("none()")
        );
        assert_eq!(
            excluding(&["cpp/test_"]).cpp_binaries(&binaries),
            Ok(vec!["c10_util_test".to_string()])
        );
        // `cpp` is not a prefix of the bare names.
        assert_eq!(
            excluding(&["cpp/test_api/"]).cpp_binaries(&binaries),
            Ok(vec!["c10_util_test".to_string(), "test_jit".to_string()])
        );
    }

    #[test]
    fn the_filterset_says_the_same() {
        let f = Selection {
            core: true,
            exclude: vec!["test_ops".into()],
            ..Default::default()
        }
        .filterset(&modules(), &policy())
        .unwrap()
        .unwrap();
        assert!(
            f.contains(
                r"test(/^test_nn(::(only|except)=[^:]+)?((::shard_\d+_of_\d+)?|::[^:]+::init_[a-z]+)$/)"
            ),
            "{f}"
        );
        // Core modules this checkout lacks are left out of the expression.
        assert!(!f.contains("test_modules"), "{f}");
        let f = f
            .strip_prefix("not binary(cpp) & (")
            .unwrap()
            .strip_suffix(')')
            .unwrap();
        let (keep, drop) = f.split_once(" & not ").unwrap();
        assert!(keep.contains("test_torch"), "{f}");
        assert!(drop.contains("test(/^test_ops/)"), "{f}");
        assert_eq!(escape("a.b/c"), r"a\.b\/c");
    }
}
