//! Clean Structured Content (PS3.15 E.3.4): the actions for SR content items, keyed by concept
//! name (Table E.3.4-1), and the defaults by value type for concepts the table does not list.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::deid::profile::{Action, Options, ProfileOption, pick_option};
use crate::deid::tables::{self, action, optional_action};
use crate::dicom::model::{Item, Tag, Value, tags};

const TABLE: &str = include_str!("../../profiles/clean_structured_content_e3_4_1.csv");

/// Option columns of Table E.3.4-1, in the order of [`Row::options`].
const COLUMNS: [ProfileOption; 7] = [
    ProfileOption::RetainUids,
    ProfileOption::RetainDeviceIdentity,
    ProfileOption::RetainInstitutionIdentity,
    ProfileOption::RetainPatientCharacteristics,
    ProfileOption::RetainLongFullDates,
    ProfileOption::RetainLongModifiedDates,
    ProfileOption::CleanDescriptors,
];

/// A row of Table E.3.4-1 as the CSV holds it.
#[derive(Deserialize)]
struct TableRow {
    code_value: String,
    coding_scheme_designator: String,
    #[serde(deserialize_with = "action")]
    basic_profile: Action,
    #[serde(deserialize_with = "optional_action")]
    retain_uids: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    retain_device_identity: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    retain_institution_identity: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    retain_patient_characteristics: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    retain_long_full_dates: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    retain_long_modified_dates: Option<Action>,
    #[serde(deserialize_with = "optional_action")]
    clean_descriptors: Option<Action>,
}

#[derive(Debug, Clone)]
struct Row {
    basic: Action,
    options: [Option<Action>; 7],
}

/// Table E.3.4-1, keyed by (coding scheme designator, code value).
#[derive(Debug)]
/// An SR content item as Clean Structured Content sees it (the engine cleans it, the verifier
/// knows what the option keeps of it).
pub(crate) struct ContentItem {
    pub value_type: String,
    /// The element that holds the item's value.
    pub value_tag: Tag,
    /// Its concept name: coding scheme designator and code value, when it has one.
    pub concept: Option<(String, String)>,
}

/// The content item of `item`, for the value types whose value the option treats (TEXT, PNAME,
/// DATE, TIME, DATETIME, UIDREF; PS3.3 C.17.3).
pub(crate) fn content_item(item: &Item<'_>) -> Option<ContentItem> {
    let value_type = item.ascii(tags::VALUE_TYPE)?;
    let value_tag = match value_type.as_str() {
        "TEXT" => Tag(0x0040, 0xA160),
        "PNAME" => Tag(0x0040, 0xA123),
        "DATE" => Tag(0x0040, 0xA121),
        "TIME" => Tag(0x0040, 0xA122),
        "DATETIME" => Tag(0x0040, 0xA120),
        "UIDREF" => Tag(0x0040, 0xA124),
        _ => return None,
    };
    let concept = match item.get(tags::CONCEPT_NAME_CODE_SEQUENCE).map(|e| &e.value) {
        Some(Value::Items(items)) => items.first().map(|c| {
            (
                c.ascii(tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default(),
                c.ascii(tags::CODE_VALUE).unwrap_or_default(),
            )
        }),
        _ => None,
    };
    Some(ContentItem {
        value_type,
        value_tag,
        concept,
    })
}

pub struct SrRules {
    rows: HashMap<(String, String), Row>,
}

impl SrRules {
    /// The built-in table, parsed once.
    pub fn builtin() -> &'static SrRules {
        static R: OnceLock<SrRules> = OnceLock::new();
        R.get_or_init(|| {
            let rows = tables::builtin::<TableRow>("clean_structured_content_e3_4_1.csv", TABLE)
                .into_iter()
                .map(|r| {
                    let row = Row {
                        basic: r.basic_profile,
                        options: [
                            r.retain_uids,
                            r.retain_device_identity,
                            r.retain_institution_identity,
                            r.retain_patient_characteristics,
                            r.retain_long_full_dates,
                            r.retain_long_modified_dates,
                            r.clean_descriptors,
                        ],
                    };
                    ((r.coding_scheme_designator, r.code_value), row)
                })
                .collect();
            SrRules { rows }
        })
    }

    /// The action for a content item, and the option that decided it (precedence as for Table
    /// E.1-1, see [`pick_option`]).
    pub fn action(
        &self,
        scheme: &str,
        code: &str,
        value_type: &str,
        opts: &Options,
    ) -> (Action, Option<ProfileOption>) {
        if let Some(row) = self.rows.get(&(scheme.to_string(), code.to_string())) {
            let entries = COLUMNS
                .iter()
                .zip(row.options.iter())
                .filter_map(|(o, a)| a.map(|a| (*o, a)));
            return match pick_option(entries, opts) {
                Some((a, o)) => (a, Some(o)),
                None => (row.basic, None),
            };
        }
        default_for(value_type, opts)
    }
}

/// What to do with a content item whose concept the table does not list.
fn default_for(value_type: &str, opts: &Options) -> (Action, Option<ProfileOption>) {
    match value_type {
        "TEXT" => (Action::C, Some(ProfileOption::CleanDescriptors)),
        "PNAME" => (Action::D, None),
        "DATE" | "DATETIME" | "TIME" if opts.retain_long_full_dates => {
            (Action::K, Some(ProfileOption::RetainLongFullDates))
        }
        "DATE" | "DATETIME" | "TIME" if opts.retain_long_modified_dates => {
            (Action::C, Some(ProfileOption::RetainLongModifiedDates))
        }
        "DATE" | "DATETIME" | "TIME" => (Action::D, None),
        "UIDREF" if opts.retain_uids => (Action::K, Some(ProfileOption::RetainUids)),
        "UIDREF" => (Action::U, None),
        _ => (Action::K, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_and_defaults() {
        let r = SrRules::builtin();
        assert!(r.rows.len() > 200);
        let basic = Options::basic();
        assert_eq!(r.action("DCM", "121022", "TEXT", &basic).0, Action::X);
        let mut o = Options::basic();
        o.retain_long_modified_dates = true;
        assert_eq!(r.action("DCM", "126201", "DATE", &o).0, Action::C);
        assert_eq!(r.action("99X", "1", "PNAME", &basic).0, Action::D);
        assert_eq!(r.action("99X", "1", "UIDREF", &basic).0, Action::U);
    }
}
