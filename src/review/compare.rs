//! One file's original and de-identified data sets side by side, element by element at every
//! depth, each row with the action the engine applied and why (Table E.1-1 code, option,
//! private dictionary): the studio's tag view, and the practical guide's check that every
//! flagged tag was removed or replaced and every UID changed.
//!
//! Rows are joined by MIDI-B path, in path order (which is tag order within each item, items
//! after their sequence). Values are shown as a reviewer reads them and hold PHI: the page
//! shows them locally and never writes them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::Deidentifier;
use crate::dicom::charset::CharacterSet;
use crate::dicom::{path, read};
use crate::error::Result;
use crate::output::audit::Applied;
use crate::review::basis::{self, Basis};
use crate::review::elements::{self, Visit};
use crate::review::final_review::written_by_engine;

/// Longest value shown, in characters (a report or an SR text can be long).
const MAX_SHOWN: usize = 512;

/// One element, before and after.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TagRow {
    pub path: String,
    pub depth: usize,
    /// `(gggg,eeee)`.
    pub tag: String,
    pub keyword: String,
    pub vr: String,
    pub private_creator: String,
    /// The value in the original; `None` when the element is not there.
    pub before: Option<String>,
    /// The value in the output; `None` when the element is not there.
    pub after: Option<String>,
    /// The action the engine applied (`X`, `Z`, `D`, `U`, `C`, `K`), or what it wrote itself
    /// (`pseudonym`, `method_record`).
    pub action: String,
    /// `removed`, `emptied`, `changed`, `same` or `added`.
    pub change: &'static str,
    pub basis: Basis,
}

/// The comparison of one file: its rows, or why there is no output to compare with.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Comparison {
    pub rows: Vec<TagRow>,
    /// Why the file would not be written (quarantined, refused): the rows then show the
    /// original with the actions the profile would take.
    pub no_output: Option<NoOutput>,
}

/// The error that stops a file's output: its kind (`quarantined`, `unsupported`...) and reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NoOutput {
    pub kind: &'static str,
    pub reason: String,
}

/// Compares a file with its de-identification by `d`.
pub fn compare(d: &Deidentifier, input: &[u8]) -> Result<Comparison> {
    let actions: HashMap<String, Applied> = d.actions(input)?.into_iter().collect();
    let mut rows: BTreeMap<String, TagRow> = BTreeMap::new();
    let mut scratch = Vec::new();
    let obj = read::read_file(input, &mut scratch)?;
    let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
    elements::visit(&obj.dataset, obj.encoding, &cs, &mut |v| {
        let mut row = row_of(v, d);
        row.before = Some(shown(v));
        row.action = action_at(&v.path, &actions)
            .map(|a| format!("{a:?}"))
            .unwrap_or_default();
        rows.insert(v.path.clone(), row);
    });
    let output = d.deidentify(input);
    let no_output = match &output {
        Ok(out) => {
            let mut scratch = Vec::new();
            let obj = read::read_file(&out.bytes, &mut scratch)?;
            let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
            elements::visit(&obj.dataset, obj.encoding, &cs, &mut |v| {
                let row = rows.entry(v.path.clone()).or_insert_with(|| row_of(v, d));
                row.after = Some(shown(v));
                if let Some(form) = written_by_engine(v) {
                    row.action = form.into();
                }
            });
            None
        }
        Err(e) => Some(NoOutput {
            kind: e.kind(),
            reason: e.to_string(),
        }),
    };
    let rows = rows
        .into_values()
        .map(|mut r| {
            r.change = change(&r);
            r
        })
        .collect();
    Ok(Comparison { rows, no_output })
}

fn row_of(v: &Visit<'_>, d: &Deidentifier) -> TagRow {
    let basis = basis::of(d, v);
    TagRow {
        path: v.path.clone(),
        depth: path::depth(&v.path),
        tag: path::tag(v.tag),
        keyword: basis.keyword.clone(),
        vr: v.vr.as_str().to_string(),
        private_creator: basis.private_creator.clone(),
        basis,
        ..TagRow::default()
    }
}

/// The value as the tag view shows it (long text cut, binary values by size).
fn shown(v: &Visit<'_>) -> String {
    match &v.text {
        Some(t) if t.chars().count() > MAX_SHOWN => {
            let cut: String = t.chars().take(MAX_SHOWN).collect();
            format!("{cut}…")
        }
        Some(t) => t.clone(),
        None if v.raw.is_some() => format!("(binary, {} bytes)", v.length()),
        None => "(sequence)".into(),
    }
}

/// The action at a path, else the nearest enclosing element's (an element inside a removed or
/// dummied sequence went with it).
fn action_at(p: &str, actions: &HashMap<String, Applied>) -> Option<Applied> {
    let mut p = p;
    loop {
        if let Some(a) = actions.get(p) {
            return Some(*a);
        }
        p = &p[..p.rfind("[<")?];
    }
}

fn change(r: &TagRow) -> &'static str {
    match (&r.before, &r.after) {
        (Some(_), None) => "removed",
        (None, _) => "added",
        (Some(b), Some(a)) if a.is_empty() && !b.is_empty() => "emptied",
        (Some(b), Some(a)) if a == b => "same",
        _ => "changed",
    }
}
