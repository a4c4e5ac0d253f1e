//! What a case's attempt came to, and the evidence: verdicts, records, JUnit reports,
//! and PyTorch's expected-failure lists checked against them.

pub mod expected_failures;
pub mod junit;
pub mod record;
pub mod started;
pub mod verdict;
