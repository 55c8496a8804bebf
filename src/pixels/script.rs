//! CTP's DicomPixelAnonymizer script: signatures (boolean expressions over header values) each
//! followed by the regions to blank. The built-in library is CTP's own script, parsed by the same
//! code as a user's. Semantics follow CTP's Java (`PixelScript`, `DicomObject.matches`):
//! `!` binds tighter than `*` (and), which binds tighter than `+` (or); a missing attribute reads
//! as ""; the first signature that matches wins; an expression that does not parse never matches.

use std::borrow::Cow;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use serde::Serialize;

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Encoding, Item, Tag, Value, Vr, split_values};
use crate::pixels::regions::Region;

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
        let fields: Vec<Option<i64>> = rest[open + 1..close].split(',').map(get_int).collect();
        if let [Some(x), Some(y), Some(w), Some(h)] = fields[..] {
            out.push(Region { x, y, w, h });
        }
        rest = &rest[close + 1..];
    }
    out
}

/// CTP's `StringUtil.getInt`: the value of the trimmed text, or nothing.
fn get_int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// The header an expression reads: the top-level data set and the file meta information.
pub struct Header<'h, 'a> {
    pub dataset: &'h Item<'a>,
    pub meta: &'h Item<'a>,
    pub encoding: Encoding,
    pub charset: &'h CharacterSet,
}

impl Header<'_, '_> {
    /// The value of an attribute path as CTP sees it: "" when missing, text values without
    /// padding with their values joined by `\`, binary numbers written in decimal. A path
    /// through a sequence reads the first item.
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
                Value::Bytes(raw) if i + 1 == path.len() => return self.render(e.vr, raw),
                _ => return String::new(),
            }
        }
        String::new()
    }

    fn render(&self, vr: Vr, raw: &[u8]) -> String {
        if vr.is_text() {
            let values = split_values(vr, raw);
            let text: Vec<Cow<str>> = values
                .iter()
                .map(|v| match self.charset.decode(v) {
                    Some(s) => Cow::Owned(s),
                    None => String::from_utf8_lossy(v),
                })
                .collect();
            return text.join("\\");
        }
        let e = self.encoding;
        let numbers: Vec<String> = match vr {
            Vr::US => raw
                .chunks_exact(2)
                .map(|c| e.u16([c[0], c[1]]).to_string())
                .collect(),
            Vr::SS => raw
                .chunks_exact(2)
                .map(|c| (e.u16([c[0], c[1]]) as i16).to_string())
                .collect(),
            Vr::UL => raw
                .chunks_exact(4)
                .map(|c| e.u32([c[0], c[1], c[2], c[3]]).to_string())
                .collect(),
            Vr::SL => raw
                .chunks_exact(4)
                .map(|c| (e.u32([c[0], c[1], c[2], c[3]]) as i32).to_string())
                .collect(),
            Vr::FL => raw
                .chunks_exact(4)
                .map(|c| f32::from_bits(e.u32([c[0], c[1], c[2], c[3]])).to_string())
                .collect(),
            _ => vec![
                String::from_utf8_lossy(raw)
                    .trim_end_matches(['\0', ' '])
                    .to_string(),
            ],
        };
        numbers.join("\\")
    }
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
                cs.decode(v)
                    .unwrap_or_else(|| String::from_utf8_lossy(v).into_owned())
                    == creator
            })
            .unwrap_or(false)
    })?;
    item.get(Tag(group, (block << 8) | offset as u16))
}

impl Expr {
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
        let (v, l) = (value.to_lowercase(), literal.to_lowercase());
        match self {
            Equals => value == literal,
            EqualsIgnoreCase => v == l,
            Matches => {
                regex_lite::Regex::new(&format!("^(?:{literal})$")).is_ok_and(|r| r.is_match(value))
            }
            Contains => value.contains(literal),
            ContainsIgnoreCase => v.contains(&l),
            StartsWith => value.starts_with(literal),
            StartsWithIgnoreCase => v.starts_with(&l),
            EndsWith => value.ends_with(literal),
            EndsWithIgnoreCase => v.ends_with(&l),
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

/// Parses an expression; anything malformed gives [`Expr::Invalid`].
pub fn parse_expr(text: &str) -> Expr {
    let tokens = match tokenize(text) {
        Some(t) => t,
        None => return Expr::Invalid,
    };
    let mut p = Parser { tokens, at: 0 };
    match p.or() {
        Some(e) if p.at == p.tokens.len() => e,
        _ => Expr::Invalid,
    }
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

/// Splits an expression into tokens; `//` comments run to the end of the line.
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
        } else if c == '(' && !tag_in_parens(&s[i..]) {
            out.push(Token::Open);
            i += 1;
        } else if let Some(t) = match c {
            ')' => Some(Token::Close),
            '!' => Some(Token::Not),
            '*' => Some(Token::And),
            '+' => Some(Token::Or),
            _ => None,
        } {
            out.push(t);
            i += 1;
        } else {
            let (expr, next) = operand(&s, i)?;
            out.push(Token::Operand(expr));
            i = next;
        }
    }
    Some(out)
}

/// Whether text starting with `(` is a tag written `(gggg,eeee)` followed by a method call.
fn tag_in_parens(s: &[char]) -> bool {
    s.len() > 11
        && s[1..5].iter().all(char::is_ascii_hexdigit)
        && s[5] == ','
        && s[6..10].iter().all(char::is_ascii_hexdigit)
        && s[10] == ')'
        && s[11] == '.'
}

/// One `identifier.method("literal")` starting at `i`, or `true` / `false`.
fn operand(s: &[char], i: usize) -> Option<(Expr, usize)> {
    let word: String = s[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let after = i + word.len();
    let ends_word = s
        .get(after)
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '[' || *c == ':'));
    if ends_word && (word == "true" || word == "false") {
        return Some((Expr::Const(word == "true"), after));
    }
    // The identifier runs to the last '.' before the method's '(' (a private creator in
    // brackets may itself hold dots).
    let open = (i..s.len()).find(|&k| s[k] == '(' && !(k == i && tag_in_parens(&s[k..])))?;
    let head: String = s[i..open].iter().collect();
    let dot = head.rfind('.')?;
    let ident = head[..dot].trim();
    let method = head[dot + 1..].trim();
    let mut k = open + 1;
    while k < s.len() && s[k].is_whitespace() {
        k += 1;
    }
    if s.get(k) != Some(&'"') {
        return None;
    }
    let lit_start = k + 1;
    let lit_end = (lit_start..s.len()).find(|&j| s[j] == '"')?;
    let mut k = lit_end + 1;
    while k < s.len() && s[k].is_whitespace() {
        k += 1;
    }
    if s.get(k) != Some(&')') {
        return None;
    }
    let literal: String = s[lit_start..lit_end].iter().collect();
    Some((
        Expr::Test {
            path: parse_path(ident)?,
            method: Method::parse(method),
            literal,
        },
        k + 1,
    ))
}

/// An attribute path: steps separated by `::`, an optional `root:` prefix; each step a keyword,
/// a tag (`[gggg,eeee]`, `(gggg,eeee)`, `gggg,eeee`, `ggggeeee`) or `gggg[Creator]ee`.
fn parse_path(ident: &str) -> Option<Vec<Selector>> {
    let ident = ident.strip_prefix("root:").unwrap_or(ident);
    ident
        .split("::")
        .map(|step| selector(step.trim()))
        .collect()
}

fn selector(step: &str) -> Option<Selector> {
    let hex = |s: &str| u16::from_str_radix(s, 16).ok();
    if let Some((group, rest)) = step.split_once('[')
        && group.len() == 4
        && let Some((creator, offset)) = rest.rsplit_once(']')
        && let (Some(g), Ok(o)) = (hex(group), u8::from_str_radix(offset, 16))
    {
        return Some(Selector::Private {
            group: g,
            creator: creator.to_string(),
            offset: o,
        });
    }
    let bare: String = step
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '(' | ')' | ','))
        .collect();
    if bare.len() == 8
        && step.len() >= 8
        && bare.chars().all(|c| c.is_ascii_hexdigit())
        && !step.chars().all(|c| c.is_ascii_alphabetic())
    {
        return Some(Selector::Tag(Tag(hex(&bare[..4])?, hex(&bare[4..])?)));
    }
    if step.is_empty() || !step.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(
        StandardDataDictionary
            .by_name(step)
            .map(|e| Selector::Tag(e.tag()))
            .unwrap_or(Selector::Unknown),
    )
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Option<Expr> {
        let mut terms = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            terms.push(self.and()?);
        }
        Some(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut terms = vec![self.unary()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            terms.push(self.unary()?);
        }
        Some(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Option<Expr> {
        let t = self.peek()?.clone();
        self.at += 1;
        match t {
            Token::Not => Some(Expr::Not(Box::new(self.unary()?))),
            Token::Open => {
                let e = self.or()?;
                (self.peek() == Some(&Token::Close)).then(|| self.at += 1)?;
                Some(e)
            }
            Token::Operand(e) => Some(e),
            _ => None,
        }
    }
}
