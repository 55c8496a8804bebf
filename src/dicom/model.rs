//! The in-memory model of a DICOM data set, kept close to the bytes.
//!
//! Values are kept as the raw bytes of the file (borrowed where possible), in the byte order of
//! the transfer syntax, so that everything the profile does not touch is written back exactly as
//! it was read. Only the elements an action changes get new bytes.

use std::borrow::Cow;
use std::fmt;

/// A data element tag: dicom-rs's, so that this crate speaks the vocabulary of its dictionary and
/// of its pixel-data adapters. Tag numbers come from [`tags`] (the standard dictionary).
pub use dicom_core::Tag;
use dicom_dictionary_std::uids;

/// Tags by keyword: the standard dictionary's, and the three structural tags of PS3.5 7.5.
pub mod tags {
    use super::Tag;
    pub use dicom_dictionary_std::tags::*;
    pub const ITEM: Tag = Tag(0xFFFE, 0xE000);
    pub const ITEM_DELIMITATION: Tag = Tag(0xFFFE, 0xE00D);
    pub const SEQUENCE_DELIMITATION: Tag = Tag(0xFFFE, 0xE0DD);
}

/// What the engine needs of a tag beyond dicom-rs's type.
pub trait TagExt: Copy {
    /// Odd groups (other than 0001, 0003, 0005, 0007, FFFF) hold private attributes.
    fn is_private(self) -> bool;
    /// A private creator element `(gggg,0010-00FF)` reserves a block of 256 elements.
    fn is_private_creator(self) -> bool;
    /// `(group << 16) | element`, for masks and compact keys.
    fn as_u32(self) -> u32;
    /// The tag of `(group << 16) | element`.
    fn from_u32(v: u32) -> Self;
}

impl TagExt for Tag {
    fn is_private(self) -> bool {
        let g = self.0;
        g % 2 == 1 && g > 0x0007 && g != 0xFFFF
    }
    fn is_private_creator(self) -> bool {
        self.is_private() && (0x0010..=0x00FF).contains(&self.1)
    }
    fn as_u32(self) -> u32 {
        ((self.0 as u32) << 16) | self.1 as u32
    }
    fn from_u32(v: u32) -> Tag {
        Tag((v >> 16) as u16, v as u16)
    }
}

/// A value representation, as its two ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vr(pub [u8; 2]);

macro_rules! vrs {
    ($($name:ident),*) => { $(pub const $name: Vr = Vr(*stringify!($name).as_bytes().first_chunk::<2>().unwrap());)* };
}

impl Vr {
    vrs!(
        AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS,
        ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV
    );

    /// Every VR defined by PS3.5 Table 6.2-1.
    pub const ALL: [Vr; 34] = [
        Vr::AE,
        Vr::AS,
        Vr::AT,
        Vr::CS,
        Vr::DA,
        Vr::DS,
        Vr::DT,
        Vr::FD,
        Vr::FL,
        Vr::IS,
        Vr::LO,
        Vr::LT,
        Vr::OB,
        Vr::OD,
        Vr::OF,
        Vr::OL,
        Vr::OV,
        Vr::OW,
        Vr::PN,
        Vr::SH,
        Vr::SL,
        Vr::SQ,
        Vr::SS,
        Vr::ST,
        Vr::SV,
        Vr::TM,
        Vr::UC,
        Vr::UI,
        Vr::UL,
        Vr::UN,
        Vr::UR,
        Vr::US,
        Vr::UT,
        Vr::UV,
    ];

    /// Parses the two VR bytes of an explicit-VR element header.
    pub fn from_bytes(b: [u8; 2]) -> Option<Vr> {
        Vr::ALL.iter().copied().find(|v| v.0 == b)
    }

    /// VRs whose explicit-VR header has a reserved field and a 32-bit length (PS3.5 7.1.2).
    pub fn has_long_header(self) -> bool {
        matches!(
            self,
            Vr::OB
                | Vr::OD
                | Vr::OF
                | Vr::OL
                | Vr::OV
                | Vr::OW
                | Vr::SQ
                | Vr::UC
                | Vr::UN
                | Vr::UR
                | Vr::UT
                | Vr::SV
                | Vr::UV
        )
    }

    /// Character-string VRs, whose values are text (possibly multi-valued).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Vr::AE
                | Vr::AS
                | Vr::CS
                | Vr::DA
                | Vr::DS
                | Vr::DT
                | Vr::IS
                | Vr::LO
                | Vr::LT
                | Vr::PN
                | Vr::SH
                | Vr::ST
                | Vr::TM
                | Vr::UC
                | Vr::UI
                | Vr::UR
                | Vr::UT
        )
    }

    /// Text VRs whose bytes are decoded with the Specific Character Set (PS3.5 6.1.2.3).
    pub fn uses_character_set(self) -> bool {
        matches!(
            self,
            Vr::LO | Vr::LT | Vr::PN | Vr::SH | Vr::ST | Vr::UC | Vr::UT
        )
    }

    /// Text VRs whose value may not be split on backslashes (single-valued by definition).
    pub fn is_single_valued_text(self) -> bool {
        matches!(self, Vr::LT | Vr::ST | Vr::UT | Vr::UR)
    }

    /// Size in bytes of one binary number of this VR (the dummy value written for a binary D
    /// action is one such number; values otherwise stay in file byte order).
    pub fn binary_width(self) -> usize {
        match self {
            Vr::US | Vr::SS | Vr::OW | Vr::AT => 2,
            Vr::UL | Vr::SL | Vr::FL | Vr::OF | Vr::OL => 4,
            Vr::FD | Vr::OD | Vr::SV | Vr::UV | Vr::OV => 8,
            _ => 1,
        }
    }

    /// The VR as its two letters (VRs are only built from the known two-letter codes).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of one data element.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A primitive value, raw bytes in the data set's byte order, padding included.
    Bytes(Cow<'a, [u8]>),
    /// A sequence of items.
    Items(Vec<Item<'a>>),
    /// Encapsulated pixel data: the basic offset table followed by the fragments.
    Fragments(Vec<Cow<'a, [u8]>>),
}

/// One data element.
#[derive(Debug, Clone, PartialEq)]
pub struct Element<'a> {
    pub tag: Tag,
    pub vr: Vr,
    pub value: Value<'a>,
    /// Whether the element was read with an undefined length; kept so sequences are written the
    /// way they came.
    pub undefined_length: bool,
}

impl<'a> Element<'a> {
    /// A primitive element with the given bytes.
    pub fn bytes(tag: Tag, vr: Vr, bytes: Vec<u8>) -> Element<'a> {
        Element {
            tag,
            vr,
            value: Value::Bytes(Cow::Owned(bytes)),
            undefined_length: false,
        }
    }

    /// A text element; the value is padded to even length as its VR requires.
    pub fn text(tag: Tag, vr: Vr, text: &str) -> Element<'a> {
        Element::bytes(tag, vr, pad_text(vr, text.as_bytes().to_vec()))
    }

    /// A sequence element.
    pub fn sequence(tag: Tag, items: Vec<Item<'a>>) -> Element<'a> {
        Element {
            tag,
            vr: Vr::SQ,
            value: Value::Items(items),
            undefined_length: true,
        }
    }

    /// The raw bytes of a primitive value.
    pub fn raw(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the value is empty (zero bytes, or no items).
    pub fn is_empty(&self) -> bool {
        match &self.value {
            Value::Bytes(b) => b.is_empty(),
            Value::Items(i) => i.is_empty(),
            Value::Fragments(f) => f.is_empty(),
        }
    }
}

/// Pads a text value to even length: UIDs with NUL, other text with a space (PS3.5 6.2).
pub fn pad_text(vr: Vr, mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() % 2 == 1 {
        bytes.push(if vr == Vr::UI { 0 } else { b' ' });
    }
    bytes
}

/// Removes the trailing padding of a text value (spaces and NULs), and leading spaces where
/// PS3.5 says they are insignificant.
pub fn trim_text(vr: Vr, bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b' ' | 0) {
        end -= 1;
    }
    let mut start = 0;
    if !matches!(vr, Vr::LT | Vr::ST | Vr::UT) {
        while start < end && bytes[start] == b' ' {
            start += 1;
        }
    }
    &bytes[start..end]
}

/// Splits a text value into its values (backslash-separated), each without padding; single-valued
/// VRs (LT, ST, UT, UR) are never split.
pub fn split_values(vr: Vr, bytes: &[u8]) -> Vec<&[u8]> {
    if vr.is_single_valued_text() {
        return vec![trim_text(vr, bytes)];
    }
    trim_text(vr, bytes)
        .split(|&b| b == b'\\')
        .map(|v| trim_text(vr, v))
        .collect()
}

/// An item of a sequence, or a whole data set: elements in ascending tag order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item<'a> {
    pub elements: Vec<Element<'a>>,
    /// Whether the item was read with an undefined length.
    pub undefined_length: bool,
}

impl<'a> Item<'a> {
    /// The element with this tag, if present.
    pub fn get(&self, tag: Tag) -> Option<&Element<'a>> {
        self.elements
            .binary_search_by_key(&tag, |e| e.tag)
            .ok()
            .map(|i| &self.elements[i])
    }

    /// The element with this tag, mutably.
    pub fn get_mut(&mut self, tag: Tag) -> Option<&mut Element<'a>> {
        match self.elements.binary_search_by_key(&tag, |e| e.tag) {
            Ok(i) => Some(&mut self.elements[i]),
            Err(_) => None,
        }
    }

    /// Inserts or replaces an element, keeping tag order.
    pub fn put(&mut self, element: Element<'a>) {
        match self.elements.binary_search_by_key(&element.tag, |e| e.tag) {
            Ok(i) => self.elements[i] = element,
            Err(i) => self.elements.insert(i, element),
        }
    }

    /// Removes an element.
    pub fn remove(&mut self, tag: Tag) -> Option<Element<'a>> {
        match self.elements.binary_search_by_key(&tag, |e| e.tag) {
            Ok(i) => Some(self.elements.remove(i)),
            Err(_) => None,
        }
    }

    /// The value of a text element as an ASCII-only string without padding (for UIDs, codes,
    /// and other values the engine itself interprets). Non-ASCII bytes are replaced.
    pub fn ascii(&self, tag: Tag) -> Option<String> {
        let e = self.get(tag)?;
        let raw = e.raw()?;
        Some(String::from_utf8_lossy(trim_text(e.vr, raw)).into_owned())
    }
}

/// The transfer syntaxes the engine distinguishes: how bytes are laid out, not how pixels are
/// compressed (encapsulated pixel data is carried through untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub explicit_vr: bool,
    pub big_endian: bool,
    pub deflated: bool,
}

impl Encoding {
    pub const IMPLICIT_LE: Encoding = Encoding {
        explicit_vr: false,
        big_endian: false,
        deflated: false,
    };
    pub const EXPLICIT_LE: Encoding = Encoding {
        explicit_vr: true,
        big_endian: false,
        deflated: false,
    };
    pub const EXPLICIT_BE: Encoding = Encoding {
        explicit_vr: true,
        big_endian: true,
        deflated: false,
    };

    /// The encoding a transfer syntax UID implies; every encapsulated syntax is explicit little
    /// endian. Only Deflated Explicit VR Little Endian deflates the data set: Deflated Image
    /// Frame Compression (1.2.840.10008.1.2.8.1) deflates each frame of an encapsulated Pixel
    /// Data, and its data set is plain explicit little endian.
    #[allow(deprecated)] // Explicit VR Big Endian is retired, and still found in files
    pub fn from_transfer_syntax(uid: &str) -> Encoding {
        match uid {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Encoding::IMPLICIT_LE,
            uids::EXPLICIT_VR_BIG_ENDIAN => Encoding::EXPLICIT_BE,
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => Encoding {
                deflated: true,
                ..Encoding::EXPLICIT_LE
            },
            _ => Encoding::EXPLICIT_LE,
        }
    }

    /// Reads a 16-bit number in this byte order.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    /// Reads a 32-bit number in this byte order.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Reads a 64-bit number in this byte order.
    pub fn u64(self, b: [u8; 8]) -> u64 {
        if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }

    /// Reads a 64-bit float (FD) in this byte order.
    pub fn f64(self, b: [u8; 8]) -> f64 {
        f64::from_bits(self.u64(b))
    }

    /// Writes a 16-bit number in this byte order.
    pub fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        if self.big_endian {
            out.extend_from_slice(&v.to_be_bytes())
        } else {
            out.extend_from_slice(&v.to_le_bytes())
        }
    }

    /// Writes a 32-bit number in this byte order.
    pub fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        if self.big_endian {
            out.extend_from_slice(&v.to_be_bytes())
        } else {
            out.extend_from_slice(&v.to_le_bytes())
        }
    }
}

/// A parsed DICOM file: its file meta information, its data set, and how the data set is encoded.
#[derive(Debug, Clone)]
pub struct FileObject<'a> {
    /// Group 0002, always explicit VR little endian. Empty when the input had no meta header.
    pub meta: Item<'a>,
    pub dataset: Item<'a>,
    pub transfer_syntax: String,
    pub encoding: Encoding,
    /// The deviations from PS3.5 / PS3.10 the reader recovered from, in the order met (each
    /// once, at most [`MAX_RECOVERIES`]). Empty for a well-formed file.
    pub recoveries: Vec<Recovery>,
}

/// Most recoveries listed for one file; past it, [`Recovery::More`] closes the list.
pub const MAX_RECOVERIES: usize = 32;

/// How the length of an element whose VR bytes are not a VR was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthLayout {
    /// A 16-bit length after the two bytes (other printable bytes; dcmtk's non-standard VR).
    Short,
    /// Two reserved bytes and a 32-bit length (two capital letters: a VR defined after this
    /// reader, which PS3.5 7.1.2 gives the 32-bit form; dcmtk's "future VR").
    Long,
    /// A 32-bit length right after the tag: the element was written in implicit VR (bytes that are
    /// not printable; fo-dicom, and dcmtk's "assume implicit" option).
    Implicit,
}

/// A deviation the reader recovered from, as dcmtk and fo-dicom do. It names tags and what was
/// done, never a value, so it can go into the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// An explicit-VR element whose VR bytes are not a VR: typed with the dictionary VR (UN when
    /// the dictionary does not know the tag; UN or SQ for an undefined length). A length that
    /// the dictionary VR cannot have is refused, not recovered.
    InvalidVr { tag: Tag, layout: LengthLayout },
    /// A delimitation item (zero length) where nothing was open: at data-set level, or inside a
    /// defined-length item or sequence. Skipped.
    StrayDelimiter { tag: Tag, top_level: bool },
    /// An item where an element was expected (no sequence holds it): parsed whole, with every
    /// element in it, and left out of the output, since no sequence tag can be given to it.
    OrphanItem { after: Option<Tag> },
    /// A defined length that stops 4 bytes short, inside the closing delimitation item of the
    /// value (the delimiter's length field was not counted): the delimiter is read whole.
    DelimiterPastLength { tag: Tag },
    /// The file meta has no Transfer Syntax UID: the data set's encoding was detected.
    MissingTransferSyntax { detected: Encoding },
    /// No preamble and no file meta: a bare data set, its encoding detected.
    BareDataSet { detected: Encoding },
    /// A file meta group without the 128-byte preamble and `DICM`.
    NoPreamble,
    /// A second copy of file meta elements after the meta group: read through and dropped;
    /// the first meta group stands, as dcmtk reads it.
    RepeatedMeta,
    /// The meta declares one native little-endian syntax and the data set uses the other.
    SyntaxMismatch { detected: Encoding },
    /// Two elements with one tag in one data set or item: the last one is kept.
    DuplicateElement { tag: Tag },
    /// Elements out of ascending tag order: sorted.
    OutOfOrder,
    /// Zero bytes after the end of the data set: ignored.
    TrailingPadding,
    /// Encapsulated pixel data whose sequence delimitation item is missing at the end of the file.
    FragmentsUndelimited { tag: Tag },
    /// Implicit VR: a sequence in the dictionary whose value holds no items, kept as UN.
    SequenceAsBytes { tag: Tag },
    /// More recoveries than [`MAX_RECOVERIES`]: the rest are not listed.
    More,
}

impl Encoding {
    /// The encoding in words, for messages.
    pub fn describe(self) -> &'static str {
        match (self.explicit_vr, self.big_endian) {
            (false, false) => "implicit VR little endian",
            (false, true) => "implicit VR big endian",
            (true, false) => "explicit VR little endian",
            (true, true) => "explicit VR big endian",
        }
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Recovery::InvalidVr { tag, layout } => write!(
                f,
                "invalid VR bytes for {tag} read with the dictionary VR ({})",
                match layout {
                    LengthLayout::Short => "16-bit length",
                    LengthLayout::Long => "reserved bytes and 32-bit length",
                    LengthLayout::Implicit => "as implicit VR: 32-bit length after the tag",
                }
            ),
            Recovery::StrayDelimiter { tag, top_level } => write!(
                f,
                "stray {} skipped {}",
                if tag == tags::SEQUENCE_DELIMITATION {
                    "sequence delimitation item"
                } else {
                    "item delimitation item"
                },
                if top_level {
                    "at data-set level"
                } else {
                    "inside a defined-length item or sequence"
                }
            ),
            Recovery::OrphanItem { after: Some(t) } => write!(
                f,
                "item outside any sequence (after {t}) parsed and left out of the output"
            ),
            Recovery::OrphanItem { after: None } => f.write_str(
                "item outside any sequence (at the start of a data set) parsed and left out of the output",
            ),
            Recovery::DelimiterPastLength { tag } => write!(
                f,
                "declared length of {tag} ends 4 bytes short, inside its closing delimitation item; the delimiter was read whole"
            ),
            Recovery::MissingTransferSyntax { detected } => write!(
                f,
                "file meta lacks Transfer Syntax UID; data set detected as {}",
                detected.describe()
            ),
            Recovery::BareDataSet { detected } => write!(
                f,
                "no preamble and no file meta; bare data set detected as {}",
                detected.describe()
            ),
            Recovery::NoPreamble => f.write_str("file meta without the 128-byte preamble"),
            Recovery::RepeatedMeta => f.write_str(
                "file meta elements repeated after the meta group; the first group is used",
            ),
            Recovery::SyntaxMismatch { detected } => write!(
                f,
                "file meta declares the other little-endian transfer syntax; data set read as {}",
                detected.describe()
            ),
            Recovery::DuplicateElement { tag } => {
                write!(f, "element {tag} appears twice in one item; the last one kept")
            }
            Recovery::OutOfOrder => f.write_str("elements out of ascending tag order were sorted"),
            Recovery::TrailingPadding => f.write_str("zero bytes after the data set ignored"),
            Recovery::FragmentsUndelimited { tag } => write!(
                f,
                "encapsulated {tag} lacks its sequence delimitation item at the end of the file"
            ),
            Recovery::SequenceAsBytes { tag } => write!(
                f,
                "{tag} is a sequence in the dictionary but holds no items; kept as UN"
            ),
            Recovery::More => f.write_str("further recoveries not listed"),
        }
    }
}
