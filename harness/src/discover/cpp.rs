//! C++ gtest binaries as PyTorch finds them (`build/bin`, or `CPP_TESTS_DIR`), minus its
//! non-test executables; one case per suite from `--gtest_list_tests`. Listings are
//! cached under `target/` by binary path, size and modification time, and computed in
//! parallel when the cache is cold. A binary that is expected but missing, or whose
//! listing fails, is listed as an ignored case that says why: it never vanishes.

use crate::case::CppCase;
use crate::policy::Policy;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

/// The suite name of a placeholder case for a binary that has no suites to show.
pub const NOT_BUILT: &str = "NOT_BUILT";
pub const LIST_FAILED: &str = "LIST_FAILED";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredCpp {
    pub case: CppCase,
    pub ignored: Option<String>,
}

/// Where the binaries are: `CPP_TESTS_DIR`, else the policy's folder under the checkout.
pub fn tests_dir(root: &Path, policy: &Policy) -> PathBuf {
    match crate::settings::path_var("CPP_TESTS_DIR") {
        Some(dir) => dir,
        None => root.join(policy.cpp.tests_dir.as_deref().unwrap_or("build/bin")),
    }
}

/// The test binaries in `dir`, sorted by name.
pub fn binaries(dir: &Path, policy: &Policy) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.') && !policy.cpp.non_test_binaries.contains(name))
        .collect();
    found.sort();
    found
}

/// Every C++ case: the suites of each binary, and placeholders for expected binaries
/// that are missing or cannot list their tests.
pub fn discover(root: &Path, policy: &Policy, cache_dir: &Path) -> Vec<DiscoveredCpp> {
    let dir = tests_dir(root, policy);
    let present = binaries(&dir, policy);
    let listed: Vec<(String, Result<Vec<String>, String>)> = present
        .par_iter()
        .map(|binary| (binary.clone(), suites(&dir.join(binary), cache_dir)))
        .collect();
    let mut found = Vec::new();
    for (binary, suites) in listed {
        match suites {
            Ok(suites) => found.extend(suites.into_iter().map(|suite| DiscoveredCpp {
                case: CppCase {
                    binary: binary.clone(),
                    suite,
                },
                ignored: None,
            })),
            Err(why) => found.push(placeholder(&binary, LIST_FAILED, why)),
        }
    }
    for binary in &policy.cpp.expected_binaries {
        if !present.contains(binary) {
            found.push(placeholder(binary, NOT_BUILT, not_built(&dir, binary)));
        }
    }
    found.sort_by_key(|d| d.case.name());
    found
}

fn not_built(dir: &Path, binary: &str) -> String {
    format!(
        "{} does not exist: build it (the demo's are built by `cargo xtask setup` when GoogleTest is installed: `pkg-config gtest`, Debian's libgtest-dev)",
        dir.join(binary).display()
    )
}

/// Why `binary` stands as a placeholder case, found again when that case is run alone:
/// it is missing, or its listing fails (its exit and stderr).
pub fn placeholder_reason(root: &Path, policy: &Policy, cache_dir: &Path, binary: &str) -> String {
    let dir = tests_dir(root, policy);
    let path = dir.join(binary);
    if !path.is_file() {
        return not_built(&dir, binary);
    }
    match suites(&path, cache_dir) {
        Err(why) => why,
        Ok(_) => format!(
            "{} lists its tests now: list the cases again to run them",
            path.display()
        ),
    }
}

fn placeholder(binary: &str, suite: &str, why: String) -> DiscoveredCpp {
    DiscoveredCpp {
        case: CppCase {
            binary: binary.to_string(),
            suite: suite.to_string(),
        },
        ignored: Some(why),
    }
}

#[derive(Serialize, Deserialize)]
struct Cached {
    path: PathBuf,
    size: u64,
    mtime: u128,
    suites: Vec<String>,
}

/// The suites of one binary, from the cache when the binary is unchanged.
pub fn suites(binary: &Path, cache_dir: &Path) -> Result<Vec<String>, String> {
    let meta = std::fs::metadata(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key =
        crate::util::hash::stable_hash(&format!("{}|{}|{mtime}", binary.display(), meta.len()));
    let cache_file = cache_dir.join(format!("gtest-{key:016x}.json"));
    if let Some(cached) = std::fs::read(&cache_file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cached>(&b).ok())
        .filter(|c| c.path == binary && c.size == meta.len() && c.mtime == mtime)
    {
        return Ok(cached.suites);
    }
    let output = crate::launch::process::output(
        Command::new(binary)
            .arg("--gtest_list_tests")
            .env_remove("GTEST_FILTER"),
    )
    .map_err(|e| format!("cannot run {} --gtest_list_tests: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --gtest_list_tests failed ({}): {}",
            binary.display(),
            crate::report::verdict::Verdict::from_status(output.status).describe(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let suites = parse_listing(&String::from_utf8_lossy(&output.stdout));
    if suites.is_empty() {
        return Err(format!("{} lists no gtest suites", binary.display()));
    }
    let cached = Cached {
        path: binary.to_path_buf(),
        size: meta.len(),
        mtime,
        suites: suites.clone(),
    };
    crate::util::fs::write_cache(&cache_file, &cached);
    Ok(suites)
}

/// Suites from `--gtest_list_tests` output: an unindented `Suite.` line (typed and
/// parameterised suites carry a `Prefix/` and a `# TypeParam = …` comment) followed by
/// indented test lines. Anything else (banners such as gtest_main's) is skipped.
pub fn parse_listing(text: &str) -> Vec<String> {
    let mut suites: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            // A test of the current suite: the suite counts once it has one.
            if let Some(suite) = current.take() {
                suites.push(suite);
            }
            continue;
        }
        let head = line.split("  #").next().unwrap_or("").trim_end();
        current = head
            .strip_suffix('.')
            .filter(|s| CppCase::is_plain(s))
            .map(String::from);
    }
    suites.dedup();
    suites
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_with_typed_and_parameterised_suites_parse() {
        let text = "Running main() from ./googletest/src/gtest_main.cc\n\
            SaturatingAdd/0.  # TypeParam = signed char\n  ClampsAtTheTop\n  AddsInRange\n\
            SaturatingAdd/1.  # TypeParam = int\n  ClampsAtTheTop\n\
            HalfPrecision.\n  RoundTripsSmallIntegers\n\
            Sizes/PrefixSum.\n  LastElementIsTheTotal/0  # GetParam() = 1\n  LastElementIsTheTotal/1  # GetParam() = 10\n\
            EmptySuite.\n";
        assert_eq!(
            parse_listing(text),
            [
                "SaturatingAdd/0",
                "SaturatingAdd/1",
                "HalfPrecision",
                "Sizes/PrefixSum"
            ]
        );
    }

    #[test]
    fn garbage_listings_give_nothing_and_never_panic() {
        for text in [
            "",
            "\n\n",
            "   indented first\n",
            ".\n  x\n",
            "a b.\n  t\n",
            "\u{0}\u{1}.\n\t\n",
            &"x.\n  y\n".repeat(10_000),
        ] {
            let suites = parse_listing(text);
            assert!(suites.len() <= 1, "{suites:?}");
        }
    }
}
