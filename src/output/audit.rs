//! The audit log written inside every output: one record per output file and a summary record
//! that accounts for every input. Only action codes, tag paths, standard UIDs, counts and reasons
//! appear here — never a patient value, an input path or an original UID.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::FileRecord;
use crate::deid::profile::Options;

/// Totals for a batch; `found == deidentified + skipped + failed` always.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub found: usize,
    pub deidentified: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Reason → count, for skipped inputs (not DICOM, DICOMDIR, duplicates).
    pub skipped_reasons: BTreeMap<String, usize>,
    /// Reason → count, for inputs that could not be de-identified.
    pub failed_reasons: BTreeMap<String, usize>,
}

impl Summary {
    /// Counts one input that was de-identified.
    pub fn done(&mut self) {
        self.found += 1;
        self.deidentified += 1;
    }
    /// Counts one skipped input.
    pub fn skip(&mut self, reason: &str) {
        self.found += 1;
        self.skipped += 1;
        *self.skipped_reasons.entry(reason.to_string()).or_default() += 1;
    }
    /// Counts one failed input.
    pub fn fail(&mut self, reason: &str) {
        self.found += 1;
        self.failed += 1;
        *self.failed_reasons.entry(reason.to_string()).or_default() += 1;
    }
}

#[derive(Serialize)]
struct FileLine<'a> {
    record: &'static str,
    #[serde(flatten)]
    file: &'a FileRecord,
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    record: &'static str,
    tool: &'static str,
    profile: &'a str,
    options: Vec<&'static str>,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// The audit.jsonl line of one output file.
pub fn file_jsonl(file: &FileRecord) -> String {
    let mut s = serde_json::to_string(&FileLine {
        record: "file",
        file,
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// The audit.jsonl summary line.
pub fn summary_jsonl(profile: &str, options: &Options, summary: &Summary) -> String {
    let mut s = serde_json::to_string(&SummaryLine {
        record: "summary",
        tool: concat!("dcm-deid ", env!("CARGO_PKG_VERSION")),
        profile,
        options: options
            .enabled()
            .iter()
            .map(|o| o.standard_name())
            .collect(),
        summary,
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// Header of audit.csv.
pub const CSV_HEADER: &str =
    "output_name,sop_class_uid,modality,transfer_syntax,X,Z,D,K,C,U,warnings,actions\n";

/// The audit.csv row of one output file; `actions` lists `path=code` separated by spaces.
pub fn file_csv(file: &FileRecord) -> String {
    let c = |k: &str| file.report.counts.get(k).copied().unwrap_or(0).to_string();
    let actions: Vec<String> = file
        .report
        .actions
        .iter()
        .map(|(p, a)| format!("{p}={a}"))
        .collect();
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record([
        file.output_name.as_str(),
        &file.sop_class_uid,
        &file.modality,
        &file.transfer_syntax,
        &c("X"),
        &c("Z"),
        &c("D"),
        &c("K"),
        &c("C"),
        &c("U"),
        &file.report.warnings.join("; "),
        &actions.join(" "),
    ]);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// One row of a CSV file (RFC 4180 quoting), for the linkage files.
pub fn csv_row(fields: &[&str]) -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record(fields);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The reason given for an input whose output is identical to an earlier one.
pub const DUPLICATE: &str = "duplicate: identical to another input";

/// The output names used so far in a batch, with the digest of what each holds. The CLI and the
/// browser share this policy: a second input that maps to a used name is a duplicate when its
/// output is identical, and is kept under its alternate name (see [`crate::alternate_name`])
/// when it differs (same SOP Instance UID, other content).
#[derive(Debug, Default, Clone)]
pub struct OutputNames {
    used: HashMap<String, String>,
}

impl OutputNames {
    /// The name to write under, or `None` for a duplicate.
    pub fn claim(&mut self, name: &str, alternate: &str, digest: &str) -> Option<String> {
        match self.used.get(name) {
            None => {
                self.used.insert(name.to_string(), digest.to_string());
                Some(name.to_string())
            }
            Some(d) if d == digest => None,
            Some(_) => match self.used.get(alternate) {
                Some(d) if d == digest => None,
                _ => {
                    self.used.insert(alternate.to_string(), digest.to_string());
                    Some(alternate.to_string())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_claimed_once() {
        let mut n = OutputNames::default();
        assert_eq!(n.claim("a.dcm", "a_1.dcm", "d1").as_deref(), Some("a.dcm"));
        assert_eq!(n.claim("a.dcm", "a_1.dcm", "d1"), None, "identical output");
        assert_eq!(
            n.claim("a.dcm", "a_2.dcm", "d2").as_deref(),
            Some("a_2.dcm")
        );
        assert_eq!(
            n.claim("a.dcm", "a_2.dcm", "d2"),
            None,
            "identical to the alternate"
        );
    }
}
