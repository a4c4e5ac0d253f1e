//! Every distributed test file of the checkout, once per backend and init method.
fn main() -> std::process::ExitCode {
    torch_harness::run::main(torch_harness::run::Kind::Distributed)
}
