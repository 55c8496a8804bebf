//! Review of a batch: the patterns of identifying text shared with the engine, and the
//! residual-PHI verification of the outputs against identifiers harvested from the inputs.

pub mod patterns;
