//! The final review (TCIA's Tag Sniffer, last pass): every distinct value of the de-identified
//! outputs, per element, public and private, with how often it occurs and the form it should
//! have after what the engine did (a dummy, a shifted date, a remapped UID, a pseudonym, kept,
//! cleaned). A reviewer reads down the `kept` and `cleaned` rows; the rest are there to be
//! checked at a glance. Shareable once verification passes.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Tag, Vr, tags};
use crate::dicom::{path, read};
use crate::error::Result;
use crate::output::audit::{Applied, csv_row};
use crate::review::basis;
use crate::review::elements::{self, Visit};
use crate::review::{ValueCap, counting_hash, tokens};

/// Remapped UIDs are all alike to a reviewer: a few are listed, the rest counted.
const MAX_UID_VALUES: usize = 10;
/// Distinct values listed per element; the rest are counted in one line.
const MAX_VALUES: usize = 1000;

/// Attributes the engine writes itself to record what it did (PS3.15 E.1.1 items 6-7).
const METHOD_RECORD: &[Tag] = &[
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
];

/// One distinct value of one element in one output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputValue {
    pub pattern: String,
    pub keyword: String,
    pub vr: String,
    pub private_creator: String,
    pub action: String,
    pub expected_form: String,
    pub value: String,
    pub length: usize,
}

/// What one output contributes to the final review.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OutputPart {
    pub series: u64,
    pub patient: u64,
    pub values: Vec<OutputValue>,
}

/// Reads one output with the actions the engine recorded for it (its audit record's list: every
/// element not listed was kept).
pub fn examine(output: &[u8], actions: &[(String, Applied)]) -> Result<OutputPart> {
    let mut scratch = Vec::new();
    let obj = read::read_file(output, &mut scratch)?;
    let actions: HashMap<&str, Applied> = actions.iter().map(|(p, a)| (p.as_str(), *a)).collect();
    let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
    let d = &obj.dataset;
    let mut part = OutputPart {
        series: counting_hash(
            d.ascii(tags::SERIES_INSTANCE_UID)
                .unwrap_or_default()
                .as_bytes(),
        ),
        patient: counting_hash(d.ascii(tags::PATIENT_ID).unwrap_or_default().as_bytes()),
        values: Vec::new(),
    };
    let mut seen = HashSet::new();
    elements::visit(d, obj.encoding, &cs, &mut |v| {
        let (action, form) = expected(v, &actions);
        let value = match &v.text {
            Some(t) => format!("<{t}>"),
            None if v.raw.is_some() => format!("(binary, {} bytes)", v.length()),
            None => "(sequence)".into(),
        };
        let pattern = path::pattern(&v.path);
        if !seen.insert((pattern.clone(), v.vr, value.clone())) {
            return;
        }
        part.values.push(OutputValue {
            keyword: basis::keyword(v.tag),
            vr: v.vr.as_str().to_string(),
            private_creator: v
                .private
                .as_ref()
                .map(|a| a.creator.trim().to_string())
                .unwrap_or_default(),
            action: action.to_string(),
            expected_form: form.to_string(),
            pattern,
            value,
            length: v.length(),
        });
    });
    Ok(part)
}

/// The action applied at a path (an element inside a dummied sequence took its sequence's) and
/// the form its value should have.
fn expected(v: &Visit<'_>, actions: &HashMap<&str, Applied>) -> (&'static str, &'static str) {
    let mut applied = actions.get(v.path.as_str()).copied();
    if applied.is_none() {
        let mut p = v.path.as_str();
        while let Some(i) = p.rfind("[<") {
            p = &p[..i];
            if let Some(Applied::D) = actions.get(p) {
                applied = Some(Applied::D);
                break;
            }
        }
    }
    if let Some(form) = written_by_engine(v) {
        return ("K", form);
    }
    match applied {
        Some(Applied::D) => ("D", "dummy"),
        Some(Applied::Z) => ("Z", "empty"),
        Some(Applied::U) => ("U", "remapped_uid"),
        Some(Applied::C) if matches!(v.vr, Vr::DA | Vr::DT) => ("C", "shifted_date"),
        Some(Applied::C) => ("C", "cleaned"),
        Some(Applied::X) => ("X", "removed"),
        _ => ("K", "kept"),
    }
}

/// Gives a native Pixel Data value its real length in a part made from an output whose value was
/// left out (a large file written in chunks; see [`crate::output::streamed`]), so that the part
/// is the one the whole output gives.
pub fn set_pixel_data_length(part: &mut OutputPart, length: u64) {
    let pattern = path::element("", tags::PIXEL_DATA, None);
    for v in &mut part.values {
        if v.pattern == pattern && v.value.starts_with("(binary, ") {
            v.value = format!("(binary, {length} bytes)");
            v.length = length as usize;
        }
    }
}

/// The form of a value the engine writes itself after the profile, whatever the profile did to
/// the original: the pseudonym, and the record of the method (PS3.15 E.1.1 items 6-7).
pub(crate) fn written_by_engine(v: &Visit<'_>) -> Option<&'static str> {
    let top = |t: Tag| path::depth(&v.path) == 0 && v.tag == t;
    if top(tags::PATIENT_ID) || top(tags::PATIENT_NAME) {
        Some("pseudonym")
    } else if METHOD_RECORD.iter().any(|t| top(*t)) {
        Some("method_record")
    } else {
        None
    }
}

#[derive(Debug, Clone, Default)]
struct Totals {
    value: Option<OutputValue>,
    files: usize,
    series: HashSet<u64>,
    patients: HashSet<u64>,
}

/// The final review of a set of outputs, merged in output order. Memory stays bounded: past its
/// cap an element's further distinct values are only counted (by hash).
#[derive(Debug, Clone, Default)]
pub struct FinalReview {
    values: BTreeMap<(String, String, String), Totals>,
    cap: ValueCap,
}

impl FinalReview {
    /// Adds one examined output.
    pub fn add(&mut self, part: OutputPart) {
        for v in part.values {
            let key = (v.pattern.clone(), v.vr.clone(), v.value.clone());
            let cap = if v.expected_form == "remapped_uid" {
                MAX_UID_VALUES
            } else {
                MAX_VALUES
            };
            if !self.values.contains_key(&key) && !self.cap.admit(&v.pattern, &v.vr, &v.value, cap)
            {
                continue;
            }
            let t = self.values.entry(key).or_default();
            t.files += 1;
            t.series.insert(part.series);
            t.patients.insert(part.patient);
            t.value.get_or_insert(v);
        }
    }

    /// `final_review-noPHI.csv`. `residual` marks the rows that hold what the residual-PHI
    /// verification found (`residual_flags` names the classes; the row's status is `fail`).
    pub fn csv(&self, residual: &ResidualMarks) -> String {
        let mut out = String::from(HEADER);
        let unplaced =
            residual.unplaced(self.values.keys().map(|(p, _, v)| (p.as_str(), v.as_str())));
        for ((pattern, vr, value), t) in &self.values {
            let Some(v) = &t.value else { continue };
            let flags = residual.flags(pattern, value, &unplaced);
            out.push_str(&csv_row(&[
                pattern,
                &v.keyword,
                vr,
                &v.private_creator,
                &v.action,
                value,
                &v.length.to_string(),
                &t.files.to_string(),
                &t.series.len().to_string(),
                &t.patients.len().to_string(),
                &v.expected_form,
                &flags,
                if flags.is_empty() { "" } else { "fail" },
                "",
                "",
            ]));
        }
        for (pattern, vr, more) in self.cap.more() {
            out.push_str(&csv_row(&[
                pattern,
                "",
                vr,
                "",
                "",
                &format!("({more} more distinct values)"),
                "",
                "",
                "",
                "",
                "truncated",
                "",
                "",
                "",
                "",
            ]));
        }
        out
    }
}

/// What the residual-PHI verification found, per element path pattern: each finding's class and
/// the text it matched. The text stays in memory; the final review prints only the class.
#[derive(Debug, Clone, Default)]
pub struct ResidualMarks {
    by_pattern: HashMap<String, Vec<(&'static str, String)>>,
}

impl ResidualMarks {
    pub fn add(&mut self, pattern: String, class: &'static str, text: &str) {
        self.by_pattern
            .entry(pattern)
            .or_default()
            .push((class, text.to_string()));
    }

    /// Which of a pattern's findings one value holds: the verifier's normalised token among the
    /// value's tokens (a date written `30 Sep 1945` holds `19450930`), or its text verbatim.
    fn held_by(&self, pattern: &str, value: &str) -> Vec<usize> {
        let Some(found) = self.by_pattern.get(pattern) else {
            return Vec::new();
        };
        let mut norms = HashSet::new();
        tokens::text_tokens(value, true, &mut |_, norm, _, _, _, _| {
            norms.insert(norm.to_string());
        });
        let lower = value.to_lowercase();
        (0..found.len())
            .filter(|&i| {
                let text = &found[i].1;
                norms.contains(text) || lower.contains(&text.to_lowercase())
            })
            .collect()
    }

    /// The findings (pattern, index) that no listed value holds: a binary value, a value past
    /// the cap, a file-level finding. They mark every row of their pattern, so none is lost.
    fn unplaced<'v>(
        &self,
        rows: impl Iterator<Item = (&'v str, &'v str)>,
    ) -> HashSet<(String, usize)> {
        let mut unplaced: HashSet<(String, usize)> = self
            .by_pattern
            .iter()
            .flat_map(|(p, found)| (0..found.len()).map(move |i| (p.clone(), i)))
            .collect();
        for (pattern, value) in rows {
            for i in self.held_by(pattern, value) {
                unplaced.remove(&(pattern.to_string(), i));
            }
        }
        unplaced
    }

    /// The classes that mark one listed value, `|`-joined.
    fn flags(&self, pattern: &str, value: &str, unplaced: &HashSet<(String, usize)>) -> String {
        let Some(found) = self.by_pattern.get(pattern) else {
            return String::new();
        };
        let held = self.held_by(pattern, value);
        let mut classes: Vec<&str> = (0..found.len())
            .filter(|i| held.contains(i) || unplaced.contains(&(pattern.to_string(), *i)))
            .map(|i| found[i].0)
            .collect();
        classes.sort_unstable();
        classes.dedup();
        classes.join("|")
    }
}

/// Columns of `final_review-noPHI.csv` (review.md §6 C).
pub const HEADER: &str = "path_pattern,keyword,vr,private_creator,action_applied,value,\
value_length,n_files,n_series,n_patients,expected_form,residual_flags,review_status,reviewer,\
note\n";
