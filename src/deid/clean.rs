//! Cleaning free text (action C for descriptors, PS3.15 E.3.5): the text is kept, but every
//! identifying value found elsewhere in the same data set (names, IDs, accession and order numbers,
//! birth date in common spellings, institutions, addresses, phone numbers) is removed, and so is
//! anything shaped like a date, a phone number or a long identifier.

use std::collections::BTreeSet;

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Item, Tag, Value, Vr, split_values, tags};
use crate::review::patterns::{Ymd, find_dates};

/// Attributes whose values identify a patient, a person or an institution, looked for inside
/// descriptors. Person names (VR PN) are always included.
#[allow(deprecated)] // retired attributes (Other Patient IDs, ...) still occur in files
const IDENTIFYING: &[(Tag, Kind)] = &[
    (tags::PATIENT_ID, Kind::Id),
    (tags::OTHER_PATIENT_I_DS, Kind::Id),
    (tags::PATIENT_BIRTH_DATE, Kind::Date),
    (tags::ACCESSION_NUMBER, Kind::Id),
    (tags::STUDY_ID, Kind::Id),
    (tags::MEDICAL_RECORD_LOCATOR, Kind::Id),
    (tags::ADMISSION_ID, Kind::Id),
    (tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST, Kind::Id),
    (tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST, Kind::Id),
    (tags::REQUESTED_PROCEDURE_ID, Kind::Id),
    (tags::SCHEDULED_PROCEDURE_STEP_ID, Kind::Id),
    (tags::PERFORMED_PROCEDURE_STEP_ID, Kind::Id),
    (tags::PATIENT_ADDRESS, Kind::Phrase),
    (tags::PATIENT_TELEPHONE_NUMBERS, Kind::Phrase),
    (tags::REGION_OF_RESIDENCE, Kind::Phrase),
    (tags::ISSUER_OF_PATIENT_ID, Kind::Institution),
    (tags::INSTITUTION_NAME, Kind::Institution),
    (tags::INSTITUTION_ADDRESS, Kind::Institution),
    (tags::INSTITUTIONAL_DEPARTMENT_NAME, Kind::Institution),
    (tags::REFERRING_PHYSICIAN_ADDRESS, Kind::Phrase),
    (tags::REFERRING_PHYSICIAN_TELEPHONE_NUMBERS, Kind::Phrase),
    (tags::STATION_NAME, Kind::Device),
    (tags::DEVICE_SERIAL_NUMBER, Kind::Device),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    Date,
    Phrase,
    Institution,
    Device,
}

/// Honorifics and suffixes that are name components but not identifying.
const NOT_NAMES: &[&str] = &[
    "DR", "MR", "MRS", "MS", "MISS", "JR", "SR", "MD", "PHD", "PROF",
];

/// The identifying values of one data set.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    /// Name components, matched as whole words (upper case).
    words: BTreeSet<String>,
    /// Whole values (IDs, dates, institutions), matched anywhere (upper case).
    phrases: BTreeSet<String>,
}

fn upper(s: &str) -> String {
    s.chars().flat_map(char::to_uppercase).collect()
}

impl Identifiers {
    /// Collects the identifying values of a data set, at every depth. Institution and device
    /// values are skipped when the options retain them.
    pub fn collect(
        dataset: &Item<'_>,
        charset: &CharacterSet,
        keep_institution: bool,
        keep_device: bool,
    ) -> Identifiers {
        let mut ids = Identifiers::default();
        ids.walk(dataset, charset, keep_institution, keep_device);
        ids
    }

    fn walk(&mut self, item: &Item<'_>, parent_cs: &CharacterSet, ki: bool, kd: bool) {
        let cs = CharacterSet::from_item(item, parent_cs);
        for e in &item.elements {
            match &e.value {
                Value::Items(items) => {
                    for it in items {
                        self.walk(it, &cs, ki, kd);
                    }
                }
                Value::Bytes(raw) if e.vr.is_text() => {
                    let kind = if e.vr == Vr::PN {
                        None
                    } else {
                        match IDENTIFYING.iter().find(|(t, _)| *t == e.tag) {
                            Some((_, k)) => Some(*k),
                            None => continue,
                        }
                    };
                    if (kind == Some(Kind::Institution) && ki) || (kind == Some(Kind::Device) && kd)
                    {
                        continue;
                    }
                    for v in split_values(e.vr, raw) {
                        self.add(kind, cs.decode_lossy(v).trim());
                    }
                }
                _ => {}
            }
        }
    }

    fn add(&mut self, kind: Option<Kind>, text: &str) {
        if text.is_empty() {
            return;
        }
        match kind {
            None => {
                // Every character that is not a letter or digit separates parts, so a name
                // written `DOE_JANE` or `Doe-Smith` loses each part wherever it stands alone.
                for part in text.split(|c: char| !c.is_alphanumeric()) {
                    let p = upper(part.trim());
                    if p.is_empty() || NOT_NAMES.contains(&p.as_str()) {
                        continue;
                    }
                    if !p.is_ascii() && !p.chars().any(|c| c.is_ascii_alphabetic()) {
                        // Ideographic names (one-character family names are common) are written
                        // without spaces, so they are matched anywhere.
                        self.phrases.insert(p);
                    } else if p.chars().count() >= 2 {
                        self.words.insert(p);
                    }
                }
            }
            Some(Kind::Date) => {
                let t: String = text.chars().filter(char::is_ascii_digit).collect();
                let date = (t.len() == 8).then(|| Ymd::from_dicom(&t)).flatten();
                if let Some(date) = date {
                    self.phrases.extend(date.variants());
                }
            }
            Some(_) => {
                let p = upper(text);
                if p.chars().count() >= 3 {
                    self.phrases.insert(p);
                }
            }
        }
    }

    /// Cleans one text: identifying values and date-, phone- and ID-like runs are removed, then
    /// runs of spaces are collapsed. Returns the text unchanged (same string) when nothing matched.
    pub fn clean(&self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let up: Vec<char> = chars
            .iter()
            .map(|c| c.to_uppercase().next().unwrap_or(*c))
            .collect();
        let mut cut = vec![false; chars.len()];
        let is_word = |c: char| c.is_alphanumeric();
        for (set, whole_word) in [(&self.words, true), (&self.phrases, false)] {
            for needle in set.iter() {
                let n: Vec<char> = needle.chars().collect();
                if n.is_empty() || n.len() > up.len() {
                    continue;
                }
                for start in 0..=up.len() - n.len() {
                    if up[start..start + n.len()] != n[..] {
                        continue;
                    }
                    let end = start + n.len();
                    if whole_word
                        && ((start > 0 && is_word(up[start - 1]))
                            || (end < up.len() && is_word(up[end])))
                    {
                        continue;
                    }
                    cut[start..end].iter_mut().for_each(|c| *c = true);
                }
            }
        }
        mark_patterns(&chars, &mut cut);
        if !cut.iter().any(|c| *c) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        for (c, drop) in chars.iter().zip(&cut) {
            if *drop {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            } else if !(*c == ' ' && out.ends_with(' ')) {
                out.push(*c);
            }
        }
        out.trim().to_string()
    }
}

/// Marks date-like, phone-like and ID-like runs, and dates written in any form
/// [`find_dates`] reads (month names included).
fn mark_patterns(chars: &[char], cut: &mut [bool]) {
    let text: String = chars.iter().collect();
    // Byte offset of each character, and of the end.
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    for span in find_dates(&text) {
        let s = offsets.partition_point(|&o| o < span.start);
        let e = offsets.partition_point(|&o| o < span.end);
        cut[s..e].iter_mut().for_each(|c| *c = true);
    }
    let n = chars.len();
    let mut i = 0;
    while i < n {
        if !(chars[i].is_ascii_digit() || chars[i] == '+' || chars[i] == '(') {
            i += 1;
            continue;
        }
        // A run of digits and the separators dates, phones and IDs use.
        let mut j = i;
        while j < n && (chars[j].is_ascii_digit() || "+()-./ ".contains(chars[j])) {
            j += 1;
        }
        // Trailing separators are not part of the run.
        while j > i && !chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let run: String = chars[i..j].iter().collect();
        let digits = run.chars().filter(char::is_ascii_digit).count();
        let groups: Vec<&str> = run
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        let date_like = groups.len() == 3
            && !run.contains(' ')
            && groups.iter().any(|g| g.len() == 4 || g.len() == 2)
            && groups.iter().all(|g| g.len() <= 4);
        let compact_date = groups.len() == 1 && digits == 8 && {
            let g = groups[0];
            (g.starts_with("19") || g.starts_with("20"))
                && (1..=12).contains(&g[4..6].parse::<u32>().unwrap_or(0))
        };
        let phone_like = digits >= 7 && run.chars().any(|c| "-() +".contains(c));
        let id_like = groups.iter().any(|g| g.len() >= 5);
        // One decimal point between a few digits is a measurement ("2.89362"), not an
        // identifier; digits glued to letters ("MRN123.456789") are not.
        let glued = |k: Option<&char>| k.is_some_and(|c| c.is_alphanumeric());
        let decimal = groups.len() == 2
            && run.chars().all(|c| c.is_ascii_digit() || c == '.')
            && groups[0].len() <= 6
            && groups[1].len() <= 6
            && !glued(i.checked_sub(1).and_then(|k| chars.get(k)))
            && !glued(chars.get(j));
        if j > i && !decimal && (date_like || compact_date || phone_like || id_like) {
            // Extend over letters glued to the digits (e.g. "MRN123456").
            let mut s = i;
            while s > 0 && chars[s - 1].is_alphanumeric() {
                s -= 1;
            }
            let mut e = j;
            while e < n && chars[e].is_alphanumeric() {
                e += 1;
            }
            cut[s..e].iter_mut().for_each(|c| *c = true);
            i = e;
        } else {
            i = j.max(i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::model::Element;

    fn ids() -> Identifiers {
        let mut d = Item::default();
        d.put(Element::text(Tag(0x0008, 0x0050), Vr::SH, "ACC778899"));
        d.put(Element::text(
            Tag(0x0008, 0x0080),
            Vr::LO,
            "St Elsewhere Hospital",
        ));
        d.put(Element::text(Tag(0x0010, 0x0010), Vr::PN, "Doe^Jane^Q^Dr"));
        d.put(Element::text(Tag(0x0010, 0x0020), Vr::LO, "PID42"));
        d.put(Element::text(Tag(0x0010, 0x0030), Vr::DA, "19600704"));
        Identifiers::collect(&d, &CharacterSet::default(), false, false)
    }

    #[test]
    fn removes_identifying_values_and_keeps_the_rest() {
        let i = ids();
        assert_eq!(i.clean("CT CHEST W CONTRAST"), "CT CHEST W CONTRAST");
        assert_eq!(i.clean("Follow-up JANE DOE pid42"), "Follow-up");
        assert_eq!(i.clean("Dr Doe at St Elsewhere Hospital"), "Dr at");
        assert_eq!(i.clean("born 07/04/1960, seen 2021-03-04"), "born , seen");
        assert_eq!(i.clean("call +1 (555) 123-4567 now"), "call now");
        assert_eq!(i.clean("MRN123456 head"), "head");
        assert_eq!(i.clean("Doen't Doe-Smith"), "Doen't -Smith");
        assert_eq!(i.clean("T1 3D 1mm 256x256 ACC778899"), "T1 3D 1mm 256x256");
    }

    #[test]
    fn birth_dates_and_dates_with_month_names_are_removed() {
        let i = ids();
        for (text, cleaned) in [
            ("born 4 Jul 1960 here", "born here"),
            ("born July 4, 1960", "born"),
            ("born Jul 04 1960; follow-up", "born ; follow-up"),
            ("DOB 04-JUL-1960", "DOB"),
            ("DOB 04JUL1960", "DOB"),
            ("born 1960-Jul-04.", "born ."),
            ("born 4.7.1960", "born"),
            ("born 7/4/1960", "born"),
            // Any date with a month name, not only the birth date.
            ("seen 30 Sep 1945 and September 30, 1945", "seen and"),
            ("seen Sept. 30th, 1945", "seen"),
            ("scan on 3rd of March 2021", "scan on"),
        ] {
            assert_eq!(i.clean(text), cleaned, "{text}");
        }
        // Words that are month names but not dates stay.
        assert_eq!(
            i.clean("may show March artefact"),
            "may show March artefact"
        );
        // The birth date's variants are all among the phrases.
        for v in Ymd::new(1960, 7, 4).unwrap().variants() {
            assert!(i.phrases.contains(&v), "{v}");
        }
        // Non-ASCII text around a date keeps its characters.
        assert_eq!(
            i.clean("né le 4 juillet 1960 — 30 Sep 1945 ü"),
            "né le 4 juillet 1960 — ü"
        );
    }
}
