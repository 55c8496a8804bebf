//! Flags on a value to review: whether it carries something of the file's own identifiers
//! (a name part, an ID, an original UID) or text hidden in binary data. The pattern flags (dates,
//! phones, e-mail, long digit runs) come from the verifier's patterns, so both read text alike.

use std::collections::BTreeSet;

use crate::deid::uids;
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Encoding, Item, Vr, tags};
use crate::review::elements;
use crate::review::patterns::{self, Flag};

/// The identifying values of one file that a value under review may repeat.
#[derive(Debug, Clone, Default)]
pub struct FileIdentifiers {
    /// Name parts of every person name in the file, upper case, 2 characters or more.
    names: BTreeSet<String>,
    /// Patient and other IDs, accession number, study ID (upper case, 3 characters or more).
    ids: BTreeSet<String>,
}

/// Attributes whose values are IDs a free-text value should not repeat.
#[allow(deprecated)] // Other Patient IDs is retired and still found in files
const IDS: &[crate::dicom::model::Tag] = &[
    tags::PATIENT_ID,
    tags::OTHER_PATIENT_I_DS,
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::ADMISSION_ID,
];

impl FileIdentifiers {
    /// Collects the name parts and IDs of a data set, at every depth.
    pub fn of(d: &Item<'_>, encoding: Encoding, cs: &CharacterSet) -> FileIdentifiers {
        let mut ids = FileIdentifiers::default();
        elements::visit(d, encoding, cs, &mut |v| {
            let Some(text) = &v.text else { return };
            if v.vr == Vr::PN {
                for part in text.split(['^', '=', ' ', ',', '\\']) {
                    let p = part.trim().to_uppercase();
                    if p.chars().count() >= 2 {
                        ids.names.insert(p);
                    }
                }
            } else if IDS.contains(&v.tag) {
                for id in text.split('\\') {
                    let id = id.trim().to_uppercase();
                    if id.chars().count() >= 3 {
                        ids.ids.insert(id);
                    }
                }
            }
        });
        ids
    }

    /// The flags a value raises (upper-case names, as the pre-review lists them): the file's
    /// own identifiers, then the text patterns the verifier reads.
    pub fn flags(&self, text: &str, vr: Vr, from_binary: bool) -> Vec<Flag> {
        let up = text.to_uppercase();
        let words: BTreeSet<&str> = up
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut f = Vec::new();
        if vr == Vr::PN || self.names.iter().any(|n| words.contains(n.as_str())) {
            f.push(Flag::Name);
        }
        if self.ids.iter().any(|id| up.contains(id.as_str())) {
            f.push(Flag::Id);
        }
        if vr == Vr::UI
            && text
                .split('\\')
                .any(|u| !u.is_empty() && !uids::is_registered(u))
        {
            f.push(Flag::UidOrig);
        }
        // A UID is digits and dots: only the flags above apply to it.
        if vr != Vr::UI {
            f.extend(patterns::text_flags(text));
        }
        if from_binary {
            f.push(Flag::BinaryText);
        }
        f
    }
}
