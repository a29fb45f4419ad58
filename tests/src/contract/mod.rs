//! The contract suite's machinery, shared by the suite over the conformance fixture
//! (`tests/tests/contract`) and the suites over the example facades (`examples/*/tests/contract.rs`):
//! an HTTP client that validates every resource it receives and records which search
//! parameters and interactions it exercised ([`Run`]), a report of checks by group printed as a
//! table ([`Report`]), the checks that hold for any facade ([`checks`], [`smart`], [`includes()`] with the suite's
//! [`IncludeKey`]), and the
//! real clients and the second validator ([`clients`]).
//!
//! Every check names the spec section it comes from. A suite runs all of its checks, prints the
//! table, and then fails if any check failed ([`Report::assert_passes`]).

pub mod checks;
pub mod clients;
pub mod harness;
pub mod includes;
pub mod run;
pub mod server;
pub mod smart;

pub use harness::{Group, Http, Reply, Report};
pub use includes::{IncludeKey, includes};
pub use run::{Run, fails};

/// Prints past the test harness's capture, so the table is in every run's output.
pub fn print(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}
