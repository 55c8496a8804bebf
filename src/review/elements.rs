//! Every element of a data set, at every depth, with its MIDI-B path and its value rendered as a
//! reviewer reads it: the one traversal the inventory and the value reviews share.

use crate::deid::safe_private::{self, PrivateAddress};
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Encoding, Item, Tag, TagExt, Value, Vr, split_values, trim_text};
use crate::dicom::path;

/// Printable ASCII runs at least this long in a binary value are read as text.
const MIN_BINARY_TEXT: usize = 6;

/// One element met by [`visit`].
#[derive(Debug)]
pub struct Visit<'v> {
    pub path: String,
    pub tag: Tag,
    pub vr: Vr,
    /// Its creator, group and offset, for a private element whose block has a creator.
    pub private: Option<PrivateAddress>,
    /// The raw value; `None` for a sequence.
    pub raw: Option<&'v [u8]>,
    /// The value as text: decoded strings, numbers, tags; `None` for a sequence or an opaque
    /// binary value.
    pub text: Option<String>,
}

impl Visit<'_> {
    /// Length of the value in bytes, padding excluded for text.
    pub fn length(&self) -> usize {
        match self.raw {
            Some(r) if self.vr.is_text() => trim_text(self.vr, r).len(),
            Some(r) => r.len(),
            None => 0,
        }
    }

    /// Readable text hidden in a binary value (OB, OW, UN, ...): ASCII runs and UTF-16LE runs of
    /// printable characters, as a reviewer would want them flagged.
    pub fn binary_text(&self) -> Vec<String> {
        match (self.raw, &self.text) {
            (Some(raw), None) => binary_text(raw),
            _ => Vec::new(),
        }
    }
}

/// Calls `f` for every element of `item` and its sequences, depth first, in file order.
/// Private creator elements are visited too (their value names the creator).
pub fn visit(
    item: &Item<'_>,
    encoding: Encoding,
    parent_cs: &CharacterSet,
    f: &mut impl FnMut(&Visit<'_>),
) {
    walk(item, encoding, parent_cs, "", f);
}

fn walk(
    item: &Item<'_>,
    encoding: Encoding,
    parent_cs: &CharacterSet,
    parent: &str,
    f: &mut impl FnMut(&Visit<'_>),
) {
    let cs = CharacterSet::from_item(item, parent_cs);
    let creators = safe_private::creators(item);
    for e in &item.elements {
        let private = safe_private::address(e.tag, &creators);
        let p = path::element(parent, e.tag, private.as_ref().map(|a| a.display()));
        let raw = e.raw();
        f(&Visit {
            text: raw.and_then(|r| render(e.tag, e.vr, r, encoding, &cs)),
            path: p.clone(),
            tag: e.tag,
            vr: e.vr,
            private,
            raw,
        });
        if let Value::Items(items) = &e.value {
            for (i, it) in items.iter().enumerate() {
                walk(it, encoding, &cs, &path::item(&p, i), f);
            }
        }
    }
}

/// A value as text: strings decoded in the character set (values joined by `\`), binary numbers
/// in the data set's byte order, tags as `(gggg,eeee)`; `None` for opaque bytes.
pub fn render(tag: Tag, vr: Vr, raw: &[u8], enc: Encoding, cs: &CharacterSet) -> Option<String> {
    if vr.is_text() {
        let parts: Vec<String> = split_values(vr, raw)
            .into_iter()
            .map(|v| {
                let v = trim_text(vr, v);
                let decoded = if vr.uses_character_set() {
                    cs.decode_lossy(v)
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                decoded.trim().to_string()
            })
            .collect();
        return Some(parts.join("\\"));
    }
    // A private value with no VR of its own is opaque; so are the O* VRs.
    if tag.is_private() && vr == Vr::UN {
        return None;
    }
    numbers(vr, raw, enc)
}

fn numbers(vr: Vr, raw: &[u8], enc: Encoding) -> Option<String> {
    let w = vr.binary_width();
    let words = |n: usize| raw.chunks_exact(n);
    let u32_of = |b: &[u8]| enc.u32(b.try_into().unwrap_or([0; 4]));
    let u64_of = |b: &[u8]| enc.u64(b.try_into().unwrap_or([0; 8]));
    let out: Vec<String> = match vr {
        Vr::US => words(w)
            .map(|b| enc.u16([b[0], b[1]]).to_string())
            .collect(),
        Vr::SS => words(w)
            .map(|b| (enc.u16([b[0], b[1]]) as i16).to_string())
            .collect(),
        Vr::UL => words(w)
            .map(|b| enc.u32([b[0], b[1], b[2], b[3]]).to_string())
            .collect(),
        Vr::SL => words(w)
            .map(|b| (enc.u32([b[0], b[1], b[2], b[3]]) as i32).to_string())
            .collect(),
        Vr::FL => words(w)
            .map(|b| f32::from_bits(u32_of(b)).to_string())
            .collect(),
        Vr::FD => words(w)
            .map(|b| f64::from_bits(u64_of(b)).to_string())
            .collect(),
        Vr::UV => words(w).map(|b| u64_of(b).to_string()).collect(),
        Vr::SV => words(w).map(|b| (u64_of(b) as i64).to_string()).collect(),
        Vr::AT => words(4)
            .map(|b| path::tag(Tag(enc.u16([b[0], b[1]]), enc.u16([b[2], b[3]]))))
            .collect(),
        _ => return None,
    };
    Some(out.join("\\"))
}

/// Printable runs in binary data, read as ASCII and as UTF-16LE (Siemens and others keep
/// 16-bit text in private binary values).
pub fn binary_text(raw: &[u8]) -> Vec<String> {
    let printable = |b: u8| (0x20..0x7F).contains(&b);
    let mut out = Vec::new();
    let mut push = |run: &mut String| {
        if run.trim().len() >= MIN_BINARY_TEXT {
            out.push(run.trim().to_string());
        }
        run.clear();
    };
    let mut run = String::new();
    for &b in raw {
        if printable(b) {
            run.push(b as char);
        } else {
            push(&mut run);
        }
    }
    push(&mut run);
    for start in 0..2 {
        for pair in raw.get(start..).unwrap_or_default().chunks_exact(2) {
            if pair[1] == 0 && printable(pair[0]) {
                run.push(pair[0] as char);
            } else {
                push(&mut run);
            }
        }
        push(&mut run);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::model::Element;

    #[test]
    fn visits_every_depth_with_paths_and_readable_values() {
        let mut inner = Item::default();
        inner.put(Element::text(Tag(0x0008, 0x1155), Vr::UI, "1.2.3"));
        let mut d = Item::default();
        d.put(Element::sequence(Tag(0x0008, 0x1140), vec![inner]));
        d.put(Element::text(Tag(0x0010, 0x0010), Vr::PN, "Doe^Jane "));
        d.put(Element::bytes(Tag(0x0028, 0x0010), Vr::US, vec![0, 2]));
        d.put(Element::text(Tag(0x0029, 0x0010), Vr::LO, "ACME"));
        let mut utf16: Vec<u8> = "SECRET NAME".bytes().flat_map(|b| [b, 0]).collect();
        utf16.extend([1, 2, 3]);
        d.put(Element::bytes(Tag(0x0029, 0x1001), Vr::OB, utf16));
        let mut seen = Vec::new();
        visit(
            &d,
            Encoding::EXPLICIT_LE,
            &CharacterSet::default(),
            &mut |v| seen.push((v.path.clone(), v.text.clone(), v.binary_text())),
        );
        let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "<(0008,1140)>",
                "<(0008,1140)>[<0000>]<(0008,1155)>",
                "<(0010,0010)>",
                "<(0028,0010)>",
                "<(0029,0010)>",
                "<(0029,\"ACME\",01)>"
            ]
        );
        assert_eq!(seen[2].1.as_deref(), Some("Doe^Jane"));
        assert_eq!(seen[3].1.as_deref(), Some("512"));
        assert_eq!(seen[5].1, None);
        assert_eq!(seen[5].2, ["SECRET NAME"]);
    }
}
