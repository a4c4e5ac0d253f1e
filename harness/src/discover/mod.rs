//! Discovery: what cases a checkout has. One module per kind of case, plus the host
//! (the platform whose blocklist applies, the interpreter and torch build whose rules
//! apply) and the probe of what the Python environment offers.

pub mod cpp;
pub mod distributed;
pub mod host;
pub mod platform;
pub mod probe;
pub mod python;
