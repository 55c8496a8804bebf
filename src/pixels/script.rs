//! CTP's DicomPixelAnonymizer script: signatures (boolean expressions over header values) each
//! followed by the regions to blank. The built-in library is CTP's own script, parsed by the same
//! code as a user's. Semantics follow CTP's Java (`PixelScript`, `DicomObject.matches`):
//! `!` binds tighter than `*` (and), which binds tighter than `+` (or); a missing attribute reads
//! as ""; the first signature that matches wins; an expression that does not parse, or holds a
//! `matches` pattern that does not compile, never matches. CTP's quirks are kept, so that a
//! script masks here what it masks in CTP: its parser reads `!!X` as `!X`, and it reads the
//! private elements its own dictionary knows without trimming them.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use serde::Serialize;

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Encoding, Item, Tag, TagExt, Value, Vr};
use crate::pixels::ExplicitMasks;
use crate::pixels::regions::{Rect, Region};

/// CTP's built-in burned-in annotation library (see `profiles/README.md` for its source).
pub const BUILTIN_SCRIPT: &str = include_str!("../../profiles/ctp/DicomPixelAnonymizer.script");

/// A parsed pixel script.
#[derive(Debug, Clone)]
pub struct PixelScript {
    /// Names the script in the audit (`ctp-builtin`, or the user's file name).
    pub name: String,
    pub signatures: Vec<Signature>,
}

/// One signature and its regions.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The expression as written, whitespace collapsed (for reports and tests).
    pub text: String,
    /// The 1-based line of the opening brace.
    pub line: usize,
    pub expr: Expr,
    pub regions: Vec<Region>,
}

/// Which signature of which script matched an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub script: String,
    pub line: usize,
    pub regions: Vec<Region>,
}

/// A boolean expression over header values.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Const(bool),
    Test {
        path: Vec<Selector>,
        method: Method,
        literal: String,
    },
    /// An expression CTP could not parse: never true.
    Invalid,
}

/// One step of an attribute path: a public tag or a private element by creator.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Tag(Tag),
    Private {
        group: u16,
        creator: String,
        offset: u8,
    },
    /// A keyword the dictionary does not know: reads as missing.
    Unknown,
}

/// The string methods CTP offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Equals,
    EqualsIgnoreCase,
    Matches,
    Contains,
    ContainsIgnoreCase,
    StartsWith,
    StartsWithIgnoreCase,
    EndsWith,
    EndsWithIgnoreCase,
    IsLessThan,
    IsGreaterThan,
    /// A method CTP does not know: false.
    Unknown,
}

impl PixelScript {
    /// The built-in library.
    pub fn builtin() -> PixelScript {
        PixelScript::parse("ctp-builtin", BUILTIN_SCRIPT)
    }

    /// Parses a script: every `{…}` is a signature; every `(…)` between its closing brace and
    /// the next `{` is a region; all other text is commentary.
    pub fn parse(name: &str, text: &str) -> PixelScript {
        let mut signatures = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            let body = &rest[open + 1..close];
            let after = &rest[close + 1..];
            let tail = &after[..after.find('{').unwrap_or(after.len())];
            signatures.push(Signature {
                text: body.split_whitespace().collect::<Vec<_>>().join(" "),
                line: text[..consumed + open].matches('\n').count() + 1,
                expr: parse_expr(body),
                regions: regions(tail),
            });
            consumed += close + 1;
            rest = after;
        }
        PixelScript {
            name: name.to_string(),
            signatures,
        }
    }

    /// The first signature whose expression holds for the data set.
    pub fn first_match(&self, header: &Header<'_, '_>) -> Option<Match> {
        self.signatures
            .iter()
            .find(|s| s.expr.eval(header))
            .map(|s| Match {
                script: self.name.clone(),
                line: s.line,
                regions: s.regions.clone(),
            })
    }
}

/// The regions `(x,y,w,h)` of a signature; a group without four integers is skipped, as CTP
/// does.
fn regions(tail: &str) -> Vec<Region> {
    let mut out = Vec::new();
    let mut rest = tail;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        // Java's split drops trailing empty fields.
        let mut fields: Vec<&str> = rest[open + 1..close].split(',').collect();
        while fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        if let [x, y, w, h] = fields[..] {
            let [x, y, w, h] = [x, y, w, h].map(get_int);
            out.push(Region { x, y, w, h });
        }
        rest = &rest[close + 1..];
    }
    out
}

/// A reviewer's explicit masks as a CTP pixel script, so that the command-line tool (or CTP)
/// applies the same masks: one signature per image (SOP Instance UID), series (Series Instance
/// UID) or device (manufacturer, model, rows and columns), each followed by its regions. Values
/// that the grammar cannot quote (a `"`, a brace) are left out with a note; the caller labels
/// the file as holding original UIDs.
pub fn write_script(masks: &ExplicitMasks) -> String {
    let mut out = String::from(
        "Masks drawn in the review studio of dicom-deid, in CTP DicomPixelAnonymizer format.\n\n",
    );
    let mut sign = |conditions: &[(&str, String)], rects: &[Rect]| {
        if conditions.iter().any(|(_, v)| !quotable(v)) {
            out.push_str(
                "A mask whose header value cannot be written in this format was left out.\n\n",
            );
            return;
        }
        let cond: Vec<String> = conditions
            .iter()
            .map(|(k, v)| format!("{k}.equals(\"{v}\")"))
            .collect();
        out.push_str(&format!("{{ {} }}\n", cond.join(" * ")));
        for r in rects.iter().filter(|r| !r.is_empty()) {
            // CTP regions are inclusive of both ends (see Region::to_rect).
            let (w, h) = (r.x1 - r.x0 - 1, r.y1 - r.y0 - 1);
            out.push_str(&format!("  ({},{},{w},{h})\n", r.x0, r.y0));
        }
        out.push('\n');
    };
    for (uid, rects) in sorted(&masks.images) {
        sign(&[("SOPInstanceUID", uid.clone())], rects);
    }
    for (uid, rects) in sorted(&masks.series) {
        sign(&[("SeriesInstanceUID", uid.clone())], rects);
    }
    for d in &masks.devices {
        let conditions = [
            ("Manufacturer", d.manufacturer.clone()),
            ("ManufacturerModelName", d.model.clone()),
            ("Rows", d.rows.to_string()),
            ("Columns", d.columns.to_string()),
        ];
        sign(&conditions, &d.regions);
    }
    out
}

/// A map's entries in key order (the script is the same for the same masks).
fn sorted(m: &std::collections::HashMap<String, Vec<Rect>>) -> Vec<(&String, &Vec<Rect>)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

/// Whether a value can stand inside a script's quoted string.
fn quotable(v: &str) -> bool {
    !v.contains(['"', '{', '}', '\n'])
}

/// CTP's `StringUtil.getInt`: the trimmed text as a 32-bit integer, or 0.
fn get_int(s: &str) -> i64 {
    s.trim().parse::<i32>().unwrap_or(0) as i64
}

/// The header an expression reads: the top-level data set and the file meta information.
pub struct Header<'h, 'a> {
    pub dataset: &'h Item<'a>,
    pub meta: &'h Item<'a>,
    pub encoding: Encoding,
    pub charset: &'h CharacterSet,
}

impl Header<'_, '_> {
    /// The value of an attribute path as CTP sees it: "" when missing, otherwise as
    /// [`render`](Self::render) gives it. A path through a sequence reads the first item.
    fn value(&self, path: &[Selector]) -> String {
        let mut item = self.dataset;
        for (i, sel) in path.iter().enumerate() {
            let found = match sel {
                Selector::Tag(t) if t.0 == 0x0002 && i == 0 => self.meta.get(*t),
                Selector::Tag(t) => item.get(*t),
                Selector::Private {
                    group,
                    creator,
                    offset,
                } => private(item, *group, creator, *offset, self.charset),
                Selector::Unknown => None,
            };
            let Some(e) = found else { return String::new() };
            match &e.value {
                Value::Items(items) if i + 1 < path.len() => match items.first() {
                    Some(first) => item = first,
                    None => return String::new(),
                },
                // dcm4che gives a file meta element's first value only.
                Value::Bytes(raw) if i + 1 == path.len() && e.tag.0 == 0x0002 => {
                    let v = self.render(e.vr, raw);
                    return v.split('\\').next().unwrap_or_default().to_string();
                }
                Value::Bytes(raw) if i + 1 == path.len() => {
                    return self
                        .ctp_private(item, i > 0, e.tag, raw)
                        .unwrap_or_else(|| self.render(e.vr, raw));
                }
                _ => return String::new(),
            }
        }
        String::new()
    }

    /// How CTP reads a private data element (odd group, element 0x0100 and up) before it asks
    /// dcm4che (ctp-semantics.md §3.2): by the VR its own dictionary gives the creator's
    /// element, text decoded whole and untrimmed (any element of creator `CTP` too), SL and UL
    /// as signed 32-bit and US and SS as unsigned 16-bit numbers. `None` where CTP falls back
    /// to dcm4che: no creator, an element its dictionary does not know, floats, bytes. CTP
    /// takes the numbers' byte order from the file meta's transfer syntax, which a sequence
    /// item does not have (nor a file without meta): there they read as "" (verified).
    fn ctp_private(&self, item: &Item<'_>, nested: bool, tag: Tag, raw: &[u8]) -> Option<String> {
        if !tag.is_private() || tag.1 < 0x0100 {
            return None;
        }
        let creator = self
            .charset
            .decode_lossy(item.get(Tag(tag.0, tag.1 >> 8))?.raw()?);
        let creator = trim_like_dcm4che(Vr::LO, &creator);
        let vr = ctp_private_vr(tag.0, creator, tag.1 as u8);
        if creator == "CTP" || vr.is_some_and(|v| CTP_PRIVATE_TEXT.contains(&v)) {
            return Some(self.charset.decode_lossy(raw));
        }
        let numeric = matches!(vr, Some("SL" | "UL" | "SS" | "US"));
        if numeric && (nested || self.meta.get(Tag(0x0002, 0x0010)).is_none()) {
            return Some(String::new());
        }
        let e = self.encoding;
        let values: Vec<String> = match vr? {
            "SL" | "UL" => raw
                .chunks_exact(4)
                .map(|c| (e.u32([c[0], c[1], c[2], c[3]]) as i32).to_string())
                .collect(),
            "SS" | "US" => raw
                .chunks_exact(2)
                .map(|c| e.u16([c[0], c[1]]).to_string())
                .collect(),
            _ => return None,
        };
        Some(values.join("\\"))
    }

    /// A value as dcm4che 1.4 gives it to CTP (ctp-semantics.md §3.2): text decoded whole and
    /// trimmed by its VR's rule before any splitting, so padding between values stays; binary
    /// numbers in decimal (floats as Java prints them), tags and bytes in upper-case hex.
    fn render(&self, vr: Vr, raw: &[u8]) -> String {
        if vr.is_text() {
            return trim_like_dcm4che(vr, &self.charset.decode_lossy(raw)).to_string();
        }
        let e = self.encoding;
        let words = |n: usize| raw.chunks_exact(n);
        let u16s = || words(2).map(|c| e.u16([c[0], c[1]]));
        let u32s = || words(4).map(|c| e.u32([c[0], c[1], c[2], c[3]]));
        let values: Vec<String> = match vr {
            Vr::US => u16s().map(|v| v.to_string()).collect(),
            Vr::SS => u16s().map(|v| (v as i16).to_string()).collect(),
            Vr::UL => u32s().map(|v| v.to_string()).collect(),
            Vr::SL => u32s().map(|v| (v as i32).to_string()).collect(),
            Vr::FL => u32s()
                .map(|v| java_float(f32::from_bits(v) as f64, true))
                .collect(),
            Vr::FD => words(8)
                .map(|c| java_float(e.f64(c.try_into().expect("8 bytes")), false))
                .collect(),
            Vr::AT => words(4)
                .map(|c| {
                    let (g, el) = (e.u16([c[0], c[1]]), e.u16([c[2], c[3]]));
                    format!("{g:04X}{el:04X}")
                })
                .collect(),
            Vr::OW => u16s().map(|v| format!("{v:04X}")).collect(),
            _ => raw.iter().map(|b| format!("{b:02X}")).collect(),
        };
        values.join("\\")
    }
}

/// dcm4che 1.4's trim of a whole text value: leading spaces too for AE CS DS IS LO SH, trailing
/// `^` too for PN, nothing for AS, trailing spaces and NULs for the rest.
fn trim_like_dcm4che(vr: Vr, text: &str) -> &str {
    const TRAILING: [char; 2] = [' ', '\0'];
    match vr {
        Vr::AE | Vr::CS | Vr::DS | Vr::IS | Vr::LO | Vr::SH => {
            text.trim_start_matches(' ').trim_end_matches(TRAILING)
        }
        Vr::PN => text.trim_end_matches([' ', '\0', '^']),
        Vr::AS => text,
        _ => text.trim_end_matches(TRAILING),
    }
}

/// A float as Java's `Float.toString` / `Double.toString` writes it: the shortest digits that
/// read back as the value, in plain notation with at least one decimal (`1.0`, `0.001`) from
/// 10^-3 up to 10^7, otherwise as `d.dddE±n` (`1.0E-5`, `1.5E7`).
fn java_float(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d[.ddd]e[-]n`.
    let sci = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-3..7).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        return format!("{sign}{first}.{rest}E{exp}");
    }
    let point = exp + 1; // digits before the decimal point
    let (int, frac) = if point <= 0 {
        ("0".to_string(), "0".repeat(-point as usize) + &digits)
    } else if point as usize >= digits.len() {
        (
            digits.clone() + &"0".repeat(point as usize - digits.len()),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_string(), b.to_string())
    };
    let frac = if frac.is_empty() { "0".into() } else { frac };
    format!("{sign}{int}.{frac}")
}

/// A private element by creator, whatever block the creator reserved.
fn private<'h, 'a>(
    item: &'h Item<'a>,
    group: u16,
    creator: &str,
    offset: u8,
    cs: &CharacterSet,
) -> Option<&'h crate::dicom::model::Element<'a>> {
    let block = (0x10u16..=0xFF).find(|&b| {
        item.get(Tag(group, b))
            .and_then(|e| e.raw())
            .map(|raw| {
                let v = crate::dicom::model::trim_text(Vr::LO, raw);
                cs.decode_lossy(v) == creator
            })
            .unwrap_or(false)
    })?;
    item.get(Tag(group, (block << 8) | offset as u16))
}

impl Expr {
    /// A `matches` test whose pattern does not compile (Java's `String.matches` throws).
    fn has_bad_pattern(&self) -> bool {
        matches!(self, Expr::Test { method: Method::Matches, literal, .. }
            if regex_lite::Regex::new(literal).is_err())
    }

    /// Evaluates the expression against a header.
    pub fn eval(&self, h: &Header<'_, '_>) -> bool {
        match self {
            Expr::Or(v) => v.iter().any(|e| e.eval(h)),
            Expr::And(v) => v.iter().all(|e| e.eval(h)),
            Expr::Not(e) => !e.eval(h),
            Expr::Const(b) => *b,
            Expr::Test {
                path,
                method,
                literal,
            } => method.apply(&h.value(path), literal),
            Expr::Invalid => false,
        }
    }
}

impl Method {
    fn parse(name: &str) -> Method {
        use Method::*;
        match name {
            "equals" => Equals,
            "equalsIgnoreCase" => EqualsIgnoreCase,
            "matches" => Matches,
            "contains" => Contains,
            "containsIgnoreCase" => ContainsIgnoreCase,
            "startsWith" => StartsWith,
            "startsWithIgnoreCase" => StartsWithIgnoreCase,
            "endsWith" => EndsWith,
            "endsWithIgnoreCase" => EndsWithIgnoreCase,
            "isLessThan" => IsLessThan,
            "isGreaterThan" => IsGreaterThan,
            _ => Unknown,
        }
    }

    /// Java's `String` methods; `matches` must match the whole value; the two comparisons keep
    /// only digits and points of both sides and compare numbers (false when either is not one).
    pub fn apply(self, value: &str, literal: &str) -> bool {
        use Method::*;
        let lower = || (value.to_lowercase(), literal.to_lowercase());
        match self {
            Equals => value == literal,
            EqualsIgnoreCase => {
                let (v, l) = lower();
                v == l
            }
            Matches => {
                regex_lite::Regex::new(&format!("^(?:{literal})$")).is_ok_and(|r| r.is_match(value))
            }
            Contains => value.contains(literal),
            ContainsIgnoreCase => {
                let (v, l) = lower();
                v.contains(&l)
            }
            StartsWith => value.starts_with(literal),
            StartsWithIgnoreCase => {
                let (v, l) = lower();
                v.starts_with(&l)
            }
            EndsWith => value.ends_with(literal),
            EndsWithIgnoreCase => {
                let (v, l) = lower();
                v.ends_with(&l)
            }
            IsLessThan | IsGreaterThan => {
                let num = |s: &str| {
                    s.chars()
                        .filter(|c| c.is_ascii_digit() || *c == '.')
                        .collect::<String>()
                        .parse::<f64>()
                        .ok()
                };
                match (num(value), num(literal)) {
                    (Some(a), Some(b)) if self == IsLessThan => a < b,
                    (Some(a), Some(b)) => a > b,
                    _ => false,
                }
            }
            Unknown => false,
        }
    }
}

/// Parses an expression exactly as CTP's `DicomObject.matches` does: its shunting-yard into
/// postfix, then its recursive `unstack` into a tree. Anything malformed gives
/// [`Expr::Invalid`], and so does a `matches` pattern that does not compile: CTP builds every
/// operand (and its regex) while it tokenizes, and the exception makes the whole script false.
pub fn parse_expr(text: &str) -> Expr {
    let Some(tokens) = tokenize(text) else {
        return Expr::Invalid;
    };
    let bad_regex = |t: &Token| matches!(t, Token::Operand(e) if e.has_bad_pattern());
    if tokens.iter().any(bad_regex) {
        return Expr::Invalid;
    }
    let mut p = ShuntingYard {
        tokens: &tokens,
        at: 0,
        ops: vec![Op::Sentinel],
        out: Vec::new(),
        depth: 0,
    };
    if p.expression().is_none() || p.at != tokens.len() {
        return Expr::Invalid;
    }
    unstack(&mut p.out)
}

/// Deeper nesting (of parentheses and `!`, or of the tree CTP's reading makes) is refused
/// rather than risk the stack; no real script comes near.
const MAX_DEPTH: usize = 256;

/// An operator on CTP's operator stack; the sentinel marks the bottom of a parenthesis.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Sentinel,
    Or,
    And,
    Not,
}

impl Op {
    fn precedence(self) -> u8 {
        self as u8
    }
}

/// One entry of the postfix output.
enum Postfix {
    Operand(Expr),
    Op(Op),
}

/// CTP's parser, step for step (`expression`, `parse`, `pushOperator`). It pops an operator of
/// *equal* precedence before pushing, which is left-associativity for `+` and `*` but, for two
/// `!` in a row, pops the first before it has an operand: CTP reads `!!X` as `!X`.
struct ShuntingYard<'t> {
    tokens: &'t [Token],
    at: usize,
    ops: Vec<Op>,
    out: Vec<Postfix>,
    depth: usize,
}

impl ShuntingYard<'_> {
    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }

    fn expression(&mut self) -> Option<()> {
        self.parse()?;
        loop {
            let op = match self.tokens.get(self.at) {
                Some(Token::And) => Op::And,
                Some(Token::Or) => Op::Or,
                _ => break,
            };
            self.push_op(op);
            self.at += 1;
            self.parse()?;
        }
        while self.ops.last().is_some_and(|&op| op != Op::Sentinel) {
            self.pop_op();
        }
        Some(())
    }

    fn parse(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        match self.next()? {
            Token::Operand(e) => {
                let e = e.clone();
                self.out.push(Postfix::Operand(e));
            }
            Token::Open => {
                self.ops.push(Op::Sentinel);
                self.expression()?;
                (self.next()? == &Token::Close).then_some(())?;
                self.ops.pop();
            }
            Token::Not => {
                self.push_op(Op::Not);
                self.parse()?;
            }
            _ => return None,
        }
        self.depth -= 1;
        Some(())
    }

    fn push_op(&mut self, op: Op) {
        while self
            .ops
            .last()
            .is_some_and(|top| top.precedence() >= op.precedence())
        {
            self.pop_op();
        }
        self.ops.push(op);
    }

    fn pop_op(&mut self) {
        if let Some(op) = self.ops.pop() {
            self.out.push(Postfix::Op(op));
        }
    }
}

/// CTP's `unstack`: the tree the postfix output evaluates as, read from its end. An empty
/// stack reads as false; entries left over are ignored, as in CTP. CTP recurses; this keeps its
/// own stack, so that a signature listing thousands of UIDs costs no call depth. A tree deeper
/// than [`MAX_DEPTH`] (CTP's `!!` reading nests `!A + !!B + !!C …` ever deeper) is refused:
/// evaluating it would overflow the stack, as it does CTP's.
fn unstack(out: &mut Vec<Postfix>) -> Expr {
    enum Pending {
        Not,
        /// A binary operator, and its right operand once read (CTP pops that one first).
        Binary(Op, Option<Deep>),
    }
    let mut pending = Vec::new();
    loop {
        let mut value = match out.pop() {
            None => (Expr::Const(false), 0),
            Some(Postfix::Operand(e)) => (e, 0),
            Some(Postfix::Op(Op::Not)) => {
                pending.push(Pending::Not);
                continue;
            }
            Some(Postfix::Op(op)) => {
                pending.push(Pending::Binary(op, None));
                continue;
            }
        };
        loop {
            if value.1 > MAX_DEPTH {
                return Expr::Invalid;
            }
            match pending.pop() {
                None => return value.0,
                Some(Pending::Not) => value = (Expr::Not(Box::new(value.0)), value.1 + 1),
                Some(Pending::Binary(op, None)) => {
                    pending.push(Pending::Binary(op, Some(value)));
                    break;
                }
                Some(Pending::Binary(op, Some(right))) => value = join(op, value, right),
            }
        }
    }
}

/// A tree and its depth (a leaf is 0).
type Deep = (Expr, usize);

/// `left op right`, a chain of one operator kept as one list.
fn join(op: Op, (left, left_depth): Deep, (right, right_depth): Deep) -> Deep {
    let same = |e: &Expr| matches!((op, e), (Op::And, Expr::And(_)) | (Op::Or, Expr::Or(_)));
    // A child of the same operator is flattened into this node: its depth is this node's.
    let depth = |e: &Expr, d: usize| if same(e) { d } else { d + 1 };
    let depth = depth(&left, left_depth).max(depth(&right, right_depth));
    let mut terms = match (op, left) {
        (Op::And, Expr::And(v)) | (Op::Or, Expr::Or(v)) => v,
        (_, e) => vec![e],
    };
    match (op, right) {
        (Op::And, Expr::And(v)) | (Op::Or, Expr::Or(v)) => terms.extend(v),
        (_, e) => terms.push(e),
    }
    let tree = if op == Op::And {
        Expr::And(terms)
    } else {
        Expr::Or(terms)
    };
    (tree, depth)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Not,
    And,
    Or,
    Operand(Expr),
}

/// Splits an expression into tokens as CTP's tokenizer does: `//` comments run to the end of the
/// line between tokens; an operand starts with `[` or a letter; anything else is a parse error.
fn tokenize(text: &str) -> Option<Vec<Token>> {
    let s: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && s.get(i + 1) == Some(&'/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '[' || c.is_alphabetic() {
            let (expr, next) = operand(&s, i);
            out.push(Token::Operand(expr));
            i = next;
        } else {
            out.push(match c {
                '(' => Token::Open,
                ')' => Token::Close,
                '!' => Token::Not,
                '*' => Token::And,
                '+' => Token::Or,
                _ => return None,
            });
            i += 1;
        }
    }
    Some(out)
}

/// Reads from `i` up to the first `delim` outside double quotes (consumed), as CTP's
/// `getField`; returns the text and where reading stopped.
fn field(s: &[char], mut i: usize, delim: char) -> (String, usize) {
    let mut text = String::new();
    let mut quoted = false;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c == delim {
            break;
        }
        text.push(c);
    }
    (text, i)
}

/// One operand starting at `i`: `identifier.method("literal")`, or `true` / `false` when the
/// text up to the next `.` is exactly that word. A literal that is not quoted makes the operand
/// false, as in CTP.
fn operand(s: &[char], i: usize) -> (Expr, usize) {
    let (ident, i) = field(s, i, '.');
    let ident = ident.trim();
    if ident == "true" || ident == "false" {
        return (Expr::Const(ident == "true"), i);
    }
    let (method, i) = field(s, i, '(');
    let (literal, i) = field(s, i, ')');
    let literal = literal.trim();
    let quoted = literal.len() > 1 && literal.starts_with('"') && literal.ends_with('"');
    if !quoted {
        return (Expr::Const(false), i);
    }
    let expr = Expr::Test {
        path: parse_path(ident),
        method: Method::parse(method.trim()),
        literal: literal[1..literal.len() - 1].to_string(),
    };
    (expr, i)
}

/// An attribute path: steps separated by `::`, an optional `root:` prefix.
fn parse_path(ident: &str) -> Vec<Selector> {
    let ident = ident.trim();
    let ident = ident.strip_prefix("root:").unwrap_or(ident);
    ident
        .split("::")
        .map(|step| selector(step.trim()))
        .collect()
}

/// dcm4che 1.4 keys that differ from the DICOM keyword of their tag (CTP names attributes by
/// dcm4che's `Tags` field names); see `profiles/README.md`.
const DCM4CHE_KEYS: &str = include_str!("../../profiles/ctp/dcm4che_keys.csv");

fn dcm4che_key(name: &str) -> Option<Tag> {
    static KEYS: std::sync::LazyLock<std::collections::HashMap<&'static str, Tag>> =
        std::sync::LazyLock::new(|| {
            DCM4CHE_KEYS
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let (k, t) = l.split_once(',')?;
                    let v = u32::from_str_radix(t.trim(), 16).ok()?;
                    Some((k, Tag((v >> 16) as u16, v as u16)))
                })
                .collect()
        });
    KEYS.get(name).copied()
}

/// CTP's private tag dictionary, reduced to the VR of each element (see `profiles/README.md`).
const CTP_PRIVATE_VRS: &str = include_str!("../../profiles/ctp/private_tag_vrs.csv");

/// The VR CTP's dictionary gives a private element: its group, its creator (CTP compares them
/// upper-cased) and its offset in the block.
fn ctp_private_vr(group: u16, creator: &str, offset: u8) -> Option<&'static str> {
    type Key = (u16, String, u8);
    static VRS: std::sync::LazyLock<std::collections::HashMap<Key, &'static str>> =
        std::sync::LazyLock::new(|| {
            CTP_PRIVATE_VRS
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let mut f = l.splitn(4, ',');
                    let group = u16::from_str_radix(f.next()?, 16).ok()?;
                    let offset = u8::from_str_radix(f.next()?, 16).ok()?;
                    let vr = f.next()?;
                    Some(((group, f.next()?.to_uppercase(), offset), vr))
                })
                .collect()
        });
    VRS.get(&(group, creator.to_uppercase(), offset)).copied()
}

/// The VRs whose private values CTP decodes as text, without trimming.
const CTP_PRIVATE_TEXT: [&str; 15] = [
    "LO", "LT", "SH", "CS", "ST", "DA", "DS", "DT", "TM", "IS", "PN", "UC", "UI", "UR", "UN",
];

/// One step, as CTP's `getElementTag` then `getPrivateElementTag` read it: outer brackets or
/// parentheses stripped; a dcm4che key (or, beyond CTP, a DICOM keyword); hex `ggggeeee` or
/// `gggg,eeee`; a private element `gggg[Creator]ee`.
fn selector(step: &str) -> Selector {
    let inner = ['[', '(', '{']
        .iter()
        .zip([']', ')', '}'])
        .find(|(o, c)| step.starts_with(**o) && step.ends_with(*c) && step.len() >= 2)
        .map_or(step, |_| step[1..step.len() - 1].trim());
    if let Some(t) = dcm4che_key(inner).or_else(|| {
        StandardDataDictionary
            .by_name(inner)
            .map(|e| e.tag())
            .filter(|_| !inner.is_empty())
    }) {
        return Selector::Tag(t);
    }
    let hex = |s: &str, max: usize| {
        (!s.is_empty() && s.len() <= max && s.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
    };
    if let Some(v) = hex(inner, 8) {
        return Selector::Tag(Tag((v >> 16) as u16, v as u16));
    }
    if let Some((g, e)) = inner.split_once(',')
        && let (Some(g), Some(e)) = (if g.is_empty() { Some(0) } else { hex(g, 4) }, hex(e, 4))
    {
        return Selector::Tag(Tag(g as u16, e as u16));
    }
    private_selector(inner).unwrap_or(Selector::Unknown)
}

/// `gggg[Creator]ee` (commas allowed around the brackets; `ee` defaults to 00); the group must
/// be odd.
fn private_selector(s: &str) -> Option<Selector> {
    let (group, rest) = s.split_once('[')?;
    let (creator, offset) = rest.split_once(']')?;
    let group = group.strip_suffix(',').unwrap_or(group);
    let offset = offset.strip_prefix(',').unwrap_or(offset);
    let g = (1..=4)
        .contains(&group.len())
        .then(|| u16::from_str_radix(group, 16).ok())
        .flatten()
        .filter(|g| g % 2 == 1)?;
    let o = match offset {
        "" => 0,
        o if o.len() <= 2 => u8::from_str_radix(o, 16).ok()?,
        _ => return None,
    };
    Some(Selector::Private {
        group: g,
        creator: creator.trim().to_string(),
        offset: o,
    })
}

#[cfg(test)]
mod java_tests {
    use super::java_float;

    #[test]
    fn floats_print_as_java_prints_them() {
        let double = |v| java_float(v, false);
        let single = |v: f32| java_float(v as f64, true);
        for (v, java) in [
            (1.0, "1.0"),
            (2.5, "2.5"),
            (-0.5, "-0.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.0e-5, "1.0E-5"),
            (123.456, "123.456"),
            (9_999_999.0, "9999999.0"),
            (1.0e7, "1.0E7"),
            (1.5e7, "1.5E7"),
            (0.0, "0.0"),
        ] {
            assert_eq!(double(v), java, "{v}");
        }
        // A float prints its own shortest digits, not the double's.
        assert_eq!(single(0.1), "0.1");
        assert_eq!(single(1.0), "1.0");
        assert_eq!(single(3.3e-6), "3.3E-6");
    }
}
