//! run_test.py's selection flags on the command line, resolved against the checkout.

use anyhow::Result;
use clap::Args;
use torch_harness::case::TestModule;
use torch_harness::discover::cpp::{self, DiscoveredCpp};
use torch_harness::discover::distributed::{self, DiscoveredDistributed};
use torch_harness::discover::host::Host;
use torch_harness::discover::python::{Discovered, discover};
use torch_harness::plan::PlanFile;
use torch_harness::plan::class_runs;
use torch_harness::plan::select::Selection;
use torch_harness::plan::test_config::TestConfig;
use torch_harness::plan::times::FileTimes;
use torch_harness::policy::Policy;
use torch_harness::settings::Settings;

#[derive(Args, Clone, Default)]
pub struct SelectArgs {
    /// Test modules or folders to run (`test_nn`, `nn/test_pooling.py`, `distributed`).
    #[arg(short, long, num_args = 1.., value_name = "TESTS")]
    include: Vec<String>,
    /// Prefixes to leave out (`-x test_jit` also drops `test_jit_fuser_te`).
    #[arg(short = 'x', long, num_args = 1.., value_name = "TESTS")]
    exclude: Vec<String>,
    /// Only CORE_TEST_LIST.
    #[arg(long)]
    core: bool,
    /// Only files whose name contains `jit`.
    #[arg(long)]
    jit: bool,
    /// Only distributed/ files.
    #[arg(long)]
    distributed_tests: bool,
    /// Only functorch/ files.
    #[arg(long)]
    functorch: bool,
    /// Only CPython's own tests (dynamo/cpython/).
    #[arg(long)]
    include_cpython_tests: bool,
    /// Only dynamo/ files.
    #[arg(long)]
    include_dynamo_core_tests: bool,
    /// Only inductor/ files.
    #[arg(long)]
    include_inductor_core_tests: bool,
    /// Only files starting dynamo/test_einops.
    #[arg(long)]
    einops: bool,
    /// run_test.py's fixed MPS list instead of the selection, with
    /// PYTORCH_TESTING_DEVICE_ONLY_FOR=mps (test_mps and test_metal are left out otherwise).
    #[arg(long)]
    mps: bool,
    /// Only onnx/ files (left out otherwise).
    #[arg(long)]
    onnx: bool,
    /// Run test_xpu and drop the XPU blocklist.
    #[arg(long)]
    xpu: bool,
    /// Only test_openreg (left out otherwise).
    #[arg(long)]
    openreg: bool,
    #[arg(long)]
    exclude_jit_executor: bool,
    #[arg(long)]
    exclude_torch_export_tests: bool,
    #[arg(long)]
    exclude_aot_dispatch_tests: bool,
    #[arg(long)]
    exclude_distributed_tests: bool,
    #[arg(long)]
    exclude_inductor_tests: bool,
    #[arg(long)]
    exclude_quantization_tests: bool,
    /// Accepted as run_test.py's flag; the Windows blocklist never applies where this
    /// harness runs (Unix-like systems).
    #[arg(long)]
    ignore_win_blocklist: bool,
    /// Only the C++ gtest cases (without it they run only when no selection flag and no
    /// TEST_CONFIG is given, the whole suite).
    #[arg(long)]
    cpp: bool,
}

impl SelectArgs {
    /// The flags on top of what TEST_CONFIG's CI job passes (`.ci/pytorch/test.sh`).
    fn selection(&self, config: Option<Selection>) -> Selection {
        let base = config.unwrap_or_default();
        // Files named on the command line replace the config's own (the inductor
        // config's list), as test.sh passes one `--include` per run_test.py call.
        let include = if self.include.is_empty() {
            base.include
        } else {
            self.include.clone()
        };
        let mut exclude = base.exclude;
        exclude.extend(self.exclude.iter().cloned());
        Selection {
            include,
            exclude,
            jit: base.jit || self.jit,
            distributed_tests: base.distributed_tests || self.distributed_tests,
            core: base.core || self.core,
            include_cpython_tests: base.include_cpython_tests || self.include_cpython_tests,
            include_dynamo_core_tests: base.include_dynamo_core_tests
                || self.include_dynamo_core_tests,
            include_inductor_core_tests: base.include_inductor_core_tests
                || self.include_inductor_core_tests,
            functorch: base.functorch || self.functorch,
            einops: base.einops || self.einops,
            mps: base.mps || self.mps,
            onnx: base.onnx || self.onnx,
            xpu: base.xpu || self.xpu,
            openreg: base.openreg || self.openreg,
            exclude_jit_executor: base.exclude_jit_executor || self.exclude_jit_executor,
            exclude_torch_export_tests: base.exclude_torch_export_tests
                || self.exclude_torch_export_tests,
            exclude_aot_dispatch_tests: base.exclude_aot_dispatch_tests
                || self.exclude_aot_dispatch_tests,
            exclude_distributed_tests: base.exclude_distributed_tests
                || self.exclude_distributed_tests,
            exclude_inductor_tests: base.exclude_inductor_tests || self.exclude_inductor_tests,
            exclude_quantization_tests: base.exclude_quantization_tests
                || self.exclude_quantization_tests,
            cpp: base.cpp || self.cpp,
            ignore_win_blocklist: base.ignore_win_blocklist || self.ignore_win_blocklist,
        }
    }
}

/// The checkout, its policy and what the flags select from it.
pub struct Resolved {
    pub settings: Settings,
    pub policy: Policy,
    pub config: TestConfig,
    /// The runnable Python cases the selection keeps (whole files).
    pub selected: Vec<Discovered>,
    /// The runnable distributed configurations the selection keeps.
    pub distributed: Vec<DiscoveredDistributed>,
    /// The runnable C++ suites the selection keeps.
    pub cpp: Vec<DiscoveredCpp>,
    /// The selection as a nextest filterset; None when it keeps every case.
    pub filterset: Option<String>,
    /// Variables the selection sets for the test processes (`--mps`).
    pub child_env: Vec<(&'static str, &'static str)>,
}

impl Resolved {
    /// Narrows the selection to the cases named in `keep`, and the filterset with it.
    pub fn keep_only(&mut self, keep: &std::collections::BTreeSet<String>) {
        self.selected.retain(|d| keep.contains(&d.case.name()));
        self.distributed.retain(|d| keep.contains(&d.case.name()));
        self.cpp.retain(|d| keep.contains(&d.case.name()));
        let names: Vec<&String> = keep.iter().collect();
        let exact = [crate::plumbing::filterset::exact_filterset(&names)];
        self.filterset = crate::plumbing::filterset::both(self.filterset.as_deref(), &exact);
    }

    /// Every selected case's name: Python files, distributed configurations, C++ suites.
    pub fn case_names(&self) -> Vec<String> {
        let python = self.selected.iter().map(|d| d.case.name());
        python
            .chain(self.distributed.iter().map(|d| d.case.name()))
            .chain(self.cpp.iter().map(|d| d.case.name()))
            .collect()
    }

    /// The planner's inputs for the selected cases: each file's time from `times`, else
    /// the policy's expected seconds (a distributed file's time shared among its
    /// configurations, a C++ binary's among its suites); serial by the policy's
    /// must_serial, or all of them when the test config runs everything serially.
    /// Ignored cases are not planned (they never run).
    pub fn plan_files(&self, times: &FileTimes) -> Vec<PlanFile> {
        let policy = &self.policy;
        let everything_serial = self.config.everything_serial();
        let seconds = |module: &str| {
            times
                .get(module)
                .or_else(|| policy.expected_seconds.get(module))
                .copied()
        };
        let whole_files = self
            .selected
            .iter()
            .filter(|d| d.ignored.is_none() && d.case.piece.is_none())
            .map(|d| {
                let module = d.case.module.as_str();
                // A class run (target determination split its file) is placed whole,
                // with its share of the file's time.
                let runs = self
                    .selected
                    .iter()
                    .filter(|o| o.case.module == d.case.module)
                    .count();
                let class_run = d.case.classes.is_some();
                PlanFile {
                    module: d.case.module.clone(),
                    seconds: seconds(module).map(|t| t / runs as f64),
                    serial: everything_serial || policy.must_serial(module),
                    splittable: !class_run,
                    case: class_run.then(|| d.case.name()),
                }
            });
        let runnable: Vec<_> = self
            .distributed
            .iter()
            .filter(|d| d.setup.is_ok())
            .collect();
        let configurations = runnable.iter().map(|d| {
            let module = d.case.module.as_str();
            let configs = runnable
                .iter()
                .filter(|o| o.case.module == d.case.module)
                .count();
            PlanFile {
                module: d.case.module.clone(),
                seconds: seconds(module).map(|t| t / configs as f64),
                serial: true,
                splittable: false,
                case: Some(d.case.name()),
            }
        });
        // C++ times are kept per binary as `cpp/<binary>`; a suite gets its share.
        let cpp = &self.cpp;
        let suites = cpp.iter().filter(|d| d.ignored.is_none()).filter_map(|d| {
            let key = format!("cpp/{}", d.case.binary);
            let count = cpp
                .iter()
                .filter(|o| o.case.binary == d.case.binary)
                .count();
            Some(PlanFile {
                module: TestModule::new(&key).ok()?,
                seconds: seconds(&key).map(|t| t / count as f64),
                serial: everything_serial,
                splittable: false,
                case: Some(d.case.name()),
            })
        });
        whole_files.chain(configurations).chain(suites).collect()
    }
}

/// Resolves the flags against the checkout; `workspace` stands in for this workspace
/// (a copy the test binaries run from, as nextest's `--workspace-remap`).
pub fn resolve(args: &SelectArgs, workspace: Option<&std::path::Path>) -> Result<Resolved> {
    let mut settings = match workspace {
        Some(ws) => Settings::from_lookup(|name| match name {
            "NEXTEST_WORKSPACE_ROOT" => Some(ws.as_os_str().to_owned()),
            _ => std::env::var_os(name).filter(|v| !v.is_empty()),
        }),
        None => Settings::from_env(),
    };
    // Cargo's own answer, `build.target-dir` included (the times of earlier runs are there).
    settings.target_dir = crate::plumbing::workspace::target_dir(&settings.workspace)?;
    let policy = Policy::load(&settings.manifests, &settings.root)?;
    let host = Host::detect(&settings);
    let found: Vec<Discovered> =
        class_runs::python(&settings.root, discover(&settings.root, &policy, &host)?)?
            .into_iter()
            .filter(|d| d.ignored.is_none())
            .collect();
    let backends = distributed::backends_here(&settings, &policy).map_err(anyhow::Error::msg)?;
    let per_backend: Vec<DiscoveredDistributed> = class_runs::distributed(
        &settings.root,
        distributed::discover(&settings.root, &policy, &backends),
    )?
    .into_iter()
    .filter(|d| d.setup.is_ok())
    .collect();
    let mut modules: Vec<TestModule> = found.iter().map(|d| d.case.module.clone()).collect();
    modules.extend(distributed::files(&settings.root, &policy));
    let config = TestConfig::from_env();
    let from_config = config.selection(|m| modules.iter().any(|x| x.as_str() == m));
    let selection = args.selection(from_config);
    let kept = selection.apply(&modules, &policy)?;
    let mut filterset = selection.filterset(&modules, &policy)?;
    let child_env = selection.child_env();
    let selected = found
        .into_iter()
        .filter(|d| kept.contains(&d.case.module))
        .collect();
    let distributed = per_backend
        .into_iter()
        .filter(|d| kept.contains(&d.case.module))
        .collect();
    let cpp = if selection.includes_cpp() {
        let found = cpp::discover(&settings.root, &policy, &settings.cache_dir());
        if selection.cpp {
            // -i and -x name C++ binaries here (a binary that is not built counts too,
            // so its NOT_BUILT case can be selected).
            let mut binaries: Vec<String> = found.iter().map(|d| d.case.binary.clone()).collect();
            binaries.sort();
            binaries.dedup();
            let kept = selection.cpp_binaries(&binaries)?;
            filterset = Some(selection.cpp_filterset(&binaries)?);
            found
                .into_iter()
                .filter(|d| d.ignored.is_none() && kept.contains(&d.case.binary))
                .collect()
        } else {
            found.into_iter().filter(|d| d.ignored.is_none()).collect()
        }
    } else {
        Vec::new()
    };
    Ok(Resolved {
        settings,
        policy,
        config,
        selected,
        distributed,
        cpp,
        filterset,
        child_env,
    })
}
