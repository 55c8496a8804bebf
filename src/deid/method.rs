//! What the output says about its de-identification (PS3.3 C.7.1.1 De-identification attributes),
//! and the warnings a reviewer should see.

use crate::deid::profile::Options;
use crate::dicom::model::{Element, Item, Tag, Vr, tags};
use crate::output::audit::ActionLog;

/// Implementation Class UID written in the file meta of every output.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.125416578291465281027369452348815267341";
/// Implementation Version Name written in the file meta of every output.
pub const IMPLEMENTATION_VERSION_NAME: &str = "DCMDEID_0_1";

const CID7050: &str = include_str!("../../profiles/cid7050.csv");

/// A row of CID 7050.
#[derive(serde::Deserialize)]
struct Cid7050Row {
    code_value: String,
    code_meaning: String,
    /// The Table E.1-1 column the code stands for (`basic_profile` or an option); empty for
    /// codes of options this engine does not implement.
    e1_1_column: String,
}

/// The CID 7050 code values a run under these options claims (Clean Pixel Data only for the
/// images it masked), as the de-identification log lists them.
pub fn code_values(opts: &Options) -> Vec<&'static str> {
    let enabled = opts.enabled();
    std::iter::once("basic_profile")
        .chain(enabled.iter().map(|o| o.column()))
        .filter_map(|c| code_for(c).map(|(v, _)| v))
        .collect()
}

/// CID 7050 code value and meaning for a Table E.1-1 column (`basic_profile` or an option).
fn code_for(column: &str) -> Option<(&'static str, &'static str)> {
    static ROWS: std::sync::LazyLock<Vec<Cid7050Row>> =
        std::sync::LazyLock::new(|| crate::deid::tables::builtin("cid7050.csv", CID7050));
    ROWS.iter()
        .find(|r| r.e1_1_column == column)
        .map(|r| (r.code_value.as_str(), r.code_meaning.as_str()))
}

/// Writes Patient Identity Removed, De-identification Method (profile edition and options),
/// its code sequence (CID 7050) and Longitudinal Temporal Information Modified.
pub fn record(d: &mut Item<'_>, opts: &Options, edition: &str) {
    let enabled = opts.enabled();
    let mut method: Vec<String> = vec![edition.chars().take(64).collect()];
    method.extend(enabled.iter().map(|o| o.standard_name().to_string()));
    d.put(Element::text(tags::PATIENT_IDENTITY_REMOVED, Vr::CS, "YES"));
    d.put(Element::text(
        tags::DEIDENTIFICATION_METHOD,
        Vr::LO,
        &method.join("\\"),
    ));
    let mut items = Vec::new();
    let columns = std::iter::once("basic_profile").chain(enabled.iter().map(|o| o.column()));
    for column in columns {
        if let Some((value, meaning)) = code_for(column) {
            let mut it = Item {
                elements: Vec::new(),
                undefined_length: true,
            };
            it.put(Element::text(tags::CODE_VALUE, Vr::SH, value));
            it.put(Element::text(tags::CODING_SCHEME_DESIGNATOR, Vr::SH, "DCM"));
            it.put(Element::text(tags::CODE_MEANING, Vr::LO, meaning));
            items.push(it);
        }
    }
    d.put(Element::sequence(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        items,
    ));
    let temporal = if opts.retain_long_modified_dates {
        "MODIFIED"
    } else if opts.retain_long_full_dates {
        "UNMODIFIED"
    } else {
        "REMOVED"
    };
    d.put(Element::text(
        tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
        Vr::CS,
        temporal,
    ));
}

/// Whether an Age String (nnnD/W/M/Y) is over 89 years.
pub fn age_over_89(age: &str) -> bool {
    let a = age.trim();
    if a.len() != 4 || !a.is_ascii() {
        return false;
    }
    let Ok(n) = a[..3].parse::<u32>() else {
        return false;
    };
    match &a[3..] {
        "Y" => n > 89,
        "M" => n > 89 * 12 + 11,
        "W" => n > 4680,
        "D" => n > 32850,
        _ => false,
    }
}

/// Flags files a reviewer should look at: declared burned-in text, modalities that often carry
/// it, overlays and curves.
pub fn warnings(d: &Item<'_>, report: &mut ActionLog) {
    if d.ascii(Tag(0x0028, 0x0301))
        .is_some_and(|v| v.eq_ignore_ascii_case("YES"))
    {
        report.warn("BurnedInAnnotation is YES: pixel data may show identifying text");
    }
    if let Some(m) = d.ascii(tags::MODALITY)
        && matches!(
            m.as_str(),
            "US" | "SC" | "OT" | "XC" | "ES" | "GM" | "SM" | "DOC" | "IVUS" | "OP"
        )
    {
        report.warn(format!(
            "modality {m} often has identifying text burned into the pixels"
        ));
    }
    if d.elements
        .iter()
        .any(|e| (0x6000..=0x601E).contains(&e.tag.group()) && e.tag.element() == 0x3000)
    {
        report.warn("overlay present");
    }
    if d.elements
        .iter()
        .any(|e| (0x5000..=0x501E).contains(&e.tag.group()))
    {
        report.warn("curve data present");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert!(age_over_89("090Y"));
        assert!(!age_over_89("089Y"));
        assert!(!age_over_89("110M"));
        assert!(
            !age_over_89("05ʦ"),
            "non-ASCII bytes (found by fuzzing) are not an age"
        );
        assert!(!age_over_89("012W"));
    }

    #[test]
    fn method_lists_codes() {
        let mut d = Item::default();
        record(&mut d, &Options::tcia(), "DICOM PS3.15 2026c Table E.1-1");
        let m = d.ascii(tags::DEIDENTIFICATION_METHOD).unwrap();
        assert!(m.contains("Retain Safe Private Option") && m.contains("Clean Descriptors Option"));
        match &d
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .unwrap()
            .value
        {
            crate::dicom::model::Value::Items(items) => {
                let codes: Vec<String> = items
                    .iter()
                    .map(|i| i.ascii(tags::CODE_VALUE).unwrap())
                    .collect();
                assert_eq!(
                    codes,
                    ["113100", "113111", "113109", "113108", "113107", "113105"]
                );
            }
            _ => panic!("not a sequence"),
        }
    }
}
