//! What a PyTorch developer or a CI job types: run the suite (`test`), build it once for
//! other machines (`archive`), plan shards (`plan`), read a run (`report`), keep the
//! times (`times`) and the expected-failure lists (`expected-failures`), and prepare the
//! machine (`setup`). One module per command.

pub mod archive;
pub mod expected;
pub mod plan;
pub mod report;
pub mod setup;
pub mod test;
pub mod times;
