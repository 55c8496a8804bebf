//! Private attributes, addressed by private creator and block (PS3.5 7.8.1), and the safe-private
//! dictionary (PS3.15 Table E.3.10-1 by default) that Retain Safe Private consults.
//!
//! A creator element `(gggg,00BB)` reserves the block `(gggg,BB00-BBFF)`; the same creator may use
//! a different block in another file, so elements are always matched on (creator, group, low
//! byte), never on the raw element number.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::dicom::model::{Item, Tag, TagExt, Vr, trim_text};
use crate::error::{Error, Result};

/// The built-in safe-private table (PS3.15 2024c Table E.3.10-1).
pub const BUILTIN_SAFE_PRIVATE: &str = include_str!("../../profiles/safe_private_e3_10_1.csv");

/// Where a private element lives: its creator string, its group and its offset in the block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrivateAddress {
    pub creator: String,
    pub group: u16,
    pub offset: u8,
}

impl PrivateAddress {
    /// MIDI-B style rendering: `(gggg,"CREATOR",ee)`.
    pub fn display(&self) -> String {
        crate::dicom::path::private(self.group, &self.creator, self.offset)
    }
}

fn normalise(creator: &str) -> String {
    creator.trim().to_ascii_uppercase()
}

/// Private elements vouched for as free of identifying information.
#[derive(Debug, Clone, Default)]
pub struct SafePrivate {
    map: HashMap<(String, u16, u8), Option<Vr>>,
}

impl SafePrivate {
    /// The built-in table (E.3.10-1), parsed once and shared, so de-identifiers do not copy it.
    pub fn builtin() -> Arc<SafePrivate> {
        static BUILTIN: LazyLock<Arc<SafePrivate>> = LazyLock::new(|| {
            Arc::new(
                SafePrivate::from_csv("safe_private_e3_10_1.csv", BUILTIN_SAFE_PRIVATE)
                    .expect("built-in safe-private table parses (checked by tests)"),
            )
        });
        Arc::clone(&BUILTIN)
    }

    /// Parses a CSV with columns `private_creator,group,element_offset[,...,vr,...]` (header row
    /// required; `group` 4 hex digits, `element_offset` 2 hex digits).
    pub fn from_csv(source_name: &str, text: &str) -> Result<SafePrivate> {
        let err = |line: usize, reason: &str| Error::Profile {
            source_name: source_name.to_string(),
            line,
            reason: reason.to_string(),
        };
        let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let h = rdr
            .headers()
            .map_err(|_| err(1, "unreadable header"))?
            .clone();
        let col = |n: &str| h.iter().position(|x| x.trim() == n);
        let (Some(c), Some(g), Some(o)) =
            (col("private_creator"), col("group"), col("element_offset"))
        else {
            return Err(err(
                1,
                "needs private_creator, group and element_offset columns",
            ));
        };
        let vr_col = col("vr");
        let mut map = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|_| err(line, "unreadable row"))?;
            let group = u16::from_str_radix(rec.get(g).unwrap_or("").trim(), 16)
                .map_err(|_| err(line, "group is not 4 hex digits"))?;
            let offset = u8::from_str_radix(rec.get(o).unwrap_or("").trim(), 16)
                .map_err(|_| err(line, "element_offset is not 2 hex digits"))?;
            let vr = vr_col
                .and_then(|v| rec.get(v))
                .and_then(|v| v.trim().as_bytes().first_chunk::<2>().copied())
                .and_then(Vr::from_bytes);
            map.insert((normalise(rec.get(c).unwrap_or("")), group, offset), vr);
        }
        Ok(SafePrivate { map })
    }

    /// Whether an element is safe; `Some(vr)` gives its VR when the table knows it.
    pub fn lookup(&self, addr: &PrivateAddress) -> Option<Option<Vr>> {
        self.map
            .get(&(normalise(&addr.creator), addr.group, addr.offset))
            .copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The private creators reserved in one item: (group, block) → creator.
pub fn creators(item: &Item<'_>) -> HashMap<(u16, u8), String> {
    item.elements
        .iter()
        .filter(|e| e.tag.is_private_creator())
        .filter_map(|e| {
            let raw = e.raw()?;
            let s = String::from_utf8_lossy(trim_text(Vr::LO, raw)).into_owned();
            (!s.is_empty()).then_some(((e.tag.group(), e.tag.element() as u8), s))
        })
        .collect()
}

/// The address of a private data element, when its block has a creator in the item.
pub fn address(tag: Tag, creators: &HashMap<(u16, u8), String>) -> Option<PrivateAddress> {
    if !tag.is_private() || tag.element() < 0x1000 {
        return None;
    }
    let block = (tag.element() >> 8) as u8;
    let creator = creators.get(&(tag.group(), block))?;
    Some(PrivateAddress {
        creator: creator.clone(),
        group: tag.group(),
        offset: tag.element() as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::model::Element;

    #[test]
    fn builtin_table_and_blocks() {
        let s = SafePrivate::builtin();
        assert_eq!(s.len(), 479);
        let mut item = Item::default();
        item.put(Element::text(
            Tag(0x7053, 0x0042),
            Vr::LO,
            "Philips PET Private Group",
        ));
        let c = creators(&item);
        let a = address(Tag(0x7053, 0x4200), &c).unwrap();
        assert_eq!(a.offset, 0);
        assert_eq!(s.lookup(&a), Some(Some(Vr::DS)));
        assert!(address(Tag(0x7053, 0x1000), &c).is_none());
        let b = address(Tag(0x7053, 0x42FF), &c).unwrap();
        assert!(s.lookup(&b).is_none());
    }
}
