//! The profile data: every row of the built-in tables parses, and every keyword in Table E.1-1
//! names the same tag in the dicom-rs standard dictionary.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_deid::deid::{BUILTIN_TABLE, TagPattern};
use dicom_deid::{Profile, ProfileOption};
use dicom_dictionary_std::StandardDataDictionary;

#[test]
fn every_row_parses() {
    let p = Profile::from_csv("E.1-1", BUILTIN_TABLE).unwrap();
    let csv_rows = csv::Reader::from_reader(BUILTIN_TABLE.as_bytes())
        .records()
        .count();
    assert_eq!(p.rules.len(), csv_rows, "no row dropped");
    assert_eq!(csv_rows, 656);
    assert_eq!(
        Profile::builtin().rules.len(),
        656 + 4,
        "plus the supplement"
    );
    let patterns: Vec<_> = p
        .rules
        .iter()
        .filter(|r| !matches!(r.pattern, TagPattern::Exact(_)))
        .collect();
    assert_eq!(
        patterns.len(),
        4,
        "(50xx,xxxx), (60xx,3000), (60xx,4000) and the private rule"
    );
    // Counts from the standard's table (see ../shared/standards/README.md).
    let count = |code: &str| p.rules.iter().filter(|r| r.basic.code() == code).count();
    assert_eq!(
        (count("X"), count("D"), count("U"), count("Z")),
        (416, 93, 55, 42)
    );
    assert_eq!(
        (
            count("X/D"),
            count("X/Z"),
            count("X/Z/D"),
            count("Z/D"),
            count("X/Z/U*")
        ),
        (23, 11, 8, 6, 2)
    );
    let opt = |o: ProfileOption| p.rules.iter().filter(|r| r.option(o).is_some()).count();
    assert_eq!(opt(ProfileOption::RetainLongModifiedDates), 169);
    assert_eq!(opt(ProfileOption::CleanDescriptors), 140);
    assert_eq!(opt(ProfileOption::RetainUids), 60);
}

#[test]
fn keywords_match_the_dicom_rs_dictionary() {
    let p = Profile::builtin();
    let mut checked = 0;
    // Covers the supplement's keywords too.
    let mut mismatches = Vec::new();
    for r in &p.rules {
        let TagPattern::Exact(tag) = r.pattern else {
            continue;
        };
        if r.keyword.is_empty() {
            continue;
        }
        match StandardDataDictionary.by_tag(tag) {
            Some(e) if e.alias() == r.keyword => checked += 1,
            Some(e) => mismatches.push(format!(
                "{tag}: table {} / dicom-rs {}",
                r.keyword,
                e.alias()
            )),
            None => mismatches.push(format!("{tag}: {} not in dicom-rs", r.keyword)),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(checked > 640, "{checked}");
}
