//! The de-identification log (TCIA's practical guide): one row per run, with no PHI — when, with
//! what tool, profile and options, under which key (by fingerprint), how many files went where,
//! the random sample, the residual findings, and the reviewer's sign-off.

use serde::{Deserialize, Serialize};

use crate::deid::{Options, method};
use crate::output::audit::{Summary, csv_row};

/// One run of the log.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunLog {
    pub run_id: String,
    pub started_utc: String,
    pub finished_utc: String,
    pub tool: String,
    pub profile: String,
    pub options: Options,
    /// The private dictionaries in force, by name.
    pub private_dictionaries: Vec<String>,
    pub key_fingerprint: String,
    pub summary: Summary,
    pub sample_seed: u64,
    pub sample_size: usize,
    pub sample_ok: Option<usize>,
    pub sample_fail: Option<usize>,
    /// Residual-PHI findings by severity: critical, high, review.
    pub residual: [usize; 3],
    pub reviewer: String,
    pub sign_off_utc: String,
    pub notes: String,
}

impl RunLog {
    /// `deid_log-noPHI.csv` with this run's row.
    pub fn csv(&self) -> String {
        let count = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
        let s = &self.summary;
        let options: Vec<&str> = self
            .options
            .enabled()
            .iter()
            .map(|o| o.standard_name())
            .collect();
        let mut out = String::from(HEADER);
        out.push_str(&csv_row(&[
            &self.run_id,
            &self.started_utc,
            &self.finished_utc,
            &self.tool,
            &self.profile,
            &method::code_values(&self.options).join("|"),
            &options.join("|"),
            &self.private_dictionaries.join("|"),
            &self.key_fingerprint,
            &s.found.to_string(),
            &s.deidentified.to_string(),
            &s.quarantined.to_string(),
            &s.masked.to_string(),
            &s.failed.to_string(),
            &s.skipped.to_string(),
            &self.sample_seed.to_string(),
            &self.sample_size.to_string(),
            &count(self.sample_ok),
            &count(self.sample_fail),
            &self.residual[0].to_string(),
            &self.residual[1].to_string(),
            &self.residual[2].to_string(),
            &self.reviewer,
            &self.sign_off_utc,
            &self.notes,
        ]));
        out
    }
}

/// The tool and its version, as logs and audits name it.
pub const TOOL: &str = concat!("dcm-deid ", env!("CARGO_PKG_VERSION"));

/// Columns of `deid_log-noPHI.csv` (review.md §6 F).
pub const HEADER: &str = "run_id,started_utc,finished_utc,tool,profile_name,cid7050_codes,\
options,private_dictionary,key_fingerprint,files_in,files_out,files_quarantined,files_masked,\
files_failed,files_skipped,sample_seed,sample_size,sample_ok,sample_fail,residual_critical,\
residual_high,residual_review,reviewer,sign_off_utc,notes\n";
