//! Patient pseudonyms: derived from the project key, or taken from a lookup table the curator
//! supplies (`original_id,new_id[,new_name[,issuer]]`).

use std::collections::HashMap;

use crate::deid::key::{ProjectKey, base32};
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Element, Item, Value, Vr, tags, trim_text};
use crate::error::{Error, Result};

/// The new identity of one patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudonym {
    pub patient_id: String,
    pub patient_name: String,
}

/// Who a file's patient is, for the pseudonym and the date shift.
///
/// A Patient ID is only unique within its issuer (PS3.3 C.7.1.1): the same ID from two hospitals
/// is two patients. The issuer is Issuer of Patient ID (0010,0021), else the Universal or Local
/// Namespace Entity ID of the Issuer of Patient ID Qualifiers Sequence, compared without case and
/// surrounding or repeated spaces. A file without an issuer is keyed on its Patient ID alone (as
/// before issuers were honoured, so existing projects keep their pseudonyms): it never joins a
/// patient of a named issuer, which would risk merging two people. The cost is a split when one
/// patient's files disagree on the issuer; the batch summary counts studies whose files went to
/// more than one pseudonym so that a curator sees it. Without an ID, the name is the identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patient {
    pub id: String,
    pub issuer: String,
    pub name: String,
}

impl Patient {
    /// The patient of a data set, its text decoded in `cs`.
    pub fn of(d: &Item<'_>, cs: &CharacterSet) -> Patient {
        let text = |item: &Item<'_>, tag| {
            item.get(tag)
                .and_then(|e| e.raw())
                .map(|raw| {
                    let t = trim_text(Vr::LO, raw);
                    cs.decode_lossy(t)
                })
                .unwrap_or_default()
        };
        let qualifiers = match d.get(tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE) {
            Some(Element {
                value: Value::Items(items),
                ..
            }) => items.first(),
            _ => None,
        };
        let issuer = [text(d, tags::ISSUER_OF_PATIENT_ID)]
            .into_iter()
            .chain(qualifiers.into_iter().flat_map(|q| {
                [
                    text(q, tags::UNIVERSAL_ENTITY_ID),
                    text(q, tags::LOCAL_NAMESPACE_ENTITY_ID),
                ]
            }))
            .map(|s| normalise_issuer(&s))
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        Patient {
            id: text(d, tags::PATIENT_ID),
            issuer,
            name: text(d, tags::PATIENT_NAME),
        }
    }

    /// The string pseudonyms and date shifts are keyed on.
    pub fn identity(&self) -> String {
        match (self.id.is_empty(), self.issuer.is_empty()) {
            (true, _) => self.name.clone(),
            (false, true) => self.id.clone(),
            (false, false) => format!("{}\u{1f}{}", self.id, self.issuer),
        }
    }
}

/// An issuer as compared: upper case, single spaces, no surrounding space.
fn normalise_issuer(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Derives a pseudonym: `ANON` + 20 base32 characters (100 bits) of the keyed hash of the original
/// identity, so distinct patients do not collide in practice and the same patient always gets the
/// same pseudonym under the same key.
pub fn derive(key: &ProjectKey, identity: &str) -> Pseudonym {
    let code = base32(&key.mac("patient", identity.as_bytes()), 20);
    Pseudonym {
        patient_id: format!("ANON{code}"),
        patient_name: format!("ANONYMOUS^{code}"),
    }
}

/// A curator's table of original patient IDs (optionally qualified by their issuer) and the
/// pseudonyms to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookup {
    /// (original ID, issuer as [`Patient`] normalises it; empty = any issuer) → pseudonym.
    map: HashMap<(String, String), Pseudonym>,
}

impl Lookup {
    /// Parses `original_id,new_id[,new_name[,issuer]]` rows; a header row starting with
    /// `original_id` is skipped. When the name is absent the new ID is used as the name; a row
    /// without an issuer applies to that ID under any issuer.
    pub fn from_csv(text: &str) -> Result<Lookup> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let mut map = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 1;
            let rec = rec.map_err(|_| Error::Lookup(format!("line {line} is unreadable")))?;
            let f: Vec<&str> = rec.iter().map(str::trim).collect();
            if f.iter().all(|s| s.is_empty()) {
                continue;
            }
            if i == 0 && f[0].eq_ignore_ascii_case("original_id") {
                continue;
            }
            if f.len() < 2 || f[0].is_empty() || f[1].is_empty() {
                return Err(Error::Lookup(format!(
                    "line {line} needs original_id,new_id[,new_name[,issuer]]"
                )));
            }
            let name = f.get(2).filter(|s| !s.is_empty()).unwrap_or(&f[1]);
            let p = Pseudonym {
                patient_id: f[1].to_string(),
                patient_name: name.to_string(),
            };
            let key = (f[0].to_string(), normalise_issuer(f.get(3).unwrap_or(&"")));
            if map.insert(key, p).is_some() {
                return Err(Error::Lookup(format!(
                    "line {line} repeats an original_id and issuer"
                )));
            }
        }
        if map.is_empty() {
            return Err(Error::Lookup("the table has no rows".into()));
        }
        Ok(Lookup { map })
    }

    /// The pseudonym for a patient: the row for its ID and issuer, else the row for its ID
    /// without an issuer. The error never repeats the ID itself.
    pub fn get(&self, patient: &Patient) -> Result<&Pseudonym> {
        let id = patient.id.clone();
        self.map
            .get(&(id.clone(), patient.issuer.clone()))
            .or_else(|| self.map.get(&(id, String::new())))
            .ok_or_else(|| Error::Lookup("the file's patient is not in the lookup table".into()))
    }

    /// Number of patients in the table.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_pseudonyms_are_stable_and_distinct() {
        let k = ProjectKey::from_bytes([5; 32]);
        let a = derive(&k, "12345");
        assert_eq!(a, derive(&k, "12345"));
        assert_ne!(a.patient_id, derive(&k, "12346").patient_id);
        assert!(a.patient_id.len() <= 64 && a.patient_id.starts_with("ANON"));
    }

    #[test]
    fn lookup_table() {
        let l = Lookup::from_csv(
            "original_id,new_id,new_name\nMRN1,SUBJ-01,Subject^One\nMRN2,SUBJ-02\n",
        )
        .unwrap();
        let p = |id: &str, issuer: &str| Patient {
            id: id.into(),
            issuer: issuer.into(),
            name: String::new(),
        };
        assert_eq!(l.get(&p("MRN1", "")).unwrap().patient_name, "Subject^One");
        assert_eq!(l.get(&p("MRN2", "ANY")).unwrap().patient_name, "SUBJ-02");
        let e = l.get(&p("SECRET-ID", "")).unwrap_err().to_string();
        assert!(!e.contains("SECRET-ID"));
        assert!(Lookup::from_csv("a\n").is_err());
        assert!(Lookup::from_csv("a,b\na,c\n").is_err());
        // Rows by issuer: the same ID under two issuers is two patients.
        let l = Lookup::from_csv("M1,S-A,,Hosp A\nM1,S-B,,HOSP  B\n").unwrap();
        assert_eq!(l.get(&p("M1", "HOSP A")).unwrap().patient_id, "S-A");
        assert_eq!(l.get(&p("M1", "HOSP B")).unwrap().patient_id, "S-B");
        assert!(l.get(&p("M1", "")).is_err());
    }

    #[test]
    fn the_issuer_qualifies_the_patient_id() {
        let mut d = Item::default();
        d.put(Element::text(tags::PATIENT_ID, Vr::LO, "12345"));
        let cs = CharacterSet::default();
        let bare = Patient::of(&d, &cs);
        assert_eq!(bare.identity(), "12345");
        d.put(Element::text(
            tags::ISSUER_OF_PATIENT_ID,
            Vr::LO,
            " Hosp  A ",
        ));
        let a = Patient::of(&d, &cs);
        assert_eq!(a.issuer, "HOSP A");
        assert_ne!(a.identity(), bare.identity());
        d.put(Element::text(tags::ISSUER_OF_PATIENT_ID, Vr::LO, "HOSP B"));
        assert_ne!(Patient::of(&d, &cs).identity(), a.identity());
    }
}
