//! A strict, allocation-bounded DICOM reader (PS3.10 file format, PS3.5 encodings).
//!
//! The reader never trusts a declared length: every length is checked against the bytes that are
//! really there before anything is sliced, values are borrowed from the input rather than copied,
//! and nesting is limited so hostile input cannot exhaust the stack. Errors name the offset and the
//! tag, never a value.

use std::borrow::Cow;
use std::io::Read;

use dicom_core::Tag as DcmTag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_dictionary_std::{StandardDataDictionary, uids};

use crate::dicom::model::{
    Element, Encoding, FileObject, Item, LengthLayout, MAX_RECOVERIES, Recovery, Tag, TagExt,
    Value, Vr, tags,
};
use crate::error::{Error, Result};

/// Deepest sequence nesting accepted. Real objects (SR trees included) stay far below this.
pub const MAX_DEPTH: usize = 128;

/// Largest inflated size accepted for a deflated data set, a guard against decompression bombs
/// natively. On wasm32 it is the whole address space: there the allocation itself fails first,
/// which the page reports as a failed file.
pub const MAX_INFLATED: u64 = 4 << 30;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// What precedes the data set: the meta group and where the data set starts.
#[derive(Debug, Clone)]
pub struct Preamble<'a> {
    pub meta: Item<'a>,
    pub transfer_syntax: String,
    pub encoding: Encoding,
    /// Offset of the first byte of the data set.
    pub body_offset: usize,
    /// What was recovered from so far (meta without a transfer syntax, a bare data set...).
    pub recoveries: Vec<Recovery>,
    /// Whether the encoding was detected from the data set's bytes rather than declared.
    pub detected: bool,
}

/// Parses a whole file held in memory. Deflated data sets are inflated into `scratch`, which must
/// outlive the returned object.
pub fn read_file<'a>(bytes: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<FileObject<'a>> {
    let pre = read_preamble(bytes)?;
    let body = &bytes[pre.body_offset..];
    let (dataset, recoveries) = if pre.encoding.deflated {
        inflate(body, scratch, pre.body_offset)?;
        read_dataset(scratch, pre.encoding, 0, pre.recoveries)?
    } else {
        read_dataset(body, pre.encoding, pre.body_offset, pre.recoveries)?
    };
    // A detected encoding says how the data set is laid out, not how its pixels are compressed:
    // with encapsulated pixel data no transfer syntax could be declared truthfully.
    if pre.detected
        && matches!(
            dataset.get(tags::PIXEL_DATA).map(|e| &e.value),
            Some(Value::Fragments(_))
        )
    {
        return Err(Error::Unsupported(
            "the transfer syntax is not declared and the pixel data is encapsulated: its \
             compression cannot be known"
                .into(),
        ));
    }
    Ok(FileObject {
        meta: pre.meta,
        dataset,
        transfer_syntax: pre.transfer_syntax,
        encoding: pre.encoding,
        recoveries,
    })
}

pub(crate) fn inflate(body: &[u8], out: &mut Vec<u8>, offset: usize) -> Result<()> {
    out.clear();
    flate2::read::DeflateDecoder::new(body)
        .take(MAX_INFLATED)
        .read_to_end(out)
        .map_err(|_| Error::malformed(offset, "deflated data set is corrupt or truncated"))?;
    if out.len() as u64 >= MAX_INFLATED {
        return Err(Error::Unsupported(
            "deflated data set inflates beyond 4 GiB".into(),
        ));
    }
    Ok(())
}

/// Reads the 128-byte preamble, `DICM` and the file meta group. Files without a meta header (a bare
/// data set, as some old systems write) are accepted when they start like a data set.
pub fn read_preamble(bytes: &[u8]) -> Result<Preamble<'_>> {
    if bytes.is_empty() {
        return Err(Error::NotDicom("the file is empty"));
    }
    let mut recoveries = Vec::new();
    let meta_start =
        if bytes.len() >= 134 && &bytes[128..132] == b"DICM" && bytes[132..134] == [0x02, 0x00] {
            Some(132)
        } else if bytes.len() >= 8
            && bytes[0..2] == [0x02, 0x00]
            && Vr::from_bytes([bytes[4], bytes[5]]).is_some()
        {
            recoveries.push(Recovery::NoPreamble);
            Some(0) // a meta group without preamble
        } else {
            None
        };
    if let Some(start) = meta_start {
        let mut p = Parser::new(bytes, Encoding::EXPLICIT_LE, 0);
        p.pos = start;
        let mut meta = Item::default();
        let mut repeated = false;
        while p.pos + 4 <= bytes.len() {
            let group = u16::from_le_bytes([bytes[p.pos], bytes[p.pos + 1]]);
            if group != 0x0002 {
                break;
            }
            let at = p.pos;
            let e = p.read_element(0)?;
            // A second group length, or a meta element seen before, starts a copy of a meta
            // group that a writer put in front of the data set: the first group stands and
            // the copy is read through (explicit VR little endian, as meta always is) and
            // dropped, so the data set's own encoding is sniffed after it.
            if repeated
                || (at > start && e.tag == tags::FILE_META_INFORMATION_GROUP_LENGTH)
                || meta.elements.iter().any(|m| m.tag == e.tag)
            {
                if !repeated {
                    recoveries.push(Recovery::RepeatedMeta);
                }
                repeated = true;
                continue;
            }
            if e.tag != tags::FILE_META_INFORMATION_GROUP_LENGTH {
                meta.elements.push(e);
            }
        }
        recoveries.append(&mut p.recoveries);
        meta.elements.sort_by_key(|e| e.tag);
        let body = &bytes[p.pos..];
        let Some(ts) = meta
            .ascii(tags::TRANSFER_SYNTAX_UID)
            .filter(|t| !t.is_empty())
        else {
            // As dcmtk does (DcmItem::checkTransferSyntax): the first tag and VR say the encoding.
            let encoding = detect_encoding(body).ok_or_else(|| {
                Error::malformed(
                    p.pos,
                    "file meta information has no Transfer Syntax UID and the data set is in \
                     implicit VR big endian, which no transfer syntax allows",
                )
            })?;
            recoveries.push(Recovery::MissingTransferSyntax { detected: encoding });
            return Ok(Preamble {
                meta,
                transfer_syntax: native_syntax(encoding).into(),
                encoding,
                body_offset: p.pos,
                recoveries,
                detected: true,
            });
        };
        let mut encoding = Encoding::from_transfer_syntax(&ts);
        let mut transfer_syntax = ts;
        // Some writers declare one little-endian syntax and write the other: trust the bytes,
        // as other readers do, and record the syntax the data set really uses.
        if let Some(actual) = sniff_native_le(body)
            && matches!(
                transfer_syntax.as_str(),
                uids::IMPLICIT_VR_LITTLE_ENDIAN | uids::EXPLICIT_VR_LITTLE_ENDIAN
            )
            && actual != encoding
        {
            encoding = actual;
            transfer_syntax = native_syntax(actual).into();
            recoveries.push(Recovery::SyntaxMismatch { detected: actual });
        }
        return Ok(Preamble {
            encoding,
            transfer_syntax,
            meta,
            body_offset: p.pos,
            recoveries,
            detected: false,
        });
    }
    // No meta header: accept a bare data set starting with a group 0008 element, in little
    // endian (explicit or implicit VR) or in explicit VR big endian.
    if bytes.len() >= 8 {
        let vr = Vr::from_bytes([bytes[4], bytes[5]]).is_some();
        let encoding = match (bytes[0], bytes[1], vr) {
            (0x08, 0x00, true) => Some(Encoding::EXPLICIT_LE),
            (0x08, 0x00, false) => Some(Encoding::IMPLICIT_LE),
            (0x00, 0x08, true) => Some(Encoding::EXPLICIT_BE),
            _ => None,
        };
        if let Some(encoding) = encoding {
            recoveries.push(Recovery::BareDataSet { detected: encoding });
            return Ok(Preamble {
                meta: Item::default(),
                transfer_syntax: native_syntax(encoding).to_string(),
                encoding,
                body_offset: 0,
                recoveries,
                detected: true,
            });
        }
    }
    Err(Error::NotDicom(
        "no DICM marker at byte 128 and no data set at the start",
    ))
}

/// Whether a little-endian data set starts with an explicit-VR element (two VR letters after the
/// tag) or an implicit one.
fn sniff_native_le(body: &[u8]) -> Option<Encoding> {
    if body.len() < 8 {
        return None;
    }
    Some(if Vr::from_bytes([body[4], body[5]]).is_some() {
        Encoding::EXPLICIT_LE
    } else {
        Encoding::IMPLICIT_LE
    })
}

/// The encoding of a data set whose transfer syntax is not declared, from its first tag and the
/// two bytes after it, by dcmtk's rule (`DcmItem::checkTransferSyntax`): a VR there means explicit
/// VR; the byte order is the one in which the tag is known to the dictionary (little endian when
/// both or neither are, unless only the big-endian reading has a group below 0100). `None` for
/// implicit VR big endian, which is no DICOM transfer syntax.
fn detect_encoding(body: &[u8]) -> Option<Encoding> {
    if body.len() < 6 {
        return Some(Encoding::EXPLICIT_LE);
    }
    let le = Tag(
        u16::from_le_bytes([body[0], body[1]]),
        u16::from_le_bytes([body[2], body[3]]),
    );
    let be = Tag(
        u16::from_be_bytes([body[0], body[1]]),
        u16::from_be_bytes([body[2], body[3]]),
    );
    let known = |t: Tag| {
        (t.element() == 0 && t.group().is_multiple_of(2))
            || StandardDataDictionary
                .by_tag(DcmTag(t.group(), t.element()))
                .is_some()
    };
    let big = match (known(le), known(be)) {
        (false, true) => true,
        (true, true) => le.group() > 0xFF && be.group() <= 0xFF,
        _ => false,
    };
    let explicit_vr = Vr::from_bytes([body[4], body[5]]).is_some();
    match (explicit_vr, big) {
        (true, false) => Some(Encoding::EXPLICIT_LE),
        (true, true) => Some(Encoding::EXPLICIT_BE),
        (false, false) => Some(Encoding::IMPLICIT_LE),
        (false, true) => None,
    }
}

/// Parses a data set that fills `bytes`; `base` is the offset of `bytes` in the file, for errors.
/// Returns it with what was recovered from (after `recoveries`, those of the preamble). An error
/// met after a recovery names the recoveries, since they may be its cause.
fn read_dataset(
    bytes: &[u8],
    encoding: Encoding,
    base: usize,
    recoveries: Vec<Recovery>,
) -> Result<(Item<'_>, Vec<Recovery>)> {
    let mut p = Parser::new(bytes, encoding, base);
    p.recoveries = recoveries;
    match p.read_item_body(None, 0) {
        Ok(mut item) => {
            item.undefined_length = false;
            Ok((item, p.recoveries))
        }
        Err(Error::Malformed { offset, reason }) if !p.recoveries.is_empty() => {
            let after: Vec<String> = p.recoveries.iter().map(|r| r.to_string()).collect();
            Err(Error::Malformed {
                offset,
                reason: format!("{reason} (read after recovering: {})", after.join("; ")),
            })
        }
        Err(e) => Err(e),
    }
}

/// Where the top-level Pixel Data element of a file lies, read from a prefix of the file (which
/// must hold everything before it): the offset of its header, the header's length, and its
/// value length (`None`: undefined, encapsulated fragments follow). `Ok(None)` when the prefix
/// ends before Pixel Data (or the data set has none). A deflated data set must be given
/// inflated, and `inflated` set (see [`crate::dicom::inflate`]).
pub fn find_pixel_data(prefix: &[u8], inflated: bool) -> Result<Option<PixelDataAt>> {
    let pre = read_preamble(prefix)?;
    if pre.encoding.deflated && !inflated {
        return Err(Error::Unsupported(
            "a deflated data set is read whole".into(),
        ));
    }
    let body = &prefix[pre.body_offset..];
    let mut p = Parser::new(body, pre.encoding, pre.body_offset);
    p.stop_at_pixels = true;
    if p.read_item_body(None, 0).is_err() {
        return Ok(None);
    }
    let Some(start) = p.stopped_at else {
        return Ok(None);
    };
    p.pos = start;
    let Ok(h) = p.read_header() else {
        return Ok(None);
    };
    Ok(Some(PixelDataAt {
        element_start: pre.body_offset + start,
        header_len: p.pos - start,
        value_len: (h.len != UNDEFINED).then_some(h.len),
        encoding: pre.encoding,
    }))
}

/// Where a file's top-level Pixel Data is (see [`find_pixel_data`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelDataAt {
    pub element_start: usize,
    pub header_len: usize,
    /// `None` for an undefined length (encapsulated).
    pub value_len: Option<u32>,
    pub encoding: Encoding,
}

impl PixelDataAt {
    /// Where the value starts.
    pub fn value_start(&self) -> usize {
        self.element_start + self.header_len
    }
}

/// The VR an implicit-VR element has, from the standard dictionary.
pub fn implicit_vr(tag: Tag) -> Vr {
    if tag.is_private_creator() {
        return Vr::LO;
    }
    if tag.element() == 0 {
        return Vr::UL;
    }
    if tag.is_private() {
        return Vr::UN;
    }
    if tag == tags::PIXEL_DATA {
        return Vr::OW;
    }
    match StandardDataDictionary.by_tag(DcmTag(tag.group(), tag.element())) {
        Some(entry) => match entry.vr() {
            VirtualVr::Exact(vr) => Vr::from_bytes(vr.to_bytes()).unwrap_or(Vr::UN),
            // US or SS depends on Pixel Representation, which is not known here; US is chosen
            // because the bytes are kept as they are either way. OB/OW ambiguities read as OW.
            VirtualVr::Xs => Vr::US,
            VirtualVr::Lt => Vr::US,
            _ => Vr::OW,
        },
        None => Vr::UN,
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    enc: Encoding,
    base: usize,
    /// What was recovered from, each once (see [`Parser::recover`]).
    recoveries: Vec<Recovery>,
    /// Where the last delimitation item read ends (for [`Recovery::DelimiterPastLength`]).
    delim_end: usize,
    /// Stop at the top-level Pixel Data element, recording where it starts (see
    /// [`find_pixel_data`]).
    stop_at_pixels: bool,
    stopped_at: Option<usize>,
}

struct Header {
    tag: Tag,
    vr: Option<Vr>,
    len: u32,
    offset: usize,
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8], enc: Encoding, base: usize) -> Self {
        Parser {
            data,
            pos: 0,
            enc,
            base,
            recoveries: Vec::new(),
            delim_end: usize::MAX,
            stop_at_pixels: false,
            stopped_at: None,
        }
    }

    fn err(&self, at: usize, reason: impl Into<String>) -> Error {
        Error::malformed(self.base + at, reason)
    }

    /// Records a recovery once; the list is bounded whatever the input.
    fn recover(&mut self, r: Recovery) {
        if self.recoveries.contains(&r) || self.recoveries.last() == Some(&Recovery::More) {
            return;
        }
        if self.recoveries.len() + 1 >= MAX_RECOVERIES {
            self.recoveries.push(Recovery::More);
        } else {
            self.recoveries.push(r);
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(self.err(
                self.pos,
                format!("{what} runs past the end of the data ({n} bytes declared)"),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn peek_tag(&self) -> Option<Tag> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        Some(Tag(self.enc.u16([b[0], b[1]]), self.enc.u16([b[2], b[3]])))
    }

    fn read_tag(&mut self) -> Result<Tag> {
        let b = self.take(4, "element tag")?;
        let g = self.enc.u16([b[0], b[1]]);
        let e = self.enc.u16([b[2], b[3]]);
        Ok(Tag(g, e))
    }

    fn read_u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(self.enc.u32([b[0], b[1], b[2], b[3]]))
    }

    fn read_header(&mut self) -> Result<Header> {
        let offset = self.pos;
        let tag = self.read_tag()?;
        // Item and delimitation tags have no VR in any syntax; implicit VR elements neither.
        if tag.group() == 0xFFFE || !self.enc.explicit_vr {
            let len = self.read_u32("element length")?;
            return Ok(Header {
                tag,
                vr: None,
                len,
                offset,
            });
        }
        let vb = self.take(2, "value representation")?;
        if let Some(vr) = Vr::from_bytes([vb[0], vb[1]]) {
            let len = if vr.has_long_header() {
                self.take(2, "reserved bytes")?;
                self.read_u32("element length")?
            } else {
                let b = self.take(2, "element length")?;
                self.enc.u16([b[0], b[1]]) as u32
            };
            return Ok(Header {
                tag,
                vr: Some(vr),
                len,
                offset,
            });
        }
        // VR bytes that are not a VR. The length is read as dcmtk reads it (DcmVR::setVR and
        // DcmItem::readTagAndLength): two capital letters are a VR defined after this reader,
        // with reserved bytes and a 32-bit length (PS3.5 7.1.2); other printable bytes have a
        // 16-bit length. Bytes that are not printable mean the element was written in implicit
        // VR: its 32-bit length follows the tag (fo-dicom's rule, and dcmtk's "assume implicit"
        // option; dcmtk refuses the file by default). The value is typed with the dictionary VR,
        // as implicit VR would be, so the profile treats it as what it is.
        let layout = if vb.iter().all(u8::is_ascii_uppercase) {
            LengthLayout::Long
        } else if vb.iter().all(|b| (0x20..=0x7F).contains(b)) {
            LengthLayout::Short
        } else {
            LengthLayout::Implicit
        };
        let len = match layout {
            LengthLayout::Short => {
                let b = self.take(2, "element length")?;
                self.enc.u16([b[0], b[1]]) as u32
            }
            LengthLayout::Long => {
                self.take(2, "reserved bytes")?;
                self.read_u32("element length")?
            }
            LengthLayout::Implicit => {
                self.pos -= 2;
                self.read_u32("element length")?
            }
        };
        let dict = implicit_vr(tag);
        let vr = if len == UNDEFINED {
            // Only sequences and encapsulated pixel data have undefined lengths; anything else
            // is read as UN, whose undefined length holds implicit VR items (CP-246, as dcmtk).
            if dict == Vr::SQ || matches!(dict, Vr::OB | Vr::OW) {
                dict
            } else {
                Vr::UN
            }
        } else if dict != Vr::SQ && (dict == Vr::UN || dict.has_long_header() || len > 0xFFFF) {
            // Only a sequence (whose items are parsed and walked) or a value the dictionary
            // types with a 16-bit length is recovered: an unknown or private tag (UN), or a
            // long opaque value, could swallow the elements after it whole into one value that
            // no rule would look inside. Refused.
            return Err(self.err(
                offset,
                format!(
                    "element {tag} has invalid VR bytes; only a sequence or a short value of a \
                     known attribute is recovered (dictionary VR {dict:?})"
                ),
            ));
        } else {
            dict
        };
        self.recover(Recovery::InvalidVr { tag, layout });
        Ok(Header {
            tag,
            vr: Some(vr),
            len,
            offset,
        })
    }

    /// Reads elements up to `end` (a defined-length item or the whole data set) or, when `end`
    /// is `None` inside a sequence, up to the item delimiter.
    fn read_item_body(&mut self, end: Option<usize>, depth: usize) -> Result<Item<'a>> {
        let mut item = Item {
            elements: Vec::new(),
            undefined_length: end.is_none(),
        };
        let limit = end.unwrap_or(self.data.len());
        // Where trailing NULs begin (found once: looking ahead at every element would be
        // quadratic on a long run of zero bytes, which reads as many empty elements).
        let padding_from = match depth {
            0 => self.data[..limit]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |p| p + 1),
            _ => usize::MAX,
        };
        let mut last: Option<Tag> = None;
        // The element read just before, in file order (for naming where an orphan item was).
        let mut prev: Option<Tag> = None;
        loop {
            if self.pos >= limit {
                if end.is_none() && depth > 0 {
                    return Err(self.err(self.pos, "item has no delimiter before the end of data"));
                }
                break;
            }
            // Trailing padding at the end of a file (some writers add NULs): tolerated at top level.
            if self.pos >= padding_from {
                self.recover(Recovery::TrailingPadding);
                self.pos = limit;
                break;
            }
            let start = self.pos;
            if self.data.len() - start >= 4
                && self.enc.u16([self.data[start], self.data[start + 1]]) == 0xFFFE
            {
                if self.read_structure(end.is_none() && depth > 0, depth, prev)? {
                    break;
                }
                if self.pos > limit {
                    return Err(self.err(start, "an item runs past the item that holds it"));
                }
                continue;
            }
            if depth == 0 && self.stop_at_pixels && self.peek_tag() == Some(tags::PIXEL_DATA) {
                self.stopped_at = Some(start);
                break;
            }
            let el = self.read_element(depth)?;
            if self.pos > limit {
                return Err(self.err(start, format!("element {} runs past its item", el.tag)));
            }
            prev = Some(el.tag);
            if el.tag.element() == 0x0000 && el.tag.group() != 0x0000 {
                continue; // group lengths are retired and recomputed by nobody: drop them
            }
            if last.is_some_and(|t| t >= el.tag) {
                // Out-of-order or duplicate tags: keep the data set sorted, last one wins.
                if item.get(el.tag).is_some() {
                    self.recover(Recovery::DuplicateElement { tag: el.tag });
                } else {
                    self.recover(Recovery::OutOfOrder);
                }
                item.put(el);
            } else {
                last = Some(el.tag);
                item.elements.push(el);
            }
        }
        if let Some(e) = end
            && self.pos != e
        {
            return Err(self.err(self.pos, "item content overruns its declared length"));
        }
        Ok(item)
    }

    /// An item or delimitation tag where an element is expected. Returns whether it closes the
    /// item being read (`delimited`: an undefined-length item in a sequence, which only its item
    /// delimitation item closes). Otherwise, as other readers do: a delimitation item with a
    /// zero length where nothing is open is skipped (fo-dicom accepts a final sequence
    /// delimitation item at the end of the data set; dcmtk, told to ignore parse errors, stops
    /// reading there: skipping it and reading on leaves nothing unread); an item at data-set
    /// level or in a defined-length item is parsed whole (fo-dicom reads it as a sequence of its
    /// own, dcmtk refuses the file) and left out, since no sequence holds it. Anything else is
    /// refused.
    fn read_structure(&mut self, delimited: bool, depth: usize, prev: Option<Tag>) -> Result<bool> {
        let offset = self.pos;
        let tag = self.read_tag()?;
        let len = self.read_u32("delimiter length")?;
        match tag {
            tags::ITEM_DELIMITATION if delimited => {
                self.delim_end = self.pos;
                Ok(true)
            }
            tags::ITEM_DELIMITATION | tags::SEQUENCE_DELIMITATION if len == 0 => {
                if tag == tags::SEQUENCE_DELIMITATION && delimited {
                    // dcmtk accepts this only when told to replace wrong delimiters: which
                    // delimiter is missing cannot be told, so the file is refused.
                    return Err(self.err(
                        offset,
                        format!("unexpected {tag} inside an item (an item delimiter was expected)"),
                    ));
                }
                self.recover(Recovery::StrayDelimiter {
                    tag,
                    top_level: depth == 0,
                });
                Ok(false)
            }
            // Inside an undefined-length item, an item is rather the next one of the sequence
            // after a missing item delimiter: which, cannot be told, so the file is refused.
            tags::ITEM if delimited => Err(self.err(
                offset,
                format!("unexpected {tag} inside an item (its item delimiter may be missing)"),
            )),
            tags::ITEM => {
                if depth + 1 > MAX_DEPTH {
                    return Err(self.err(
                        offset,
                        format!("sequences nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                if len == UNDEFINED {
                    self.read_item_body(None, depth + 1)?;
                } else {
                    let len = len as usize;
                    if self.data.len() - self.pos < len {
                        return Err(self.err(
                            offset,
                            "item outside a sequence runs past the end of the data",
                        ));
                    }
                    self.read_item_body(Some(self.pos + len), depth + 1)?;
                }
                self.recover(Recovery::OrphanItem { after: prev });
                Ok(false)
            }
            _ => Err(self.err(offset, format!("unexpected {tag} inside a data set"))),
        }
    }

    fn read_element(&mut self, depth: usize) -> Result<Element<'a>> {
        let h = self.read_header()?;
        if h.tag.group() == 0xFFFE {
            return Err(self.err(h.offset, format!("unexpected {} outside a sequence", h.tag)));
        }
        let mut vr = h.vr.unwrap_or_else(|| implicit_vr(h.tag));
        let undefined = h.len == UNDEFINED;
        // A standard attribute written as UN (by a system that did not know it) is read as what
        // the dictionary says it is, so the profile treats it properly; a sequence inside a UN
        // is implicit VR little endian (PS3.5 6.2.2).
        if vr == Vr::UN && h.vr.is_some() && !h.tag.is_private() && !undefined {
            let dict = implicit_vr(h.tag);
            let len = h.len as usize;
            if dict == Vr::SQ && self.data.len() - self.pos >= len {
                let start = self.pos;
                if starts_with_item(&self.data[start..start + len]) {
                    let mark = self.recoveries.len();
                    if let Ok(items) = self.read_sequence(
                        Some(start + len),
                        depth + 1,
                        Encoding::IMPLICIT_LE,
                        h.tag,
                    ) {
                        return Ok(Element {
                            tag: h.tag,
                            vr: Vr::UN,
                            value: Value::Items(items),
                            undefined_length: false,
                        });
                    }
                    self.recoveries.truncate(mark);
                    self.pos = start;
                }
            } else if dict != Vr::UN && dict != Vr::SQ && (dict.has_long_header() || len <= 0xFFFF)
            {
                vr = dict;
            }
        }
        if undefined {
            let pixel_like = matches!(vr, Vr::OB | Vr::OW) || h.tag == tags::PIXEL_DATA;
            if pixel_like && vr != Vr::SQ {
                let frags = self.read_fragments(h.tag)?;
                return Ok(Element {
                    tag: h.tag,
                    vr: if vr == Vr::OW { Vr::OB } else { vr },
                    value: Value::Fragments(frags),
                    undefined_length: true,
                });
            }
            if vr == Vr::SQ || vr == Vr::UN || !self.enc.explicit_vr {
                // An undefined-length UN is a sequence encoded in implicit VR little endian
                // (PS3.5 6.2.2); so is any undefined-length element of an implicit-VR data set.
                let inner = if vr == Vr::UN && self.enc.explicit_vr {
                    Encoding::IMPLICIT_LE
                } else {
                    self.enc
                };
                let items = self.read_sequence(None, depth + 1, inner, h.tag)?;
                return Ok(Element {
                    tag: h.tag,
                    vr: if vr == Vr::UN { Vr::UN } else { Vr::SQ },
                    value: Value::Items(items),
                    undefined_length: true,
                });
            }
            return Err(self.err(
                h.offset,
                format!("element {} has an undefined length but VR {vr:?}", h.tag),
            ));
        }
        let mut len = h.len as usize;
        if vr == Vr::SQ {
            if self.data.len() - self.pos < len {
                return Err(self.err(
                    h.offset,
                    format!("sequence {} runs past the end of the data", h.tag),
                ));
            }
            let start = self.pos;
            let end = start + len;
            let mark = self.recoveries.len();
            match self.read_sequence(Some(end), depth + 1, self.enc, h.tag) {
                Ok(items) => {
                    return Ok(Element {
                        tag: h.tag,
                        vr,
                        value: Value::Items(items),
                        undefined_length: false,
                    });
                }
                // In implicit VR the dictionary can be wrong about a sequence (a writer put text
                // there): keep the bytes as they are, as an unknown value.
                Err(_) if !self.enc.explicit_vr && !starts_with_item(&self.data[start..end]) => {
                    self.recoveries.truncate(mark);
                    self.recover(Recovery::SequenceAsBytes { tag: h.tag });
                    self.pos = end;
                    return Ok(Element {
                        tag: h.tag,
                        vr: Vr::UN,
                        value: Value::Bytes(Cow::Borrowed(&self.data[start..end])),
                        undefined_length: false,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        if vr == Vr::UN && self.delimiter_cut_short(len) {
            len += 4;
            self.recover(Recovery::DelimiterPastLength { tag: h.tag });
        }
        // The message is only made when the value is short (formatting it for every element
        // cost a fifth of a parse).
        if self.data.len() - self.pos < len {
            return Err(self.err(
                self.pos,
                format!(
                    "value of {} runs past the end of the data ({len} bytes declared)",
                    h.tag
                ),
            ));
        }
        let bytes = self.take(len, "value")?;
        Ok(Element {
            tag: h.tag,
            vr,
            value: Value::Bytes(Cow::Borrowed(bytes)),
            undefined_length: false,
        })
    }

    /// Whether the UN value of `len` bytes at the current position holds items (in implicit VR
    /// little endian, as UN does) and its declared length stops 4 bytes short, inside its closing
    /// delimitation item: the value ends with a delimitation tag and its zero length field
    /// follows. fo-dicom reads such a value as a sequence and lets the delimiter overrun it.
    fn delimiter_cut_short(&self, len: usize) -> bool {
        let d = &self.data[self.pos..];
        len >= 12
            && d.len() >= len + 4
            && starts_with_item(d)
            && matches!(d[len - 4..len], [0xFE, 0xFF, 0x0D | 0xDD, 0xE0])
            && d[len..len + 4] == [0, 0, 0, 0]
    }

    fn read_sequence(
        &mut self,
        end: Option<usize>,
        depth: usize,
        inner: Encoding,
        tag: Tag,
    ) -> Result<Vec<Item<'a>>> {
        if depth > MAX_DEPTH {
            return Err(self.err(
                self.pos,
                format!("sequences nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let outer = self.enc;
        self.enc = inner;
        let result = self.read_items(end, depth, tag);
        self.enc = outer;
        result
    }

    fn read_items(&mut self, end: Option<usize>, depth: usize, tag: Tag) -> Result<Vec<Item<'a>>> {
        let mut items = Vec::new();
        loop {
            if let Some(e) = end {
                if self.pos == e {
                    break;
                }
                if self.pos > e {
                    // The closing delimitation item of the last item runs exactly its 4-byte
                    // length field past the declared end, which is zero: read it whole.
                    if self.pos == e + 4
                        && self.delim_end == self.pos
                        && self.data[e..self.pos] == [0, 0, 0, 0]
                    {
                        self.recover(Recovery::DelimiterPastLength { tag });
                        break;
                    }
                    return Err(self.err(self.pos, format!("sequence {tag} overruns its length")));
                }
            } else if self.pos >= self.data.len() {
                return Err(self.err(
                    self.pos,
                    format!("sequence {tag} has no delimiter before the end of data"),
                ));
            }
            let offset = self.pos;
            let h = self.read_header()?;
            if h.tag == tags::SEQUENCE_DELIMITATION {
                self.delim_end = self.pos;
                if end.is_none() {
                    break;
                }
                // A sequence of defined length closed by a delimiter as well (fo-dicom #64).
                self.recover(Recovery::StrayDelimiter {
                    tag: h.tag,
                    top_level: false,
                });
                continue;
            }
            if h.tag != tags::ITEM {
                return Err(self.err(
                    offset,
                    format!("sequence {tag} holds {} where an item was expected", h.tag),
                ));
            }
            if h.len == UNDEFINED {
                items.push(self.read_item_body(None, depth)?);
            } else {
                let len = h.len as usize;
                if self.data.len() - self.pos < len {
                    return Err(self.err(
                        offset,
                        format!("item of {tag} runs past the end of the data"),
                    ));
                }
                let item_end = self.pos + len;
                if end.is_some_and(|e| item_end > e) {
                    return Err(self.err(offset, format!("item of {tag} overruns its sequence")));
                }
                items.push(self.read_item_body(Some(item_end), depth)?);
            }
        }
        Ok(items)
    }

    fn read_fragments(&mut self, tag: Tag) -> Result<Vec<Cow<'a, [u8]>>> {
        let mut frags = Vec::new();
        loop {
            let offset = self.pos;
            if self.pos >= self.data.len() {
                if frags.is_empty() {
                    return Err(self.err(offset, format!("encapsulated {tag} has no fragments")));
                }
                // Some writers omit the final delimiter; the fragments are all there.
                self.recover(Recovery::FragmentsUndelimited { tag });
                break;
            }
            let t = self.read_tag()?;
            let len = self.read_u32("fragment length")?;
            if t == tags::SEQUENCE_DELIMITATION {
                break;
            }
            if t != tags::ITEM || len == UNDEFINED {
                return Err(self.err(offset, format!("encapsulated {tag} holds a bad fragment")));
            }
            frags.push(Cow::Borrowed(
                self.take(len as usize, "pixel data fragment")?,
            ));
        }
        Ok(frags)
    }
}

/// The items of a sequence held in a UN value of defined length, which PS3.5 6.2.2 encodes in
/// implicit VR little endian: how a private sequence arrives from a system that did not know
/// it. Used when a table (the safe-private one) says the element is a sequence.
pub(crate) fn un_sequence(bytes: &[u8], tag: Tag) -> Result<Vec<Item<'_>>> {
    if !starts_with_item(bytes) {
        return Err(Error::Unsupported(format!("{tag} holds no items")));
    }
    let mut p = Parser::new(bytes, Encoding::IMPLICIT_LE, 0);
    p.read_sequence(Some(bytes.len()), 1, Encoding::IMPLICIT_LE, tag)
}

fn starts_with_item(b: &[u8]) -> bool {
    b.len() >= 4 && b[..4] == [0xFE, 0xFF, 0x00, 0xE0]
}

/// The transfer syntax UID of a native (uncompressed, undeflated) encoding.
#[allow(deprecated)] // Explicit VR Big Endian is retired, and still found in files
fn native_syntax(encoding: Encoding) -> &'static str {
    match (encoding.explicit_vr, encoding.big_endian) {
        (true, true) => uids::EXPLICIT_VR_BIG_ENDIAN,
        (true, false) => uids::EXPLICIT_VR_LITTLE_ENDIAN,
        _ => uids::IMPLICIT_VR_LITTLE_ENDIAN,
    }
}
