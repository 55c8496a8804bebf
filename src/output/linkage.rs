//! The linkage tables: which input became which output, and the original → new patient IDs and
//! UIDs. They hold PHI, so they are only ever written where the user asked for them, apart from
//! the de-identified data (the CLI's `--linkage DIR`, the page's separate download).

use std::collections::{BTreeMap, BTreeSet};

use crate::deid::Linkage;
use crate::output::audit::csv_row;

/// What the linkage folder's README says.
const README: &str = "These files link de-identified outputs back to the original patients and files.\n\
They contain protected health information (PHI). Keep them apart from the de-identified data, \
share them with no one who should not re-identify patients.\n";

/// One input's line in linkage.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LinkageRow {
    input: String,
    status: &'static str,
    output_name_or_reason: String,
    original_patient_id: String,
    original_issuer: String,
    new_patient_id: String,
}

/// The linkage tables of a batch, filled in input order.
#[derive(Debug, Clone, Default)]
pub struct LinkageTables {
    rows: Vec<LinkageRow>,
    uids: BTreeMap<String, String>,
    /// (original ID, issuer, pseudonym): one ID under two issuers is two patients, two rows.
    patients: BTreeSet<(String, String, String)>,
}

impl LinkageTables {
    /// Records one input: `status` is `deidentified`, `skipped`, `failed`, `quarantined`
    /// or `excluded`; `linkage` is present
    /// for written outputs.
    pub(crate) fn add(
        &mut self,
        input: &str,
        status: &'static str,
        detail: &str,
        linkage: Option<&Linkage>,
    ) {
        let (old, issuer, new) = linkage
            .map(|l| {
                let l = l.clone();
                (l.original_patient_id, l.original_issuer, l.new_patient_id)
            })
            .unwrap_or_default();
        if let Some(l) = linkage {
            self.uids.extend(l.uids.iter().cloned());
            self.patients
                .insert((old.clone(), issuer.clone(), new.clone()));
        }
        self.rows.push(LinkageRow {
            input: input.to_string(),
            status,
            output_name_or_reason: detail.to_string(),
            original_patient_id: old,
            original_issuer: issuer,
            new_patient_id: new,
        });
    }

    /// The files of the linkage folder (name, contents): a README and three CSV tables.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut linkage = String::from(
            "input_path,status,output_name_or_reason,original_patient_id,original_issuer,\
             new_patient_id\n",
        );
        for r in &self.rows {
            linkage.push_str(&csv_row(&[
                &r.input,
                r.status,
                &r.output_name_or_reason,
                &r.original_patient_id,
                &r.original_issuer,
                &r.new_patient_id,
            ]));
        }
        let mut uids = String::from("id_old,id_new\n");
        for (old, new) in &self.uids {
            uids.push_str(&csv_row(&[old, new]));
        }
        // The issuer comes last so that the first two columns read as the UID table's do.
        let mut patients = String::from("id_old,id_new,issuer\n");
        for (old, issuer, new) in &self.patients {
            patients.push_str(&csv_row(&[old, new, issuer]));
        }
        vec![
            ("README_CONTAINS_PHI.txt", README.to_string()),
            ("linkage.csv", linkage),
            ("uid_mapping.csv", uids),
            ("patid_mapping.csv", patients),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str, issuer: &str, new: &str) -> Linkage {
        Linkage {
            original_patient_id: id.into(),
            original_issuer: issuer.into(),
            new_patient_id: new.into(),
            uids: vec![],
        }
    }

    #[test]
    fn one_id_under_two_issuers_is_two_rows_that_name_their_issuer() {
        let mut t = LinkageTables::default();
        t.add(
            "a.dcm",
            "deidentified",
            "A/1.dcm",
            Some(&link("MRN-1", "HOSP A", "P1")),
        );
        t.add(
            "b.dcm",
            "deidentified",
            "B/1.dcm",
            Some(&link("MRN-1", "HOSP B", "P2")),
        );
        t.add(
            "c.dcm",
            "deidentified",
            "A/2.dcm",
            Some(&link("MRN-1", "HOSP A", "P1")),
        );
        t.add("d.dcm", "failed", "unreadable", None);
        let files: BTreeMap<_, _> = t.files().into_iter().collect();
        assert_eq!(
            files["patid_mapping.csv"],
            "id_old,id_new,issuer\nMRN-1,P1,HOSP A\nMRN-1,P2,HOSP B\n"
        );
        let rows: Vec<&str> = files["linkage.csv"].lines().collect();
        assert_eq!(rows[0].split(',').nth(4), Some("original_issuer"));
        assert_eq!(rows[2], "b.dcm,deidentified,B/1.dcm,MRN-1,HOSP B,P2");
        assert_eq!(rows[4], "d.dcm,failed,unreadable,,,");
    }
}
