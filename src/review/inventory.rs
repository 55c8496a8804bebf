//! The Element Inventory (TCIA's Tag Sniffer, first pass) and the values to review before
//! de-identification.
//!
//! The inventory lists every element path pattern and VR found in a set of files, once, with no
//! value: what the profile does to it for the chosen options and why (Table E.1-1 code, the option
//! that decided, the private dictionary), the Tag Sniffer code, and how often it occurs. It is
//! shareable. The pre-review lists the distinct *values* of the elements the options keep or
//! clean, and of unknown private elements a curator may want to keep; it holds PHI and is a
//! separate, labelled local file. Its `decision` and `replacement` columns come back as
//! overrides (see [`super::overrides`]).
//!
//! Each input is examined on its own ([`examine`], in parallel) and merged in input order
//! ([`Inventory::add`]); a part holds hashes of values, never values, unless the pre-review was
//! asked for.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::deid::Deidentifier;
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{FileObject, Item, Tag, TagExt, Vr, tags};
use crate::dicom::{path, read};
use crate::error::Result;
use crate::output::audit::{Applied, csv_row};
use crate::review::basis::{self, Basis};
use crate::review::elements::{self, Visit};
use crate::review::flags;
use crate::review::{ValueCap, counting_hash};

/// Distinct values listed per element in the pre-review; the rest are counted in one line.
pub const MAX_VALUES_PER_ELEMENT: usize = 500;

/// One element pattern (and VR) as one file has it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ElementPart {
    pub pattern: String,
    pub vr: String,
    pub tag: u32,
    pub basis: Basis,
    pub actions: BTreeSet<String>,
    pub max_length: usize,
    /// Hashes of the distinct values in this file (not keyed: they never leave the process).
    pub value_hashes: BTreeSet<u64>,
}

/// One value to review, as one file has it (PHI).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ValuePart {
    pub pattern: String,
    pub keyword: String,
    pub vr: String,
    pub private_creator: String,
    pub action: String,
    pub reason: String,
    pub value: String,
    pub flags: Vec<String>,
}

/// What one input contributes to the inventory and the pre-review.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FilePart {
    /// Hashes of the patient identity, the study and the series: counted, never shown.
    pub patient: u64,
    pub study: u64,
    pub series: u64,
    pub elements: Vec<ElementPart>,
    /// Present only when the pre-review was asked for.
    pub values: Vec<ValuePart>,
}

/// Examines one input for the inventory (and, with `with_values`, the pre-review) under the
/// de-identifier's options and tables.
pub fn examine(d: &Deidentifier, input: &[u8], with_values: bool) -> Result<FilePart> {
    let mut scratch = Vec::new();
    let obj = read::read_file(input, &mut scratch)?;
    let actions: HashMap<String, Applied> = d.actions(input)?.into_iter().collect();
    let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
    let mut part = FilePart {
        patient: key_of(
            &obj.dataset,
            &[tags::PATIENT_ID, tags::ISSUER_OF_PATIENT_ID],
        ),
        study: key_of(&obj.dataset, &[tags::STUDY_INSTANCE_UID]),
        series: key_of(&obj.dataset, &[tags::SERIES_INSTANCE_UID]),
        ..FilePart::default()
    };
    let mut rows: BTreeMap<(String, String), ElementPart> = BTreeMap::new();
    let identifiers = flags::FileIdentifiers::of(&obj.dataset, obj.encoding, &cs);
    let mut seen_values = HashSet::new();
    let mut note = |v: &Visit<'_>, action: String| {
        let pattern = path::pattern(&v.path);
        let vr = v.vr.as_str().to_string();
        let row = rows
            .entry((pattern.clone(), vr.clone()))
            .or_insert_with(|| ElementPart {
                pattern: pattern.clone(),
                vr: vr.clone(),
                tag: v.tag.as_u32(),
                basis: basis::of(d, v),
                actions: BTreeSet::new(),
                max_length: 0,
                value_hashes: BTreeSet::new(),
            });
        row.actions.insert(action.clone());
        row.max_length = row.max_length.max(v.length());
        if let Some(raw) = v.raw {
            row.value_hashes.insert(counting_hash(raw));
        }
        if with_values {
            for value in values_to_review(v, &action, &row.basis, &identifiers) {
                if seen_values.insert((pattern.clone(), vr.clone(), value.value.clone())) {
                    part.values.push(value);
                }
            }
        }
    };
    elements::visit(&obj.dataset, obj.encoding, &cs, &mut |v| {
        note(v, action_at(&actions, &v.path));
    });
    meta_elements(&obj, &mut |v| note(v, "rebuilt".into()));
    part.elements = rows.into_values().collect();
    Ok(part)
}

/// The file meta group, which the engine rebuilds from scratch.
fn meta_elements(obj: &FileObject<'_>, f: &mut impl FnMut(&Visit<'_>)) {
    elements::visit(
        &obj.meta,
        crate::dicom::model::Encoding::EXPLICIT_LE,
        &CharacterSet::default(),
        f,
    );
}

/// The action applied at `path`; an element the walker never reached went with its nearest
/// listed ancestor (a removed or dummied sequence).
fn action_at(actions: &HashMap<String, Applied>, path: &str) -> String {
    let mut p = path;
    loop {
        if let Some(a) = actions.get(p) {
            return format!("{a:?}");
        }
        match p.rfind("[<") {
            Some(i) => p = &p[..i],
            None => return "X".into(),
        }
    }
}

/// A stable hash of some attributes' values, to count distinct patients, studies, series.
fn key_of(d: &Item<'_>, of: &[Tag]) -> u64 {
    let mut s = String::new();
    for t in of {
        s.push_str(&d.ascii(*t).unwrap_or_default());
        s.push('\u{1f}');
    }
    counting_hash(s.as_bytes())
}

/// The values of one element a curator should read before de-identification: kept or cleaned
/// text, kept or unknown private values, text hidden in kept binary values, and anything a
/// flag fires on.
fn values_to_review(
    v: &Visit<'_>,
    action: &str,
    basis: &Basis,
    ids: &flags::FileIdentifiers,
) -> Vec<ValuePart> {
    let keeps = matches!(action, "K" | "C");
    let private = v.private.is_some();
    let unknown_private = private && basis.private_source.is_empty();
    let texts: Vec<(String, bool)> = match &v.text {
        // Numbers (US, FL, ...) hold nothing to read.
        Some(_) if !v.vr.is_text() => vec![],
        Some(t) if !t.is_empty() => vec![(t.clone(), false)],
        Some(_) => vec![],
        None if may_hide_text(v) => v.binary_text().into_iter().map(|t| (t, true)).collect(),
        None => vec![],
    };
    let mut out = Vec::new();
    for (text, from_binary) in texts {
        // Flags are worked out only where they are needed (text patterns cost time).
        let mut flags = None;
        let mut flags_of = |t: &str| {
            flags
                .get_or_insert_with(|| ids.flags(t, v.vr, from_binary))
                .clone()
        };
        let reason = match () {
            _ if unknown_private => "private_unknown",
            // Removed, emptied, replaced: nothing of the value will be left to review.
            _ if !keeps => continue,
            _ if private && v.vr.is_text() => "private_kept_text",
            _ if private => "private_kept",
            // Dates are shifted, AE titles and UIDs replaced: only free text is cleaned.
            _ if action == "C" && matches!(v.vr, Vr::DA | Vr::DT | Vr::TM | Vr::AE | Vr::UI) => {
                continue;
            }
            _ if action == "C" => "clean_descriptor",
            _ if from_binary => "flag",
            _ if reviewable_text(v.vr, action) => "kept_text",
            _ if !flags_of(&text).is_empty() => "flag",
            _ => continue,
        };
        let flags = flags_of(&text)
            .iter()
            .map(|f| f.as_str().to_string())
            .collect();
        out.push(ValuePart {
            pattern: path::pattern(&v.path),
            keyword: basis.keyword.clone(),
            vr: v.vr.as_str().to_string(),
            private_creator: v
                .private
                .as_ref()
                .map(|a| a.creator.clone())
                .unwrap_or_default(),
            action: action.to_string(),
            reason: reason.to_string(),
            value: text,
            flags,
        });
    }
    out
}

/// Binary values where text may hide: private and unknown (UN) values and encapsulated
/// documents; not pixel, overlay or waveform data, whose bytes are images and signals.
fn may_hide_text(v: &Visit<'_>) -> bool {
    v.private.is_some() || v.vr == Vr::UN || v.tag == ENCAPSULATED_DOCUMENT
}

/// Encapsulated Document (a PDF or CDA, whose text may name the patient).
const ENCAPSULATED_DOCUMENT: Tag = Tag(0x0042, 0x0011);

/// Kept text worth a human look: free text and codes, not numbers or kept UIDs' structure.
fn reviewable_text(vr: Vr, action: &str) -> bool {
    action == "K"
        && matches!(
            vr,
            Vr::AE
                | Vr::CS
                | Vr::LO
                | Vr::LT
                | Vr::PN
                | Vr::SH
                | Vr::ST
                | Vr::UC
                | Vr::UT
                | Vr::UR
                | Vr::DA
                | Vr::DT
                | Vr::TM
        )
}

/// Counts for one row of the inventory.
#[derive(Debug, Clone, Default)]
struct RowTotals {
    part: Option<ElementPart>,
    actions: BTreeSet<String>,
    files: usize,
    series: HashSet<u64>,
    studies: HashSet<u64>,
    patients: HashSet<u64>,
    max_length: usize,
    distinct: HashSet<u64>,
}

/// Counts for one distinct value of the pre-review.
#[derive(Debug, Clone, Default)]
struct ValueTotals {
    part: Option<ValuePart>,
    files: usize,
    series: HashSet<u64>,
    patients: HashSet<u64>,
    first_file: String,
}

/// The inventory and pre-review of a set of files, merged in input order.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    rows: BTreeMap<(String, String), RowTotals>,
    values: BTreeMap<(String, String, String), ValueTotals>,
    /// Distinct values listed per element, and those past the cap (counted by hash).
    cap: ValueCap,
    files: usize,
}

impl Inventory {
    /// Adds one examined input; `name` is how the pre-review names the first file a value was
    /// seen in (an input path: the pre-review is PHI).
    pub fn add(&mut self, name: &str, part: FilePart) {
        self.files += 1;
        for e in part.elements {
            let r = self
                .rows
                .entry((e.pattern.clone(), e.vr.clone()))
                .or_default();
            r.files += 1;
            r.series.insert(part.series);
            r.studies.insert(part.study);
            r.patients.insert(part.patient);
            r.max_length = r.max_length.max(e.max_length);
            r.actions.extend(e.actions.iter().cloned());
            r.distinct.extend(e.value_hashes.iter().copied());
            r.part.get_or_insert(e);
        }
        for v in part.values {
            let key = (v.pattern.clone(), v.vr.clone(), v.value.clone());
            if !self.values.contains_key(&key)
                && !self
                    .cap
                    .admit(&v.pattern, &v.vr, &v.value, MAX_VALUES_PER_ELEMENT)
            {
                continue;
            }
            let t = self.values.entry(key).or_default();
            t.files += 1;
            t.series.insert(part.series);
            t.patients.insert(part.patient);
            if t.first_file.is_empty() {
                t.first_file = name.to_string();
            }
            t.part.get_or_insert(v);
        }
    }

    /// Number of files added.
    pub fn files(&self) -> usize {
        self.files
    }

    /// `inventory-noPHI.csv`: one row per element path pattern and VR, no values.
    pub fn inventory_csv(&self) -> String {
        let mut out = String::from(INVENTORY_HEADER);
        for ((pattern, vr), r) in &self.rows {
            let Some(p) = &r.part else { continue };
            let b = &p.basis;
            let actions: Vec<&str> = r.actions.iter().map(String::as_str).collect();
            out.push_str(&csv_row(&[
                pattern,
                &path::signature(pattern),
                &path::tag(Tag::from_u32(p.tag)),
                &b.keyword,
                if b.private_creator.is_empty() && !Tag::from_u32(p.tag).is_private() {
                    "N"
                } else {
                    "Y"
                },
                &b.private_creator,
                &b.private_group,
                &b.private_offset,
                vr,
                &b.vr_dictionary,
                &path::depth(pattern).to_string(),
                if b.e1_1_code.is_empty() { "N" } else { "Y" },
                &b.e1_1_code,
                &b.option,
                &actions.join("|"),
                &b.private_source,
                &b.private_disposition,
                basis::sniffer_code(b, &actions),
                &r.files.to_string(),
                &r.series.len().to_string(),
                &r.studies.len().to_string(),
                &r.patients.len().to_string(),
                &r.max_length.to_string(),
                &r.distinct.len().to_string(),
            ]));
        }
        out
    }

    /// `pre_review-PHI.csv`: the distinct values to read before de-identifying, with counts,
    /// flags and the empty decision columns a curator fills in.
    pub fn pre_review_csv(&self) -> String {
        let mut out = String::from(PRE_REVIEW_HEADER);
        for ((pattern, vr, value), t) in &self.values {
            let Some(p) = &t.part else { continue };
            out.push_str(&csv_row(&[
                pattern,
                &p.keyword,
                vr,
                &p.private_creator,
                &p.action,
                &p.reason,
                &format!("<{value}>"),
                &value.len().to_string(),
                &t.files.to_string(),
                &t.series.len().to_string(),
                &t.patients.len().to_string(),
                &t.first_file,
                &p.flags.join("|"),
                "",
                "",
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
                "truncated",
                &format!("({more} more distinct values)"),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ]));
        }
        out
    }
}

/// Columns of `inventory-noPHI.csv` (review.md §6 A).
pub const INVENTORY_HEADER: &str = "path_pattern,kb_signature,tag,keyword,is_private,\
private_creator,private_group,private_offset,vr_found,vr_dictionary,depth,in_table_e1_1,\
e1_1_basic_code,option_applied,action_resolved,private_source,private_disposition,sniffer_code,\
n_files,n_series,n_studies,n_patients,max_value_length,n_distinct_values\n";

/// Columns of `pre_review-PHI.csv` (review.md §6 B).
pub const PRE_REVIEW_HEADER: &str = "path_pattern,keyword,vr,private_creator,action_resolved,\
review_reason,value,value_length,n_files,n_series,n_patients,first_file,flags,decision,\
replacement,reviewer,note\n";
