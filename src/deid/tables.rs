//! Typed loading of the CSV tables in `profiles/`: each table is a `#[derive(Deserialize)]` row
//! read by column name, and a row that does not fit is an error naming the table and the line.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};

use crate::deid::profile::Action;
use crate::error::{Error, Result};

/// Every row of `text` (a CSV table with a header line), named `source_name` in errors.
pub(crate) fn rows<T: DeserializeOwned>(source_name: &str, text: &str) -> Result<Vec<T>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| Error::Profile {
                source_name: source_name.to_string(),
                line: i + 2,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// A built-in table, which the tests parse in full: a failure here is a bug in the build.
pub(crate) fn builtin<T: DeserializeOwned>(source_name: &str, text: &str) -> Vec<T> {
    rows(source_name, text).unwrap_or_else(|e| panic!("built-in table: {e}"))
}

/// An action code column (`X`, `X/Z/D`, ...).
pub(crate) fn action<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Action, D::Error> {
    let s = String::deserialize(d)?;
    Action::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown action code {s:?}")))
}

/// An optional action code column (empty = no entry).
pub(crate) fn optional_action<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Action>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    Action::parse(&s)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("unknown action code {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        name: String,
        #[serde(deserialize_with = "action")]
        basic_profile: Action,
        #[serde(deserialize_with = "optional_action")]
        clean_descriptors: Option<Action>,
    }

    #[test]
    fn rows_are_read_by_column_name_and_errors_name_the_line() {
        let ok: Vec<Row> = rows(
            "t.csv",
            "clean_descriptors,name,basic_profile\n,a,X\nC, b ,X/Z\n",
        )
        .unwrap();
        assert_eq!(ok[1].name, "b");
        assert_eq!(
            (ok[1].basic_profile, ok[1].clean_descriptors),
            (Action::XZ, Some(Action::C))
        );
        assert_eq!(ok[0].clean_descriptors, None);
        let err = rows::<Row>(
            "t.csv",
            "name,basic_profile,clean_descriptors\na,X,\nb,Q,\n",
        )
        .err()
        .unwrap();
        assert!(
            matches!(&err, Error::Profile { source_name, line: 3, reason } if source_name == "t.csv" && reason.contains("unknown action code")),
            "{err}"
        );
    }
}
