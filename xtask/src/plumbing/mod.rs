//! What the commands share: choosing the cases (`selection`, `filterset`, `changed`,
//! `td_default`, `lists`, `reenable`), ordering them (`order`), listing them without
//! running (`dry_list`), and the tools and places they run with (`nextest`, `system`,
//! `workspace`). No command lives here.

pub mod changed;
pub mod dry_list;
pub mod filterset;
pub mod lists;
pub mod nextest;
pub mod order;
pub mod reenable;
pub mod selection;
pub mod system;
pub mod td_default;
pub mod workspace;
