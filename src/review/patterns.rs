//! Patterns of identifying text, in one place for the engine's Clean Descriptors, the
//! residual-PHI verifier and the pre-review report: the forms a calendar date is written in
//! (numeric, and with month names), and the pattern flags of free text (phone, e-mail, SSN, long
//! digit runs, street address).
//!
//! Everything here works on the ASCII structure of a text and reports byte offsets into it; a
//! non-ASCII character is never a digit or a separator, and counts as a letter at a word boundary.

use serde::{Deserialize, Serialize};

/// A calendar date (years 1800-2199: what a birth or study date can be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ymd {
    pub y: u16,
    pub m: u8,
    pub d: u8,
}

impl Ymd {
    /// A valid date, or `None`.
    pub fn new(y: u32, m: u32, d: u32) -> Option<Ymd> {
        if !(1800..=2199).contains(&y) || !(1..=12).contains(&m) || d == 0 {
            return None;
        }
        let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (d <= days).then_some(Ymd {
            y: y as u16,
            m: m as u8,
            d: d as u8,
        })
    }

    /// The date at the start of a DA or DT value (`YYYYMMDD`, or the old `YYYY.MM.DD`); `None`
    /// for a partial date (`YYYY`, `YYYYMM`) or anything else.
    pub fn from_dicom(value: &str) -> Option<Ymd> {
        let b = value.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = b.get(r)?;
            s.iter()
                .all(u8::is_ascii_digit)
                .then(|| s.iter().fold(0, |a, c| a * 10 + (c - b'0') as u32))
        };
        if b.len() >= 10 && b[4] == b'.' && b[7] == b'.' {
            return Ymd::new(num(0..4)?, num(5..7)?, num(8..10)?);
        }
        if b.len() > 8 && b[8].is_ascii_digit() && b.len() < 10 {
            return None; // nine digits: not a date
        }
        Ymd::new(num(0..4)?, num(4..6)?, num(6..8)?)
    }

    /// `YYYYMMDD`: the one form dates are compared in.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.y, self.m, self.d)
    }

    /// Every written form of this date that Clean Descriptors removes and the verifier finds,
    /// upper case: `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD`, `DD/MM/YYYY`,
    /// `MM/DD/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`, `MM-DD-YYYY` (day and month also without their
    /// leading zero), and with the month's name or abbreviation: `30 SEP 1945`, `30-SEP-1945`,
    /// `30SEP1945`, `SEP 30 1945`, `SEPTEMBER 30, 1945`, `1945-SEP-30`.
    pub fn variants(&self) -> Vec<String> {
        // Made for every file Clean Descriptors cleans: joined by hand, not through `format!`.
        let y = self.y.to_string();
        let two = |v: u8| [b'0' + v / 10, b'0' + v % 10];
        let (m2, d2) = (two(self.m), two(self.d));
        let m2 = std::str::from_utf8(&m2).unwrap_or("");
        let d2 = std::str::from_utf8(&d2).unwrap_or("");
        let m1 = m2.trim_start_matches('0');
        let d1 = d2.trim_start_matches('0');
        let mut out: Vec<String> = Vec::with_capacity(48);
        let mut add = |parts: &[&str]| {
            let s: String = parts.concat();
            if !out.contains(&s) {
                out.push(s);
            }
        };
        add(&[&y, m2, d2]);
        for sep in ["-", "/", "."] {
            add(&[&y, sep, m2, sep, d2]);
        }
        for (m, d) in [(m2, d2), (m1, d1)] {
            for sep in ["/", ".", "-"] {
                add(&[d, sep, m, sep, &y]);
                add(&[m, sep, d, sep, &y]);
            }
        }
        for name in month_names(self.m) {
            for d in [d1, d2] {
                add(&[d, " ", name, " ", &y]);
                add(&[d, "-", name, "-", &y]);
                add(&[d, name, &y]);
                add(&[name, " ", d, " ", &y]);
                add(&[name, " ", d, ", ", &y]);
            }
            add(&[&y, "-", name, "-", d2]);
        }
        out
    }
}

/// The months' names, upper case.
pub const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

/// The names a month is written with: its name, its three-letter abbreviation (and SEPT).
fn month_names(m: u8) -> Vec<&'static str> {
    let full = MONTHS[(m - 1) as usize];
    let mut v = vec![full, &full[..3]];
    if m == 9 {
        v.push("SEPT");
    }
    v.dedup();
    v
}

/// The month a word names (any case; full name, three-letter abbreviation, or SEPT).
pub fn month_of(word: &str) -> Option<u8> {
    if word.len() < 3 || word.len() > 9 || !word.is_ascii() {
        return None;
    }
    let w = word.to_ascii_uppercase();
    if w == "SEPT" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(&w)))
        .map(|i| i as u8 + 1)
}

/// A date written in a text: its byte range and what it reads as (two dates when the order of
/// day and month is ambiguous, `04/07/1960`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateSpan {
    pub start: usize,
    pub end: usize,
    pub dates: Vec<Ymd>,
}

fn is_digit(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_digit)
}

/// A letter at a word boundary: ASCII letters and every non-ASCII byte.
fn is_letter(b: Option<&u8>) -> bool {
    b.is_some_and(|c| c.is_ascii_alphabetic() || *c >= 0x80)
}

fn number(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |a, c| {
        a.saturating_mul(10).saturating_add((c - b'0') as u32)
    })
}

/// A maximal run of digit groups joined by single `-`, `/` or `.` separators.
struct NumericRun {
    start: usize,
    /// Byte ranges of the digit groups.
    groups: Vec<(usize, usize)>,
    /// The separator after each group but the last.
    seps: Vec<u8>,
}

impl NumericRun {
    /// Dotted with three groups or more and not a date: a UID, a version, an address.
    fn dotted(&self) -> bool {
        self.groups.len() >= 3 && self.seps.iter().all(|s| *s == b'.')
    }
}

fn numeric_runs(b: &[u8]) -> Vec<NumericRun> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups = Vec::new();
        let mut seps = Vec::new();
        loop {
            let g = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((g, i));
            if i + 1 < b.len() && matches!(b[i], b'-' | b'/' | b'.') && b[i + 1].is_ascii_digit() {
                seps.push(b[i]);
                i += 1;
            } else {
                break;
            }
        }
        runs.push(NumericRun {
            start,
            groups,
            seps,
        });
    }
    runs
}

/// `HHMM`, `HHMMSS`: the time after a date in a DT-shaped run of digits.
fn is_time(b: &[u8]) -> bool {
    let two = |i: usize| number(&b[i..i + 2]);
    match b.len() {
        4 => two(0) < 24 && two(2) < 60,
        6 => two(0) < 24 && two(2) < 60 && two(4) < 61,
        _ => false,
    }
}

/// Dates written with digits: `YYYY-MM-DD` and `DD/MM/YYYY`-like forms (one separator, `-`, `/`
/// or `.`, used twice), and `YYYYMMDD` (alone or followed by a time, `YYYYMMDDHHMMSS`) as a
/// whole group of digits — never inside a longer number or a dotted UID.
fn numeric_dates(b: &[u8], out: &mut Vec<DateSpan>) {
    for run in numeric_runs(b) {
        let g = |k: usize| &b[run.groups[k].0..run.groups[k].1];
        let mut found = false;
        // Three groups with one separator: the run itself, or three groups at its start or end.
        for k in 0..run.groups.len().saturating_sub(2) {
            if run.seps[k] != run.seps[k + 1] {
                continue;
            }
            let (a, m, c) = (g(k), g(k + 1), g(k + 2));
            // A date inside a longer dotted number (a UID, a version) is not a date.
            if run.seps[k] == b'.' && run.groups.len() > 3 {
                continue;
            }
            let mut dates = Vec::new();
            if a.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&c.len()) {
                dates.extend(Ymd::new(number(a), number(m), number(c)));
            } else if c.len() == 4 && (1..=2).contains(&a.len()) && (1..=2).contains(&m.len()) {
                dates.extend(Ymd::new(number(c), number(m), number(a)));
                dates.extend(Ymd::new(number(c), number(a), number(m)));
                dates.dedup();
            }
            if !dates.is_empty() {
                found = true;
                out.push(DateSpan {
                    start: run.groups[k].0,
                    end: run.groups[k + 2].1,
                    dates,
                });
            }
        }
        if found || run.dotted() {
            continue;
        }
        for &(s, e) in &run.groups {
            let digits = &b[s..e];
            let date = match digits.len() {
                8 => Some(digits),
                12 | 14 if is_time(&digits[8..]) => Some(&digits[..8]),
                _ => None,
            }
            .and_then(|d| Ymd::new(number(&d[..4]), number(&d[4..6]), number(&d[6..8])));
            if let Some(date) = date {
                out.push(DateSpan {
                    start: s,
                    end: e,
                    dates: vec![date],
                });
            }
        }
    }
}

/// Skips up to `max` bytes from `set` forward from `i`.
fn skip_fwd(b: &[u8], mut i: usize, set: &[u8], max: usize) -> usize {
    let mut n = 0;
    while i < b.len() && n < max && set.contains(&b[i]) {
        i += 1;
        n += 1;
    }
    i
}

/// Skips up to `max` bytes from `set` backward from `i` (exclusive end).
fn skip_back(b: &[u8], mut i: usize, set: &[u8], max: usize) -> usize {
    let mut n = 0;
    while i > 0 && n < max && set.contains(&b[i - 1]) {
        i -= 1;
        n += 1;
    }
    i
}

/// Digits forward from `i`: (end, value) when there are `min..=max` of them and no more.
fn digits_fwd(b: &[u8], i: usize, min: usize, max: usize) -> Option<(usize, u32)> {
    let mut e = i;
    while e < b.len() && b[e].is_ascii_digit() {
        e += 1;
    }
    (e - i >= min && e - i <= max).then(|| (e, number(&b[i..e])))
}

/// Digits backward ending at `i`: (start, value) when there are `min..=max` of them and no more.
fn digits_back(b: &[u8], i: usize, min: usize, max: usize) -> Option<(usize, u32)> {
    let mut s = i;
    while s > 0 && b[s - 1].is_ascii_digit() {
        s -= 1;
    }
    (i - s >= min && i - s <= max).then(|| (s, number(&b[s..i])))
}

/// An ordinal suffix (`st`, `nd`, `rd`, `th`) forward from `i`: where it ends.
fn ordinal_fwd(b: &[u8], i: usize) -> usize {
    match b.get(i..i + 2) {
        Some(s)
            if ["ST", "ND", "RD", "TH"]
                .iter()
                .any(|o| s.eq_ignore_ascii_case(o.as_bytes()))
                && !is_letter(b.get(i + 2)) =>
        {
            i + 2
        }
        _ => i,
    }
}

/// Dates written with a month's name: `30 Sep 1945`, `30-SEP-1945`, `30SEP1945`,
/// `30th of September 1945`, `Sep 30 1945`, `September 30th, 1945`, `1945-Sep-30`.
fn month_dates(b: &[u8], out: &mut Vec<DateSpan>) {
    const SEP: &[u8] = b" -/.,";
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphabetic() || is_letter(i.checked_sub(1).and_then(|k| b.get(k))) {
            i += 1;
            continue;
        }
        let ws = i;
        while i < b.len() && is_letter(b.get(i)) {
            i += 1;
        }
        let we = i;
        let Some(m) = std::str::from_utf8(&b[ws..we]).ok().and_then(month_of) else {
            continue;
        };
        let m = m as u32;
        let after = skip_fwd(b, we, b".", 1);
        // Day first: `30 Sep 1945`, `30th of September, 1945`.
        let mut day_end = skip_back(b, ws, SEP, 2);
        if day_end >= 3 && b[day_end - 2..day_end].eq_ignore_ascii_case(b"OF") {
            day_end = skip_back(b, day_end - 2, b" ", 1);
        }
        let day_end = match b.get(day_end.saturating_sub(2)..day_end) {
            Some(s)
                if day_end >= 2
                    && ["ST", "ND", "RD", "TH"]
                        .iter()
                        .any(|o| s.eq_ignore_ascii_case(o.as_bytes())) =>
            {
                day_end - 2
            }
            _ => day_end,
        };
        let day_first = digits_back(b, day_end, 1, 2)
            .filter(|(s, _)| !is_letter(s.checked_sub(1).and_then(|k| b.get(k))))
            .and_then(|(s, d)| {
                let y0 = skip_fwd(b, after, SEP, 2);
                let (e, y) = digits_fwd(b, y0, 4, 4)?;
                Some((s, e, Ymd::new(y, m, d)?))
            });
        // Month first: `Sep 30 1945`, `September 30th, 1945`.
        let month_first = || {
            let d0 = skip_fwd(b, after, SEP, 2);
            let (d_end, d) = digits_fwd(b, d0, 1, 2)?;
            let y0 = skip_fwd(b, ordinal_fwd(b, d_end), SEP, 2);
            let (e, y) = digits_fwd(b, y0, 4, 4)?;
            Some((ws, e, Ymd::new(y, m, d)?))
        };
        // Year first: `1945-Sep-30`, `1945 SEP 30`.
        let year_first = || {
            let y_end = skip_back(b, ws, SEP, 2);
            let (s, y) = digits_back(b, y_end, 4, 4)?;
            let d0 = skip_fwd(b, after, SEP, 2);
            let (e, d) = digits_fwd(b, d0, 1, 2)?;
            Some((s, ordinal_fwd(b, e), Ymd::new(y, m, d)?))
        };
        if let Some((s, e, date)) = day_first.or_else(month_first).or_else(year_first)
            && !is_digit(b.get(e))
            && !is_letter(b.get(e))
            && !is_digit(s.checked_sub(1).and_then(|k| b.get(k)))
        {
            out.push(DateSpan {
                start: s,
                end: e,
                dates: vec![date],
            });
        }
    }
}

/// Every date written in a text, in any of the forms of [`Ymd::variants`], by position.
pub fn find_dates(text: &str) -> Vec<DateSpan> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    numeric_dates(b, &mut out);
    if b.iter().any(u8::is_ascii_alphabetic) {
        month_dates(b, &mut out);
    }
    out.sort_by_key(|d| (d.start, d.end));
    out
}

/// A reason to look at a value: what it matched (an identifier harvested from the inputs) or
/// what it looks like (the pattern flags of [`text_flags`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Flag {
    /// A person's name (harvested from a PN value).
    Name,
    /// A patient or other identifier (harvested).
    Id,
    /// Shaped like a calendar date.
    Date,
    /// An original (not remapped, not registered) UID.
    UidOrig,
    /// Shaped like a telephone number.
    Phone,
    /// An e-mail address.
    Email,
    /// Shaped like a street address or post-office box.
    Address,
    /// A US social security number (`123-45-6789`).
    Ssn,
    /// Six digits or more in a row (a record number), not a date, decimal or UID.
    LongDigits,
    /// Readable text inside a binary (OB, UN) value.
    BinaryText,
}

impl Flag {
    /// The flag's name in reports: `NAME`, `ID`, `DATE`, `UID_ORIG`, `PHONE`, `EMAIL`,
    /// `ADDRESS`, `SSN`, `LONG_DIGITS`, `BINARY_TEXT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Name => "NAME",
            Flag::Id => "ID",
            Flag::Date => "DATE",
            Flag::UidOrig => "UID_ORIG",
            Flag::Phone => "PHONE",
            Flag::Email => "EMAIL",
            Flag::Address => "ADDRESS",
            Flag::Ssn => "SSN",
            Flag::LongDigits => "LONG_DIGITS",
            Flag::BinaryText => "BINARY_TEXT",
        }
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pattern flags of a free text: [`Flag::Date`], [`Flag::Phone`], [`Flag::Email`],
/// [`Flag::Ssn`], [`Flag::LongDigits`] and [`Flag::Address`], each once, in that order. (The
/// other flags need the harvested identifiers or the VR.)
pub fn text_flags(text: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    let dates = find_dates(text);
    if !dates.is_empty() {
        flags.push(Flag::Date);
    }
    let b = text.as_bytes();
    let in_date = |s: usize, e: usize| dates.iter().any(|d| d.start <= s && e <= d.end);
    if !phone_spans(b, &in_date).is_empty() {
        flags.push(Flag::Phone);
    }
    if has_email(b) {
        flags.push(Flag::Email);
    }
    if has_ssn(b) {
        flags.push(Flag::Ssn);
    }
    if has_long_digits(b, &in_date) {
        flags.push(Flag::LongDigits);
    }
    if has_address(b) {
        flags.push(Flag::Address);
    }
    flags
}

/// Byte ranges shaped like telephone numbers: 7 to 15 digits in groups joined by `-`, `.`,
/// spaces or parentheses, with a `+` or `(` in front, a `-` between groups, or the dotted
/// `555.123.4567` form; never a date or a UID.
pub fn phone_spans(b: &[u8], in_date: &dyn Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts = c.is_ascii_digit() || ((c == b'+' || c == b'(') && is_digit(b.get(i + 1)));
        let before = i.checked_sub(1).and_then(|k| b.get(k));
        if !starts || is_digit(before) || is_letter(before) || matches!(before, Some(b'.')) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_digit() || b"()-. +".contains(&b[j])) {
            // A space only inside the number, never two in a row.
            if b[j] == b' ' && b.get(j + 1).is_some_and(|n| *n == b' ') {
                break;
            }
            j += 1;
        }
        while j > i && !b[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let run = &b[i..j];
        let groups: Vec<&[u8]> = run
            .split(|c| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .collect();
        let digits: usize = groups.iter().map(|g| g.len()).sum();
        let plus = run.first() == Some(&b'+');
        let dotted_ok = run.contains(&b'.')
            && groups.len() == 3
            && groups.iter().map(|g| g.len()).eq([3, 3, 4])
            && !run.contains(&b' ');
        // A dashed number starts with a short area code or trunk prefix (`555-1234`,
        // `020-7946-0958`); `1500-3000` is a range.
        let dashed = run.contains(&b'-')
            && groups
                .first()
                .is_some_and(|g| g.len() <= 3 || g.starts_with(b"0"));
        let shaped = plus || run.contains(&b'(') || dashed || dotted_ok;
        let dots_only_elsewhere = run.contains(&b'.') && !dotted_ok;
        let glued = is_letter(b.get(j)) || is_digit(b.get(j));
        if (7..=15).contains(&digits)
            && groups.len() >= 2
            && groups.iter().all(|g| g.len() <= if plus { 8 } else { 4 })
            && shaped
            && !dots_only_elsewhere
            && !glued
            && !in_date(i, j)
            && !is_ssn(run)
        {
            out.push((i, j));
            i = j;
        } else {
            i = j.max(i + 1);
        }
    }
    out
}

fn is_ssn(run: &[u8]) -> bool {
    run.len() == 11
        && run.iter().enumerate().all(|(k, c)| {
            if k == 3 || k == 6 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn has_ssn(b: &[u8]) -> bool {
    (0..b.len().saturating_sub(10)).any(|i| {
        is_ssn(&b[i..i + 11])
            && !is_digit(i.checked_sub(1).and_then(|k| b.get(k)))
            && !matches!(i.checked_sub(1).and_then(|k| b.get(k)), Some(b'-'))
            && !is_digit(b.get(i + 11))
            && !matches!(b.get(i + 11), Some(b'-'))
    })
}

fn has_email(b: &[u8]) -> bool {
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
    b.iter().enumerate().any(|(at, c)| {
        if *c != b'@' || at == 0 || !local(b[at - 1]) {
            return false;
        }
        let mut e = at + 1;
        while e < b.len() && domain(b[e]) {
            e += 1;
        }
        let d = std::str::from_utf8(&b[at + 1..e])
            .unwrap_or("")
            .trim_end_matches('.');
        match d.rsplit_once('.') {
            Some((host, tld)) => {
                !host.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
            }
            None => false,
        }
    })
}

fn has_long_digits(b: &[u8], in_date: &dyn Fn(usize, usize) -> bool) -> bool {
    numeric_runs(b).iter().any(|run| {
        if run.dotted() {
            return false;
        }
        // A decimal number: its fraction may be long.
        let decimal = run.groups.len() == 2 && run.seps[0] == b'.';
        run.groups.iter().enumerate().any(|(k, &(s, e))| {
            let fraction = decimal && k == 1;
            e - s >= 6 && !fraction && !in_date(s, e) && !is_letter(b.get(e))
        }) && !is_letter(run.start.checked_sub(1).and_then(|k| b.get(k)))
    })
}

/// Street-name endings after a house number (`12 Main St`), and street words before a name
/// (`12 rue de la Paix`).
const STREET_SUFFIXES: &[&str] = &[
    "STREET",
    "ST",
    "AVENUE",
    "AVE",
    "AV",
    "ROAD",
    "RD",
    "BOULEVARD",
    "BLVD",
    "LANE",
    "LN",
    "DRIVE",
    "DR",
    "COURT",
    "CT",
    "WAY",
    "PLACE",
    "PL",
    "TERRACE",
    "HIGHWAY",
    "HWY",
    "PARKWAY",
    "PKWY",
    "SQUARE",
    "CRESCENT",
    "CLOSE",
];
const STREET_PREFIXES: &[&str] = &["RUE", "AVENIDA", "CALLE", "VIA", "VIALE", "CHEMIN", "ROUTE"];
const STREET_WORD_ENDINGS: &[&str] = &[
    "STRASSE", "STRAßE", "STR", "WEG", "GASSE", "PLATZ", "STRAAT",
];

fn has_address(b: &[u8]) -> bool {
    let text = String::from_utf8_lossy(b).to_uppercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_number = |w: &str| w.len() <= 6 && w.starts_with(|c: char| c.is_ascii_digit());
    for (k, w) in words.iter().enumerate() {
        if is_number(w) {
            // `12 Main St`, `12 Oak Tree Road`.
            let mut n = k + 1;
            while n < words.len() && n <= k + 3 && words[n].chars().all(char::is_alphabetic) {
                let between = n - k - 1;
                if between >= 1 && STREET_SUFFIXES.contains(&words[n]) {
                    if words[k + 1..n]
                        .iter()
                        .all(|m| m.chars().count() >= 3 && !STREET_SUFFIXES.contains(m))
                    {
                        return true;
                    }
                    break;
                }
                n += 1;
            }
            if words
                .get(k + 1)
                .is_some_and(|n| STREET_PREFIXES.contains(n))
                && words.get(k + 2).is_some()
            {
                return true;
            }
        }
        // `Hauptstrasse 12`.
        if words.get(k + 1).is_some_and(|n| is_number(n))
            && w.chars().count() > 4
            && STREET_WORD_ENDINGS.iter().any(|e| w.ends_with(e))
        {
            return true;
        }
        // `PO Box 123`, `P.O. Box 123`.
        if *w == "BOX"
            && k >= 1
            && (words[k - 1] == "PO" || (k >= 2 && words[k - 2] == "P" && words[k - 1] == "O"))
            && words.get(k + 1).is_some_and(|n| is_number(n))
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: u32, m: u32, d: u32) -> Ymd {
        Ymd::new(y, m, d).unwrap()
    }

    fn found(text: &str) -> Vec<(String, Vec<String>)> {
        find_dates(text)
            .into_iter()
            .map(|d| {
                (
                    text[d.start..d.end].to_string(),
                    d.dates.iter().map(Ymd::compact).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn every_variant_is_found_as_its_date() {
        for date in [ymd(1945, 9, 30), ymd(1960, 7, 4), ymd(2001, 12, 1)] {
            for v in date.variants() {
                for text in [v.clone(), format!("born {v}, seen"), v.to_lowercase()] {
                    let f = find_dates(&text);
                    assert_eq!(f.len(), 1, "{text}: {f:?}");
                    assert!(f[0].dates.contains(&date), "{text}: {f:?}");
                    assert_eq!(&text[f[0].start..f[0].end].to_uppercase(), &v, "{text}");
                }
            }
        }
    }

    #[test]
    fn month_names_in_their_usual_forms() {
        let d = "19450930".to_string();
        for t in [
            "DOB 30 Sep 1945.",
            "September 30, 1945",
            "Sep 30 1945",
            "30th of September 1945",
            "Sept. 30th, 1945",
            "30-SEP-1945",
            "30SEP1945",
            "1945-Sep-30",
        ] {
            assert_eq!(found(t).len(), 1, "{t}");
            assert_eq!(found(t)[0].1, vec![d.clone()], "{t}");
        }
        assert!(found("patient may 3 1945x").is_empty());
        assert!(found("Mayo 30 1945").is_empty(), "not a month word");
        assert!(found("30 Sep").is_empty(), "no year");
        assert!(found("Sep 1945").is_empty(), "no day");
    }

    #[test]
    fn numeric_dates_at_digit_boundaries_only() {
        assert_eq!(found("07/04/1960")[0].1, vec!["19600407", "19600704"]);
        assert_eq!(found("2021-03-04")[0].1, vec!["20210304"]);
        assert_eq!(found("x19450930y")[0].1, vec!["19450930"]);
        assert_eq!(found("19450930120000.5+0100")[0].1, vec!["19450930"]);
        assert_eq!(found("19450930-19460101").len(), 2, "a DA range");
        assert!(found("1.2.840.113619.2.19450930.1").is_empty(), "UID");
        assert!(found("2.25.194509301234567890123").is_empty());
        assert!(found("119450930").is_empty(), "nine digits");
        assert!(found("1945.09.30.1").is_empty(), "dotted run");
        assert!(found("20211345").is_empty(), "month 13");
        assert!(found("1.5/2.5").is_empty());
        assert_eq!(found("1945.09.30")[0].1, vec!["19450930"]);
        assert!(found("12/13/14").is_empty(), "two-digit years are not read");
    }

    #[test]
    fn dicom_values() {
        assert_eq!(Ymd::from_dicom("19450930"), Some(ymd(1945, 9, 30)));
        assert_eq!(Ymd::from_dicom("19450930121212.5"), Some(ymd(1945, 9, 30)));
        assert_eq!(Ymd::from_dicom("1945.09.30"), Some(ymd(1945, 9, 30)));
        assert_eq!(Ymd::from_dicom("194509"), None);
        assert_eq!(Ymd::from_dicom("19450931"), None);
        assert_eq!(
            Ymd::new(2000, 2, 29).map(|d| d.compact()),
            Some("20000229".into())
        );
        assert_eq!(Ymd::new(1900, 2, 29), None);
    }

    #[test]
    fn flags() {
        let f = |t: &str| {
            text_flags(t)
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(f("CT CHEST W CONTRAST 5.0 mm"), "");
        assert_eq!(f("seen 30 Sep 1945"), "DATE");
        assert_eq!(f("call (555) 123-4567"), "PHONE");
        assert_eq!(f("call +44 20 7946 0958"), "PHONE");
        assert_eq!(f("555.123.4567"), "PHONE");
        assert_eq!(f("jane.doe@example.org"), "EMAIL");
        assert_eq!(f("a@b"), "");
        assert_eq!(f("SSN 123-45-6789"), "SSN");
        assert_eq!(f("MRN 12345678 9"), "LONG_DIGITS");
        assert_eq!(f("MRN 1234567"), "LONG_DIGITS");
        assert_eq!(f("0.1234567 1.2.840.10008.5.1.4"), "");
        assert_eq!(f("20210304"), "DATE");
        assert_eq!(f("12 Main Street"), "ADDRESS");
        assert_eq!(f("1600 Pennsylvania Ave"), "ADDRESS");
        assert_eq!(f("12 rue de la Paix"), "ADDRESS");
        assert_eq!(f("Hauptstrasse 12"), "ADDRESS");
        assert_eq!(f("P.O. Box 1234"), "ADDRESS");
        assert_eq!(f("3 CT slices"), "");
        assert_eq!(f("2 mm ST"), "");
        assert_eq!(f("512 512 256"), "");
        assert_eq!(f("T1 3D 1mm 256x256"), "");
        assert_eq!(f("Window 1500-3000"), "");
        assert_eq!(f("FCR0217-0000"), "", "glued to letters");
        assert_eq!(Flag::UidOrig.to_string(), "UID_ORIG");
        assert_eq!(
            serde_json::to_string(&Flag::LongDigits).unwrap(),
            "\"LONG_DIGITS\""
        );
    }
}
