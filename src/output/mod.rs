//! What is written next to the de-identified files, shared by the CLI and the page: output
//! names, the audit log, the PHI linkage tables, the commit ledger of a batch, and the zip.

pub mod audit;
pub mod zip;
