//! The commit policy of a batch, in one place for the CLI and the page: every input's result is
//! committed in input order — its output name claimed (or found a duplicate), its audit lines
//! rendered under that name, its linkage row and the totals recorded — so names, zip entry order,
//! audit and linkage are the same whatever the number of threads or workers that produced the
//! results. The CLI's threads and the page's worker pool (through the wasm `Batch`) both feed it.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::deid::{Deidentified, FileRecord, Linkage, Options};
use crate::error::{Disposition, Error};
use crate::output::audit::{self, Summary};
use crate::output::linkage::LinkageTables;
use crate::output::names::{self, OutputNames};
use crate::output::quarantine::Held;
use crate::review::final_review::{self, FinalReview, OutputPart, ResidualMarks};
use crate::review::log::RunLog;
use crate::review::sample;

/// One input's result, made in parallel before it is committed. It crosses from a page worker to
/// the page's ledger as a plain object, so it holds no bytes: the output itself is staged by
/// whoever made it (a temporary file, a deflated buffer, an OPFS file).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileResult {
    /// De-identified; the output is staged.
    Processed(Box<Processed>),
    /// Not for de-identification (not DICOM, a DICOMDIR): nothing written.
    Skipped { reason: String },
    /// DICOM that could not be de-identified: nothing written.
    Failed { reason: String },
    /// An image held back because its pixels may show identifying text: nothing written.
    Quarantined { reason: String },
}

/// A de-identified file as the ledger needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Processed {
    /// The name the output asks for (see [`names::output_name`]).
    pub name: String,
    /// The output's [`names::content_digest`]: decides duplicate against alternate name.
    pub digest: String,
    /// CRC-32 of the output, for a stored zip entry.
    pub crc32: u32,
    /// Size of the output in bytes.
    pub size: u64,
    pub record: FileRecord,
    /// PHI: recorded only when the batch keeps linkage tables.
    pub linkage: Linkage,
    /// The output's values for the final review (de-identified values only).
    #[serde(default)]
    pub review: OutputPart,
}

impl FileResult {
    /// The result of de-identifying one input (digest and CRC of the output computed here, in
    /// parallel, so the ordered commit stays cheap).
    pub fn of(result: &Result<Deidentified, Error>) -> FileResult {
        match result {
            Ok(d) => FileResult::Processed(Box::new(Processed {
                name: d.name.clone(),
                digest: names::content_digest(&d.bytes),
                crc32: crc32fast::hash(&d.bytes),
                size: d.bytes.len() as u64,
                record: d.record.clone(),
                linkage: d.linkage.clone(),
                review: final_review::examine(&d.bytes, &d.record.report.actions)
                    .unwrap_or_default(),
            })),
            Err(e) => FileResult::rejected(e),
        }
    }

    /// An input that was not de-identified, skipped or failed by the kind of error.
    pub fn rejected(e: &Error) -> FileResult {
        let reason = e.to_string();
        match e.disposition() {
            Disposition::Skip => FileResult::Skipped { reason },
            Disposition::Fail => FileResult::Failed { reason },
            Disposition::Quarantine => FileResult::Quarantined { reason },
        }
    }
}

/// What happened to one input once committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Written under this relative name.
    Written(String),
    /// Nothing written, for this reason (not DICOM, a DICOMDIR, a duplicate).
    Skipped(String),
    /// Nothing written, for this reason.
    Failed(String),
    /// Held back for review (pixels at risk), for this reason.
    Quarantined(String),
    /// Not run: the reviewer excluded it before the run (the page's studio).
    Excluded(String),
}

/// Why an excluded input was not run (the results table and the linkage say it).
pub const EXCLUDED: &str = "excluded by the reviewer in the studio";

/// The audit lines of one written output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLines {
    pub jsonl: String,
    pub csv: String,
    /// What a reviewer should know of this file in a results table: what Clean Pixel Data did
    /// and the warnings, in one line (empty when nothing is worth saying).
    pub remarks: String,
}

/// The result of committing one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub outcome: Outcome,
    /// Present when the output was written (append to audit.jsonl and audit.csv), or quarantined
    /// (a line for audit.jsonl; the CSV lists written files only).
    pub audit: Option<AuditLines>,
    /// Whether a results table lists this input: it was not written, or written with remarks
    /// (a table of every input would bury what needs a look; the audit has them all).
    pub listed: bool,
}

/// The running commit state of one batch.
#[derive(Debug, Clone)]
pub struct Ledger {
    names: OutputNames,
    summary: Summary,
    linkage: Option<LinkageTables>,
    profile: String,
    options: Options,
    held: Vec<Held>,
    /// New study folder → the patient folder of its first file, to count split studies.
    studies: HashMap<String, String>,
    split: HashSet<String>,
    final_review: FinalReview,
    written: Vec<String>,
}

impl Ledger {
    /// A new batch under `profile` (the edition named in the audit) and `options`; with
    /// `keep_linkage`, the PHI linkage tables are kept for [`Ledger::linkage`].
    pub fn new(profile: &str, options: Options, keep_linkage: bool) -> Ledger {
        Ledger {
            names: OutputNames::default(),
            summary: Summary::default(),
            linkage: keep_linkage.then(LinkageTables::default),
            profile: profile.to_string(),
            options,
            held: Vec::new(),
            studies: HashMap::new(),
            split: HashSet::new(),
            final_review: FinalReview::default(),
            written: Vec::new(),
        }
    }

    /// Commits the next input in input order. `write` puts the staged output under the name the
    /// ledger chose; if it fails, the input counts as failed with the write error's reason.
    pub fn commit(
        &mut self,
        input: &str,
        result: FileResult,
        write: impl FnOnce(&str) -> Result<(), Error>,
    ) -> Committed {
        let (outcome, processed) = match result {
            FileResult::Skipped { reason } => (Outcome::Skipped(reason), None),
            FileResult::Failed { reason } => (Outcome::Failed(reason), None),
            FileResult::Quarantined { reason } => (Outcome::Quarantined(reason), None),
            FileResult::Processed(p) => match self.names.claim(&p.name, &p.digest) {
                None => (Outcome::Skipped(names::DUPLICATE.into()), None),
                Some(name) => match write(&name) {
                    Ok(()) => (Outcome::Written(name), Some(p)),
                    Err(e) => (Outcome::Failed(e.to_string()), None),
                },
            },
        };
        self.count(input, &outcome, processed.as_deref());
        self.committed(outcome, processed)
    }

    /// Records an input the reviewer excluded before the run, at its place in input order, so
    /// that every input is accounted for in the totals, the audit and the linkage.
    pub fn exclude(&mut self, input: &str) -> Committed {
        let outcome = Outcome::Excluded(EXCLUDED.into());
        self.count(input, &outcome, None);
        self.committed(outcome, None)
    }

    /// The audit lines and the results-table flag of a counted outcome.
    fn committed(&mut self, outcome: Outcome, processed: Option<Box<Processed>>) -> Committed {
        let audit = match (&outcome, &processed) {
            (Outcome::Written(name), Some(p)) => Some(AuditLines {
                jsonl: audit::file_jsonl(name, &p.record),
                csv: audit::file_csv(name, &p.record),
                remarks: audit::remarks(&p.record),
            }),
            (Outcome::Quarantined(reason), _) => Some(AuditLines {
                jsonl: audit::held_jsonl("quarantined", self.summary.found, reason),
                csv: String::new(),
                remarks: String::new(),
            }),
            (Outcome::Excluded(reason), _) => Some(AuditLines {
                jsonl: audit::held_jsonl("excluded", self.summary.found, reason),
                csv: String::new(),
                remarks: String::new(),
            }),
            _ => None,
        };
        if let (Outcome::Written(name), Some(p)) = (&outcome, processed) {
            self.final_review.add(p.review);
            self.written.push(name.clone());
        }
        let listed = !matches!(outcome, Outcome::Written(_))
            || audit.as_ref().is_some_and(|a| !a.remarks.is_empty());
        Committed {
            outcome,
            audit,
            listed,
        }
    }

    fn count(&mut self, input: &str, outcome: &Outcome, processed: Option<&Processed>) {
        let (status, detail) = match outcome {
            Outcome::Written(n) => {
                self.summary.done();
                if let Some(p) = processed {
                    self.summary.pixels(&p.record.pixels);
                }
                self.note_study(n);
                ("deidentified", n)
            }
            Outcome::Quarantined(r) => {
                self.summary.quarantine(r);
                self.held.push(Held {
                    input_number: self.summary.found,
                    input: input.to_string(),
                    reason: r.clone(),
                });
                ("quarantined", r)
            }
            Outcome::Skipped(r) => {
                self.summary.skip(r);
                ("skipped", r)
            }
            Outcome::Failed(r) => {
                self.summary.fail(r);
                ("failed", r)
            }
            Outcome::Excluded(r) => {
                self.summary.exclude();
                ("excluded", r)
            }
        };
        if let Some(tables) = &mut self.linkage {
            tables.add(input, status, detail, processed.map(|p| &p.linkage));
        }
    }

    /// Counts a study written under a second patient pseudonym (PS3.3: a study has one patient).
    fn note_study(&mut self, name: &str) {
        let Some((patient, study)) = names::patient_and_study(name) else {
            return;
        };
        let first = self
            .studies
            .entry(study.to_string())
            .or_insert_with(|| patient.to_string());
        if first != patient && self.split.insert(study.to_string()) {
            self.summary.split_studies += 1;
        }
    }

    /// The totals so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The summary line that ends audit.jsonl (after every input is committed).
    pub fn summary_jsonl(&self) -> String {
        audit::summary_jsonl(&self.profile, &self.options, &self.summary)
    }

    /// The final review of every output written so far.
    pub fn final_review(&self) -> &FinalReview {
        &self.final_review
    }

    /// The shareable review files that end an output, after every input is committed: the final
    /// review, the random sample to inspect (drawn from the written outputs with the log's
    /// seed), and the run's log row (its summary and sample size filled in here; the caller
    /// stamps the times). `residual` marks the final review's rows that verification flagged.
    pub fn review_files(
        &self,
        mut log: RunLog,
        residual: &ResidualMarks,
    ) -> (RunLog, Vec<(&'static str, String)>) {
        let chosen = sample::choose(&self.written, log.sample_seed);
        log.sample_size = chosen.len();
        log.summary = self.summary.clone();
        let files = vec![
            ("final_review-noPHI.csv", self.final_review.csv(residual)),
            (
                "review_sample-noPHI.csv",
                sample::csv(log.sample_seed, &self.written, &chosen),
            ),
            ("deid_log-noPHI.csv", log.csv()),
        ];
        (log, files)
    }

    /// The quarantined inputs so far (PHI: their paths), for the quarantine's index.
    pub fn quarantined(&self) -> &[Held] {
        &self.held
    }

    /// The linkage tables (PHI), when the batch keeps them.
    pub fn linkage(&self) -> Option<&LinkageTables> {
        self.linkage.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed(name: &str, digest: &str) -> FileResult {
        FileResult::Processed(Box::new(Processed {
            name: name.into(),
            digest: digest.into(),
            crc32: 0,
            size: 1,
            record: FileRecord {
                sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
                modality: "CT".into(),
                transfer_syntax: "1.2.840.10008.1.2.1".into(),
                report: Default::default(),
                pixels: Default::default(),
            },
            linkage: Linkage {
                original_patient_id: "ORIG".into(),
                original_issuer: String::new(),
                new_patient_id: "ANON".into(),
                uids: vec![("1.2.3".into(), "2.25.9".into())],
            },
            review: Default::default(),
        }))
    }

    #[test]
    fn a_study_under_two_pseudonyms_is_counted_once() {
        let mut l = Ledger::new("E.1-1", Options::basic(), false);
        let ok = |_: &str| Ok(());
        l.commit("a", processed("ANON1/s1/r/1.dcm", "01"), ok);
        l.commit("b", processed("ANON1/s1/r/2.dcm", "02"), ok);
        l.commit("c", processed("ANON1/s2/r/3.dcm", "03"), ok);
        assert_eq!(l.summary().split_studies, 0);
        l.commit("d", processed("ANON2/s1/r/4.dcm", "04"), ok);
        l.commit("e", processed("ANON3/s1/r/5.dcm", "05"), ok);
        assert_eq!(l.summary().split_studies, 1);
    }

    #[test]
    fn commits_names_duplicates_failures_and_linkage() {
        let mut l = Ledger::new("E.1-1", Options::basic(), true);
        let ok = |_: &str| Ok(());
        let first = l.commit("in/a", processed("p/s/r/1.dcm", "aa11aa11ff"), ok);
        assert_eq!(first.outcome, Outcome::Written("p/s/r/1.dcm".into()));
        assert!(
            !first.listed,
            "written without remarks: not in the results table"
        );
        assert!(
            first
                .audit
                .unwrap()
                .jsonl
                .contains("\"output_name\":\"p/s/r/1.dcm\"")
        );
        let dup = l.commit("in/b", processed("p/s/r/1.dcm", "aa11aa11ff"), ok);
        assert_eq!(dup.outcome, Outcome::Skipped(names::DUPLICATE.into()));
        assert!(dup.audit.is_none());
        assert!(dup.listed, "a duplicate is listed with its reason");
        let other = l.commit("in/c", processed("p/s/r/1.dcm", "bb22bb22ff"), ok);
        assert_eq!(
            other.outcome,
            Outcome::Written("p/s/r/1_bb22bb22.dcm".into())
        );
        let broken = l.commit(
            "in/d",
            FileResult::rejected(&Error::NotDicom("no DICM")),
            ok,
        );
        assert!(matches!(broken.outcome, Outcome::Skipped(_)));
        let unwritable = l.commit("in/e", processed("p/s/r/2.dcm", "cc"), |_| {
            Err(Error::Write("disk full".into()))
        });
        assert!(broken.listed && unwritable.listed);
        assert!(matches!(unwritable.outcome, Outcome::Failed(r) if r.contains("disk full")));
        let s = l.summary();
        assert_eq!((s.found, s.deidentified, s.skipped, s.failed), (5, 2, 2, 1));
        let files = l.linkage().unwrap().files();
        let linkage = &files.iter().find(|f| f.0 == "linkage.csv").unwrap().1;
        assert_eq!(linkage.lines().count(), 6, "a header and a row per input");
        assert!(linkage.contains("in/c,deidentified,p/s/r/1_bb22bb22.dcm,ORIG,,ANON"));
        let uids = &files.iter().find(|f| f.0 == "uid_mapping.csv").unwrap().1;
        assert_eq!(uids, "id_old,id_new\n1.2.3,2.25.9\n");
    }

    #[test]
    fn an_excluded_input_is_counted_audited_and_linked_in_its_place() {
        let mut l = Ledger::new("E.1-1", Options::basic(), true);
        l.commit("in/a", processed("p/s/r/1.dcm", "aa"), |_| Ok(()));
        let x = l.exclude("in/b");
        assert_eq!(x.outcome, Outcome::Excluded(EXCLUDED.into()));
        assert!(x.listed, "the results table lists it");
        let line = x.audit.unwrap();
        assert!(line.csv.is_empty(), "audit.csv lists written files only");
        assert!(
            line.jsonl
                .contains("\"record\":\"excluded\",\"input_number\":2")
        );
        assert!(!line.jsonl.contains("in/b"), "no input path in the audit");
        l.commit("in/c", processed("p/s/r/2.dcm", "bb"), |_| Ok(()));
        let s = l.summary();
        assert_eq!((s.found, s.deidentified, s.excluded), (3, 2, 1));
        assert!(l.summary_jsonl().contains("\"excluded\":1"));
        let files = l.linkage().unwrap().files();
        let linkage = &files.iter().find(|f| f.0 == "linkage.csv").unwrap().1;
        assert_eq!(
            linkage.lines().nth(2).unwrap(),
            format!("in/b,excluded,{EXCLUDED},,,")
        );
    }

    #[test]
    fn without_linkage_no_phi_is_kept() {
        let mut l = Ledger::new("E.1-1", Options::basic(), false);
        l.commit("in/a", processed("x.dcm", "d"), |_| Ok(()));
        assert!(l.linkage().is_none());
    }

    #[test]
    fn results_cross_a_thread_boundary_as_plain_data() {
        let r = processed("x.dcm", "d");
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with("{\"status\":\"processed\""));
        assert_eq!(serde_json::from_str::<FileResult>(&json).unwrap(), r);
        // With a pixel record whose optional fields are left out when written.
        let FileResult::Processed(mut p) = r else {
            unreachable!()
        };
        p.record.pixels.at_risk = Some("Ultrasound".into());
        let r = FileResult::Processed(p);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<FileResult>(&json).unwrap(), r);
    }
}
