//! Writes a [`FileObject`] back in its own transfer syntax (PS3.10 file format).
//!
//! Elements are written in the order and encoding they were read; sequences and items keep their
//! defined or undefined length style. Output is a pure function of the object: no clocks, no
//! randomness, so the same input and key always give the same bytes.

use crate::dicom::model::{Element, Encoding, FileObject, Item, Tag, Value, Vr, tags};
use crate::error::{Error, Result};

/// Serialises a file: zeroed preamble, `DICM`, the meta group with its group length, the data set.
pub fn write_file(obj: &FileObject<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(estimate(&obj.dataset) + 1024);
    out.extend_from_slice(&[0u8; 128]);
    out.extend_from_slice(b"DICM");
    let mut meta = Vec::new();
    for e in &obj.meta.elements {
        write_element(e, Encoding::EXPLICIT_LE, &mut meta)?;
    }
    let gl = Element::bytes(
        tags::FILE_META_INFORMATION_GROUP_LENGTH,
        Vr::UL,
        (meta.len() as u32).to_le_bytes().to_vec(),
    );
    write_element(&gl, Encoding::EXPLICIT_LE, &mut out)?;
    out.extend_from_slice(&meta);
    if obj.encoding.deflated {
        let mut body = Vec::new();
        write_item_body(&obj.dataset, obj.encoding, &mut body)?;
        let mut enc = crate::dicom::inflate::Deflater::new(Vec::new());
        enc.write(&body)
            .map_err(|_| Error::Unsupported("deflate failed".into()))?;
        let deflated = enc
            .finish()
            .map_err(|_| Error::Unsupported("deflate failed".into()))?;
        out.extend_from_slice(&deflated);
    } else {
        write_item_body(&obj.dataset, obj.encoding, &mut out)?;
    }
    Ok(out)
}

fn estimate(item: &Item<'_>) -> usize {
    item.elements
        .iter()
        .map(|e| match &e.value {
            Value::Bytes(b) => b.len() + 12,
            Value::Items(items) => items.iter().map(estimate).sum::<usize>() + 16,
            Value::Fragments(f) => f.iter().map(|x| x.len() + 8).sum::<usize>() + 16,
        })
        .sum()
}

/// Writes the elements of an item or data set.
pub fn write_item_body(item: &Item<'_>, enc: Encoding, out: &mut Vec<u8>) -> Result<()> {
    for e in &item.elements {
        write_element(e, enc, out)?;
    }
    Ok(())
}

fn put_tag(enc: Encoding, out: &mut Vec<u8>, tag: Tag) {
    enc.put_u16(out, tag.group());
    enc.put_u16(out, tag.element());
}

fn put_header(enc: Encoding, out: &mut Vec<u8>, tag: Tag, vr: Vr, len: u32) -> Result<()> {
    put_tag(enc, out, tag);
    if enc.explicit_vr {
        out.extend_from_slice(&vr.0);
        if vr.has_long_header() {
            out.extend_from_slice(&[0, 0]);
            enc.put_u32(out, len);
        } else {
            let short = u16::try_from(len).map_err(|_| {
                Error::Unsupported(format!("element {tag} is too long for VR {vr:?}"))
            })?;
            enc.put_u16(out, short);
        }
    } else {
        enc.put_u32(out, len);
    }
    Ok(())
}

fn write_element(e: &Element<'_>, enc: Encoding, out: &mut Vec<u8>) -> Result<()> {
    match &e.value {
        Value::Bytes(b) => {
            let len = u32::try_from(b.len() + b.len() % 2)
                .map_err(|_| Error::Unsupported(format!("element {} exceeds 4 GiB", e.tag)))?;
            put_header(enc, out, e.tag, e.vr, len)?;
            out.extend_from_slice(b);
            pad_to_even(e.vr, b.len(), out);
        }
        Value::Fragments(frags) => {
            put_header(enc, out, e.tag, e.vr, u32::MAX)?;
            // Only the last fragment is padded: padding an earlier one would move every
            // frame after it away from its offset in the Basic or Extended Offset Table.
            for (i, f) in frags.iter().enumerate() {
                let pad = i + 1 == frags.len() && f.len() % 2 == 1;
                put_tag(enc, out, tags::ITEM);
                enc.put_u32(out, (f.len() + pad as usize) as u32);
                out.extend_from_slice(f);
                if pad {
                    out.push(0);
                }
            }
            put_tag(enc, out, tags::SEQUENCE_DELIMITATION);
            enc.put_u32(out, 0);
        }
        Value::Items(items) => {
            // A UN sequence in an explicit-VR data set is encoded implicit VR little endian.
            let inner = if e.vr == Vr::UN && enc.explicit_vr {
                Encoding::IMPLICIT_LE
            } else {
                enc
            };
            let vr = if e.vr == Vr::UN { Vr::UN } else { Vr::SQ };
            let framing = Framing {
                undefined_length: e.undefined_length,
                delimiter: tags::SEQUENCE_DELIMITATION,
                tag: e.tag,
            };
            framing.write(
                enc,
                out,
                |out, len| put_header(enc, out, e.tag, vr, len),
                |body| write_items(items, inner, body),
            )?;
        }
    }
    Ok(())
}

/// PS3.5 7.1.1: every value has an even length. A value some writer left odd gets the padding
/// its VR prescribes (a space for text, a zero byte otherwise), so readers find the next tag.
fn pad_to_even(vr: Vr, len: usize, out: &mut Vec<u8>) {
    if len % 2 == 1 {
        out.push(if vr.is_text() && vr != Vr::UI {
            b' '
        } else {
            0
        });
    }
}

fn write_items(items: &[Item<'_>], enc: Encoding, out: &mut Vec<u8>) -> Result<()> {
    for item in items {
        let framing = Framing {
            undefined_length: item.undefined_length,
            delimiter: tags::ITEM_DELIMITATION,
            tag: tags::ITEM,
        };
        framing.write(
            enc,
            out,
            |out, len| {
                put_tag(enc, out, tags::ITEM);
                enc.put_u32(out, len);
                Ok(())
            },
            |body| write_item_body(item, enc, body),
        )?;
    }
    Ok(())
}

/// How a sequence or an item is delimited: kept as it was read, an undefined length closed by
/// its delimitation tag, or a defined length (checked to fit 32 bits).
struct Framing {
    undefined_length: bool,
    delimiter: Tag,
    /// Named in the error when a defined length does not fit.
    tag: Tag,
}

impl Framing {
    /// Writes the header (given the length to declare), the body, and the delimiter if any.
    fn write(
        &self,
        enc: Encoding,
        out: &mut Vec<u8>,
        header: impl FnOnce(&mut Vec<u8>, u32) -> Result<()>,
        body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        if self.undefined_length {
            header(out, u32::MAX)?;
            body(out)?;
            put_tag(enc, out, self.delimiter);
            enc.put_u32(out, 0);
        } else {
            let mut bytes = Vec::new();
            body(&mut bytes)?;
            let len = u32::try_from(bytes.len())
                .map_err(|_| Error::Unsupported(format!("{} is longer than 4 GiB", self.tag)))?;
            header(out, len)?;
            out.extend_from_slice(&bytes);
        }
        Ok(())
    }
}
