//! The platform whose blocklist applies (run_test.py, research §2.3 step 20): Windows,
//! else ROCm, else s390x; the first that matches wins.

use crate::policy::{PlatformRules, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Windows,
    /// `PYTORCH_TEST_WITH_ROCM=1`, as common_utils' TEST_WITH_ROCM.
    Rocm,
    S390x,
    Other,
}

impl Platform {
    pub fn detect() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else if std::env::var("PYTORCH_TEST_WITH_ROCM").is_ok_and(|v| v == "1") {
            Platform::Rocm
        } else if cfg!(target_arch = "s390x") {
            Platform::S390x
        } else {
            Platform::Other
        }
    }

    fn rules(self, policy: &Policy) -> Option<(&'static str, &PlatformRules)> {
        let p = &policy.platforms;
        match self {
            Platform::Windows => Some(("Windows", &p.windows)),
            Platform::Rocm => Some(("ROCm", &p.rocm)),
            Platform::S390x => Some(("s390x", &p.s390x)),
            Platform::Other => None,
        }
    }

    /// Why `module` does not run on this platform, if it does not.
    pub fn blocked(self, module: &str, policy: &Policy) -> Option<String> {
        let (name, rules) = self.rules(policy)?;
        let entry = rules
            .blocklist
            .iter()
            .find(|b| module.starts_with(b.as_str()))
            .map(String::as_str)
            .or_else(|| {
                (rules.exclude_distributed && module.starts_with("distributed"))
                    .then_some("distributed")
            })?;
        Some(format!(
            "blocklisted on {name} by `{entry}` (test-manifests/platforms.toml)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn each_platform_applies_its_own_list() {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        let policy = Policy::load(&manifests, Path::new("/nonexistent")).unwrap();
        let rocm = Platform::Rocm.blocked("test_jit_legacy", &policy).unwrap();
        assert!(
            rocm.contains("ROCm") && rocm.contains("test_jit_legacy"),
            "{rocm}"
        );
        assert!(Platform::Rocm.blocked("test_nn", &policy).is_none());
        assert!(
            Platform::Windows
                .blocked("distributed/fsdp/test_fsdp_core", &policy)
                .is_some()
        );
        assert!(
            Platform::S390x
                .blocked("distributed/test_store", &policy)
                .is_some()
        );
        assert!(Platform::S390x.blocked("test_nn", &policy).is_some());
        // The newest S390X_BLOCKLIST names inductor and dynamo files one by one; the
        // rest of those folders, and export/, run on s390x.
        assert!(
            Platform::S390x
                .blocked("inductor/test_torchinductor", &policy)
                .is_some()
        );
        for runs in [
            "inductor/test_codecache",
            "dynamo/test_repros",
            "export/test_export",
        ] {
            assert!(Platform::S390x.blocked(runs, &policy).is_none(), "{runs}");
        }
        assert!(
            Platform::Other
                .blocked("test_jit_legacy", &policy)
                .is_none()
        );
    }
}
