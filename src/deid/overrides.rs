//! A curator's decisions from the pre-review, applied as profile overrides on the next run
//! (`--overrides FILE`, the page's edited pre-review): for one element path pattern and one
//! value, keep it, clean it, remove it, blank it, or replace it with a given text. The file is
//! the pre-review CSV itself, its `decision` and `replacement` columns filled in; rows left
//! empty change nothing.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// What the curator decided for one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Clean,
    Remove,
    Blank,
    /// Replace the value with this text.
    Replace(String),
}

/// The decisions, by (path pattern, value).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    map: HashMap<(String, String), Decision>,
}

impl Overrides {
    /// Reads a pre-review CSV (columns `path_pattern`, `value`, `decision`, `replacement`; the
    /// value as the pre-review writes it, `<...>`). Errors name the line, never a value.
    pub fn from_csv(source_name: &str, text: &str) -> Result<Overrides> {
        let err = |line: usize, reason: &str| Error::Profile {
            source_name: source_name.to_string(),
            line,
            reason: reason.to_string(),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let h = rdr
            .headers()
            .map_err(|_| err(1, "unreadable header"))?
            .clone();
        let col = |n: &str| h.iter().position(|x| x.trim() == n);
        let (Some(p), Some(v), Some(d)) = (col("path_pattern"), col("value"), col("decision"))
        else {
            return Err(err(1, "needs path_pattern, value and decision columns"));
        };
        let r = col("replacement");
        let mut map = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|_| err(line, "unreadable row"))?;
            let field = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim();
            let replacement = field(r);
            let decision = match (field(Some(d)).to_ascii_lowercase().as_str(), replacement) {
                ("", "") => continue,
                (_, r) if !r.is_empty() => Decision::Replace(r.to_string()),
                ("keep", _) => Decision::Keep,
                ("clean", _) => Decision::Clean,
                ("remove", _) => Decision::Remove,
                ("blank", _) => Decision::Blank,
                _ => {
                    return Err(err(
                        line,
                        "decision must be keep, clean, remove or blank (or give a replacement)",
                    ));
                }
            };
            let value = field(Some(v));
            let value = value
                .strip_prefix('<')
                .and_then(|s| s.strip_suffix('>'))
                .unwrap_or(value);
            map.insert((field(Some(p)).to_string(), value.to_string()), decision);
        }
        Ok(Overrides { map })
    }

    /// The decision for a value at a path pattern.
    pub fn get(&self, pattern: &str, value: &str) -> Option<&Decision> {
        self.map.get(&(pattern.to_string(), value.to_string()))
    }

    /// Number of decisions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no decision.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A pre-review CSV as rows for the page's editor: its header and its records, as written.
pub fn read_rows(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let unreadable = |_| Error::Profile {
        source_name: "pre-review".into(),
        line: 0,
        reason: "unreadable CSV".into(),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = rdr
        .headers()
        .map_err(unreadable)?
        .iter()
        .map(String::from)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.map(|r| r.iter().map(String::from).collect()))
        .collect::<std::result::Result<_, _>>()
        .map_err(unreadable)?;
    Ok((header, rows))
}

/// The pre-review CSV with the curator's `decisions` written into its `decision` and
/// `replacement` columns: (row index, counting data rows from 0; decision; replacement). The
/// result is what [`Overrides::from_csv`] reads back.
pub fn fill_decisions(text: &str, decisions: &[(usize, String, String)]) -> Result<String> {
    let (header, mut rows) = read_rows(text)?;
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    let (Some(d), Some(r)) = (col("decision"), col("replacement")) else {
        return Err(Error::Profile {
            source_name: "pre-review".into(),
            line: 1,
            reason: "needs decision and replacement columns".into(),
        });
    };
    for (i, decision, replacement) in decisions {
        if let Some(row) = rows.get_mut(*i) {
            row.resize(row.len().max(header.len()), String::new());
            row[d] = decision.clone();
            row[r] = replacement.clone();
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = |e: csv::Error| Error::Write(e.to_string());
    w.write_record(&header).map_err(write)?;
    for row in &rows {
        w.write_record(row).map_err(write)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Write(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
