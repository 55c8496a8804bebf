//! Review of a batch: the patterns of identifying text shared with the engine, and the
//! residual-PHI verification of the outputs against identifiers harvested from the inputs.

pub mod harvest;
pub mod patterns;
pub mod tokens;
pub mod verify;

pub use verify::{FileCheck, Report, Verifier, VerifyConfig, check_file};
