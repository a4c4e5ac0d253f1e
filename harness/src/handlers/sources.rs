//! What a set-up handler needs from the checkout, checked without starting anything.

use super::SetUp;
use std::path::Path;

/// The file the AOT variants run copies of, relative to `test/`.
pub const AOT_TEST: &str = "test_cpp_extensions_aot.py";
/// The file the autoload cases run, relative to `test/`.
pub const AUTOLOAD_TEST: &str = "test_autoload.py";
/// The extension package the AOT and autoload cases build, relative to `test/`.
pub const EXTENSIONS_DIR: &str = "cpp_extensions";
/// The backend test_openreg installs, relative to `test/`.
pub const OPENREG_DIR: &str = "cpp_extensions/open_registration_extension/torch_openreg";

/// What the checkout at `root` lacks for `setup`, if anything.
pub fn missing(setup: SetUp, root: &Path) -> Option<String> {
    let test = root.join("test");
    let file = |rel: &str| {
        let path = test.join(rel);
        (!path.is_file()).then(|| format!("{} is missing from the checkout", path.display()))
    };
    let package = |rel: &str| {
        let dir = test.join(rel);
        let buildable = ["setup.py", "pyproject.toml"]
            .iter()
            .any(|f| dir.join(f).is_file());
        (!buildable).then(|| {
            format!(
                "{} has no setup.py or pyproject.toml to build",
                dir.display()
            )
        })
    };
    match setup {
        SetUp::CppExtensionsAot { .. } => file(AOT_TEST).or_else(|| package(EXTENSIONS_DIR)),
        SetUp::Autoload { .. } => file(AUTOLOAD_TEST).or_else(|| package(EXTENSIONS_DIR)),
        SetUp::Openreg => package(OPENREG_DIR).or_else(|| {
            let runnable = test.join("test_openreg.py").is_file()
                || test.join(OPENREG_DIR).join("tests").is_dir();
            (!runnable).then(|| {
                format!(
                    "neither {} nor {} exists",
                    test.join("test_openreg.py").display(),
                    test.join(OPENREG_DIR).join("tests").display()
                )
            })
        }),
        SetUp::Doctests => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    #[test]
    fn each_handler_names_the_source_it_lacks() {
        let empty = checkout(&["test/test_a.py"]);
        let aot = SetUp::CppExtensionsAot { ninja: false };
        let why = missing(aot, empty.path()).unwrap();
        assert!(
            why.ends_with("test/test_cpp_extensions_aot.py is missing from the checkout"),
            "{why}"
        );
        let no_package = checkout(&["test/test_cpp_extensions_aot.py", "test/test_autoload.py"]);
        let why = missing(SetUp::Autoload { enable: true }, no_package.path()).unwrap();
        assert!(why.contains("cpp_extensions has no setup.py"), "{why}");
        assert_eq!(missing(SetUp::Doctests, empty.path()), None);
        let full = checkout(&[
            "test/test_cpp_extensions_aot.py",
            "test/test_autoload.py",
            "test/cpp_extensions/setup.py",
            "test/cpp_extensions/open_registration_extension/torch_openreg/pyproject.toml",
        ]);
        assert_eq!(missing(aot, full.path()), None);
        assert_eq!(
            missing(SetUp::Autoload { enable: false }, full.path()),
            None
        );
        // torch_openreg without tests and without test_openreg.py has nothing to run.
        assert!(
            missing(SetUp::Openreg, full.path())
                .unwrap()
                .contains("neither")
        );
        std::fs::create_dir_all(full.path().join("test").join(OPENREG_DIR).join("tests")).unwrap();
        assert_eq!(missing(SetUp::Openreg, full.path()), None);
    }
}
