//! Every suite of every C++ gtest binary of the checkout (build/bin or CPP_TESTS_DIR).
fn main() -> std::process::ExitCode {
    torch_harness::run::main(torch_harness::run::Kind::Cpp)
}
