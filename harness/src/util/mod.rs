//! Small helpers that belong to no step of the flow.

pub mod fs;
pub mod hash;
