//! The tokens the verifier compares: the normalised words of a text, their short runs (n-grams),
//! dates and telephone numbers, each reduced to a keyed 64-bit hash so that per-file state holds
//! no text.
//!
//! A *word* is a run of letters and digits (any script), upper-cased; a dot between two digits
//! stays inside it, so a UID (`1.2.840.1`) or a decimal (`12.5`) is one word and a date written
//! `1945.09.30` does not fall apart into numbers. A value is normalised by concatenating its
//! words (`Doe, Jane` → `DOEJANE`, `ACC-778899` → `ACC778899`), and a text yields every run of one
//! to four neighbouring words the same way, so a harvested value is found wherever its words
//! stand together.

use serde::{Deserialize, Serialize};

use crate::deid::key::ProjectKey;
use crate::review::patterns::{find_dates, phone_spans};

/// What a token stands for: words (and UIDs), calendar dates (`YYYYMMDD`), or the digits of a
/// telephone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    Word,
    Date,
    Phone,
}

/// How a token was found in an output (the report's `match_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The whole value.
    Exact,
    /// Words inside a text.
    Token,
    /// A name part, as a whole word.
    NamePart,
    /// A date written in any of its forms.
    DateVariant,
    /// Text inside a binary value, as UTF-16LE.
    Utf16,
    /// Text inside a binary value, as ASCII.
    BinaryAscii,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Token => "token",
            MatchKind::NamePart => "name_part",
            MatchKind::DateVariant => "date_variant",
            MatchKind::Utf16 => "utf16",
            MatchKind::BinaryAscii => "binary_ascii",
        }
    }
}

/// The keyed hash of tokens: XXH3 seeded from the project key. Fast enough for every word of
/// every output; it never leaves the run (reports carry [`ProjectKey::mac`] codes instead).
#[derive(Debug, Clone, Copy)]
pub struct Hasher {
    seed: u64,
}

impl Hasher {
    pub fn new(key: &ProjectKey) -> Hasher {
        let m = key.mac("residual-phi-token", b"");
        Hasher {
            seed: u64::from_le_bytes(m[..8].try_into().expect("8 bytes")),
        }
    }

    pub fn hash(&self, domain: Domain, norm: &str) -> u64 {
        let d = match domain {
            Domain::Word => 0x9E37_79B9_7F4A_7C15u64,
            Domain::Date => 0xC2B2_AE3D_27D4_EB4F,
            Domain::Phone => 0x1656_67B1_9E37_79F9,
        };
        xxhash_rust::xxh3::xxh3_64_with_seed(norm.as_bytes(), self.seed ^ d)
    }
}

/// One word of a text: its byte range and its normalised form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub norm: String,
}

impl Word {
    /// Digits only (and the dots of a decimal or UID).
    pub fn numeric(&self) -> bool {
        self.norm.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    }

    /// Letters only.
    pub fn alphabetic(&self) -> bool {
        self.norm.chars().all(char::is_alphabetic)
    }
}

/// Upper case, one character for one (so offsets stay comparable); `ß` stays `ß`.
fn upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Where one word stands in a text (`start..end`) and in [`Words::buf`] (`norm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub norm: (usize, usize),
    /// Digits only (and the dots of a decimal or UID).
    pub numeric: bool,
    /// Letters only.
    pub alphabetic: bool,
}

/// The words of a text, their normalised forms side by side in one buffer, so that a run of
/// neighbouring words is one slice of it.
#[derive(Debug, Clone, Default)]
pub struct Words {
    pub buf: String,
    pub spans: Vec<Span>,
}

impl Words {
    /// The words of `text`.
    pub fn of(text: &str) -> Words {
        let mut w = Words::default();
        w.scan(text);
        w
    }

    /// Reads the words of `text`, replacing what was there.
    pub fn scan(&mut self, text: &str) {
        self.buf.clear();
        self.spans.clear();
        let mut cur: Option<Span> = None;
        let mut prev = '\0';
        for (i, c) in text.char_indices() {
            let dot = c == '.'
                && cur.is_some()
                && prev.is_ascii_digit()
                && text[i + 1..].starts_with(|n: char| n.is_ascii_digit());
            if c.is_alphanumeric() || dot {
                let span = cur.get_or_insert(Span {
                    start: i,
                    end: i,
                    norm: (self.buf.len(), 0),
                    numeric: true,
                    alphabetic: true,
                });
                if dot {
                    self.buf.push('.');
                    span.alphabetic = false;
                } else {
                    self.buf.push(upper(c));
                    span.numeric &= c.is_ascii_digit();
                    span.alphabetic &= c.is_alphabetic();
                }
                span.end = i + c.len_utf8();
            } else if let Some(mut span) = cur.take() {
                span.norm.1 = self.buf.len();
                self.spans.push(span);
            }
            prev = c;
        }
        if let Some(mut span) = cur.take() {
            span.norm.1 = self.buf.len();
            self.spans.push(span);
        }
    }

    /// The normalised form of word `i`.
    pub fn norm(&self, i: usize) -> &str {
        let (s, e) = self.spans[i].norm;
        &self.buf[s..e]
    }
}

/// The words of a text.
pub fn words(text: &str) -> Vec<Word> {
    let w = Words::of(text);
    (0..w.spans.len())
        .map(|i| Word {
            start: w.spans[i].start,
            end: w.spans[i].end,
            norm: w.norm(i).to_string(),
        })
        .collect()
}

/// A value in the form it is compared in: its words, concatenated.
pub fn normalise(text: &str) -> String {
    Words::of(text).buf
}

/// Whether two neighbouring words may be read together: a short separator on one line; numbers
/// only across `-`, `/` or `_` (`123-456`), never across a space (`512 512` is two numbers).
fn joinable(text: &str, a: &Span, b: &Span) -> bool {
    let sep = &text[a.end..b.start];
    if sep.len() > 3 || sep.contains(['\n', '\r', '\t', '\\']) {
        return false;
    }
    !(a.numeric && b.numeric) || matches!(sep, "-" | "/" | "_")
}

/// Scripts written without spaces between words (Han, kana, Hangul syllables): a name may
/// stand anywhere inside a run of them.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF
        | 0x20000..=0x2FFFF)
}

/// A token found in a text: what it stands for, its normalised form, its byte range, how it was
/// found, and whether it is only part of a word (`12345678` in `MRN12345678`).
pub type Emit<'e> = dyn FnMut(Domain, &str, usize, usize, MatchKind, bool) + 'e;

/// Every token of a text, with its byte range: the whole value (as [`MatchKind::Exact`], when
/// `whole` is set), each run of one to four joinable words, and, as parts of words, the letter
/// and digit runs of mixed words (`MRN12345678` → `MRN`, `12345678`), the UID inside a word
/// (`UID1.2.3.4`) and two to four characters of unspaced scripts; dates
/// ([`MatchKind::DateVariant`]) and telephone numbers.
pub fn text_tokens(text: &str, whole: bool, emit: &mut Emit<'_>) {
    tokens_of(text, whole, true, emit)
}

/// [`text_tokens`], with dates and telephone numbers only when `shapes` is set (not in a UID).
pub fn tokens_of(text: &str, whole: bool, shapes: bool, emit: &mut Emit<'_>) {
    let w = Words::of(text);
    let ws = &w.spans;
    if ws.is_empty() {
        return;
    }
    if whole {
        emit(
            Domain::Word,
            &w.buf,
            ws[0].start,
            ws[ws.len() - 1].end,
            MatchKind::Exact,
            false,
        );
    }
    for i in 0..ws.len() {
        for j in i..(i + 4).min(ws.len()) {
            if j > i && !joinable(text, &ws[j - 1], &ws[j]) {
                break;
            }
            emit(
                Domain::Word,
                &w.buf[ws[i].norm.0..ws[j].norm.1],
                ws[i].start,
                ws[j].end,
                MatchKind::Token,
                false,
            );
        }
        sub_tokens(&ws[i], w.norm(i), emit);
    }
    let digits = if shapes {
        text.bytes().filter(u8::is_ascii_digit).count()
    } else {
        0
    };
    if digits >= 5 {
        for d in find_dates(text) {
            for date in &d.dates {
                emit(
                    Domain::Date,
                    &date.compact(),
                    d.start,
                    d.end,
                    MatchKind::DateVariant,
                    false,
                );
            }
        }
    }
    if digits >= 7 {
        let no_date = |_: usize, _: usize| false;
        for (s, e) in phone_spans(text.as_bytes(), &no_date) {
            for digits in phone_forms(&text[s..e]) {
                emit(Domain::Phone, &digits, s, e, MatchKind::Token, false);
            }
        }
    }
}

/// The tokens inside one word: letter and digit runs of a mixed word, the UID inside a word,
/// and short runs of unspaced scripts.
fn sub_tokens(w: &Span, n: &str, emit: &mut Emit<'_>) {
    if w.numeric || (w.alphabetic && n.is_ascii()) {
        return;
    }
    if n.contains('.') {
        // `UID1.2.840.1` → `1.2.840.1`.
        let s = n.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        let e = n
            .rfind(|c: char| c.is_ascii_digit())
            .map_or(n.len(), |i| i + 1);
        if (s, e) != (0, n.len()) && n[s..e].matches('.').count() >= 2 {
            emit(
                Domain::Word,
                &n[s..e],
                w.start + s,
                w.start + e,
                MatchKind::Token,
                true,
            );
        }
        return;
    }
    if n.is_ascii() {
        let b = n.as_bytes();
        let mut s = 0;
        for i in 1..=b.len() {
            if i == b.len() || b[i].is_ascii_digit() != b[s].is_ascii_digit() {
                let run = &n[s..i];
                let digits = b[s].is_ascii_digit();
                if (digits && run.len() >= 4) || (!digits && run.len() >= 3) {
                    emit(
                        Domain::Word,
                        run,
                        w.start + s,
                        w.start + i,
                        MatchKind::Token,
                        true,
                    );
                }
                s = i;
            }
        }
        return;
    }
    if !n.chars().any(unspaced) {
        return;
    }
    let offsets: Vec<usize> = n.char_indices().map(|(i, _)| i).chain([n.len()]).collect();
    let count = offsets.len() - 1;
    if count > 48 {
        return;
    }
    for i in 0..count {
        for len in 2..=4.min(count - i) {
            if len < count {
                // Offsets of the normalised word stand for the word in the text.
                let part = &n[offsets[i]..offsets[i + len]];
                emit(Domain::Word, part, w.start, w.end, MatchKind::Token, true);
            }
        }
    }
}

/// The digit forms a telephone number is compared in: all its digits, and its last ten when it
/// has a country code.
pub fn phone_forms(text: &str) -> Vec<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let mut out = Vec::new();
    if digits.len() >= 7 {
        if digits.len() > 10 {
            out.push(digits[digits.len() - 10..].to_string());
        }
        out.push(digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        let mut v = Vec::new();
        text_tokens(text, true, &mut |d, n, s, e, k, _| {
            v.push(format!("{d:?}:{n}@{s}-{e}:{}", k.as_str()))
        });
        v
    }

    fn has(text: &str, token: &str) -> bool {
        let mut found = false;
        text_tokens(text, false, &mut |_, n, _, _, _, _| found |= n == token);
        found
    }

    #[test]
    fn words_keep_uids_and_decimals_whole() {
        let w: Vec<String> = words("Doe, Jane 1.2.840.1 12.5mm v1.2.dcm 1945.09.30")
            .into_iter()
            .map(|w| w.norm)
            .collect();
        assert_eq!(
            w,
            [
                "DOE",
                "JANE",
                "1.2.840.1",
                "12.5MM",
                "V1.2",
                "DCM",
                "1945.09.30"
            ]
        );
        assert_eq!(normalise("acc-778899"), "ACC778899");
        assert_eq!(normalise("Müller^Jürgen"), "MÜLLERJÜRGEN");
    }

    #[test]
    fn runs_of_words_and_their_parts() {
        assert!(has("seen at St Mary Hospital today", "STMARYHOSPITAL"));
        assert!(has("ref ACC-778899.", "ACC778899"));
        assert!(has("MRN12345678", "12345678"));
        assert!(has("see 1.2.3.4.5.6 here", "1.2.3.4.5.6"));
        assert!(!has("see 1.2.3.4.5.6 here", "1.2.3.4"), "no prefixes");
        assert!(has("UID1.2.3.4.5.6", "1.2.3.4.5.6"));
        assert!(has("Jan van der Berg", "JANVANDERBERG"));
        assert!(!has("512 512 1", "512512"), "numbers across a space");
        assert!(has("123-456", "123456"));
        assert!(!has("0.123456", "123456"), "a decimal's fraction");
        assert!(!has("Doe\\Jane", "DOEJANE"), "not across values");
        assert!(has("山田太郎様", "山田"));
        assert!(has("山田太郎様", "太郎"));
        let t = all("born 30 Sep 1945, tel (555) 123-4567");
        assert!(
            t.contains(&"Date:19450930@5-16:date_variant".to_string()),
            "{t:?}"
        );
        assert!(
            t.iter().any(|t| t.starts_with("Phone:5551234567@")),
            "{t:?}"
        );
        assert!(
            t[0].starts_with("Word:BORN30SEP1945TEL5551234567@0-"),
            "{t:?}"
        );
    }

    #[test]
    fn hashes_are_keyed_and_by_domain() {
        let a = Hasher::new(&ProjectKey::from_bytes([1; 32]));
        let b = Hasher::new(&ProjectKey::from_bytes([2; 32]));
        assert_ne!(a.hash(Domain::Word, "X"), b.hash(Domain::Word, "X"));
        assert_ne!(a.hash(Domain::Word, "X"), a.hash(Domain::Date, "X"));
        assert_eq!(a.hash(Domain::Word, "X"), a.hash(Domain::Word, "X"));
        assert_eq!(
            phone_forms("+1 (555) 123-4567"),
            ["5551234567", "15551234567"]
        );
    }
}
