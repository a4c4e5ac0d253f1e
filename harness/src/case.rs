//! Cases and their names.
//!
//! A case name is what nextest shows, filters on and passes back with `--exact`. It is
//! the test module with `::` for `/` (`nn::test_pooling`), plus `::shard_<k>_of_<n>` for a
//! piece of a split file. A file that target determination splits by test class
//! (run_test.py's class-level TestRuns) has `::only=A,B` or `::except=A,B` after the
//! module, before any piece. `CaseId::parse(case.name()) == case` holds for every case;
//! it is how `--exact` finds its file without walking `test/`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("case name `{0}` is empty or has an empty `::` part")]
    EmptyPart(String),
    #[error(
        "case name `{name}` has an invalid part `{part}`: parts may not be `.`, `..`, or contain `/`, `\\` or `:`"
    )]
    BadPart { name: String, part: String },
    #[error("case name `{0}` has an invalid piece: expected `shard_<k>_of_<n>` with 1 <= k <= n")]
    BadPiece(String),
    #[error(
        "case name `{0}` has an invalid class filter: expected `only=<Class>,...` or `except=<Class>,...` with Python class names, sorted, each once"
    )]
    BadClasses(String),
    #[error("case name `{0}` is not `<module>::<backend>::init_<env|file>`")]
    BadDistributed(String),
    #[error("case name `{0}` is not `<gtest binary>::<Suite>`")]
    BadCpp(String),
}

/// A test module: a path under `test/` without `.py`, with `/` separators, as
/// run_test.py names it (`distributed/test_c10d_gloo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TestModule(String);

impl TestModule {
    /// Checks a module path such as `nn/test_pooling`.
    pub fn new(path: &str) -> Result<TestModule, NameError> {
        let name = path.replace('/', "::");
        for part in path.split('/') {
            check_part(&name, part)?;
        }
        Ok(TestModule(path.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `nn::test_pooling`.
    pub fn case_name(&self) -> String {
        self.0.replace('/', "::")
    }

    /// The file the module runs from: `<root>/test/<module>.py`.
    pub fn file(&self, root: &Path) -> PathBuf {
        root.join("test").join(format!("{}.py", self.0))
    }

    /// The module as common_utils names its report folder: `nn.test_pooling`.
    pub fn dotted(&self) -> String {
        self.0.replace('/', ".")
    }
}

impl fmt::Display for TestModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One of `count` time-balanced pieces of a file, run with `--shard-id/--num-shards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Piece {
    pub index: u32,
    pub count: u32,
}

impl Piece {
    pub fn new(index: u32, count: u32) -> Option<Piece> {
        (index >= 1 && index <= count).then_some(Piece { index, count })
    }

    fn parse(part: &str) -> Option<Piece> {
        let rest = part.strip_prefix("shard_")?;
        let (index, count) = rest.split_once("_of_")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(index) || !digits(count) || index.starts_with('0') || count.starts_with('0') {
            return None;
        }
        Piece::new(index.parse().ok()?, count.parse().ok()?)
    }
}

impl fmt::Display for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard_{}_of_{}", self.index, self.count)
    }
}

/// Which test classes of a file a case runs: run_test.py's TestRun with included or
/// excluded classes. The sets are never empty (an empty set is the whole file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClassFilter {
    /// Only these classes.
    Only(BTreeSet<String>),
    /// Every class but these (including classes nobody named).
    Except(BTreeSet<String>),
}

impl ClassFilter {
    /// pytest's `-k` expression for the filter, as run_test.py builds it:
    /// `A or B`, or `not (A or B)`.
    pub fn pytest_k(&self) -> String {
        match self {
            ClassFilter::Only(classes) => join(classes, " or "),
            ClassFilter::Except(classes) => format!("not ({})", join(classes, " or ")),
        }
    }

    /// `only=A,B` / `except=A,B`: the part of a case name.
    fn part(&self) -> String {
        match self {
            ClassFilter::Only(c) => format!("only={}", join(c, ",")),
            ClassFilter::Except(c) => format!("except={}", join(c, ",")),
        }
    }

    /// The filter a name part spells, if the part is one (it holds a `=`, which no
    /// module path part may); a part that looks like one but is not canonical is an
    /// error, so a typo never runs the whole file.
    fn parse(name: &str, part: &str) -> Result<Option<ClassFilter>, NameError> {
        let Some((kind, list)) = part.split_once('=') else {
            return Ok(None);
        };
        let bad = || NameError::BadClasses(name.to_string());
        let names: Vec<&str> = list.split(',').collect();
        let canonical = names.windows(2).all(|w| w[0] < w[1]);
        if !canonical || !names.iter().all(|n| is_class_name(n)) {
            return Err(bad());
        }
        let classes = names.into_iter().map(String::from).collect();
        match kind {
            "only" => Ok(Some(ClassFilter::Only(classes))),
            "except" => Ok(Some(ClassFilter::Except(classes))),
            _ => Err(bad()),
        }
    }
}

/// A Python identifier: what a test class can be called.
pub fn is_class_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn join(classes: &BTreeSet<String>, sep: &str) -> String {
    classes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(sep)
}

/// A Python test file, or some of its classes, or one piece of either.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonCase {
    pub module: TestModule,
    pub classes: Option<ClassFilter>,
    pub piece: Option<Piece>,
}

impl PythonCase {
    pub fn whole(module: TestModule) -> PythonCase {
        PythonCase {
            module,
            classes: None,
            piece: None,
        }
    }

    /// Parses a case name. A last part of the form `shard_<k>_of_<n>` is a piece;
    /// anything starting with `shard_` that is not a valid piece is an error rather
    /// than a module name, so a typo never runs the whole file. Before it, a part with
    /// a `=` is a class filter.
    pub fn parse(name: &str) -> Result<PythonCase, NameError> {
        let (rest, piece) = match name.rsplit_once("::") {
            Some((head, last)) if last.starts_with("shard_") => {
                let piece = Piece::parse(last).ok_or_else(|| NameError::BadPiece(name.into()))?;
                (head, Some(piece))
            }
            _ => (name, None),
        };
        let (module_name, classes) = match rest.rsplit_once("::") {
            Some((head, last)) => match ClassFilter::parse(name, last)? {
                Some(filter) => (head, Some(filter)),
                None => (rest, None),
            },
            None => (rest, None),
        };
        let mut parts = Vec::new();
        for part in module_name.split("::") {
            check_part(name, part)?;
            if part.contains('=') {
                return Err(NameError::BadClasses(name.into()));
            }
            parts.push(part);
        }
        Ok(PythonCase {
            module: TestModule(parts.join("/")),
            classes,
            piece,
        })
    }

    pub fn name(&self) -> String {
        let mut name = self.module.case_name();
        if let Some(classes) = &self.classes {
            name.push_str("::");
            name.push_str(&classes.part());
        }
        if let Some(piece) = self.piece {
            name.push_str(&format!("::{piece}"));
        }
        name
    }
}

/// How the ranks of a distributed case find each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InitMethod {
    /// `env://`: MASTER_ADDR and MASTER_PORT.
    Env,
    /// `file://`: a file under TEMP_DIR.
    File,
}

impl InitMethod {
    pub fn name(self) -> &'static str {
        match self {
            InitMethod::Env => "env",
            InitMethod::File => "file",
        }
    }

    pub fn parse(name: &str) -> Option<InitMethod> {
        match name {
            "env" => Some(InitMethod::Env),
            "file" => Some(InitMethod::File),
            _ => None,
        }
    }
}

/// A distributed test file run with one backend and one init method:
/// `distributed::test_distributed_spawn::gloo::init_env`, or some of its classes when
/// target determination scores them apart (run_test.py hands each TestRun to its
/// distributed handler, which runs it per backend with the run's `-k`):
/// `distributed::algorithms::quantization::test_quantization::only=DistQuantizationTests::gloo::init_env`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DistributedCase {
    pub module: TestModule,
    pub classes: Option<ClassFilter>,
    pub backend: String,
    pub init: InitMethod,
}

impl DistributedCase {
    pub fn parse(name: &str) -> Result<DistributedCase, NameError> {
        let bad = || NameError::BadDistributed(name.to_string());
        let (rest, init) = name.rsplit_once("::").ok_or_else(bad)?;
        let init = init
            .strip_prefix("init_")
            .and_then(InitMethod::parse)
            .ok_or_else(bad)?;
        let (module, backend) = rest.rsplit_once("::").ok_or_else(bad)?;
        check_part(name, backend)?;
        let module = PythonCase::parse(module)?;
        if module.piece.is_some() {
            return Err(bad());
        }
        Ok(DistributedCase {
            module: module.module,
            classes: module.classes,
            backend: backend.to_string(),
            init,
        })
    }

    pub fn name(&self) -> String {
        format!(
            "{}::{}::init_{}",
            self.run().name(),
            self.backend,
            self.init.name()
        )
    }

    /// The file, or the classes of it, this configuration runs.
    pub fn run(&self) -> PythonCase {
        PythonCase {
            module: self.module.clone(),
            classes: self.classes.clone(),
            piece: None,
        }
    }

    /// `dist-gloo-init-env`: the report folder PyTorch's handler uses (for the `test`
    /// backend too, where PyTorch writes a bare `-init-env`).
    pub fn report_source(&self) -> String {
        format!("dist-{}-init-{}", self.backend, self.init.name())
    }
}

/// One suite of a C++ gtest binary: `test_api::TensorTest`,
/// `c10_typed_test::SaturatingAdd/0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CppCase {
    pub binary: String,
    pub suite: String,
}

impl CppCase {
    /// A name gtest could print for a suite (or a binary): no separators, wildcards,
    /// whitespace or control characters.
    pub fn is_plain(s: &str) -> bool {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '\\' | '*' | '?'))
    }

    pub fn parse(name: &str) -> Result<CppCase, NameError> {
        let bad = || NameError::BadCpp(name.to_string());
        let (binary, suite) = name.split_once("::").ok_or_else(bad)?;
        let plain = CppCase::is_plain;
        if !plain(binary) || binary.contains('/') || binary.starts_with('.') || !plain(suite) {
            return Err(bad());
        }
        Ok(CppCase {
            binary: binary.to_string(),
            suite: suite.to_string(),
        })
    }

    pub fn name(&self) -> String {
        format!("{}::{}", self.binary, self.suite)
    }

    /// `--gtest_filter` for the suite's tests.
    pub fn filter(&self) -> String {
        format!("{}.*", self.suite)
    }
}

fn check_part(name: &str, part: &str) -> Result<(), NameError> {
    if part.is_empty() {
        return Err(NameError::EmptyPart(name.replace('/', "::")));
    }
    if part == "." || part == ".." || part.contains(['/', '\\', ':', '\0']) {
        return Err(NameError::BadPart {
            name: name.to_string(),
            part: part.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "test_nn",
            "nn::test_pooling",
            "distributed::test_c10d_gloo",
            "distributed::elastic::timer::api_test",
            "test_ops::shard_2_of_9",
            "inductor::test_torchinductor::shard_1_of_1",
        ] {
            let case = PythonCase::parse(name).unwrap();
            assert_eq!(case.name(), name);
            assert_eq!(PythonCase::parse(&case.name()).unwrap(), case);
        }
    }

    #[test]
    fn class_filters_round_trip() {
        for name in [
            "test_nn::only=TestLinear",
            "test_nn::only=TestConv,TestLinear",
            "nn::test_pooling::except=TestPoolingNN",
            "test_ops::only=TestCommonOps::shard_2_of_3",
            "test_ops::except=A_1,TestB::shard_1_of_1",
            "test_x::only=_Private,Ünïcode",
        ] {
            let case = PythonCase::parse(name).unwrap();
            assert_eq!(case.name(), name);
            assert_eq!(PythonCase::parse(&case.name()).unwrap(), case);
        }
        let case = PythonCase::parse("nn::test_pooling::only=TestA,TestB::shard_2_of_3").unwrap();
        assert_eq!(case.module.as_str(), "nn/test_pooling");
        let classes: BTreeSet<String> = ["TestA", "TestB"].map(String::from).into();
        assert_eq!(case.classes, Some(ClassFilter::Only(classes.clone())));
        assert_eq!(case.piece, Some(Piece { index: 2, count: 3 }));
        // run_test.py's `-k` filters: TestRun.get_pytest_filter.
        assert_eq!(
            ClassFilter::Only(classes.clone()).pytest_k(),
            "TestA or TestB"
        );
        assert_eq!(
            ClassFilter::Except(classes).pytest_k(),
            "not (TestA or TestB)"
        );
        // Built from parts, the name parses back to the same case.
        let built = PythonCase {
            module: TestModule::new("distributed/elastic/api_test").unwrap(),
            classes: Some(ClassFilter::Except(["Z".to_string()].into())),
            piece: Piece::new(1, 2),
        };
        assert_eq!(
            built.name(),
            "distributed::elastic::api_test::except=Z::shard_1_of_2"
        );
        assert_eq!(PythonCase::parse(&built.name()).unwrap(), built);
    }

    #[test]
    fn bad_class_filters_are_rejected() {
        for name in [
            "test_nn::only=",
            "test_nn::only=B,A",
            "test_nn::only=A,A",
            "test_nn::only=A,,B",
            "test_nn::some=A",
            "test_nn::only=1A",
            "test_nn::only=A-B",
            "test_nn::only=A B",
            "test_nn::only=A::except=B",
            "only=A",
        ] {
            let err = PythonCase::parse(name).unwrap_err();
            assert!(
                matches!(
                    err,
                    NameError::BadClasses(_) | NameError::BadPart { .. } | NameError::EmptyPart(_)
                ),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn a_name_maps_to_its_file() {
        let case = PythonCase::parse("distributed::test_c10d_gloo").unwrap();
        assert_eq!(case.module.as_str(), "distributed/test_c10d_gloo");
        assert_eq!(
            case.module.file(Path::new("/pt")),
            Path::new("/pt/test/distributed/test_c10d_gloo.py")
        );
        assert_eq!(case.module.dotted(), "distributed.test_c10d_gloo");
        let piece = PythonCase::parse("test_ops::shard_2_of_9").unwrap();
        assert_eq!(piece.module.as_str(), "test_ops");
        assert_eq!(piece.piece, Some(Piece { index: 2, count: 9 }));
    }

    #[test]
    fn distributed_names_round_trip() {
        for name in [
            "distributed::test_distributed_spawn::gloo::init_env",
            "distributed::algorithms::quantization::test_quantization::nccl::init_file",
            "distributed::test_distributed_spawn::test::init_file",
            "distributed::algorithms::quantization::test_quantization::only=DistQuantizationTests::gloo::init_env",
            "distributed::algorithms::quantization::test_quantization::except=DistQuantizationTests::test::init_file",
        ] {
            let case = DistributedCase::parse(name).unwrap();
            assert_eq!(case.name(), name);
        }
        let class_run = DistributedCase::parse(
            "distributed::algorithms::quantization::test_quantization::only=DistQuantizationTests::gloo::init_env",
        )
        .unwrap();
        assert_eq!(
            class_run.classes,
            Some(ClassFilter::Only(
                ["DistQuantizationTests".to_string()].into()
            ))
        );
        assert_eq!(
            class_run.module.as_str(),
            "distributed/algorithms/quantization/test_quantization"
        );
        let case =
            DistributedCase::parse("distributed::test_distributed_spawn::gloo::init_env").unwrap();
        assert_eq!(case.module.as_str(), "distributed/test_distributed_spawn");
        assert_eq!(
            (case.backend.as_str(), case.init),
            ("gloo", InitMethod::Env)
        );
        assert_eq!(case.report_source(), "dist-gloo-init-env");
        for bad in [
            "test_x",
            "a::gloo::env",
            "a::gloo::init_tcp",
            "::gloo::init_env",
            "a::shard_1_of_2::gloo::init_env",
        ] {
            assert!(DistributedCase::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpp_names_round_trip() {
        for name in [
            "test_api::TensorTest",
            "c10_typed_test::SaturatingAdd/0",
            "t::Sizes/PrefixSum",
        ] {
            let case = CppCase::parse(name).unwrap();
            assert_eq!(case.name(), name);
        }
        assert_eq!(
            CppCase::parse("test_api::TensorTest").unwrap().filter(),
            "TensorTest.*"
        );
        for bad in [
            "test_api",
            "::Suite",
            "bin::",
            "a/b::S",
            "bin::S*",
            "bin::A::B",
        ] {
            assert!(CppCase::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in [
            "",
            "::test_nn",
            "nn::",
            "nn::::x",
            "..::etc::passwd",
            "a/b",
            "test_ops::shard_0_of_3",
            "test_ops::shard_4_of_3",
            "test_ops::shard_01_of_3",
            "test_ops::shard_x",
        ] {
            assert!(PythonCase::parse(name).is_err(), "{name} parsed");
        }
    }
}
