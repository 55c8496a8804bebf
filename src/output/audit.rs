//! The audit log written inside every output: one record per output file and a summary record
//! that accounts for every input. Only action codes, tag paths, standard UIDs, counts and reasons
//! appear here — never a patient value, an input path or an original UID.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::FileRecord;
use crate::deid::Options;
use crate::pixels::PixelRecord;

/// An action as applied to one element, after compound codes were resolved by the IOD. Declared
/// in alphabetical order, which is the order of the audit's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Applied {
    /// Cleaned (or a content item / private element kept under an option's rules).
    C,
    /// Replaced with a dummy value.
    D,
    /// Kept.
    K,
    /// UID replaced.
    U,
    /// Removed.
    X,
    /// Emptied.
    Z,
}

/// What was done to one file: counts per applied action and each (path, action) that changed
/// something. Paths follow the MIDI-B convention, e.g. `<(0008,1140)>[<0000>]<(0008,1155)>`, private
/// elements as `<(gggg,"CREATOR",ee)>`. No value is ever recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ActionLog {
    pub counts: BTreeMap<Applied, usize>,
    pub actions: Vec<(String, Applied)>,
    pub warnings: Vec<String>,
    /// List kept elements in `actions` too (the inventory wants every element's action; the
    /// audit only what changed).
    #[serde(skip)]
    pub(crate) trace_kept: bool,
}

impl ActionLog {
    /// Notes one action on the element at `path`; kept elements are counted, not listed.
    pub(crate) fn note(&mut self, path: &str, applied: Applied) {
        *self.counts.entry(applied).or_default() += 1;
        if applied != Applied::K || self.trace_kept {
            self.actions.push((path.to_string(), applied));
        }
    }

    /// Adds a warning once.
    pub fn warn(&mut self, w: impl Into<String>) {
        let w = w.into();
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
}

/// Totals for a batch; `found == deidentified + skipped + failed + quarantined` always.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub found: usize,
    pub deidentified: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Reason → count, for skipped inputs (not DICOM, DICOMDIR, duplicates).
    pub skipped_reasons: BTreeMap<String, usize>,
    /// Reason → count, for inputs that could not be de-identified.
    pub failed_reasons: BTreeMap<String, usize>,
    /// Images held back because their pixels may show identifying text.
    pub quarantined: usize,
    /// Reason → count, for quarantined inputs.
    pub quarantined_reasons: BTreeMap<String, usize>,
    /// Written images whose pixels were masked.
    pub masked: usize,
    /// Written images at risk of burned-in text that no mask covered (Clean Pixel Data off, or
    /// the risk accepted).
    pub at_risk_unmasked: usize,
    /// Inputs the reviewer excluded before the run (the page's studio): not processed.
    #[serde(default)]
    pub excluded: usize,
    /// Studies whose files were written under more than one patient pseudonym (their files
    /// disagree on the Patient ID or its issuer): a curator should look before sharing.
    #[serde(default)]
    pub split_studies: usize,
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
    /// Counts one input the reviewer excluded.
    pub fn exclude(&mut self) {
        self.found += 1;
        self.excluded += 1;
    }
    /// Counts one quarantined input.
    pub fn quarantine(&mut self, reason: &str) {
        self.found += 1;
        self.quarantined += 1;
        *self
            .quarantined_reasons
            .entry(reason.to_string())
            .or_default() += 1;
    }
    /// Counts what the pixel stage did to a written file.
    pub fn pixels(&mut self, p: &PixelRecord) {
        self.masked += p.masked.is_some() as usize;
        self.at_risk_unmasked += (p.at_risk.is_some() && p.masked.is_none()) as usize;
    }
    /// What a curator must look at before sharing, in words: the CLI prints them, the page
    /// shows them.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.split_studies > 0 {
            let (n, studies) = match self.split_studies {
                1 => ("1".to_string(), "study was"),
                n => (n.to_string(), "studies were"),
            };
            w.push(format!(
                "{n} {studies} written under more than one patient pseudonym (their files \
                 disagree on the Patient ID or its issuer); review before sharing"
            ));
        }
        w
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
    output_name: &'a str,
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

/// The audit.jsonl line of one output file, written under `output_name`.
pub fn file_jsonl(output_name: &str, file: &FileRecord) -> String {
    let mut s = serde_json::to_string(&FileLine {
        record: "file",
        output_name,
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

#[derive(Serialize)]
struct HeldLine<'a> {
    /// `quarantined` (held back for its pixels) or `excluded` (by the reviewer).
    record: &'static str,
    /// The input's position in the batch's input order (1-based): input paths may name patients.
    input_number: usize,
    reason: &'a str,
}

/// The audit.jsonl line of an input held back (`quarantined`) or excluded by the reviewer
/// (`excluded`): no name, since nothing was written.
pub fn held_jsonl(record: &'static str, input_number: usize, reason: &str) -> String {
    let mut s = serde_json::to_string(&HeldLine {
        record,
        input_number,
        reason,
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// Header of audit.csv.
pub const CSV_HEADER: &str =
    "output_name,sop_class_uid,modality,transfer_syntax,X,Z,D,K,C,U,pixels,warnings,actions\n";

/// One line for a results table: the pixel column and the warnings.
pub fn remarks(file: &FileRecord) -> String {
    let pixels = pixels_text(&file.pixels);
    std::iter::once(pixels.as_str())
        .filter(|p| !p.is_empty())
        .chain(file.report.warnings.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pixel column of audit.csv: what was masked, or the risk left.
pub fn pixels_text(p: &PixelRecord) -> String {
    match (&p.masked, &p.at_risk) {
        (Some(m), _) => format!(
            "masked by {}: {} regions on {} frames, {}, {} -> {}, {:+} bytes",
            m.source,
            m.regions,
            m.frames,
            m.method,
            m.transfer_syntax_in,
            m.transfer_syntax_out,
            m.size_change
        ),
        (None, Some(r)) if p.released_unmasked => format!("at risk, released unmasked: {r}"),
        (None, Some(r)) => format!("at risk, not masked: {r}"),
        (None, None) => String::new(),
    }
}

/// The audit.csv row of one output file; `actions` lists `path=code` separated by spaces.
pub fn file_csv(output_name: &str, file: &FileRecord) -> String {
    let c = |k: Applied| file.report.counts.get(&k).copied().unwrap_or(0).to_string();
    let actions: Vec<String> = file
        .report
        .actions
        .iter()
        .map(|(p, a)| format!("{p}={a:?}"))
        .collect();
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record([
        output_name,
        &file.sop_class_uid,
        &file.modality,
        &file.transfer_syntax,
        &c(Applied::X),
        &c(Applied::Z),
        &c(Applied::D),
        &c(Applied::K),
        &c(Applied::C),
        &c(Applied::U),
        &pixels_text(&file.pixels),
        &file.report.warnings.join("; "),
        &actions.join(" "),
    ]);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// One row of a CSV file (RFC 4180 quoting).
pub(crate) fn csv_row(fields: &[&str]) -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record(fields);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The running size and CRC-32 of a file written piece by piece (the audit files, whose zip
/// entries need both at the end).
#[derive(Debug, Clone, Default)]
pub struct Checksummed {
    crc: crc32fast::Hasher,
    size: u64,
}

impl Checksummed {
    /// Counts the next piece.
    pub fn update(&mut self, piece: &[u8]) {
        self.crc.update(piece);
        self.size += piece.len() as u64;
    }
    /// The CRC-32 of everything so far.
    pub fn crc32(&self) -> u32 {
        self.crc.clone().finalize()
    }
    /// The number of bytes so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}
