//! The review reports: element inventory, pre-review and its overrides, final review, on data
//! sets built here and on the real files of tests/data.

mod common;

use std::collections::HashMap;

use common::*;
use dicom_deid::deid::overrides::{fill_decisions, read_rows};
use dicom_deid::dicom::model::{Tag, TagExt};
use dicom_deid::review::final_review::{self, FinalReview, ResidualMarks};
use dicom_deid::review::inventory::{self, Inventory};
use dicom_deid::{Deidentifier, Options, Overrides, ProjectKey};

fn tcia() -> Deidentifier {
    Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([3; 32])).unwrap()
}

/// A CT with a nested reference, a safe private element (E.3.10-1) and an unknown one.
fn input(patient_id: &str, name: &str, sop: &str, description: &str) -> Vec<u8> {
    let mut els = ct_image(patient_id, name, sop);
    els.retain(|e| e.tag != 0x0008_1030);
    els.push(text(0x0008_1030, "LO", description));
    els.push(seq(
        0x0008_1140,
        vec![vec![
            text(0x0008_1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
            text(0x0008_1155, "UI", "1.2.826.0.1.3680043.2.1125.9.9"),
        ]],
    ));
    // "GEMS_PARM_01" (0043,xx39) is in Table E.3.10-1; put it in block 0x20, not the usual 0x10.
    els.push(text(0x0043_0020, "LO", "GEMS_PARM_01"));
    els.push(text(0x0043_2039, "IS", "7\\0\\0\\0"));
    els.push(text(0x0043_0021, "LO", "ACME SECRET 1"));
    els.push(text(0x0043_2101, "LO", &format!("operator {name}")));
    els.sort_by_key(|e| e.tag);
    file(&els, Syntax::ExplicitLe)
}

/// Rows of a CSV by their first column (and VR column when given).
fn rows(csv_text: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn find<'a>(rows: &'a [HashMap<String, String>], pattern: &str) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["path_pattern"] == pattern)
        .unwrap_or_else(|| panic!("no row for {pattern}"))
}

fn inventory_of(d: &Deidentifier, files: &[Vec<u8>]) -> Inventory {
    let mut inv = Inventory::default();
    for (i, f) in files.iter().enumerate() {
        inv.add(
            &format!("in/{i}.dcm"),
            inventory::examine(d, f, true).unwrap(),
        );
    }
    inv
}

#[test]
fn inventory_lists_every_element_once_with_action_basis_and_counts() {
    let files = [
        input(
            "PID-1",
            "Doe^Jane",
            "1.2.826.0.1.3680043.2.1125.5.1",
            "CT CHEST",
        ),
        input(
            "PID-2",
            "Roe^Rick",
            "1.2.826.0.1.3680043.2.1125.5.2",
            "CT CHEST for Roe",
        ),
    ];
    let inv = inventory_of(&tcia(), &files);
    let csv_text = inv.inventory_csv();
    assert!(
        !csv_text.contains("Doe") && !csv_text.contains("PID-1"),
        "no values"
    );
    let r = rows(&csv_text);
    let name = find(&r, "<(0010,0010)>");
    assert_eq!(name["keyword"], "PatientName");
    assert_eq!(name["e1_1_basic_code"], "Z");
    assert_eq!(name["action_resolved"], "Z");
    assert_eq!(name["sniffer_code"], "DELETE");
    assert_eq!(name["n_files"], "2");
    assert_eq!(name["n_patients"], "2");
    assert_eq!(name["n_distinct_values"], "2");
    let desc = find(&r, "<(0008,1030)>");
    assert_eq!(desc["option_applied"], "clean_descriptors");
    assert_eq!(desc["action_resolved"], "C");
    assert_eq!(desc["sniffer_code"], "REVIEW");
    assert_eq!(desc["max_value_length"], "16");
    let nested = find(&r, "<(0008,1140)>[<*>]<(0008,1155)>");
    assert_eq!(nested["depth"], "1");
    assert_eq!(nested["kb_signature"], "(0008,1140)[<0>](0008,1155)");
    // X/Z/U* on a Type 3 sequence of the CT IOD: the element goes with its sequence.
    assert_eq!(nested["action_resolved"], "X");
    let safe = find(&r, "<(0043,\"GEMS_PARM_01\",39)>");
    assert_eq!(safe["private_offset"], "39");
    assert_eq!(safe["action_resolved"], "K");
    assert_eq!(safe["sniffer_code"], "RETAIN");
    assert_eq!(safe["private_disposition"], "k");
    let unknown = find(&r, "<(0043,\"ACME SECRET 1\",01)>");
    assert_eq!(unknown["action_resolved"], "X");
    assert_eq!(unknown["private_source"], "");
    assert_eq!(unknown["sniffer_code"], "REVIEW");
    let meta = find(&r, "<(0002,0010)>");
    assert_eq!(meta["action_resolved"], "rebuilt");
}

#[test]
fn pre_review_lists_kept_and_cleaned_values_with_flags_and_not_removed_ones() {
    let files = [
        input(
            "PID-1",
            "Doe^Jane",
            "1.2.826.0.1.3680043.2.1125.5.1",
            "CT CHEST",
        ),
        input(
            "PID-2",
            "Roe^Rick",
            "1.2.826.0.1.3680043.2.1125.5.2",
            "CT CHEST for Roe",
        ),
        input(
            "PID-3",
            "Poe^Ann",
            "1.2.826.0.1.3680043.2.1125.5.3",
            "CT CHEST",
        ),
    ];
    let r = rows(&tcia_pre_review(&files));
    let of = |pattern: &str, value: &str| {
        r.iter()
            .find(|x| x["path_pattern"] == pattern && x["value"] == format!("<{value}>"))
    };
    let chest = of("<(0008,1030)>", "CT CHEST").expect("kept description");
    assert_eq!(chest["review_reason"], "clean_descriptor");
    assert_eq!(chest["n_files"], "2");
    assert_eq!(chest["n_patients"], "2");
    assert_eq!(chest["first_file"], "in/0.dcm");
    let roe = of("<(0008,1030)>", "CT CHEST for Roe").unwrap();
    assert!(roe["flags"].contains("NAME"), "{roe:?}");
    let unknown = of("<(0043,\"ACME SECRET 1\",01)>", "operator Doe^Jane").unwrap();
    assert_eq!(unknown["review_reason"], "private_unknown");
    assert!(unknown["flags"].contains("NAME"));
    // Removed, emptied or replaced elements have nothing left to review.
    assert!(r.iter().all(|x| x["path_pattern"] != "<(0010,0010)>"));
    assert!(r.iter().all(|x| x["path_pattern"] != "<(0008,0050)>"));
    assert!(
        r.iter().all(|x| x["path_pattern"] != "<(0008,0020)>"),
        "shifted dates"
    );
}

fn tcia_pre_review(files: &[Vec<u8>]) -> String {
    inventory_of(&tcia(), files).pre_review_csv()
}

#[test]
fn pre_review_decisions_come_back_as_overrides() {
    let files = [
        input(
            "PID-1",
            "Doe^Jane",
            "1.2.826.0.1.3680043.2.1125.5.1",
            "CT CHEST",
        ),
        input(
            "PID-2",
            "Roe^Rick",
            "1.2.826.0.1.3680043.2.1125.5.2",
            "SPECIAL 4711",
        ),
    ];
    // The curator edits the pre-review (as the page's editor does): one value replaced, one
    // removed, an unknown private kept.
    let pre = tcia_pre_review(&files);
    let (header, rows) = read_rows(&pre).unwrap();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (value, first) = (col("value"), col("first_file"));
    let mut decisions = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let decide = |d: &str, r: &str| (i, d.to_string(), r.to_string());
        if row[value] == "<CT CHEST>" {
            decisions.push(decide("", "CT THORAX"));
        } else if row[value].starts_with("<SPECIAL") {
            decisions.push(decide("remove", ""));
        } else if row.join(",").contains("ACME SECRET") && row[value].contains("Roe") {
            decisions.push(decide("keep", ""));
        }
        assert!(!row[first].is_empty());
    }
    assert_eq!(decisions.len(), 3, "{pre}");
    let edited = fill_decisions(&pre, &decisions).unwrap();
    let overrides = Overrides::from_csv("pre_review-PHI.csv", &edited).unwrap();
    assert_eq!(overrides.len(), 3);
    let d = tcia().with_overrides(overrides);
    let out: Vec<_> = files.iter().map(|f| d.deidentify(f).unwrap()).collect();
    let value = |i: usize, tag: u32| {
        let mut scratch = Vec::new();
        let obj = dicom_deid::dicom::read_file(&out[i].bytes, &mut scratch).unwrap();
        obj.dataset
            .get(Tag::from_u32(tag))
            .and_then(|e| e.raw())
            .map(|r| String::from_utf8_lossy(r).trim().to_string())
    };
    assert_eq!(value(0, 0x0008_1030).as_deref(), Some("CT THORAX"));
    assert_eq!(
        value(1, 0x0008_1030),
        None,
        "removed (Type 3 in the CT IOD)"
    );
    assert_eq!(value(1, 0x0043_2101).as_deref(), Some("operator Roe^Rick"));
    assert_eq!(
        value(0, 0x0043_2101),
        None,
        "only the decided value is kept"
    );
    assert!(
        out[0]
            .record
            .report
            .warnings
            .iter()
            .any(|w| w.contains("overrides")),
        "the audit says a curator decided"
    );
    let bad = "path_pattern,value,decision\n\"<(0008,1030)>\",<x>,shred\n";
    let e = Overrides::from_csv("mine.csv", bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mine.csv") && e.contains('2') && !e.contains("<x>"),
        "{e}"
    );
}

#[test]
fn final_review_names_the_form_each_output_value_should_have() {
    let d = tcia();
    let mut review = FinalReview::default();
    for i in 0..3 {
        let f = input(
            &format!("PID-{i}"),
            "Doe^Jane",
            &format!("1.2.826.0.1.3680043.2.1125.5.{i}"),
            "CT CHEST",
        );
        let out = d.deidentify(&f).unwrap();
        review.add(final_review::examine(&out.bytes, &out.record.report.actions).unwrap());
    }
    let csv_text = review.csv(&ResidualMarks::default());
    assert!(!csv_text.contains("Doe") && !csv_text.contains("PID-"));
    let r = rows(&csv_text);
    let form = |pattern: &str| -> Vec<&str> {
        r.iter()
            .filter(|x| x["path_pattern"] == pattern)
            .map(|x| x["expected_form"].as_str())
            .collect()
    };
    assert_eq!(form("<(0010,0020)>"), ["pseudonym"; 3]);
    assert_eq!(
        form("<(0008,0020)>"),
        ["shifted_date"; 3],
        "three patients, three shifts"
    );
    assert_eq!(form("<(0008,0018)>"), ["remapped_uid"; 3]);
    assert_eq!(form("<(0008,1030)>"), ["cleaned"]);
    assert_eq!(form("<(0043,\"GEMS_PARM_01\",39)>"), ["kept"]);
    assert_eq!(form("<(0012,0062)>"), ["method_record"]);
    let chest = r
        .iter()
        .find(|x| x["path_pattern"] == "<(0008,1030)>")
        .unwrap();
    assert_eq!(
        (chest["n_files"].as_str(), chest["n_patients"].as_str()),
        ("3", "3")
    );
    let mut marks = ResidualMarks::default();
    marks.add("<(0008,1030)>".into(), "PatientName", "CHEST");
    assert!(review.csv(&marks).contains("PatientName,fail"));
}

#[test]
fn reports_on_real_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "dcm").then(|| std::fs::read(p).unwrap())
        })
        .collect();
    assert!(files.len() >= 8);
    let d = tcia();
    let inv = inventory_of(&d, &files);
    assert_eq!(inv.files(), files.len());
    let r = rows(&inv.inventory_csv());
    // Every element of every file has a row with a resolved action.
    assert!(r.len() > 200, "{} rows", r.len());
    assert!(r.iter().all(|x| !x["action_resolved"].is_empty()));
    let sr = find(&r, "<(0040,a730)>[<*>]<(0040,a010)>");
    assert_eq!(sr["n_files"], "1");
    let mut review = FinalReview::default();
    for f in &files {
        let out = d.deidentify(f).unwrap();
        review.add(final_review::examine(&out.bytes, &out.record.report.actions).unwrap());
    }
    let fr = rows(&review.csv(&ResidualMarks::default()));
    assert!(fr.iter().all(|x| x["expected_form"] != "removed"));
    assert_eq!(
        fr.iter()
            .filter(|x| x["path_pattern"] == "<(0010,0010)>")
            .count(),
        fr.iter()
            .filter(|x| x["path_pattern"] == "<(0010,0020)>")
            .count(),
    );
}

#[test]
fn the_uid_mapping_covers_the_file_meta_too() {
    let sop = "1.2.826.0.1.3680043.2.1125.5.77";
    let mut bytes = input("PID-1", "Doe^Jane", sop, "CT");
    // The meta names another instance UID (same length) than the data set.
    let meta_uid = "1.2.826.0.1.3680043.2.1125.5.78";
    let at = bytes
        .windows(sop.len())
        .position(|w| w == sop.as_bytes())
        .unwrap();
    assert!(at < 300, "the first occurrence is in the meta");
    bytes[at..at + sop.len()].copy_from_slice(meta_uid.as_bytes());
    let out = tcia().deidentify(&bytes).unwrap();
    let new_of = |old: &str| {
        out.linkage
            .uids
            .iter()
            .find(|(o, _)| o == old)
            .map(|(_, n)| n.clone())
    };
    let new = new_of(sop).expect("the data set's UID is mapped");
    assert_eq!(
        new_of(meta_uid),
        Some(new),
        "the meta's UID maps to the output's"
    );
}

#[test]
fn remapped_uids_are_listed_ten_per_element_and_the_rest_counted() {
    let d = tcia();
    let mut review = FinalReview::default();
    for i in 0..15 {
        let f = input(
            "PID-1",
            "Doe^Jane",
            &format!("1.2.826.0.1.3680043.2.1125.6.{i}"),
            "CT",
        );
        let out = d.deidentify(&f).unwrap();
        review.add(final_review::examine(&out.bytes, &out.record.report.actions).unwrap());
    }
    let r = rows(&review.csv(&ResidualMarks::default()));
    let sop: Vec<_> = r
        .iter()
        .filter(|x| x["path_pattern"] == "<(0008,0018)>")
        .collect();
    assert_eq!(sop.len(), 11);
    assert_eq!(sop[10]["value"], "(5 more distinct values)");
    assert_eq!(sop[10]["expected_form"], "truncated");
}
