//! Every Python test file of the checkout (PYTORCH_ROOT, default: demo/) as a case.
fn main() -> std::process::ExitCode {
    torch_harness::run::main(torch_harness::run::Kind::Python)
}
