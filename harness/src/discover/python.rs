//! Python test files, found by the rules of PyTorch's `tools/testing/discover_tests.py`:
//! every `test/**/test_*.py` (following symlinked folders, skipping hidden ones), minus
//! names that start with a blocklisted pattern or equal a blocklisted test, plus the
//! extra tests that exist in the checkout.

use crate::case::{PythonCase, TestModule};
use crate::discover::host::Host;
use crate::handlers::{SetUp, sources};
use crate::policy::{Handler, Policy};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// A case the listing shows, and why it is listed as ignored, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub case: PythonCase,
    pub ignored: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{0} has no test/ folder: set PYTORCH_ROOT to a PyTorch checkout")]
    NoTestDir(PathBuf),
    #[error("cannot walk {path}: {source}")]
    Walk {
        path: PathBuf,
        source: walkdir::Error,
    },
}

/// The Python cases of `root` on `host`, sorted by name: the files run_test.py leaves
/// out there (its platform blocklist, the interpreter's version, the torch build) are
/// listed as ignored, with the reason, rather than dropped.
pub fn discover(
    root: &Path,
    policy: &Policy,
    host: &Host,
) -> Result<Vec<Discovered>, DiscoverError> {
    let test_dir = root.join("test");
    if !test_dir.is_dir() {
        return Err(DiscoverError::NoTestDir(root.to_path_buf()));
    }
    // Handler-made extras (doctests over torch/, the AOT extension variants...) exist
    // only in PyTorch's own tree, recognised by its torch/ package, or where the
    // checkout's overlay asks for them.
    let is_pytorch_source = root.join("torch").is_dir() || policy.discovery.handler_cases;
    let mut found = Vec::new();
    for module in test_modules(&test_dir)? {
        // Files run per backend belong to the distributed cases.
        if blocklist_rule(&module, policy).is_some()
            || policy.handler(module.as_str()) == Some(Handler::Distributed)
        {
            continue;
        }
        found.push(classify(root, module, policy, host));
    }
    for extra in &policy.discovery.extra_tests {
        let Ok(module) = TestModule::new(extra) else {
            continue;
        };
        if found.iter().any(|d| d.case.module == module) {
            continue;
        }
        if module.file(root).is_file() {
            found.push(classify(root, module, policy, host));
        } else if is_pytorch_source
            && policy
                .handler(extra)
                .is_some_and(|h| h != Handler::Subprocess)
        {
            // Made by a handler's own set-up (doctests, the AOT variants): listed, so it
            // cannot vanish, ignored with the reason while the checkout lacks its sources.
            found.push(classify(root, module, policy, host));
        }
    }
    found.sort_by(|a, b| a.case.module.cmp(&b.case.module));
    Ok(found)
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error(
        "`{module}` is excluded by the discovery rule `{rule}` (test-manifests/discovery.toml)"
    )]
    Blocklisted { module: String, rule: String },
    #[error(
        "`{0}` runs once per backend and init method: its cases are `{0}::<backend>::init_<env|file>` in the distributed binary"
    )]
    PerBackend(String),
}

/// The one case `case` names, found without walking `test/`: the same answer
/// [`discover`] gives for it.
pub fn lookup(
    root: &Path,
    policy: &Policy,
    case: &PythonCase,
    host: &Host,
) -> Result<Discovered, LookupError> {
    let module = &case.module;
    let is_extra = policy
        .discovery
        .extra_tests
        .iter()
        .any(|e| e == module.as_str());
    if !is_extra && let Some(rule) = blocklist_rule(module, policy) {
        return Err(LookupError::Blocklisted {
            module: module.to_string(),
            rule: rule.to_string(),
        });
    }
    if policy.handler(module.as_str()) == Some(Handler::Distributed) {
        return Err(LookupError::PerBackend(module.case_name()));
    }
    let file = module.file(root);
    let handler_cases = root.join("torch").is_dir() || policy.discovery.handler_cases;
    // A file of the checkout, or a case a handler's set-up makes (as discover lists).
    let made_by_handler = is_extra
        && handler_cases
        && policy
            .handler(module.as_str())
            .is_some_and(|h| h != Handler::Subprocess);
    if !file.is_file() && !made_by_handler {
        return Err(LookupError::Missing(file));
    }
    let found = classify(root, module.clone(), policy, host);
    Ok(Discovered {
        case: case.clone(),
        ..found
    })
}

fn classify(root: &Path, module: TestModule, policy: &Policy, host: &Host) -> Discovered {
    if let Some(reason) = host.blocked(module.as_str(), policy) {
        return Discovered {
            case: PythonCase::whole(module),
            ignored: Some(reason),
        };
    }
    let handler = policy.handler(module.as_str());
    let ignored = match handler {
        // run_ci_sanity_check has no set-up: the file runs as any file, and its
        // verdict is turned round (run::judge::intended_failure).
        Some(Handler::Subprocess | Handler::Distributed | Handler::CiSanityCheck) | None => None,
        Some(other) => match SetUp::of(module.as_str(), handler) {
            // Runs once the checkout has its sources; the machine's tools are
            // checked where the case becomes a trial.
            Some(setup) => sources::missing(setup, root),
            None => Some(unsupported(other)),
        },
    };
    Discovered {
        case: PythonCase::whole(module),
        ignored,
    }
}

/// Module paths of every `test_*.py` under `test_dir`.
fn test_modules(test_dir: &Path) -> Result<Vec<TestModule>, DiscoverError> {
    let mut modules = Vec::new();
    let walk = WalkDir::new(test_dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|source| DiscoverError::Walk {
            path: test_dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy();
        if !(name.starts_with("test_") && name.ends_with(".py")) || entry.file_type().is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(test_dir) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        let rel = rel.strip_suffix(".py").unwrap_or(&rel).replace('\\', "/");
        // A file whose path cannot be a case name (a `:` in it) is reported, not dropped quietly.
        match TestModule::new(&rel) {
            Ok(module) => modules.push(module),
            Err(e) => eprintln!("torch-harness: skipping {}: {e}", entry.path().display()),
        }
    }
    Ok(modules)
}

fn unsupported(handler: Handler) -> String {
    format!(
        "run by run_test.py's `{}` handler, which this harness does not run yet",
        handler.name()
    )
}

/// The pattern or name that drops `module`, if any.
fn blocklist_rule<'p>(module: &TestModule, policy: &'p Policy) -> Option<&'p str> {
    let name = module.as_str();
    let d = &policy.discovery;
    d.blocklisted_patterns
        .iter()
        .find(|p| name.starts_with(p.as_str()))
        .or_else(|| d.blocklisted_tests.iter().find(|t| *t == name))
        .map(String::as_str)
}
