//! The review workflow around de-identification, after TCIA's: an element inventory (no values),
//! the values to review before (PHI, local only) and after, the residual-PHI verification of the
//! outputs against identifiers harvested from the inputs, a de-identification log and a seeded
//! random sample. One implementation for the library, the CLI and the page: each report is built
//! from per-file parts made in parallel (a CLI thread, a page worker) and merged in input order.

pub mod basis;
pub mod elements;
pub mod final_review;
pub mod flags;
pub mod inventory;
pub mod log;
pub mod patterns;
pub mod sample;
