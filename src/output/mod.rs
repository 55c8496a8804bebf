//! What is written next to the de-identified files, shared by the CLI and the page: output
//! names, the audit log, the PHI linkage tables, the commit ledger of a batch, and the zip.

pub mod audit;
pub mod ledger;
pub mod linkage;
pub mod names;
pub mod quarantine;
pub mod streamed;
pub mod zip;

pub use audit::Summary;
pub use ledger::{AuditLines, Committed, FileResult, Ledger, Outcome, Processed};
