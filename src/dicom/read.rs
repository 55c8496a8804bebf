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

use crate::dicom::model::{Element, Encoding, FileObject, Item, Tag, TagExt, Value, Vr, tags};
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
}

/// Parses a whole file held in memory. Deflated data sets are inflated into `scratch`, which must
/// outlive the returned object.
pub fn read_file<'a>(bytes: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<FileObject<'a>> {
    let pre = read_preamble(bytes)?;
    let body = &bytes[pre.body_offset..];
    let dataset = if pre.encoding.deflated {
        inflate(body, scratch, pre.body_offset)?;
        read_dataset(scratch, pre.encoding, 0)?
    } else {
        read_dataset(body, pre.encoding, pre.body_offset)?
    };
    Ok(FileObject {
        meta: pre.meta,
        dataset,
        transfer_syntax: pre.transfer_syntax,
        encoding: pre.encoding,
    })
}

fn inflate(body: &[u8], out: &mut Vec<u8>, offset: usize) -> Result<()> {
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
    let meta_start =
        if bytes.len() >= 134 && &bytes[128..132] == b"DICM" && bytes[132..134] == [0x02, 0x00] {
            Some(132)
        } else if bytes.len() >= 8
            && bytes[0..2] == [0x02, 0x00]
            && Vr::from_bytes([bytes[4], bytes[5]]).is_some()
        {
            Some(0) // a meta group without preamble
        } else {
            None
        };
    if let Some(start) = meta_start {
        let mut p = Parser::new(bytes, Encoding::EXPLICIT_LE, 0);
        p.pos = start;
        let mut meta = Item::default();
        while p.pos + 4 <= bytes.len() {
            let group = u16::from_le_bytes([bytes[p.pos], bytes[p.pos + 1]]);
            if group != 0x0002 {
                break;
            }
            let e = p.read_element(0)?;
            if e.tag != tags::FILE_META_INFORMATION_GROUP_LENGTH {
                meta.elements.push(e);
            }
        }
        meta.elements.sort_by_key(|e| e.tag);
        let ts = meta
            .ascii(tags::TRANSFER_SYNTAX_UID)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::malformed(start, "file meta information has no Transfer Syntax UID")
            })?;
        let mut encoding = Encoding::from_transfer_syntax(&ts);
        let mut transfer_syntax = ts;
        // Some writers declare one little-endian syntax and write the other: trust the bytes,
        // as other readers do, and record the syntax the data set really uses.
        if let Some(actual) = sniff_native_le(&bytes[p.pos..])
            && matches!(
                transfer_syntax.as_str(),
                uids::IMPLICIT_VR_LITTLE_ENDIAN | uids::EXPLICIT_VR_LITTLE_ENDIAN
            )
            && actual != encoding
        {
            encoding = actual;
            transfer_syntax = native_le_syntax(actual).into();
        }
        return Ok(Preamble {
            encoding,
            transfer_syntax,
            meta,
            body_offset: p.pos,
        });
    }
    // No meta header: accept a bare little-endian data set starting with a group 0008 element.
    if bytes.len() >= 8 && bytes[0..2] == [0x08, 0x00] {
        let encoding = sniff_native_le(bytes).unwrap_or(Encoding::IMPLICIT_LE);
        let ts = native_le_syntax(encoding);
        return Ok(Preamble {
            meta: Item::default(),
            transfer_syntax: ts.to_string(),
            encoding,
            body_offset: 0,
        });
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

/// Parses a data set that fills `bytes`. `base` is the offset of `bytes` in the file, for errors.
pub fn read_dataset(bytes: &[u8], encoding: Encoding, base: usize) -> Result<Item<'_>> {
    let mut p = Parser::new(bytes, encoding, base);
    let mut item = p.read_item_body(None, 0)?;
    item.undefined_length = false;
    Ok(item)
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
        }
    }

    fn err(&self, at: usize, reason: impl Into<String>) -> Error {
        Error::malformed(self.base + at, reason)
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

    fn read_tag(&mut self) -> Result<Tag> {
        let b = self.take(4, "element tag")?;
        let g = self.enc.u16([b[0], b[1]]);
        let e = self.enc.u16([b[2], b[3]]);
        Ok(Tag(g, e))
    }

    fn read_header(&mut self) -> Result<Header> {
        let offset = self.pos;
        let tag = self.read_tag()?;
        // Item and delimitation tags have no VR in any syntax; implicit VR elements neither.
        if tag.group() == 0xFFFE || !self.enc.explicit_vr {
            let b = self.take(4, "element length")?;
            let len = self.enc.u32([b[0], b[1], b[2], b[3]]);
            return Ok(Header {
                tag,
                vr: None,
                len,
                offset,
            });
        }
        let vb = self.take(2, "value representation")?;
        // An unknown VR (some writers put two spaces) is read with the dictionary's VR and its
        // header layout, which is how the element will be written back.
        let vr = match Vr::from_bytes([vb[0], vb[1]]) {
            Some(vr) => vr,
            None if vb.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => implicit_vr(tag),
            None => return Err(self.err(offset, format!("element {tag} has an invalid VR"))),
        };
        let len = if vr.has_long_header() {
            self.take(2, "reserved bytes")?;
            let b = self.take(4, "element length")?;
            self.enc.u32([b[0], b[1], b[2], b[3]])
        } else {
            let b = self.take(2, "element length")?;
            self.enc.u16([b[0], b[1]]) as u32
        };
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
        let mut last: Option<Tag> = None;
        loop {
            if self.pos >= limit {
                if end.is_none() && depth > 0 {
                    return Err(self.err(self.pos, "item has no delimiter before the end of data"));
                }
                break;
            }
            // Trailing padding at the end of a file (some writers add NULs): tolerated at top level.
            if depth == 0 && self.data[self.pos..limit].iter().all(|&b| b == 0) {
                self.pos = limit;
                break;
            }
            let start = self.pos;
            let el = self.read_element(depth)?;
            if el.tag == tags::ITEM_DELIMITATION {
                if end.is_none() && depth > 0 {
                    break;
                }
                continue; // a stray delimiter in a defined-length item: skip it
            }
            if el.tag.group() == 0xFFFE {
                return Err(self.err(start, format!("unexpected {} inside a data set", el.tag)));
            }
            if self.pos > limit {
                return Err(self.err(start, format!("element {} runs past its item", el.tag)));
            }
            if el.tag.element() == 0x0000 && el.tag.group() != 0x0000 {
                continue; // group lengths are retired and recomputed by nobody: drop them
            }
            if last.is_some_and(|t| t >= el.tag) {
                // Out-of-order or duplicate tags: keep the data set sorted, last one wins.
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

    fn read_element(&mut self, depth: usize) -> Result<Element<'a>> {
        let h = self.read_header()?;
        if h.tag.group() == 0xFFFE {
            if h.tag == tags::ITEM_DELIMITATION || h.tag == tags::SEQUENCE_DELIMITATION {
                return Ok(Element::bytes(h.tag, Vr::UN, Vec::new()));
            }
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
        let len = h.len as usize;
        if vr == Vr::SQ {
            if self.data.len() - self.pos < len {
                return Err(self.err(
                    h.offset,
                    format!("sequence {} runs past the end of the data", h.tag),
                ));
            }
            let start = self.pos;
            let end = start + len;
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
        let what = format!("value of {}", h.tag);
        let bytes = self.take(len, &what)?;
        Ok(Element {
            tag: h.tag,
            vr,
            value: Value::Bytes(Cow::Borrowed(bytes)),
            undefined_length: false,
        })
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
                if end.is_none() {
                    break;
                }
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
                break;
            }
            let t = self.read_tag()?;
            let b = self.take(4, "fragment length")?;
            let len = self.enc.u32([b[0], b[1], b[2], b[3]]);
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

fn starts_with_item(b: &[u8]) -> bool {
    b.len() >= 4 && b[..4] == [0xFE, 0xFF, 0x00, 0xE0]
}

/// The transfer syntax UID of a native little-endian encoding.
fn native_le_syntax(encoding: Encoding) -> &'static str {
    if encoding.explicit_vr {
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    } else {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    }
}
