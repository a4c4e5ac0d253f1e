//! The JSON the harness reads back: case records, shard plans and test-times files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<torch_harness::report::record::Record>(data);
    let _ = serde_json::from_slice::<torch_harness::plan::Plan>(data);
    let _ = serde_json::from_slice::<torch_harness::plan::document::PlanDocument>(data);
    let text = String::from_utf8_lossy(data);
    let key = torch_harness::plan::times::JobKey::default();
    if let Ok(times) = torch_harness::plan::times::parse(&text, &key, std::path::Path::new("fuzz"))
    {
        assert!(times.values().all(|t| t.is_finite() && *t >= 0.0));
    }
});
