//! Discovery: what cases a checkout has. One module per kind of case.

pub mod cpp;
pub mod distributed;
pub mod python;
