//! Specific Character Set (0008,0005) handling (PS3.5 6.1 and PS3.3 C.12.1.1.2).
//!
//! Text is decoded to find identifying values inside descriptors, and re-encoded after cleaning.
//! Single-byte and Unicode sets go through `encoding_rs`; ISO 2022 code extension (escape
//! sequences switching between ASCII, Latin, JIS X 0208, KS X 1001 and GB 2312) is handled here.
//! When text cannot be decoded or re-encoded exactly, callers are told so and must fall back to a
//! safe action rather than guess.

use encoding_rs::{
    EUC_JP, EUC_KR, Encoding as TextEncoding, GB18030, GBK, ISO_8859_2, ISO_8859_3, ISO_8859_4,
    ISO_8859_5, ISO_8859_6, ISO_8859_7, ISO_8859_8, ISO_8859_15, SHIFT_JIS, UTF_8, WINDOWS_874,
    WINDOWS_1252, WINDOWS_1254,
};

use crate::dicom::model::{Item, split_values, tags};

/// A graphic character set that can be designated by ISO 2022 escape sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G {
    Ascii,
    /// A single-byte set used in G1 (bytes 0xA0-0xFF), e.g. ISO-IR 100.
    HighSingle(&'static TextEncoding, &'static [u8]),
    /// JIS X 0201 katakana in G1.
    Katakana,
    /// JIS X 0208 in G0 (two 7-bit bytes per character).
    Jis0208,
    /// KS X 1001 in G1 (two bytes with the high bit set).
    Ksx1001,
    /// GB 2312 in G1.
    Gb2312,
}

impl G {
    fn escape(self) -> &'static [u8] {
        match self {
            G::Ascii => b"\x1b(B",
            G::HighSingle(_, esc) => esc,
            G::Katakana => b"\x1b)I",
            G::Jis0208 => b"\x1b$B",
            G::Ksx1001 => b"\x1b$)C",
            G::Gb2312 => b"\x1b$)A",
        }
    }
    fn is_g0(self) -> bool {
        matches!(self, G::Ascii | G::Jis0208)
    }
}

const LATIN: [(&str, &[u8], &TextEncoding); 11] = [
    ("100", b"\x1b-A", WINDOWS_1252),
    ("101", b"\x1b-B", ISO_8859_2),
    ("109", b"\x1b-C", ISO_8859_3),
    ("110", b"\x1b-D", ISO_8859_4),
    ("144", b"\x1b-L", ISO_8859_5),
    ("127", b"\x1b-G", ISO_8859_6),
    ("126", b"\x1b-F", ISO_8859_7),
    ("138", b"\x1b-H", ISO_8859_8),
    ("148", b"\x1b-M", WINDOWS_1254),
    ("203", b"\x1b-b", ISO_8859_15),
    ("166", b"\x1b-T", WINDOWS_874),
];

/// The character set of one data set, from its Specific Character Set values.
#[derive(Debug, Clone, PartialEq)]
pub struct CharacterSet {
    /// Set when the data set uses one code page without code extensions.
    plain: Option<&'static TextEncoding>,
    /// The sets designated by the ISO 2022 defined terms.
    iso2022: Vec<G>,
    /// The set of the first defined term, designated at the start of every value.
    first: G,
}

impl Default for CharacterSet {
    fn default() -> Self {
        CharacterSet {
            plain: Some(WINDOWS_1252),
            iso2022: vec![G::Ascii],
            first: G::Ascii,
        }
    }
}

fn term_to_g(term: &str) -> Option<G> {
    let num = term
        .strip_prefix("ISO 2022 IR ")
        .or_else(|| term.strip_prefix("ISO_IR "))?;
    Some(match num {
        "6" => G::Ascii,
        "13" => G::Katakana,
        "87" | "159" => G::Jis0208,
        "149" => G::Ksx1001,
        "58" => G::Gb2312,
        n => {
            let (_, esc, enc) = LATIN.iter().find(|(k, _, _)| *k == n)?;
            G::HighSingle(enc, esc)
        }
    })
}

impl CharacterSet {
    /// Reads (0008,0005) of a data set; an item inherits its parent's set unless it has its own.
    pub fn from_item(item: &Item<'_>, parent: &CharacterSet) -> CharacterSet {
        let Some(e) = item.get(tags::SPECIFIC_CHARACTER_SET) else {
            return parent.clone();
        };
        let Some(raw) = e.raw() else {
            return parent.clone();
        };
        let terms: Vec<String> = split_values(e.vr, raw)
            .into_iter()
            .map(|t| String::from_utf8_lossy(t).trim().to_string())
            .collect();
        CharacterSet::from_terms(&terms)
    }

    /// Builds the set from the defined terms of (0008,0005).
    pub fn from_terms(terms: &[String]) -> CharacterSet {
        let first = terms.first().map(String::as_str).unwrap_or("");
        let plain: Option<&'static TextEncoding> = match first {
            // encoding_rs follows WHATWG, where the ISO-8859-1 label means windows-1252; it is a
            // superset, so the default repertoire and ISO_IR 100 are read leniently with it.
            "" | "ISO_IR 6" => Some(WINDOWS_1252),
            "ISO_IR 192" => Some(UTF_8),
            "GB18030" => Some(GB18030),
            "GBK" => Some(GBK),
            "ISO_IR 13" => Some(SHIFT_JIS),
            t => match term_to_g(t) {
                Some(G::HighSingle(enc, _)) if !t.starts_with("ISO 2022") => Some(enc),
                _ => None,
            },
        };
        let mut iso2022: Vec<G> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let g = if t.is_empty() && i == 0 {
                Some(G::Ascii)
            } else {
                term_to_g(t)
            };
            if let Some(g) = g
                && !iso2022.contains(&g)
            {
                iso2022.push(g);
            }
        }
        if !iso2022.contains(&G::Ascii) {
            iso2022.insert(0, G::Ascii);
        }
        let plain = if terms.len() > 1 && plain != Some(UTF_8) && plain != Some(GB18030) {
            None
        } else {
            plain
        };
        let first = term_to_g(first).unwrap_or(G::Ascii);
        CharacterSet {
            plain,
            iso2022,
            first,
        }
    }

    fn initial(&self) -> (G, Option<G>) {
        if self.first.is_g0() {
            (self.first, None)
        } else {
            (G::Ascii, Some(self.first))
        }
    }

    /// Decodes text bytes. Returns `None` when the bytes are not valid in the declared set.
    pub fn decode(&self, bytes: &[u8]) -> Option<String> {
        if !bytes.contains(&0x1b)
            && let Some(enc) = self.plain
        {
            let (s, had_errors) = enc.decode_without_bom_handling(bytes);
            return (!had_errors).then(|| s.into_owned());
        }
        self.decode_iso2022(bytes)
    }

    /// Decodes text bytes, or, when they are not valid in the declared set (files often
    /// mislabel theirs), reads them as UTF-8 with replacement characters: what every reader of
    /// values for matching, review or reports wants, so that a value is never lost.
    pub fn decode_lossy(&self, bytes: &[u8]) -> String {
        self.decode(bytes)
            .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
    }

    fn decode_iso2022(&self, bytes: &[u8]) -> Option<String> {
        let (init0, init1) = self.initial();
        let (mut g0, mut g1) = (init0, init1);
        let mut out = String::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == 0x1b {
                let (g, len) = parse_escape(&bytes[i..])?;
                if g.is_g0() {
                    g0 = g;
                } else {
                    g1 = Some(g);
                }
                i += len;
                continue;
            }
            if b < 0x80 {
                if matches!(b, b'\\' | b'^' | b'=' | b'\r' | b'\n' | b'\t' | 0x0c) {
                    out.push(b as char);
                    g0 = init0;
                    g1 = init1;
                    i += 1;
                    continue;
                }
                match g0 {
                    G::Jis0208 => {
                        let second = *bytes.get(i + 1)?;
                        let pair = [b | 0x80, second | 0x80];
                        let (s, err) = EUC_JP.decode_without_bom_handling(&pair);
                        if err {
                            return None;
                        }
                        out.push_str(&s);
                        i += 2;
                    }
                    _ => {
                        out.push(b as char);
                        i += 1;
                    }
                }
                continue;
            }
            match g1? {
                G::HighSingle(enc, _) => {
                    let (s, err) = enc.decode_without_bom_handling(&bytes[i..i + 1]);
                    if err {
                        return None;
                    }
                    out.push_str(&s);
                    i += 1;
                }
                G::Katakana => {
                    let (s, err) = SHIFT_JIS.decode_without_bom_handling(&bytes[i..i + 1]);
                    if err {
                        return None;
                    }
                    out.push_str(&s);
                    i += 1;
                }
                G::Ksx1001 | G::Gb2312 => {
                    let second = *bytes.get(i + 1)?;
                    let enc = if g1 == Some(G::Ksx1001) { EUC_KR } else { GBK };
                    let pair = [b, second];
                    let (s, err) = enc.decode_without_bom_handling(&pair);
                    if err {
                        return None;
                    }
                    out.push_str(&s);
                    i += 2;
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// Encodes text in this set. Returns `None` when a character has no encoding in it.
    pub fn encode(&self, text: &str) -> Option<Vec<u8>> {
        if let Some(enc) = self.plain {
            let (bytes, _, had_errors) = enc.encode(text);
            return (!had_errors).then(|| bytes.into_owned());
        }
        let (init0, init1) = self.initial();
        let (mut g0, mut g1) = (init0, init1);
        let mut out = Vec::new();
        let mut buf = [0u8; 4];
        for c in text.chars() {
            if c.is_ascii() {
                if g0 != G::Ascii {
                    out.extend_from_slice(G::Ascii.escape());
                    g0 = G::Ascii;
                }
                out.push(c as u8);
                if matches!(c, '\\' | '^' | '=' | '\r' | '\n' | '\t' | '\x0c') {
                    g0 = init0;
                    g1 = init1;
                    if init0 != G::Ascii {
                        return None;
                    }
                }
                continue;
            }
            let s = c.encode_utf8(&mut buf);
            let mut done = false;
            for &g in &self.iso2022 {
                let (enc, two_byte_g0) = match g {
                    G::Ascii => continue,
                    G::HighSingle(enc, _) => (enc, false),
                    G::Katakana => (SHIFT_JIS, false),
                    G::Jis0208 => (EUC_JP, true),
                    G::Ksx1001 => (EUC_KR, false),
                    G::Gb2312 => (GBK, false),
                };
                let (bytes, _, err) = enc.encode(s);
                let ok = !err
                    && match g {
                        G::HighSingle(..) | G::Katakana => bytes.len() == 1 && bytes[0] >= 0xa0,
                        _ => bytes.len() == 2 && bytes[0] >= 0xa1 && bytes[1] >= 0xa1,
                    };
                if !ok {
                    continue;
                }
                if two_byte_g0 {
                    if g0 != g {
                        out.extend_from_slice(g.escape());
                        g0 = g;
                    }
                    out.extend(bytes.iter().map(|b| b & 0x7f));
                } else {
                    if g1 != Some(g) {
                        out.extend_from_slice(g.escape());
                        g1 = Some(g);
                    }
                    out.extend_from_slice(&bytes);
                }
                done = true;
                break;
            }
            if !done {
                return None;
            }
        }
        if g0 != G::Ascii {
            out.extend_from_slice(G::Ascii.escape());
        }
        Some(out)
    }
}

fn parse_escape(b: &[u8]) -> Option<(G, usize)> {
    let table: [(&[u8], G); 8] = [
        (b"\x1b(B", G::Ascii),
        (b"\x1b(J", G::Ascii),
        (b"\x1b$B", G::Jis0208),
        (b"\x1b$(D", G::Jis0208),
        (b"\x1b)I", G::Katakana),
        (b"\x1b$)C", G::Ksx1001),
        (b"\x1b$)A", G::Gb2312),
        (b"\x1b$A", G::Gb2312),
    ];
    for (esc, g) in table {
        if b.starts_with(esc) {
            return Some((g, esc.len()));
        }
    }
    for (_, esc, enc) in LATIN {
        if b.starts_with(esc) {
            return Some((G::HighSingle(enc, esc), esc.len()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(t: &[&str]) -> CharacterSet {
        CharacterSet::from_terms(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn latin1_round_trips() {
        let c = cs(&["ISO_IR 100"]);
        let s = c.decode(b"M\xfcller^Fran\xe7ois").unwrap();
        assert_eq!(s, "Müller^François");
        assert_eq!(c.encode(&s).unwrap(), b"M\xfcller^Fran\xe7ois");
    }

    #[test]
    fn japanese_iso2022_round_trips() {
        // PS3.5 Annex H example: Yamada^Tarou=山田^太郎=やまだ^たろう
        let bytes =
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
        let c = cs(&["", "ISO 2022 IR 87"]);
        let s = c.decode(bytes).unwrap();
        assert_eq!(s, "Yamada^Tarou=山田^太郎=やまだ^たろう");
        assert_eq!(c.encode(&s).unwrap(), bytes.to_vec());
    }

    #[test]
    fn korean_iso2022_round_trips() {
        // PS3.5 Annex I example: Hong^Gildong=洪^吉洞=홍^길동
        let bytes = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        let c = cs(&["", "ISO 2022 IR 149"]);
        let s = c.decode(bytes).unwrap();
        assert_eq!(s, "Hong^Gildong=洪^吉洞=홍^길동");
        assert_eq!(c.encode(&s).unwrap(), bytes.to_vec());
    }

    #[test]
    fn utf8_and_unencodable() {
        let c = cs(&["ISO_IR 192"]);
        assert_eq!(c.decode("Åström".as_bytes()).unwrap(), "Åström");
        let latin = cs(&["ISO_IR 100"]);
        assert!(latin.encode("山田").is_none());
        assert!(cs(&["ISO_IR 192"]).decode(b"\xff\xfe").is_none());
    }
}
