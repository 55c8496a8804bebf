//! Private attributes, addressed by private creator and block (PS3.5 7.8.1), and the private
//! dictionaries that Retain Safe Private consults: PS3.15 Table E.3.10-1 and TCIA's Posda
//! dispositions, both built in, or a user's own table.
//!
//! A creator element `(gggg,00BB)` reserves the block `(gggg,BB00-BBFF)`; the same creator may use
//! a different block in another file, so elements are matched on their *signature*
//! (`(0009,"GEIIS",10)[<0>](0028,0002)`, see [`crate::dicom::path::signature`]): group, creator
//! and offset for every level, never the raw element number.
//!
//! [`SafePrivate::decide`] is the one place that says what happens to a private element; the
//! walker acts on its answer and a report can show the same answer, so the two cannot disagree.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::dicom::model::{Item, Tag, TagExt, Vr, trim_text};
use crate::dicom::path;
use crate::error::{Error, Result};

/// The built-in safe-private table (PS3.15 2024c Table E.3.10-1).
pub const BUILTIN_SAFE_PRIVATE: &str = include_str!("../../profiles/safe_private_e3_10_1.csv");

/// The built-in Posda private element dispositions (TCIA / UAMS, 2023-10, Apache-2.0).
pub const BUILTIN_POSDA: &str =
    include_str!("../../profiles/posda/private_dispositions_2023-10.csv");

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
        path::private(self.group, &self.creator, self.offset)
    }
}

/// The dictionary a decision comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivateSource {
    /// PS3.15 Table E.3.10-1, built in.
    E3101,
    /// TCIA / UAMS Posda private element dispositions (2023-10), built in.
    Posda,
    /// A table given by the user (`--safe-private`), which replaces both built-in ones.
    User,
}

impl PrivateSource {
    /// How reports name the source.
    pub fn label(self) -> &'static str {
        match self {
            PrivateSource::E3101 => "E.3.10-1",
            PrivateSource::Posda => "Posda 2023-10",
            PrivateSource::User => "user",
        }
    }
}

/// What a dictionary says to do with a private element, in Posda's terms. Only `Keep`, `HashUid`,
/// `ShiftDate` and `ShiftIntegerDate` let a value through; the rest remove the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivateDisposition {
    /// `k`: no identifying information; kept (UIDs and dates in it still follow the options).
    Keep,
    /// `h`: a UID, replaced by the same keyed remap as every other UID.
    HashUid,
    /// `o`: a date (DA, DT, or a date written in a text element), shifted under Modified Dates.
    ShiftDate,
    /// `oi`: a date as integer seconds since 1970, shifted by the same number of days.
    ShiftIntegerDate,
    /// `d`: may identify; removed.
    Delete,
    /// `na`: lives inside a sequence that is deleted; removed should its parent survive.
    NotApplicable,
    /// Empty: nobody has decided; removed.
    Undecided,
}

impl PrivateDisposition {
    /// The code as the dictionaries write it.
    pub fn code(self) -> &'static str {
        match self {
            PrivateDisposition::Keep => "k",
            PrivateDisposition::HashUid => "h",
            PrivateDisposition::ShiftDate => "o",
            PrivateDisposition::ShiftIntegerDate => "oi",
            PrivateDisposition::Delete => "d",
            PrivateDisposition::NotApplicable => "na",
            PrivateDisposition::Undecided => "",
        }
    }

    /// Reads a code, ignoring case and spaces (TCIA's 2024 file has `K`, `D` and ` k`).
    fn parse(code: &str) -> Option<PrivateDisposition> {
        Some(match code.trim().to_ascii_lowercase().as_str() {
            "k" => PrivateDisposition::Keep,
            "h" => PrivateDisposition::HashUid,
            "o" => PrivateDisposition::ShiftDate,
            "oi" => PrivateDisposition::ShiftIntegerDate,
            "d" => PrivateDisposition::Delete,
            "na" => PrivateDisposition::NotApplicable,
            "" => PrivateDisposition::Undecided,
            _ => return None,
        })
    }

    /// Whether the element is removed.
    pub fn removes(self) -> bool {
        self.caution() >= PrivateDisposition::Undecided.caution()
    }

    /// How little of the value survives: where two rows or two dictionaries disagree, the higher
    /// wins (delete beats shift beats hash beats keep). Among the removals the most explicit code
    /// is the one reported.
    fn caution(self) -> u8 {
        match self {
            PrivateDisposition::Keep => 0,
            PrivateDisposition::HashUid => 1,
            PrivateDisposition::ShiftDate => 2,
            PrivateDisposition::ShiftIntegerDate => 3,
            PrivateDisposition::Undecided => 4,
            PrivateDisposition::NotApplicable => 5,
            PrivateDisposition::Delete => 6,
        }
    }
}

/// The decision for one private element: which dictionary made it, what it says, and the VR to
/// read the value with when the file gives none (UN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateEntry {
    pub source: PrivateSource,
    pub disposition: PrivateDisposition,
    pub vr: Option<Vr>,
}

/// One row of a dictionary: a signature is listed once per VR it was seen with.
#[derive(Debug, Clone, Copy)]
struct Row {
    vr: Option<Vr>,
    disposition: PrivateDisposition,
}

/// One dictionary, its rows by canonical signature (the form [`path::signature`] gives).
#[derive(Debug, Clone)]
struct Dictionary {
    source: PrivateSource,
    rows: HashMap<String, Vec<Row>>,
    row_count: usize,
}

impl Dictionary {
    /// The rows for the element at `signature`: those of its exact nesting, else those of its
    /// private address at the top level, since a creator's element means the same wherever it
    /// is nested (Table E.3.10-1 lists only top-level addresses; Posda lists the nestings it saw).
    fn rows_for(&self, signature: &str) -> Option<&[Row]> {
        self.rows
            .get(signature)
            .or_else(|| self.rows.get(last_level(signature)))
            .map(Vec::as_slice)
    }

    fn decide(&self, signature: &str, vr: Vr) -> Option<PrivateEntry> {
        let rows = self.rows_for(signature)?;
        let disposition = rows
            .iter()
            .map(|r| r.disposition)
            .max_by_key(|d| d.caution())?;
        let winners = || rows.iter().filter(|r| r.disposition == disposition);
        // The VR to read a UN value with: the element's own when a winning row has it, else the
        // first winning row's VR that says what the bytes are.
        let vr = winners()
            .find(|r| r.vr == Some(vr))
            .or_else(|| winners().find(|r| r.vr.is_some_and(|v| !is_opaque(v))))
            .and_then(|r| r.vr);
        Some(PrivateEntry {
            source: self.source,
            disposition,
            vr,
        })
    }

    fn add(&mut self, signature: String, row: Row) {
        self.rows.entry(signature).or_default().push(row);
        self.row_count += 1;
    }
}

/// VRs that do not say how to read the bytes.
fn is_opaque(vr: Vr) -> bool {
    matches!(vr, Vr::UN | Vr::OB | Vr::OW)
}

/// The last level of a signature: the element itself, as if at the top level.
fn last_level(signature: &str) -> &str {
    signature
        .rfind(">]")
        .map_or(signature, |i| &signature[i + 2..])
}

/// The private dictionaries in force, consulted together.
#[derive(Debug, Clone, Default)]
pub struct SafePrivate {
    dictionaries: Vec<Dictionary>,
}

impl SafePrivate {
    /// The built-in dictionaries (Table E.3.10-1 and Posda), parsed once and shared, so
    /// de-identifiers do not copy them.
    pub fn builtin() -> Arc<SafePrivate> {
        static BUILTIN: LazyLock<Arc<SafePrivate>> = LazyLock::new(|| {
            let parse = |source, name, text| {
                parse_dictionary(source, name, text)
                    .expect("built-in private dictionaries parse (checked by tests)")
            };
            Arc::new(SafePrivate {
                dictionaries: vec![
                    parse(
                        PrivateSource::E3101,
                        "safe_private_e3_10_1.csv",
                        BUILTIN_SAFE_PRIVATE,
                    ),
                    parse(
                        PrivateSource::Posda,
                        "posda/private_dispositions_2023-10.csv",
                        BUILTIN_POSDA,
                    ),
                ],
            })
        });
        Arc::clone(&BUILTIN)
    }

    /// A user's table, in either format, told apart by its header: Table E.3.10-1's
    /// (`private_creator,group,element_offset[,vr]`, every row kept) or Posda's and TCIA's
    /// knowledge base (`element_sig_pattern,vr,private_disposition[,is_private,tag_name]`).
    pub fn from_csv(source_name: &str, text: &str) -> Result<SafePrivate> {
        Ok(SafePrivate {
            dictionaries: vec![parse_dictionary(PrivateSource::User, source_name, text)?],
        })
    }

    /// What to do with the private element at `signature` (the walker path's
    /// [`path::signature`]) whose value has `vr`: each dictionary's rows for its exact nesting,
    /// else for its address at the top level; where rows (one per VR) or dictionaries disagree,
    /// the most cautious disposition wins, ties going to the first dictionary (E.3.10-1).
    /// `None`: no dictionary knows the element, which is then removed.
    pub fn decide(&self, signature: &str, vr: Vr) -> Option<PrivateEntry> {
        self.dictionaries
            .iter()
            .filter_map(|d| d.decide(signature, vr))
            .reduce(|a, b| {
                if b.disposition.caution() > a.disposition.caution() {
                    b
                } else {
                    a
                }
            })
    }

    /// The dictionaries in force, by name (the de-identification log lists them).
    pub fn sources(&self) -> Vec<&'static str> {
        self.dictionaries.iter().map(|d| d.source.label()).collect()
    }

    /// Number of rows read, over all dictionaries.
    pub fn len(&self) -> usize {
        self.dictionaries.iter().map(|d| d.row_count).sum()
    }

    /// Whether no dictionary has a row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses one dictionary, in the format its header names.
fn parse_dictionary(source: PrivateSource, source_name: &str, text: &str) -> Result<Dictionary> {
    let err = |line: usize, reason: &str| Error::Profile {
        source_name: source_name.to_string(),
        line,
        reason: reason.to_string(),
    };
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = rdr
        .headers()
        .map_err(|_| err(1, "unreadable header"))?
        .clone();
    let col = |n: &str| header.iter().position(|x| x.trim() == n);
    let format = if let (Some(sig), Some(disposition)) =
        (col("element_sig_pattern"), col("private_disposition"))
    {
        Format::Posda {
            sig,
            disposition,
            is_private: col("is_private"),
        }
    } else if let (Some(creator), Some(group), Some(offset)) =
        (col("private_creator"), col("group"), col("element_offset"))
    {
        Format::E3101 {
            creator,
            group,
            offset,
        }
    } else {
        return Err(err(
            1,
            "needs the columns private_creator, group and element_offset (Table E.3.10-1) or \
             element_sig_pattern and private_disposition (Posda, TCIA knowledge base)",
        ));
    };
    let vr_col = col("vr");
    let mut dict = Dictionary {
        source,
        rows: HashMap::new(),
        row_count: 0,
    };
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|_| err(line, "unreadable row"))?;
        let field = |c: usize| rec.get(c).unwrap_or("").trim();
        let vr = vr_col.and_then(|c| parse_vr(field(c)));
        let (signature, disposition) = match format {
            Format::E3101 {
                creator,
                group,
                offset,
            } => {
                let group =
                    hex(field(group), 4).ok_or_else(|| err(line, "group is not 4 hex digits"))?;
                let offset = hex(field(offset), 2)
                    .ok_or_else(|| err(line, "element_offset is not 2 hex digits"))?;
                let signature = path::private(group as u16, field(creator), offset as u8);
                (signature, PrivateDisposition::Keep)
            }
            Format::Posda {
                sig,
                disposition,
                is_private,
            } => {
                if is_private.is_some_and(|c| field(c).eq_ignore_ascii_case("N")) {
                    continue;
                }
                let signature = canonical_signature(field(sig)).ok_or_else(|| {
                    err(
                        line,
                        "element_sig_pattern is not a signature like (0009,\"CREATOR\",10)",
                    )
                })?;
                let disposition =
                    PrivateDisposition::parse(field(disposition)).ok_or_else(|| {
                        err(
                            line,
                            "private_disposition is not one of k, h, o, oi, d, na or empty",
                        )
                    })?;
                // A public element outside any private sequence is the profile's business.
                if !signature.contains('"') {
                    continue;
                }
                (signature, disposition)
            }
        };
        dict.add(signature, Row { vr, disposition });
    }
    Ok(dict)
}

/// Where each format keeps its columns.
#[derive(Clone, Copy)]
enum Format {
    E3101 {
        creator: usize,
        group: usize,
        offset: usize,
    },
    Posda {
        sig: usize,
        disposition: usize,
        is_private: Option<usize>,
    },
}

/// A VR as the dictionaries write it; `<undef>`, empty, or a pair like `OW/OB` give none.
fn parse_vr(s: &str) -> Option<Vr> {
    Vr::from_bytes(*s.as_bytes().first_chunk::<2>()?).filter(|_| s.len() == 2)
}

/// Exactly `digits` hex digits.
fn hex(s: &str, digits: usize) -> Option<u32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(s, 16).ok())
        .flatten()
}

/// A dictionary's signature in the form [`path::signature`] renders a walker path: each level
/// `(gggg,eeee)` or `(gggg,"CREATOR",oo)` through the same functions, item levels numbered by
/// depth. Tolerates what TCIA's 2024 file does to the quotes around a creator (one of them lost).
fn canonical_signature(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut depth = 0;
    loop {
        let (level, next) = match rest.find("[<") {
            Some(i) => {
                let close = rest[i..].find(">]")?;
                (&rest[..i], Some(&rest[i + close + 2..]))
            }
            None => (rest, None),
        };
        out.push_str(&canonical_level(level)?);
        let Some(next) = next else { return Some(out) };
        out.push_str(&format!("[<{depth}>]"));
        depth += 1;
        rest = next;
    }
}

/// One level of a signature, re-rendered.
fn canonical_level(level: &str) -> Option<String> {
    let inner = level.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (group, rest) = inner.split_once(',')?;
    let group = hex(group.trim(), 4)? as u16;
    Some(match rest.rsplit_once(',') {
        Some((creator, offset)) => path::private(
            group,
            creator.trim().trim_matches('"'),
            hex(offset.trim(), 2)? as u8,
        ),
        None => path::tag(Tag(group, hex(rest.trim(), 4)? as u16)),
    })
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

    fn only(source: PrivateSource) -> Dictionary {
        SafePrivate::builtin()
            .dictionaries
            .iter()
            .find(|d| d.source == source)
            .unwrap()
            .clone()
    }

    #[test]
    fn builtin_tables_and_blocks() {
        assert_eq!(only(PrivateSource::E3101).row_count, 479);
        // Every private row of Posda's element_seen table (2023-10).
        assert_eq!(only(PrivateSource::Posda).row_count, 5055);
        let s = SafePrivate::builtin();
        let mut item = Item::default();
        item.put(Element::text(
            Tag(0x7053, 0x0042),
            Vr::LO,
            "Philips PET Private Group",
        ));
        let c = creators(&item);
        let a = address(Tag(0x7053, 0x4200), &c).unwrap();
        assert_eq!(a.offset, 0);
        let e = s.decide(&a.display(), Vr::UN).unwrap();
        assert_eq!(e.source, PrivateSource::E3101);
        assert_eq!(e.disposition, PrivateDisposition::Keep);
        assert_eq!(e.vr, Some(Vr::DS));
        assert!(address(Tag(0x7053, 0x1000), &c).is_none());
        let b = address(Tag(0x7053, 0x42FF), &c).unwrap();
        assert!(s.decide(&b.display(), Vr::UN).is_none());
    }

    #[test]
    fn posda_rows_are_read_as_the_walker_writes_signatures() {
        let s = SafePrivate::builtin();
        let d = |sig: &str, vr| s.decide(sig, vr).map(|e| (e.source, e.disposition, e.vr));
        use PrivateDisposition::*;
        use PrivateSource::Posda;
        // Mixed-case creator in the file, upper-case in the walker's signature.
        assert_eq!(
            d("(2005,\"PHILIPS MR IMAGING DD 001\",63)", Vr::SS),
            Some((Posda, Keep, Some(Vr::SS)))
        );
        // Rows for two VRs: the date is shifted, read as DT when the file says UN.
        assert_eq!(
            d("(0009,\"GEMS_PETD_01\",0d)", Vr::UN),
            Some((Posda, ShiftDate, Some(Vr::LO)))
        );
        assert_eq!(
            d("(0009,\"GEMS_IDEN_01\",e9)", Vr::UN),
            Some((Posda, ShiftIntegerDate, Some(Vr::SL)))
        );
        // OB says delete, SL says shift: delete. OB says delete, US says keep: delete.
        assert_eq!(d("(0009,\"GEMS_IDEN_01\",27)", Vr::SL).unwrap().1, Delete);
        assert_eq!(d("(0903,\"GEIIS PACS\",10)", Vr::US).unwrap().1, Delete);
        // A nested row applies at its nesting; elsewhere the element's top-level row does.
        let nested =
            "(2001,\"PHILIPS IMAGING DD 129\",00)[<0>](2005,\"PHILIPS MR IMAGING DD 001\",60)";
        assert_eq!(d(nested, Vr::IS).unwrap().1, Delete);
        assert_eq!(
            d(
                "(0008,1115)[<0>](2005,\"PHILIPS MR IMAGING DD 001\",63)",
                Vr::SS
            )
            .unwrap()
            .1,
            Keep
        );
    }

    #[test]
    fn e3101_and_posda_disagreeing_take_the_cautious_one() {
        let s = SafePrivate::builtin();
        // E.3.10-1 lists Philips' presentation state sequence as safe; Posda deletes it.
        let e = s
            .decide("(2001,\"PHILIPS IMAGING DD 129\",00)", Vr::SQ)
            .unwrap();
        assert_eq!(
            (e.source, e.disposition),
            (PrivateSource::Posda, PrivateDisposition::Delete)
        );
    }

    #[test]
    fn signatures_are_canonical_and_tolerant_of_lost_quotes() {
        assert_eq!(
            canonical_signature("(0009,\"GEIIS\",10)[<0>](0028,0002)").as_deref(),
            Some("(0009,\"GEIIS\",10)[<0>](0028,0002)")
        );
        assert_eq!(
            canonical_signature(
                "(2001,Philips Imaging DD 129\",00)[<7>](0008,1140)[<1>](2001,\"x\",C1)"
            )
            .as_deref(),
            Some("(2001,\"PHILIPS IMAGING DD 129\",00)[<0>](0008,1140)[<1>](2001,\"X\",c1)")
        );
        assert!(canonical_signature("(0009,\"GEIIS\",100)").is_none());
        assert!(canonical_signature("(0009,10)").is_none());
        assert!(canonical_signature("(0009,\"A\",10)[<0>").is_none());
    }

    #[test]
    fn bad_rows_name_their_line() {
        let line = |text: &str| match SafePrivate::from_csv("mine.csv", text) {
            Err(Error::Profile {
                source_name, line, ..
            }) => {
                assert_eq!(source_name, "mine.csv");
                line
            }
            other => panic!("{other:?}"),
        };
        let head = "element_sig_pattern,vr,is_private,tag_name,private_disposition\n";
        assert_eq!(
            line(&format!(
                "{head}\"(0009,\"\"A\"\",10)\",LO,Y,x,k\n\"(0009,\"\"A\"\",1)\",LO,Y,x,k\n"
            )),
            3
        );
        assert_eq!(
            line(&format!("{head}\"(0009,\"\"A\"\",10)\",LO,Y,x,keep\n")),
            2
        );
        assert_eq!(line("a,b\n1,2\n"), 1);
        assert_eq!(
            line("private_creator,group,element_offset\nACME,09,10\n"),
            2
        );
        // Public rows are skipped; an unknown VR is read as none.
        let s = SafePrivate::from_csv(
            "mine.csv",
            &format!("{head}\"(0010,0010)\",PN,N,x,d\n\"(0009,\"\"A\"\",10)\",<undef>,Y,x,h\n"),
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        let e = s.decide("(0009,\"A\",10)", Vr::UN).unwrap();
        assert_eq!(
            (e.source, e.disposition, e.vr),
            (PrivateSource::User, PrivateDisposition::HashUid, None)
        );
        assert_eq!(e.disposition.code(), "h");
        assert_eq!(e.source.label(), "user");
    }
}
