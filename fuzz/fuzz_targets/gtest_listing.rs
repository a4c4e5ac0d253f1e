//! The `--gtest_list_tests` parser: suites it returns are usable case names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for suite in torch_harness::discover::cpp::parse_listing(&text) {
        let case = torch_harness::case::CppCase {
            binary: "bin".into(),
            suite,
        };
        let parsed = torch_harness::case::CppCase::parse(&case.name());
        assert_eq!(parsed.ok(), Some(case));
    }
});
