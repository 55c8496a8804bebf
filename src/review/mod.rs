//! The review workflow around de-identification, after TCIA's: an element inventory (no values),
//! the values to review before (PHI, local only) and after, the residual-PHI verification of the
//! outputs against identifiers harvested from the inputs, a de-identification log and a seeded
//! random sample. One implementation for the library, the CLI and the page: each report is built
//! from per-file parts made in parallel (a CLI thread, a page worker) and merged in input order.

pub mod basis;
pub mod compare;
pub mod elements;
pub mod final_review;
pub mod flags;
pub mod harvest;
pub mod inventory;
pub mod log;
pub mod patterns;
pub mod sample;
pub mod survey;
pub mod tokens;
pub mod verify;

pub(crate) use verify::check_with;
pub use verify::{FileCheck, Report, Verifier, VerifyConfig, check_file, deidentify_and_check};

/// A 53-bit hash for counting distinct patients, series and values: parts cross from a page
/// worker as plain JavaScript objects, whose numbers hold 53 bits exactly. Never written out.
pub(crate) fn counting_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes) & ((1 << 53) - 1)
}

/// The distinct values a review lists per element, capped so memory stays bounded whatever the
/// number of files: past its cap an element's further values are only counted, by hash.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueCap {
    listed: std::collections::HashMap<(String, String), usize>,
    more: std::collections::BTreeMap<(String, String), std::collections::HashSet<u64>>,
}

impl ValueCap {
    /// Whether a value not listed yet for `(pattern, vr)` gets a row; if not, it is counted.
    pub fn admit(&mut self, pattern: &str, vr: &str, value: &str, cap: usize) -> bool {
        let element = (pattern.to_string(), vr.to_string());
        let n = self.listed.entry(element.clone()).or_default();
        if *n >= cap {
            self.more
                .entry(element)
                .or_default()
                .insert(counting_hash(value.as_bytes()));
            return false;
        }
        *n += 1;
        true
    }

    /// The elements that had more values than their cap, with how many more.
    pub fn more(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.more
            .iter()
            .map(|((p, vr), set)| (p.as_str(), vr.as_str(), set.len()))
    }
}
