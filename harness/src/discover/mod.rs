//! Discovery: what cases a checkout has. One module per kind of case, plus the platform
//! whose blocklist applies and the probe of what the Python environment offers.

pub mod cpp;
pub mod distributed;
pub mod platform;
pub mod probe;
pub mod python;
