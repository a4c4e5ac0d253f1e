//! What this project's own developers run: its tests (`check`), the lane against the
//! real torch wheel (`torch`, `cargo xtask e2e-torch`), the benchmarks (`bench`, with
//! the planner's in `bench_plan`), the fuzz targets (`fuzz`) and the selection's parity
//! with run_test.py (`parity`). One module per command.

pub mod bench;
pub mod bench_plan;
pub mod check;
pub mod fuzz;
pub mod parity;
pub mod torch;
