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
    new_patient_id: String,
}

/// The linkage tables of a batch, filled in input order.
#[derive(Debug, Clone, Default)]
pub struct LinkageTables {
    rows: Vec<LinkageRow>,
    uids: BTreeMap<String, String>,
    /// (original ID, pseudonym) pairs: one ID under two issuers is two patients, two rows.
    patients: BTreeSet<(String, String)>,
}

impl LinkageTables {
    /// Records one input: `status` is `deidentified`, `skipped` or `failed`; `linkage` is present
    /// for written outputs.
    pub(crate) fn add(
        &mut self,
        input: &str,
        status: &'static str,
        detail: &str,
        linkage: Option<&Linkage>,
    ) {
        let (old, new) = linkage
            .map(|l| (l.original_patient_id.clone(), l.new_patient_id.clone()))
            .unwrap_or_default();
        if let Some(l) = linkage {
            self.uids.extend(l.uids.iter().cloned());
            self.patients.insert((old.clone(), new.clone()));
        }
        self.rows.push(LinkageRow {
            input: input.to_string(),
            status,
            output_name_or_reason: detail.to_string(),
            original_patient_id: old,
            new_patient_id: new,
        });
    }

    /// The files of the linkage folder (name, contents): a README and three CSV tables.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut linkage = String::from(
            "input_path,status,output_name_or_reason,original_patient_id,new_patient_id\n",
        );
        for r in &self.rows {
            linkage.push_str(&csv_row(&[
                &r.input,
                r.status,
                &r.output_name_or_reason,
                &r.original_patient_id,
                &r.new_patient_id,
            ]));
        }
        let mapping = |pairs: &mut dyn Iterator<Item = (&String, &String)>| {
            let mut s = String::from("id_old,id_new\n");
            for (old, new) in pairs {
                s.push_str(&csv_row(&[old, new]));
            }
            s
        };
        vec![
            ("README_CONTAINS_PHI.txt", README.to_string()),
            ("linkage.csv", linkage),
            ("uid_mapping.csv", mapping(&mut self.uids.iter())),
            (
                "patid_mapping.csv",
                mapping(&mut self.patients.iter().map(|(o, n)| (o, n))),
            ),
        ]
    }
}
