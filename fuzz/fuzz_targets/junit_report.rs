//! The XML report reader: any bytes give test cases or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cases) = torch_harness::report::junit::parse(&text) {
        for case in cases {
            let _ = case.id();
            assert!(case.time.is_finite() && case.time >= 0.0);
        }
    }
});
