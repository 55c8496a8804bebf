//! Patient pseudonyms: derived from the project key, or taken from a lookup table the curator
//! supplies (`original_id,new_id[,new_name]`).

use std::collections::HashMap;

use crate::deid::key::{ProjectKey, base32};
use crate::error::{Error, Result};

/// The new identity of one patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudonym {
    pub patient_id: String,
    pub patient_name: String,
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

/// A curator's table of original patient IDs and the pseudonyms to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookup {
    map: HashMap<String, Pseudonym>,
}

impl Lookup {
    /// Parses `original_id,new_id[,new_name]` rows; a header row starting with `original_id` is
    /// skipped. When the name is absent the new ID is used as the name.
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
                    "line {line} needs original_id,new_id[,new_name]"
                )));
            }
            let name = f.get(2).filter(|s| !s.is_empty()).unwrap_or(&f[1]);
            let p = Pseudonym {
                patient_id: f[1].to_string(),
                patient_name: name.to_string(),
            };
            if map.insert(f[0].to_string(), p).is_some() {
                return Err(Error::Lookup(format!("line {line} repeats an original_id")));
            }
        }
        if map.is_empty() {
            return Err(Error::Lookup("the table has no rows".into()));
        }
        Ok(Lookup { map })
    }

    /// The pseudonym for an original patient ID. The error never repeats the ID itself.
    pub fn get(&self, original_id: &str) -> Result<&Pseudonym> {
        self.map
            .get(original_id)
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
        assert_eq!(l.get("MRN1").unwrap().patient_name, "Subject^One");
        assert_eq!(l.get("MRN2").unwrap().patient_name, "SUBJ-02");
        let e = l.get("SECRET-ID").unwrap_err().to_string();
        assert!(!e.contains("SECRET-ID"));
        assert!(Lookup::from_csv("a\n").is_err());
        assert!(Lookup::from_csv("a,b\na,c\n").is_err());
    }
}
