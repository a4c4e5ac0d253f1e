//! Every Python test file of the checkout (PYTORCH_ROOT, default: demo/) as a case.
fn main() -> std::process::ExitCode {
    torch_harness::harness::main(torch_harness::harness::Kind::Python)
}
