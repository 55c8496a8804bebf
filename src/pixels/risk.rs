//! Which images may show identifying text in their pixels: Burned In Annotation YES, and the
//! SOP classes and modalities listed (with the reason for each) in `profiles/pixel_risk.csv`.

use std::sync::LazyLock;

use crate::dicom::model::{Item, tags};

const TABLE: &str = include_str!("../../profiles/pixel_risk.csv");

#[derive(serde::Deserialize)]
struct Row {
    kind: String,
    value: String,
    name: String,
}

fn rows() -> &'static [Row] {
    static ROWS: LazyLock<Vec<Row>> =
        LazyLock::new(|| crate::deid::tables::builtin("pixel_risk.csv", TABLE));
    &ROWS
}

/// Why the pixels of this image may show identifying text (a PHI-free reason), or `None`.
pub fn at_risk(d: &Item<'_>, sop_class: &str) -> Option<String> {
    if d.ascii(tags::BURNED_IN_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("YES"))
    {
        return Some("Burned In Annotation is YES".into());
    }
    let modality = d.ascii(tags::MODALITY).unwrap_or_default();
    rows()
        .iter()
        .find(|r| {
            (r.kind == "sop_class" && r.value == sop_class)
                || (r.kind == "modality" && r.value == modality)
        })
        .map(|r| format!("{} images often carry burned-in text", r.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_and_every_row_has_a_known_kind() {
        assert!(rows().len() > 25);
        assert!(
            rows()
                .iter()
                .all(|r| r.kind == "sop_class" || r.kind == "modality")
        );
    }
}
