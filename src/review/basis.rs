//! Why the profile treats an element as it does: its Table E.1-1 row and code, the option that
//! decided, the private dictionary and its disposition. The reports and the studio show it next
//! to the action the engine applied, read from the same tables the walker reads.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use serde::{Deserialize, Serialize};

use crate::deid::Deidentifier;
use crate::deid::walker::rule_tag;
use crate::dicom::model::{Tag, TagExt};
use crate::dicom::{path, read};
use crate::review::elements::Visit;

/// The reasons behind one element's action (text columns of the reports).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Basis {
    pub keyword: String,
    pub private_creator: String,
    pub private_group: String,
    pub private_offset: String,
    pub vr_dictionary: String,
    /// The Basic Profile code of the element's E.1-1 row; empty when E.1-1 does not list it.
    pub e1_1_code: String,
    /// The option column that decided, by its E.1-1 column name; empty for the Basic code.
    pub option: String,
    /// The private dictionary that knows the element; empty for public or unknown elements.
    pub private_source: String,
    /// Its disposition there (`k`, `d`, `h`, `o`, `oi`, `na`, or empty).
    pub private_disposition: String,
}

/// The basis of one visited element under the de-identifier's options and tables.
pub fn of(d: &Deidentifier, v: &Visit<'_>) -> Basis {
    let mut b = Basis {
        keyword: keyword(v.tag),
        vr_dictionary: if v.tag.is_private() && !v.tag.is_private_creator() {
            String::new()
        } else {
            read::implicit_vr(v.tag).as_str().to_string()
        },
        ..Basis::default()
    };
    let rule = if v.tag.is_private() && !v.tag.is_private_creator() {
        d.profile().private_rule()
    } else {
        d.profile().rule(rule_tag(v.tag))
    };
    if let Some(rule) = rule {
        b.e1_1_code = rule.basic.code().to_string();
        b.option = rule
            .resolve(d.options())
            .1
            .map(|o| o.column().to_string())
            .unwrap_or_default();
    }
    if let Some(a) = &v.private {
        b.private_creator = a.creator.trim().to_string();
        b.private_group = format!("{:04x}", a.group);
        b.private_offset = format!("{:02x}", a.offset);
    }
    // Private elements, and standard ones nested in a private sequence (quoted creator in the
    // path), are what the private dictionaries decide.
    if (v.private.is_some() || v.path.contains('"'))
        && let Some(entry) = d.safe_private().decide(&path::signature(&v.path), v.vr)
    {
        b.private_source = entry.source.label().to_string();
        b.private_disposition = entry.disposition.code().to_string();
    }
    b
}

/// The standard keyword of a public tag; empty for private or unknown ones.
pub fn keyword(tag: Tag) -> String {
    if tag.is_private() {
        return String::new();
    }
    StandardDataDictionary
        .by_tag(dicom_core::Tag(tag.group(), tag.element()))
        .map(|e| e.alias().to_string())
        .unwrap_or_default()
}

/// TCIA's Tag Sniffer code for an element: RETAIN when it leaves unchanged or after a
/// replacement that removes the identifying content, DELETE when it goes, REVIEW when a human
/// must read it (kept or cleaned free text, private elements no dictionary knows).
pub fn sniffer_code(b: &Basis, actions: &[&str]) -> &'static str {
    if !b.private_creator.is_empty() {
        return match b.private_disposition.as_str() {
            "k" | "K" | "h" | "o" | "oi" => "RETAIN",
            "d" | "na" => "DELETE",
            _ => "REVIEW",
        };
    }
    let all = |set: &[&str]| actions.iter().all(|a| set.contains(a));
    if all(&["X", "Z", "D", "U", "rebuilt"]) {
        "DELETE"
    } else if actions.contains(&"C") {
        "REVIEW"
    } else {
        "RETAIN"
    }
}
