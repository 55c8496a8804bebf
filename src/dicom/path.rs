//! Element paths in the notation of the MIDI-B validator, which every report, the audit and the
//! studio share: `<(0008,1140)>[<0000>]<(0008,1155)>`, lower-case hex, a 4-digit item index, and
//! private elements by creator and offset, `<(0009,"GEMS_IDEN_01",10)>`, so that a path does not
//! depend on the block a creator happened to be given.
//!
//! A *pattern* replaces every item index with `*`; a *signature* is the form of TCIA's private
//! tag knowledge base and Posda (`(0009,"GEIIS",10)[<0>](0028,0002)`, the item marker numbering
//! the nesting depth), used to join a path with those dictionaries.

use crate::dicom::model::Tag;

// Paths are made for every element the engine touches (the audit) and the verifier reports:
// written by hand rather than through `format!`, which cost several times as much.

/// Appends `v` as `digits` lower-case hex digits.
fn push_hex(s: &mut String, v: u32, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for k in (0..digits).rev() {
        s.push(HEX[((v >> (4 * k)) & 0xF) as usize] as char);
    }
}

fn push_tag(s: &mut String, t: Tag) {
    s.push('(');
    push_hex(s, t.group() as u32, 4);
    s.push(',');
    push_hex(s, t.element() as u32, 4);
    s.push(')');
}

/// `(gggg,eeee)` in lower-case hex.
pub fn tag(t: Tag) -> String {
    let mut s = String::with_capacity(11);
    push_tag(&mut s, t);
    s
}

/// `(gggg,"CREATOR",oo)`: a private element by its creator (upper-cased) and block offset.
pub fn private(group: u16, creator: &str, offset: u8) -> String {
    let creator = creator.trim();
    let mut s = String::with_capacity(creator.len() + 13);
    s.push('(');
    push_hex(&mut s, group as u32, 4);
    s.push_str(",\"");
    s.extend(creator.chars().map(|c| c.to_ascii_uppercase()));
    s.push_str("\",");
    push_hex(&mut s, offset as u32, 2);
    s.push(')');
    s
}

/// The path of an element below `parent`, given how it is addressed (`private` when it sits in
/// a block whose creator is known).
pub fn element(parent: &str, t: Tag, private_form: Option<String>) -> String {
    let mut s =
        String::with_capacity(parent.len() + 13 + private_form.as_ref().map_or(0, String::len));
    s.push_str(parent);
    s.push('<');
    match private_form {
        Some(p) => s.push_str(&p),
        None => push_tag(&mut s, t),
    }
    s.push('>');
    s
}

/// The path of item `index` of the sequence at `parent`.
pub fn item(parent: &str, index: usize) -> String {
    let digits = index.to_string();
    let mut s = String::with_capacity(parent.len() + 8 + digits.len());
    s.push_str(parent);
    s.push_str("[<");
    for _ in digits.len()..4 {
        s.push('0');
    }
    s.push_str(&digits);
    s.push_str(">]");
    s
}

/// The path with every item index replaced by `*`: one row per element wherever it repeats.
pub fn pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find("[<") {
        out.push_str(&rest[..i]);
        match rest[i..].find(">]") {
            Some(j) => {
                out.push_str("[<*>]");
                rest = &rest[i + j + 2..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The knowledge-base signature of a path: no angle brackets around elements, each item level
/// written `[<n>]` with n its nesting depth.
pub fn signature(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for (n, part) in pattern(path).split("[<*>]").enumerate() {
        if n > 0 {
            out.push_str(&format!("[<{depth}>]"));
            depth += 1;
        }
        out.push_str(part.trim_start_matches('<').trim_end_matches('>'));
    }
    out
}

/// The nesting depth of a path (0 at the top level).
pub fn depth(path: &str) -> usize {
    path.matches("[<").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midi_b_paths_patterns_and_signatures() {
        let seq = element("", Tag(0x0008, 0x1140), None);
        let p = element(&item(&seq, 12), Tag(0x0008, 0x1155), None);
        assert_eq!(p, "<(0008,1140)>[<0012>]<(0008,1155)>");
        assert_eq!(pattern(&p), "<(0008,1140)>[<*>]<(0008,1155)>");
        assert_eq!(signature(&p), "(0008,1140)[<0>](0008,1155)");
        assert_eq!(depth(&p), 1);
        let priv_seq = element(
            "",
            Tag(0x0009, 0x1010),
            Some(private(0x0009, "GEIIS ", 0x10)),
        );
        let inner = element(&item(&priv_seq, 0), Tag(0x7FE0, 0x0010), None);
        let deeper = element(&item(&inner, 3), Tag(0x0028, 0x0010), None);
        assert_eq!(
            signature(&deeper),
            "(0009,\"GEIIS\",10)[<0>](7fe0,0010)[<1>](0028,0010)"
        );
        assert_eq!(pattern("<(0010,0010)>"), "<(0010,0010)>");
        assert_eq!(item("", 12345), "[<12345>]");
        assert_eq!(
            private(0x0029, " Siemens csa ", 0x0a),
            "(0029,\"SIEMENS CSA\",0a)"
        );
        assert_eq!(tag(Tag(0xFFFE, 0xE00D)), "(fffe,e00d)");
    }
}
