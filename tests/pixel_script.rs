//! CTP's DicomPixelAnonymizer script (`src/pixels/script.rs`) against the semantics of CTP's
//! Java (`/work/ctp-semantics.md`, `shared/notes/pixels.md` §5).
//!
//! 1. Every signature of the built-in library is satisfied by a header that a small solver
//!    builds from the signature's own expression (so a new or edited rule is covered without a
//!    hand-written fixture), and the first match for that header is that signature or an
//!    earlier one: the rules an earlier rule shadows are listed.
//! 2. Every positive test of every signature is then broken on its own (a near miss: Rows 512
//!    becomes 511, one letter of a manufacturer changes, an `equals` value gains a character),
//!    and the signature must no longer hold.
//! 3. The expression semantics, on small hand-written scripts.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_deid::dicom::charset::CharacterSet;
use dicom_deid::dicom::model::{Element, Encoding, Item, Tag, Vr};
use dicom_deid::pixels::regions::Region;
use dicom_deid::pixels::script::{
    BUILTIN_SCRIPT, Expr, Header, Method, PixelScript, Selector, parse_expr,
};
use dicom_dictionary_std::StandardDataDictionary;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn vr_from(vr: dicom_core::VR) -> Vr {
    let s = vr.to_string().as_bytes();
    Vr::from_bytes([s[0], s[1]]).expect("a VR this crate knows")
}

/// Tag and VR of a DICOM keyword.
fn dict(keyword: &str) -> (Tag, Vr) {
    let e = StandardDataDictionary
        .by_name(keyword)
        .unwrap_or_else(|| panic!("{keyword} is not a DICOM keyword"));
    (e.tag(), vr_from(e.vr().relaxed()))
}

/// The dictionary VR of a tag (LO when the dictionary does not know it).
fn vr_of_tag(tag: Tag) -> Vr {
    StandardDataDictionary
        .by_tag(tag)
        .map(|e| vr_from(e.vr().relaxed()))
        .unwrap_or(Vr::LO)
}

/// A data set and its file meta information, and the header the script reads from them.
struct Fixture {
    dataset: Item<'static>,
    meta: Item<'static>,
    charset: CharacterSet,
    encoding: Encoding,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dataset: Item::default(),
            meta: Item::default(),
            charset: CharacterSet::default(),
            encoding: Encoding::EXPLICIT_LE,
        }
    }

    fn header(&self) -> Header<'_, 'static> {
        Header {
            dataset: &self.dataset,
            meta: &self.meta,
            encoding: self.encoding,
            charset: &self.charset,
        }
    }

    /// Puts an element in the meta (group 0002) or in the data set.
    fn put(&mut self, e: Element<'static>) {
        if e.tag.0 == 0x0002 {
            self.meta.put(e)
        } else {
            self.dataset.put(e)
        }
    }

    fn with(mut self, e: Element<'static>) -> Fixture {
        self.put(e);
        self
    }

    /// A text attribute by keyword (the keyword's VR must be a text VR).
    fn text(self, keyword: &str, value: &str) -> Fixture {
        let (tag, vr) = dict(keyword);
        assert!(vr.is_text(), "{keyword} is {vr:?}, not text");
        self.with(Element::text(tag, vr, value))
    }

    /// A US attribute by keyword, as the binary value real files hold.
    fn us(self, keyword: &str, values: &[u16]) -> Fixture {
        let (tag, vr) = dict(keyword);
        assert_eq!(vr, Vr::US, "{keyword}");
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.with(Element::bytes(tag, Vr::US, bytes))
    }

    /// Evaluates an expression that must parse.
    fn eval(&self, expr: &str) -> bool {
        let e = parse_expr(expr);
        assert_ne!(e, Expr::Invalid, "{expr:?} should parse");
        e.eval(&self.header())
    }

    /// Evaluates an expression whatever it parses to.
    fn eval_any(&self, expr: &str) -> bool {
        parse_expr(expr).eval(&self.header())
    }
}

// ---------------------------------------------------------------------------------------------
// The solver: from an expression to a header that makes it true
// ---------------------------------------------------------------------------------------------

/// One `path.method("literal")` test.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    path: Vec<Selector>,
    method: Method,
    literal: String,
}

impl std::fmt::Display for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:?}({:?})",
            path_name(&self.path),
            self.method,
            self.literal
        )
    }
}

fn path_name(path: &[Selector]) -> String {
    path.iter()
        .map(|s| match s {
            Selector::Tag(t) => StandardDataDictionary
                .by_tag(*t)
                .map(|e| e.alias().to_string())
                .unwrap_or_else(|| format!("({:04X},{:04X})", t.0, t.1)),
            Selector::Private {
                group,
                creator,
                offset,
            } => format!("{group:04X}[{creator}]{offset:02X}"),
            Selector::Unknown => "<unknown>".to_string(),
        })
        .collect::<Vec<_>>()
        .join("::")
}

/// What one way of satisfying an expression requires: tests that must hold and tests that
/// must not (those under a `!`).
#[derive(Debug, Clone, Default)]
struct Plan {
    pos: Vec<Leaf>,
    neg: Vec<Leaf>,
}

impl Plan {
    fn merge(&self, other: &Plan) -> Plan {
        Plan {
            pos: self.pos.iter().chain(&other.pos).cloned().collect(),
            neg: self.neg.iter().chain(&other.neg).cloned().collect(),
        }
    }
}

/// Every way of giving `expr` the truth value `want`, in order: for an Or, the first term's
/// ways first (so the first realizable plan satisfies the first satisfiable term); for an And,
/// every combination of its terms' ways. A `!` flips the wanted value (De Morgan), so a negated
/// test becomes a test that must not hold, which an absent attribute ("" in CTP) usually gives.
fn plans(expr: &Expr, want: bool) -> Vec<Plan> {
    match expr {
        Expr::Const(b) => {
            if *b == want {
                vec![Plan::default()]
            } else {
                vec![]
            }
        }
        Expr::Invalid => {
            if want {
                vec![]
            } else {
                vec![Plan::default()]
            }
        }
        Expr::Test {
            path,
            method,
            literal,
        } => {
            let leaf = Leaf {
                path: path.clone(),
                method: *method,
                literal: literal.clone(),
            };
            let mut p = Plan::default();
            if want {
                p.pos.push(leaf)
            } else {
                p.neg.push(leaf)
            }
            vec![p]
        }
        Expr::Not(e) => plans(e, !want),
        Expr::And(terms) if want => product(terms, true),
        Expr::Or(terms) if !want => product(terms, false),
        Expr::And(terms) | Expr::Or(terms) => terms.iter().flat_map(|t| plans(t, want)).collect(),
    }
}

fn product(terms: &[Expr], want: bool) -> Vec<Plan> {
    let mut acc = vec![Plan::default()];
    for t in terms {
        let ways = plans(t, want);
        acc = acc
            .iter()
            .flat_map(|a| ways.iter().map(move |b| a.merge(b)))
            .collect();
    }
    acc
}

/// The value an attribute is given.
#[derive(Debug, Clone, PartialEq)]
enum Setting {
    Absent,
    Text(String),
    Us(u16),
}

impl Setting {
    /// The string CTP reads from the value (text without its padding, US in decimal).
    fn shown(&self) -> String {
        match self {
            Setting::Absent => String::new(),
            Setting::Text(s) => s.trim_matches(' ').to_string(),
            Setting::Us(n) => n.to_string(),
        }
    }
}

type Settings = Vec<(Vec<Selector>, Setting)>;

fn is_ignore_case(m: Method) -> bool {
    matches!(
        m,
        Method::EqualsIgnoreCase
            | Method::ContainsIgnoreCase
            | Method::StartsWithIgnoreCase
            | Method::EndsWithIgnoreCase
    )
}

/// The literal in other letter case (to prove that the IgnoreCase methods ignore it).
fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// How the built value writes the literals of IgnoreCase tests: in swapped case first (to prove
/// that case is ignored), then as written, then in lower and in upper case (for when a
/// case-sensitive test on the same attribute rules the first out).
#[derive(Debug, Clone, Copy)]
enum Casing {
    Swapped,
    AsWritten,
    Lower,
    Upper,
}

/// The literal as the built value carries it.
fn cased(l: &Leaf, casing: Casing) -> String {
    if !is_ignore_case(l.method) {
        return l.literal.clone();
    }
    match casing {
        Casing::Swapped => swap_case(&l.literal),
        Casing::AsWritten => l.literal.clone(),
        Casing::Lower => l.literal.to_ascii_lowercase(),
        Casing::Upper => l.literal.to_ascii_uppercase(),
    }
}

fn is_us(path: &[Selector]) -> bool {
    matches!(path, [Selector::Tag(t)] if vr_of_tag(*t) == Vr::US)
}

/// The number CTP's comparisons read from a string (digits and points only).
fn ctp_number(s: &str) -> Result<f64, String> {
    s.chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect::<String>()
        .parse()
        .map_err(|_| format!("{s:?} holds no number"))
}

/// A string matched by a simple regular expression: literal characters, `.`, `\d`, `\w`,
/// `\s`, escaped punctuation, `[…]` classes, the quantifiers `* + ? {n} {n,} {n,m}`, and a
/// top-level `|` (first branch). Anything else fails loudly.
fn regex_example(re: &str) -> Result<String, String> {
    if re.contains(['(', ')']) {
        return Err(format!("regex {re:?} is too complex for the solver"));
    }
    let branch = re.split('|').next().unwrap_or("");
    let c: Vec<char> = branch.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        let atom: char = match c[i] {
            '.' => {
                i += 1;
                'x'
            }
            '\\' => {
                let e = *c.get(i + 1).ok_or("dangling escape")?;
                i += 2;
                match e {
                    'd' => '7',
                    'w' => 'w',
                    's' => ' ',
                    e if e.is_ascii_alphanumeric() => {
                        return Err(format!("escape \\{e} in {re:?} unsupported"));
                    }
                    e => e,
                }
            }
            '[' => {
                let close = c[i..]
                    .iter()
                    .position(|&x| x == ']')
                    .ok_or("unclosed class")?;
                let first = *c.get(i + 1).ok_or("empty class")?;
                if first == '^' || first == '\\' {
                    return Err(format!("class in {re:?} unsupported"));
                }
                i += close + 1;
                first
            }
            '*' | '+' | '?' | '{' | '^' | '$' => {
                return Err(format!("regex {re:?} unsupported at {i}"));
            }
            x => {
                i += 1;
                x
            }
        };
        let times = match c.get(i) {
            Some('*') | Some('+') => {
                i += 1;
                2
            }
            Some('?') => {
                i += 1;
                1
            }
            Some('{') => {
                let close = c[i..].iter().position(|&x| x == '}').ok_or("unclosed {")?;
                let inner: String = c[i + 1..i + close].iter().collect();
                i += close + 1;
                inner
                    .split(',')
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| format!("bad repeat in {re:?}"))?
            }
            _ => 1,
        };
        out.extend(std::iter::repeat_n(atom, times));
    }
    Ok(out)
}

/// A value for one attribute that the positive tests on it require.
fn candidate(path: &[Selector], pos: &[&Leaf], casing: Casing) -> Result<Setting, String> {
    if path.len() != 1 {
        return Err(format!(
            "{}: paths through sequences are not supported by the solver",
            path_name(path)
        ));
    }
    if matches!(path[0], Selector::Unknown) {
        return Ok(Setting::Absent);
    }
    use Method::*;
    let exact = pos
        .iter()
        .find(|l| matches!(l.method, Equals | EqualsIgnoreCase | Matches));
    let text = if let Some(l) = exact {
        match l.method {
            Matches => regex_example(&l.literal)?,
            _ => cased(l, casing),
        }
    } else if pos
        .iter()
        .all(|l| matches!(l.method, IsLessThan | IsGreaterThan))
    {
        let mut lo: Option<f64> = None;
        let mut hi: Option<f64> = None;
        for l in pos {
            let n = ctp_number(&l.literal)?;
            if l.method == IsGreaterThan {
                lo = Some(lo.map_or(n, |x| x.max(n)));
            } else {
                hi = Some(hi.map_or(n, |x| x.min(n)));
            }
        }
        let v = match (lo, hi) {
            (Some(l), _) if is_us(path) => l.floor() + 1.0,
            (None, Some(h)) if is_us(path) => h.ceil() - 1.0,
            (Some(l), None) => l + 1.0,
            (None, Some(h)) => h / 2.0,
            (Some(l), Some(h)) => (l + h) / 2.0,
            (None, None) => unreachable!("at least one test"),
        };
        format!("{v}")
    } else {
        // Substring tests: `##` around the literal proves that only a substring is needed.
        let starts = pos
            .iter()
            .find(|l| matches!(l.method, StartsWith | StartsWithIgnoreCase));
        let ends = pos
            .iter()
            .find(|l| matches!(l.method, EndsWith | EndsWithIgnoreCase));
        let mut parts = vec![starts.map_or("##".to_string(), |l| cased(l, casing))];
        parts.extend(
            pos.iter()
                .filter(|l| matches!(l.method, Contains | ContainsIgnoreCase))
                .map(|l| cased(l, casing)),
        );
        parts.push(ends.map_or("##".to_string(), |l| cased(l, casing)));
        parts.join(" ")
    };
    if is_us(path) {
        text.parse::<u16>().map(Setting::Us).map_err(|_| {
            format!(
                "{} is US (binary): it cannot hold {text:?}",
                path_name(path)
            )
        })
    } else {
        Ok(Setting::Text(text))
    }
}

/// The values a plan asks for, or why they conflict.
fn realize(plan: &Plan) -> Result<Settings, String> {
    let mut paths: Vec<&Vec<Selector>> = Vec::new();
    for l in plan.pos.iter().chain(&plan.neg) {
        if !paths.contains(&&l.path) {
            paths.push(&l.path);
        }
    }
    let mut out = Vec::new();
    for path in paths {
        let pos: Vec<&Leaf> = plan.pos.iter().filter(|l| &l.path == path).collect();
        let neg: Vec<&Leaf> = plan.neg.iter().filter(|l| &l.path == path).collect();
        let check = |setting: &Setting| -> Result<(), String> {
            let shown = setting.shown();
            for l in &pos {
                if !l.method.apply(&shown, &l.literal) {
                    return Err(format!(
                        "conflict: {l} must hold, but the value built for {} is {shown:?}",
                        path_name(path)
                    ));
                }
            }
            for l in &neg {
                if l.method.apply(&shown, &l.literal) {
                    return Err(format!(
                        "conflict: {l} must not hold, but {} is {shown:?}",
                        path_name(path)
                    ));
                }
            }
            Ok(())
        };
        let setting = if pos.is_empty() {
            check(&Setting::Absent).map(|()| Setting::Absent)
        } else {
            let mut first_error = None;
            let mut found = None;
            for casing in [
                Casing::Swapped,
                Casing::AsWritten,
                Casing::Lower,
                Casing::Upper,
            ] {
                match candidate(path, &pos, casing).and_then(|s| check(&s).map(|()| s)) {
                    Ok(s) => {
                        found = Some(s);
                        break;
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            found.ok_or_else(|| first_error.unwrap())
        }?;
        out.push((path.clone(), setting));
    }
    Ok(out)
}

/// Every realizable way of making `expr` true, in order, with the plan it came from; fails
/// loudly when there is none.
fn solve(expr: &Expr) -> Result<Vec<(Plan, Settings)>, String> {
    let all = plans(expr, true);
    if all.is_empty() {
        return Err("the expression can never be true".into());
    }
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for p in all {
        match realize(&p) {
            Ok(s) => ok.push((p, s)),
            Err(e) => errors.push(e),
        }
    }
    if ok.is_empty() {
        Err(errors.join("; "))
    } else {
        Ok(ok)
    }
}

/// The header of a set of values.
fn build(settings: &Settings) -> Fixture {
    let mut f = Fixture::new();
    for (path, setting) in settings {
        match (&path[..], setting) {
            (_, Setting::Absent) => {}
            ([Selector::Tag(t)], Setting::Us(n)) => {
                f.put(Element::bytes(*t, Vr::US, n.to_le_bytes().to_vec()))
            }
            ([Selector::Tag(t)], Setting::Text(s)) => f.put(Element::text(*t, vr_of_tag(*t), s)),
            (
                [
                    Selector::Private {
                        group,
                        creator,
                        offset,
                    },
                ],
                Setting::Text(s),
            ) => {
                let block = private_block(&mut f, *group, creator);
                f.put(Element::text(
                    Tag(*group, (block << 8) | *offset as u16),
                    Vr::LO,
                    s,
                ));
            }
            (p, s) => panic!("cannot build {} = {s:?}", path_name(p)),
        }
    }
    f
}

/// The block a private creator holds in a group, reserving the first free one.
fn private_block(f: &mut Fixture, group: u16, creator: &str) -> u16 {
    for b in 0x10..=0xFF {
        match f.dataset.get(Tag(group, b)).and_then(|e| e.raw()) {
            Some(raw) if String::from_utf8_lossy(raw).trim_end() == creator => return b,
            Some(_) => continue,
            None => {
                f.put(Element::text(Tag(group, b), Vr::LO, creator));
                return b;
            }
        }
    }
    panic!("no free private block in group {group:04X}")
}

/// The next character of the same kind (letters keep their case).
fn bump(c: char) -> char {
    match c {
        'z' => 'a',
        'Z' => 'A',
        '9' => '0',
        c if c.is_ascii_alphanumeric() => (c as u8 + 1) as char,
        c => c,
    }
}

/// A value close to `setting` that breaks `leaf`: one letter of the literal changed where the
/// value holds it, a character added, a number moved by one.
fn near_miss(setting: &Setting, leaf: &Leaf) -> Setting {
    use Method::*;
    let mut candidates: Vec<Setting> = Vec::new();
    match setting {
        Setting::Us(n) => {
            candidates.extend(n.checked_sub(1).map(Setting::Us));
            candidates.extend(n.checked_add(1).map(Setting::Us));
        }
        Setting::Text(v) => {
            let equals = matches!(leaf.method, Equals | EqualsIgnoreCase);
            if equals {
                candidates.push(Setting::Text(format!("{v}Z")));
            }
            if matches!(leaf.method, IsLessThan | IsGreaterThan) {
                candidates.push(Setting::Text(leaf.literal.clone()));
            }
            let (hay, needle) = if is_ignore_case(leaf.method) {
                (v.to_ascii_lowercase(), leaf.literal.to_ascii_lowercase())
            } else {
                (v.clone(), leaf.literal.clone())
            };
            if let Some(at) = (!needle.is_empty()).then(|| hay.find(&needle)).flatten() {
                let chars: Vec<char> = v.chars().collect();
                let within = at..at + needle.len();
                if let Some(k) = within.clone().find(|&k| chars[k].is_ascii_alphanumeric()) {
                    let mut changed = chars.clone();
                    changed[k] = bump(changed[k]);
                    candidates.push(Setting::Text(changed.into_iter().collect()));
                }
                let mut removed = chars;
                removed.drain(within);
                candidates.push(Setting::Text(removed.into_iter().collect()));
            }
            if !equals {
                candidates.push(Setting::Text(format!("{v}Z")));
            }
            candidates.push(Setting::Text(format!("Z{v}")));
            candidates.push(Setting::Text(format!("{v}\n")));
        }
        Setting::Absent => candidates.push(Setting::Text("##".into())),
    }
    candidates
        .into_iter()
        .find(|c| !leaf.method.apply(&c.shown(), &leaf.literal))
        .unwrap_or_else(|| panic!("no near miss breaks {leaf} (value {setting:?})"))
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: the built-in library
// ---------------------------------------------------------------------------------------------

fn describe(settings: &Settings) -> String {
    settings
        .iter()
        .map(|(p, s)| format!("{}={:?}", path_name(p), s.shown()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many built-in signatures have a solver header that an earlier signature takes first.
const EXPECTED_SHADOWED: usize = 2;

#[test]
fn every_builtin_signature_is_satisfiable_and_first_match_is_at_or_before_it() {
    let script = PixelScript::builtin();
    assert_eq!(
        script.signatures.len(),
        52,
        "CTP's library has 52 signatures"
    );
    let mut shadowed = Vec::new();
    let mut headers = 0;
    for (i, sig) in script.signatures.iter().enumerate() {
        assert_ne!(
            sig.expr,
            Expr::Invalid,
            "line {}: {} does not parse",
            sig.line,
            sig.text
        );
        let solutions =
            solve(&sig.expr).unwrap_or_else(|e| panic!("line {}: {}: {e}", sig.line, sig.text));
        for (k, (_, settings)) in solutions.iter().enumerate() {
            headers += 1;
            let f = build(settings);
            let h = f.header();
            assert!(
                sig.expr.eval(&h),
                "line {}: {} is false for {}",
                sig.line,
                sig.text,
                describe(settings)
            );
            let first = script
                .signatures
                .iter()
                .position(|s| s.expr.eval(&h))
                .expect("at least this signature matches");
            assert!(first <= i);
            let m = script.first_match(&h).expect("a match");
            assert_eq!(m.script, "ctp-builtin");
            assert_eq!(m.line, script.signatures[first].line);
            assert_eq!(m.regions, script.signatures[first].regions);
            if first < i && k == 0 {
                shadowed.push((i, first));
            }
        }
    }
    println!(
        "{} signatures, {headers} headers (one per way to satisfy each)",
        script.signatures.len()
    );
    for (i, by) in &shadowed {
        let (s, b) = (&script.signatures[*i], &script.signatures[*by]);
        println!(
            "shadowed: #{i} line {} {{ {} }} is taken by #{by} line {} {{ {} }}",
            s.line, s.text, b.line, b.text
        );
    }
    assert_eq!(shadowed.len(), EXPECTED_SHADOWED, "shadowed: {shadowed:?}");
    // The two rules CTP can never reach: AVA Report (its earlier 512×512 GE screen-capture rule
    // needs a subset of its tests) and ADAC DUAL DETEC (the same, with the plain ADAC rule).
    let lines: Vec<(usize, usize)> = shadowed
        .iter()
        .map(|(i, by)| (script.signatures[*i].line, script.signatures[*by].line))
        .collect();
    let text = |line: usize| {
        &script
            .signatures
            .iter()
            .find(|s| s.line == line)
            .unwrap()
            .text
    };
    assert!(text(lines[0].0).contains("AVA Report"), "{lines:?}");
    assert!(text(lines[1].0).contains("DUAL DETEC"), "{lines:?}");
}

/// A rule is dead when an earlier rule that is a plain conjunction asks for a subset of its
/// tests in every way it can hold: whatever the header, the earlier rule matches first.
#[test]
fn dead_builtin_rules_are_exactly_the_shadowed_ones() {
    let script = PixelScript::builtin();
    let mut dead = Vec::new();
    for (j, later) in script.signatures.iter().enumerate() {
        let later_plans = plans(&later.expr, true);
        let by = script.signatures[..j].iter().position(|earlier| {
            let ps = plans(&earlier.expr, true);
            ps.len() == 1
                && ps[0].neg.is_empty()
                && later_plans
                    .iter()
                    .all(|lp| ps[0].pos.iter().all(|l| lp.pos.contains(l)))
        });
        if let Some(by) = by {
            println!(
                "dead: line {} {{ {} }} (subsumed by line {})",
                later.line, later.text, script.signatures[by].line
            );
            dead.push(j);
        }
    }
    assert_eq!(dead.len(), EXPECTED_SHADOWED);
    // The same two rules as the solver's headers find shadowed (AVA Report, ADAC DUAL DETEC).
    assert_eq!(dead, [5, 50]);
}

#[test]
fn every_positive_test_of_every_builtin_signature_has_a_near_miss() {
    let script = PixelScript::builtin();
    let mut perturbed = 0;
    let mut per_method = std::collections::BTreeMap::<String, usize>::new();
    for sig in &script.signatures {
        let solutions = solve(&sig.expr).unwrap();
        for (plan, settings) in &solutions {
            assert!(sig.expr.eval(&build(settings).header()));
            for leaf in &plan.pos {
                let at = settings
                    .iter()
                    .position(|(p, _)| *p == leaf.path)
                    .expect("every leaf's attribute is set");
                let mut broken = settings.clone();
                let before = broken[at].1.clone();
                broken[at].1 = near_miss(&before, leaf);
                let f = build(&broken);
                assert!(
                    !sig.expr.eval(&f.header()),
                    "line {}: {} still holds with {} changed from {:?} to {:?} (breaking {leaf})",
                    sig.line,
                    sig.text,
                    path_name(&leaf.path),
                    before.shown(),
                    broken[at].1.shown()
                );
                perturbed += 1;
                *per_method.entry(format!("{:?}", leaf.method)).or_default() += 1;
            }
        }
    }
    println!("{perturbed} positive tests perturbed one at a time: {per_method:?}");
    // containsIgnoreCase 93, equals 85, contains 1, counted over every way each rule can hold:
    // the VITREA rule's Or gives two ways of 3 tests each, one more than its 4 tests once.
    assert_eq!(perturbed, 93 + 85 + 1 + 2);
}

#[test]
fn near_misses_are_what_the_brief_describes() {
    let rows = Leaf {
        path: vec![Selector::Tag(dict("Rows").0)],
        method: Method::Equals,
        literal: "512".into(),
    };
    assert_eq!(near_miss(&Setting::Us(512), &rows), Setting::Us(511));
    let manufacturer = Leaf {
        path: vec![Selector::Tag(dict("Manufacturer").0)],
        method: Method::ContainsIgnoreCase,
        literal: "GE MEDICAL".into(),
    };
    assert_eq!(
        near_miss(&Setting::Text("## ge medical ##".into()), &manufacturer),
        Setting::Text("## he medical ##".into())
    );
    let modality = Leaf {
        path: vec![Selector::Tag(dict("Modality").0)],
        method: Method::Equals,
        literal: "CT".into(),
    };
    assert_eq!(
        near_miss(&Setting::Text("CT".into()), &modality),
        Setting::Text("CTZ".into())
    );
}

// The solver on its own: Not, Or, numbers, regexes, conflicts.

fn one_script(expr: &str) -> PixelScript {
    PixelScript::parse("test", &format!("{{ {expr} }} (0,0,1,1)"))
}

#[test]
fn solver_handles_not_or_numbers_and_regexes() {
    for expr in [
        r#"!Manufacturer.contains("X") * Rows.isGreaterThan("100")"#,
        r#"Rows.isLessThan("100") * Columns.isGreaterThan("10") * Columns.isLessThan("12")"#,
        r#"Modality.matches("C[TR]") * StudyDescription.matches("a.b\d+x?")"#,
        r#"!(Modality.equals("MR") + Modality.equals("CT")) * SeriesDescription.startsWith("Ab")"#,
        r#"SeriesDescription.startsWithIgnoreCase("ab") * SeriesDescription.endsWith("YZ") * SeriesDescription.contains("mid")"#,
        r#"Modality.equalsIgnoreCase("ct") * !Modality.equals("CT")"#,
        r#"(Modality.equals("MR") * Modality.equals("CT")) + Rows.equals("7")"#,
        r#"!(!Modality.equals("CT"))"#,
        r#"NoSuchKeyword.equals("")"#,
        r#"[0029[SIEMENS CSA HEADER]08].equals("IMAGE NUM 10")"#,
    ] {
        let script = one_script(expr);
        let sig = &script.signatures[0];
        assert_ne!(sig.expr, Expr::Invalid, "{expr}");
        let solutions = solve(&sig.expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        for (plan, settings) in solutions {
            let f = build(&settings);
            assert!(
                sig.expr.eval(&f.header()),
                "{expr}: {}",
                describe(&settings)
            );
            for leaf in &plan.pos {
                let Some(at) = settings.iter().position(|(p, _)| *p == leaf.path) else {
                    continue;
                };
                if settings[at].1 == Setting::Absent {
                    continue;
                }
                let mut broken = settings.clone();
                broken[at].1 = near_miss(&settings[at].1, leaf);
                assert!(
                    !leaf.method.apply(&broken[at].1.shown(), &leaf.literal),
                    "{expr}: {leaf}"
                );
            }
        }
    }
}

#[test]
fn solver_fails_loudly_on_conflicts() {
    for expr in [
        r#"Modality.equals("CT") * Modality.equals("MR")"#,
        r#"Rows.equals("512") * !Rows.equals("512")"#,
        r#"Rows.containsIgnoreCase("abc")"#,
        r#"!Manufacturer.contains("")"#,
        r#"Modality.foo("CT")"#,
        r#"false"#,
        r#"Rows.isLessThan("0")"#,
    ] {
        let sig = one_script(expr).signatures.remove(0);
        let err = solve(&sig.expr).map(|s| describe(&s[0].1)).unwrap_err();
        println!("{expr}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Semantics on hand-written scripts
// ---------------------------------------------------------------------------------------------

fn test(keyword: &str, method: Method, literal: &str) -> Expr {
    Expr::Test {
        path: vec![Selector::Tag(dict(keyword).0)],
        method,
        literal: literal.into(),
    }
}

#[test]
fn precedence_not_over_and_over_or() {
    let a = test("Modality", Method::Equals, "A");
    let b = test("Modality", Method::Equals, "B");
    let c = test("Rows", Method::Equals, "1");
    assert_eq!(
        parse_expr(r#"Modality.equals("A") + Modality.equals("B") * Rows.equals("1")"#),
        Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        parse_expr(r#"!Modality.equals("A") * Rows.equals("1")"#),
        Expr::And(vec![Expr::Not(Box::new(a.clone())), c.clone()])
    );
    assert_eq!(
        parse_expr(r#"(Modality.equals("A") + Modality.equals("B")) * Rows.equals("1")"#),
        Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()])
    );
    assert_eq!(
        parse_expr(r#"!(Modality.equals("A") * Rows.equals("1"))"#),
        Expr::Not(Box::new(Expr::And(vec![a.clone(), c.clone()])))
    );

    let or_and = r#"Modality.equals("A") + Modality.equals("B") * Rows.equals("1")"#;
    // a + (b * c): A alone is enough; (a + b) * c would need Rows.
    assert!(Fixture::new().text("Modality", "A").eval(or_and));
    assert!(
        !Fixture::new()
            .text("Modality", "B")
            .us("Rows", &[2])
            .eval(or_and)
    );
    assert!(
        Fixture::new()
            .text("Modality", "B")
            .us("Rows", &[1])
            .eval(or_and)
    );
    let grouped = r#"(Modality.equals("A") + Modality.equals("B")) * Rows.equals("1")"#;
    assert!(!Fixture::new().text("Modality", "A").eval(grouped));
    assert!(
        Fixture::new()
            .text("Modality", "A")
            .us("Rows", &[1])
            .eval(grouped)
    );

    // !a * b is (!a) * b, not !(a * b).
    let not_and = r#"!Modality.equals("A") * Rows.equals("1")"#;
    assert!(!Fixture::new().eval(not_and), "!(a*b) would be true");
    assert!(Fixture::new().us("Rows", &[1]).eval(not_and));
    assert!(
        !Fixture::new()
            .text("Modality", "A")
            .us("Rows", &[1])
            .eval(not_and)
    );
    let not_grouped = r#"!(Modality.equals("A") * Rows.equals("1"))"#;
    assert!(Fixture::new().eval(not_grouped));
    assert!(
        !Fixture::new()
            .text("Modality", "A")
            .us("Rows", &[1])
            .eval(not_grouped)
    );

    // Left to right among equals, nested parentheses, true and false.
    let f = Fixture::new().text("Modality", "CT");
    assert!(f.eval(r#"((Modality.equals("CT")))"#));
    assert!(f.eval(r#"Modality.equals("MR") + Modality.equals("US") + Modality.equals("CT")"#));
    assert!(!f.eval(r#"Modality.equals("CT") * (Modality.equals("US") + Modality.equals("MR"))"#));
    assert!(f.eval(r#"Modality.equals("CT") * true"#));
    assert!(f.eval("true"));
    assert!(!f.eval("false"));
    assert!(f.eval(r#"!(Modality.equals("MR") + Modality.equals("US"))"#));
}

#[test]
fn a_missing_attribute_reads_as_empty() {
    let absent = Fixture::new();
    assert!(absent.eval(r#"!Manufacturer.contains("X")"#));
    assert!(absent.eval(r#"Manufacturer.equals("")"#));
    assert!(absent.eval(r#"Manufacturer.contains("")"#));
    assert!(absent.eval(r#"Manufacturer.startsWith("")"#));
    assert!(!absent.eval(r#"Manufacturer.containsIgnoreCase("GE")"#));
    assert!(!absent.eval(r#"Rows.equals("0")"#));
    // An unknown or misspelt keyword (keywords are case-sensitive) reads as "" too.
    assert!(absent.eval(r#"NoSuchName.equals("")"#));
    let present = Fixture::new().text("Manufacturer", "GE").us("Rows", &[512]);
    assert!(!present.eval(r#"Manufacturer.equals("")"#));
    assert!(!present.eval(r#"!Manufacturer.contains("G")"#));
    assert!(
        present.eval(r#"rows.equals("")"#),
        "`rows` is not a keyword"
    );
    assert!(present.eval(r#"manufacturer.equals("")"#));
    // An element present with an empty value reads as "".
    let empty = Fixture::new().text("Manufacturer", "");
    assert!(empty.eval(r#"Manufacturer.equals("")"#));
    // The library's CodeMeaning is looked up at top level only, not inside a sequence.
    let (code_seq, _) = dict("ProcedureCodeSequence");
    let (code_meaning, _) = dict("CodeMeaning");
    let mut item = Item::default();
    item.put(Element::text(
        code_meaning,
        Vr::LO,
        "IEC Body Dosimetry Phantom",
    ));
    let nested = Fixture::new().with(Element::sequence(code_seq, vec![item]));
    assert!(!nested.eval(r#"CodeMeaning.containsIgnoreCase("IEC Body Dosimetry Phantom")"#));
    // …but a `::` path reads the first item (CTP's dcm4che key, and the DICOM keyword).
    assert!(nested.eval(r#"ProcedureCodeSeq::CodeMeaning.contains("Phantom")"#));
    assert!(nested.eval(r#"ProcedureCodeSequence :: CodeMeaning.contains("Phantom")"#));
}

#[test]
fn string_methods_and_case() {
    let f = Fixture::new().text("Manufacturer", "GE MEDICAL SYSTEMS");
    assert!(f.eval(r#"Manufacturer.contains("MEDICAL")"#));
    assert!(!f.eval(r#"Manufacturer.contains("medical")"#));
    assert!(f.eval(r#"Manufacturer.containsIgnoreCase("medical")"#));
    assert!(f.eval(r#"Manufacturer.containsIgnoreCase("mEdIcAl SyS")"#));
    assert!(!f.eval(r#"Manufacturer.equals("ge medical systems")"#));
    assert!(f.eval(r#"Manufacturer.equalsIgnoreCase("ge medical systems")"#));
    assert!(f.eval(r#"Manufacturer.equals("GE MEDICAL SYSTEMS")"#));
    assert!(!f.eval(r#"Manufacturer.equals("GE MEDICAL")"#));
    assert!(f.eval(r#"Manufacturer.startsWith("GE ")"#));
    assert!(!f.eval(r#"Manufacturer.startsWith("ge ")"#));
    assert!(f.eval(r#"Manufacturer.startsWithIgnoreCase("ge ")"#));
    assert!(f.eval(r#"Manufacturer.endsWith("SYSTEMS")"#));
    assert!(!f.eval(r#"Manufacturer.endsWith("systems")"#));
    assert!(f.eval(r#"Manufacturer.endsWithIgnoreCase("systems")"#));
    // Spaces inside the quotes count.
    assert!(!f.eval(r#"Manufacturer.equals(" GE MEDICAL SYSTEMS ")"#));
    // Padding of the stored value does not (odd length padded with a space).
    let odd = Fixture::new().text("Modality", "CTX");
    assert!(odd.eval(r#"Modality.equals("CTX")"#));
    assert!(odd.eval(r#"Modality.endsWith("X")"#));
}

#[test]
fn matches_must_match_the_whole_string() {
    let f = Fixture::new().text("Modality", "CT");
    assert!(!f.eval(r#"Modality.matches("C")"#));
    assert!(!f.eval(r#"Modality.matches("T")"#));
    assert!(f.eval(r#"Modality.matches("C.")"#));
    assert!(f.eval(r#"Modality.matches("CT")"#));
    assert!(
        f.eval(r#"Modality.matches("MR|CT")"#),
        "alternation is anchored as a whole"
    );
    assert!(!f.eval(r#"Modality.matches("C|MR")"#));
    assert!(f.eval(r#"Modality.matches(".*")"#));
    assert!(!f.eval(r#"Modality.matches("ct")"#), "case-sensitive");
    assert!(f.eval(r#"Modality.matches("[A-Z]{2}")"#));
}

#[test]
fn comparisons_keep_digits_and_points_and_compare_numbers() {
    let f = Fixture::new()
        .us("Rows", &[512])
        .text("WindowCenter", r"-40\40")
        .text("PixelSpacing", r"0.5\0.5")
        .text("SliceThickness", "2.5")
        .text("StudyDescription", "-12");
    assert!(f.eval(r#"Rows.isGreaterThan("511")"#));
    assert!(!f.eval(r#"Rows.isGreaterThan("512")"#));
    assert!(f.eval(r#"Rows.isLessThan("513")"#));
    assert!(!f.eval(r#"Rows.isLessThan("512")"#));
    assert!(
        f.eval(r#"Rows.isLessThan("abc600px")"#),
        "the literal keeps 600"
    );
    assert!(
        f.eval(r#"Rows.isGreaterThan("99")"#),
        "numbers, not strings"
    );
    // "-40\40" keeps "4040".
    assert!(!f.eval(r#"WindowCenter.isLessThan("0")"#));
    assert!(f.eval(r#"WindowCenter.isGreaterThan("4039")"#));
    assert!(!f.eval(r#"WindowCenter.isGreaterThan("4040")"#));
    // "0.5\0.5" keeps "0.50.5", which is no number: both false.
    assert!(!f.eval(r#"PixelSpacing.isLessThan("100")"#));
    assert!(!f.eval(r#"PixelSpacing.isGreaterThan("0")"#));
    assert!(f.eval(r#"SliceThickness.isLessThan("3")"#));
    assert!(f.eval(r#"SliceThickness.isGreaterThan("2.4")"#));
    // The minus sign goes: "-12" is 12.
    assert!(f.eval(r#"StudyDescription.isGreaterThan("11")"#));
    assert!(!f.eval(r#"StudyDescription.isLessThan("0")"#));
    // A missing value or a literal with no number: false either way.
    assert!(!f.eval(r#"Columns.isLessThan("10")"#));
    assert!(!f.eval(r#"Columns.isGreaterThan("10")"#));
    assert!(!f.eval(r#"Rows.isGreaterThan("abc")"#));
}

#[test]
fn unknown_method_is_false_not_a_parse_error() {
    let f = Fixture::new().text("Modality", "CT");
    let e = parse_expr(r#"Modality.foo("CT")"#);
    assert!(matches!(
        e,
        Expr::Test {
            method: Method::Unknown,
            ..
        }
    ));
    assert!(!f.eval(r#"Modality.foo("CT")"#));
    assert!(f.eval(r#"!Modality.foo("CT")"#));
    // Method names are case-sensitive.
    assert!(!f.eval(r#"Modality.EQUALS("CT")"#));
    assert!(!f.eval(r#"Modality.Equals("CT")"#));
}

#[test]
fn parse_errors_never_match() {
    let f = Fixture::new().text("Modality", "CT").us("Rows", &[512]);
    for bad in [
        "",
        "   ",
        "()",
        r#"Modality.equals("CT") +"#,
        r#"Modality.equals("CT") ++ Rows.equals("512")"#,
        r#"* Modality.equals("CT")"#,
        r#"Modality.equals("CT") Rows.equals("512")"#,
        r#"(Modality.equals("CT")"#,
        r#"Modality.equals("CT"))"#,
        r#"!(Modality.equals("MR")"#,
        r#"Modality.equals("CT") & Rows.equals("512")"#,
        r#"Modality.equals("CT") | Rows.equals("512")"#,
        r#"Modality.equals("CT") / Rows.equals("512")"#,
        r#"Modality.equals("CT")x"#,
        r#"_Modality.equals("CT")"#,
        r#"!"#,
    ] {
        let e = parse_expr(bad);
        assert_eq!(e, Expr::Invalid, "{bad:?} should not parse");
        assert!(!f.eval_any(bad), "{bad:?}");
    }
    // In a script: the broken signature never matches, even where its negation would, and the
    // search goes on to the next one.
    let script = PixelScript::parse(
        "t",
        r#"{ !(Modality.equals("MR") } (1,1,1,1)
           { } (2,2,2,2)
           { Modality.equals("CT") } (3,3,3,3)"#,
    );
    assert_eq!(script.signatures.len(), 3);
    assert_eq!(script.signatures[0].expr, Expr::Invalid);
    assert_eq!(script.signatures[1].expr, Expr::Invalid);
    let m = script.first_match(&f.header()).unwrap();
    assert_eq!(m.regions, vec![region(3, 3, 3, 3)]);
    assert_eq!(m.line, 3);
}

#[test]
fn comments_and_whitespace() {
    let f = Fixture::new()
        .text("Modality", "CT")
        .us("Rows", &[512])
        .text("SeriesDescription", "Coronary ffr result")
        .text("ProtocolName", "http://a");
    assert!(f.eval(
        "Modality.equals(\"CT\") // a comment with * + ( and \"quotes\"\n * Rows.equals(\"512\")"
    ));
    assert!(f.eval("// leading comment\nModality.equals(\"CT\")"));
    assert!(!f.eval("Modality.equals(\"CT\") // * Rows.equals(\"1\")\n * Rows.equals(\"1\")"));
    assert!(f.eval(r#"SeriesDescription.containsIgnoreCase ("FFR")"#));
    assert!(f.eval(r#"SeriesDescription.containsIgnoreCase  (  "FFR"  )"#));
    assert!(f.eval("Modality . equals ( \"CT\" )"));
    assert!(f.eval("\n\tModality.equals(\"CT\")\r\n*\r\n\tRows.equals(\"512\")\n"));
    // `//` inside an operand is ordinary text.
    assert!(f.eval(r#"ProtocolName.equals("http://a")"#));
    // The library's own rule with the space is parsed as a test, not dropped.
    let builtin = PixelScript::builtin();
    let volcano = builtin
        .signatures
        .iter()
        .find(|s| s.text.contains("Volcano"))
        .unwrap();
    let Expr::And(terms) = &volcano.expr else {
        panic!("{:?}", volcano.expr)
    };
    assert_eq!(terms.len(), 4);
    assert_eq!(
        terms[1],
        test("SeriesDescription", Method::ContainsIgnoreCase, "FFR")
    );
}

#[test]
fn literals_are_taken_verbatim() {
    let f = Fixture::new()
        .text("ProtocolName", r#"Proto (a) "x""#)
        .text("StudyDescription", r"A\B");
    // A `)` inside quotes does not end the literal; there are no escapes.
    assert!(f.eval(r#"ProtocolName.contains(")")"#));
    assert!(f.eval(r#"ProtocolName.contains("(a)")"#));
    assert!(f.eval(r#"ProtocolName.equals("Proto (a) "x"")"#));
    assert!(f.eval(r#"ProtocolName.contains(""x"")"#));
    // A backslash is an ordinary character.
    assert!(f.eval(r#"StudyDescription.equals("A\B")"#));
}

#[test]
fn tag_forms() {
    let manufacturer = r#".equals("ACME")"#;
    let f = Fixture::new().text("Manufacturer", "ACME");
    for ident in [
        "Manufacturer",
        "[0008,0070]",
        "[00080070]",
        "[ 0008,0070 ]",
        "[8,70]",
        "root:Manufacturer",
    ] {
        let e = parse_expr(&format!("{ident}{manufacturer}"));
        assert_eq!(
            e,
            test("Manufacturer", Method::Equals, "ACME"),
            "{ident} is (0008,0070)"
        );
        assert!(e.eval(&f.header()), "{ident}");
        assert!(!Fixture::new().eval(&format!("{ident}{manufacturer}")));
    }
    // An operand starts with `[` or a letter: `(gggg,eeee)` and bare hex are parse errors in
    // CTP (the `(` opens a group, then `0` is an unknown token), so they never match.
    for ident in [
        "(0008,0070)",
        "00080070",
        "0008,0070",
        "0029[SIEMENS CSA HEADER]08",
    ] {
        let text = format!("{ident}{manufacturer}");
        assert_eq!(parse_expr(&text), Expr::Invalid, "{text}");
        assert!(!f.eval_any(&text));
        assert!(!f.eval_any(&format!("!{text}")));
    }
}

/// A Siemens CSA header type, of even length: CTP reads the value of a private element its
/// dictionary knows without trimming the padding (see `known_private_text_is_not_trimmed`).
fn csa() -> Fixture {
    Fixture::new()
        .with(Element::text(
            Tag(0x0029, 0x0010),
            Vr::LO,
            "SIEMENS CSA HEADER",
        ))
        .with(Element::text(Tag(0x0029, 0x1008), Vr::CS, "IMAGE NUM 10"))
}

#[test]
fn private_elements_by_creator() {
    let f = csa();
    let expr = r#"[0029[SIEMENS CSA HEADER]08].equals("IMAGE NUM 10")"#;
    assert_eq!(
        parse_expr(expr),
        Expr::Test {
            path: vec![Selector::Private {
                group: 0x0029,
                creator: "SIEMENS CSA HEADER".into(),
                offset: 0x08,
            }],
            method: Method::Equals,
            literal: "IMAGE NUM 10".into(),
        }
    );
    assert!(f.eval(expr));
    assert!(f.eval(r#"[0029,[SIEMENS CSA HEADER],08].contains("NUM")"#));
    assert!(
        f.eval(r#"[0029[ SIEMENS CSA HEADER ]08].contains("NUM")"#),
        "creator trimmed"
    );
    // Another offset, another creator, the creator in other case: nothing.
    assert!(f.eval(r#"[0029[SIEMENS CSA HEADER]09].equals("")"#));
    assert!(f.eval(r#"[0029[SIEMENS MEDCOM HEADER]08].equals("")"#));
    assert!(f.eval(r#"[0029[siemens csa header]08].equals("")"#));
    // Whatever block the creator reserved.
    let moved = Fixture::new()
        .with(Element::text(Tag(0x0029, 0x0010), Vr::LO, "OTHER"))
        .with(Element::text(Tag(0x0029, 0x1008), Vr::CS, "WRONG"))
        .with(Element::text(
            Tag(0x0029, 0x0011),
            Vr::LO,
            "SIEMENS CSA HEADER",
        ))
        .with(Element::text(Tag(0x0029, 0x1108), Vr::CS, "IMAGE NUM 10"));
    assert!(moved.eval(expr));
}

#[test]
fn file_meta_and_multiple_values() {
    let (ivn, _) = dict("ImplementationVersionName");
    let f = Fixture::new()
        .text("Modality", "US")
        .text("ImageType", r"ORIGINAL\PRIMARY\AXIAL")
        .us("AcquisitionMatrix", &[0, 256, 256, 0])
        .with(Element::text(ivn, Vr::SH, "MINDRAY_1.0"));
    assert!(f.eval(r#"ImplementationVersionName.contains("MINDRAY")"#));
    assert!(f.eval(r#"[0002,0013].startsWith("MINDRAY")"#));
    assert!(f.eval(r#"ImageType.equals("ORIGINAL\PRIMARY\AXIAL")"#));
    assert!(f.eval(r#"ImageType.contains("PRIMARY\AXIAL")"#));
    assert!(f.eval(r#"ImageType.endsWith("\AXIAL")"#));
    assert!(!f.eval(r#"ImageType.equals("ORIGINAL")"#));
    assert!(f.eval(r#"AcquisitionMatrix.equals("0\256\256\0")"#));
    // The library's MINDRAY rule reads the meta.
    let script = PixelScript::builtin();
    let m = script.first_match(&f.header()).expect("MINDRAY rule");
    assert_eq!(m.regions, vec![region(0, 0, 1229, 69)]);
}

#[test]
fn rows_are_binary_us_rendered_in_decimal() {
    let f = Fixture::new().us("Rows", &[512]).us("Columns", &[1]);
    assert!(f.eval(r#"Rows.equals("512")"#));
    assert!(f.eval(r#"[0028,0010].equals("512")"#));
    assert!(!f.eval(r#"Rows.equals("0512")"#));
    assert!(!f.eval(r#"Rows.equals("512.0")"#));
    assert!(f.eval(r#"Columns.equals("1")"#));
    let big = Fixture::new().us("Rows", &[65535]);
    assert!(big.eval(r#"Rows.equals("65535")"#), "unsigned");
    // Big endian data sets: the header's encoding decides.
    let be = Fixture::new().with(Element::bytes(dict("Rows").0, Vr::US, vec![0x02, 0x00]));
    let h = Header {
        encoding: Encoding::from_transfer_syntax("1.2.840.10008.1.2.2"),
        ..be.header()
    };
    assert!(parse_expr(r#"Rows.equals("512")"#).eval(&h));
}

/// Each value as dcm4che 1.4 hands it to CTP: a file meta element's first value only, tags and
/// bytes in upper-case hex joined by backslashes (OW as words), signed and float numbers in decimal as Java prints
/// them, AS untrimmed, PN without its trailing carets, a leading space kept where the VR keeps it.
#[test]
fn values_render_as_dcm4che_gives_them() {
    let tag = |keyword| dict(keyword).0;
    let le = |words: &[u16]| {
        words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let f = Fixture::new()
        .with(Element::text(
            tag("SourceApplicationEntityTitle"),
            Vr::AE,
            r"FIRST\SECOND",
        ))
        .with(Element::bytes(
            tag("DimensionIndexPointer"),
            Vr::AT,
            le(&[0x0020, 0x9157]),
        ))
        .with(Element::bytes(
            tag("PixelPaddingValue"),
            Vr::SS,
            le(&[0xFFFE]),
        ))
        .with(Element::bytes(
            tag("EncapsulatedDocument"),
            Vr::OB,
            vec![0x0A, 0xFF, 0x00, 0x00],
        ))
        .with(Element::bytes(
            tag("RedPaletteColorLookupTableData"),
            Vr::OW,
            le(&[0x0A0B, 0x00FF]),
        ))
        .with(Element::bytes(
            tag("SpacingBetweenSlices"),
            Vr::FD,
            2.5f64.to_le_bytes().to_vec(),
        ))
        .with(Element::bytes(
            tag("RecommendedDisplayFrameRateInFloat"),
            Vr::FL,
            1.0e-5f32.to_le_bytes().to_vec(),
        ))
        .with(Element::text(tag("PatientAge"), Vr::AS, "045Y"))
        .with(Element::text(
            tag("ReferringPhysicianName"),
            Vr::PN,
            "Doe^John^^",
        ))
        .with(Element::text(tag("StudyDescription"), Vr::LO, " HEAD "))
        .with(Element::text(tag("ImageComments"), Vr::LT, " HEAD "));
    for (expr, want) in [
        (r#"SourceApplicationEntityTitle.equals("FIRST")"#, true),
        (r#"SourceApplicationEntityTitle.contains("SECOND")"#, false),
        (r#"DimensionIndexPointer.equals("00209157")"#, true),
        (r#"PixelPaddingValue.equals("-2")"#, true),
        (r#"EncapsulatedDocument.equals("0A\FF\00\00")"#, true),
        (
            r#"RedPaletteColorLookupTableData.equals("0A0B\00FF")"#,
            true,
        ),
        (r#"SpacingBetweenSlices.equals("2.5")"#, true),
        (
            r#"RecommendedDisplayFrameRateInFloat.equals("1.0E-5")"#,
            true,
        ),
        (r#"PatientAge.equals("045Y")"#, true),
        (r#"ReferringPhysicianName.equals("Doe^John")"#, true),
        (r#"StudyDescription.equals("HEAD")"#, true),
        (r#"ImageComments.equals(" HEAD")"#, true),
    ] {
        assert_eq!(f.eval(expr), want, "{expr}");
    }
    // AS keeps even the padding other VRs lose.
    let padded = Fixture::new().with(Element::text(tag("PatientAge"), Vr::AS, "45Y "));
    assert!(padded.eval(r#"PatientAge.equals("45Y ")"#));
    // A big-endian data set's floats read in its byte order.
    let be = Fixture::new().with(Element::bytes(
        tag("SpacingBetweenSlices"),
        Vr::FD,
        0.75f64.to_be_bytes().to_vec(),
    ));
    let h = Header {
        encoding: Encoding::from_transfer_syntax("1.2.840.10008.1.2.2"),
        ..be.header()
    };
    assert!(parse_expr(r#"SpacingBetweenSlices.equals("0.75")"#).eval(&h));
}

#[test]
fn first_match_wins() {
    let script = PixelScript::parse(
        "two",
        r#"{ Modality.equals("US") } (1,2,3,4)
           { Modality.equals("US") * Rows.equals("600") } (5,6,7,8)
           { Rows.equals("600") } (9,9,9,9)"#,
    );
    let both = Fixture::new().text("Modality", "US").us("Rows", &[600]);
    let m = script.first_match(&both.header()).unwrap();
    assert_eq!(m.script, "two");
    assert_eq!(m.line, 1);
    assert_eq!(m.regions, vec![region(1, 2, 3, 4)]);
    let rows_only = Fixture::new().us("Rows", &[600]);
    let m = script.first_match(&rows_only.header()).unwrap();
    assert_eq!((m.line, m.regions), (3, vec![region(9, 9, 9, 9)]));
    assert_eq!(script.first_match(&Fixture::new().header()), None);
    // A first match without regions still ends the search.
    let empty = PixelScript::parse("e", "{ true }\n{ true } (1,1,1,1)");
    let m = empty.first_match(&Fixture::new().header()).unwrap();
    assert_eq!((m.line, m.regions), (1, vec![]));
}

fn region(x: i64, y: i64, w: i64, h: i64) -> Region {
    Region { x, y, w, h }
}

#[test]
fn regions_and_text_outside_braces() {
    let script = PixelScript::parse(
        "r",
        "Title (9,9,9,9) before any brace is ignored\n\
         Vendor notes\n\
           { Modality.equals(\"US\") }\n\
           (0,0,800,59) (-100,-50,100,50)\n\
           (1,2,3) skipped (1,2,3,4,5) skipped ( 7 , 8 , 9 , 10 )\n\
         Next vendor, 31-03-2023 (a note, in parens)\n\
           { Modality.equals(\"CT\") } (0,0,\n 10,\n 20)\n",
    );
    assert_eq!(script.signatures.len(), 2);
    let s0 = &script.signatures[0];
    assert_eq!(s0.line, 3);
    assert_eq!(s0.text, r#"Modality.equals("US")"#);
    assert_eq!(
        s0.regions,
        vec![
            region(0, 0, 800, 59),
            region(-100, -50, 100, 50),
            region(7, 8, 9, 10)
        ]
    );
    let s1 = &script.signatures[1];
    assert_eq!(s1.line, 7);
    assert_eq!(
        s1.regions,
        vec![region(0, 0, 10, 20)],
        "a region may span lines"
    );
    // A `}` ends the signature even inside a literal or a comment: the expression is cut to
    // ` Modality.equals("`, whose literal is a lone quote (the operand is false), and the rest
    // of the literal falls in the region text.
    let cut = PixelScript::parse("c", r#"{ Modality.equals("}") } (1,1,1,1)"#);
    assert_eq!(cut.signatures.len(), 1);
    assert_eq!(cut.signatures[0].text, r#"Modality.equals(""#);
    let ct = Fixture::new().text("Modality", "}");
    assert!(!cut.signatures[0].expr.eval(&ct.header()));
    assert_eq!(cut.signatures[0].regions, vec![region(1, 1, 1, 1)]);
    let commented = PixelScript::parse(
        "c",
        "{ true // note } (2,2,2,2)
 } (1,1,1,1)",
    );
    assert_eq!(
        commented.signatures[0].regions,
        vec![region(2, 2, 2, 2), region(1, 1, 1, 1)]
    );
    // No braces, no signatures.
    assert!(
        PixelScript::parse("n", "(0,0,1,1) text")
            .signatures
            .is_empty()
    );
}

#[test]
fn region_fields_are_java_ints() {
    // StringUtil.getInt: trimmed; a field that is no int is 0 (the region is kept); Java's
    // split drops trailing empty fields.
    let script = PixelScript::parse(
        "r",
        "{ true } (1,2,3,4,) (a,b,c,d) (1.5,2,3,4) (,1,2,3) (+1,-2,3,4) (2147483648,0,1,1) (1,2,3,,)",
    );
    assert_eq!(
        script.signatures[0].regions,
        vec![
            region(1, 2, 3, 4),
            region(0, 0, 0, 0),
            region(0, 2, 3, 4),
            region(0, 1, 2, 3),
            region(1, -2, 3, 4),
            region(0, 0, 1, 1),
        ]
    );
}

#[test]
fn builtin_script_shape() {
    let script = PixelScript::builtin();
    assert_eq!(script.name, "ctp-builtin");
    assert_eq!(script.signatures.len(), 52);
    let regions: usize = script.signatures.iter().map(|s| s.regions.len()).sum();
    assert_eq!(regions, 62);
    let first_brace_line = BUILTIN_SCRIPT[..BUILTIN_SCRIPT.find('{').unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert_eq!(script.signatures[0].line, first_brace_line);
    assert_eq!(script.signatures[0].regions, vec![region(0, 0, 512, 200)]);
    assert!(script.signatures.iter().all(|s| !s.regions.is_empty()));
    let mut lines: Vec<usize> = script.signatures.iter().map(|s| s.line).collect();
    lines.dedup();
    assert_eq!(lines.len(), 52, "one signature per line");
    let antares = script
        .signatures
        .iter()
        .find(|s| s.text.contains("ANTARES"))
        .unwrap();
    assert_eq!(
        antares.regions,
        vec![
            region(0, 0, 1024, 60),
            region(200, 60, 20, 20),
            region(800, 65, 104, 14)
        ]
    );
    // The one Or of the library (VITREA), parenthesised inside an And.
    let vitrea = script
        .signatures
        .iter()
        .find(|s| s.text.contains("VITAL"))
        .unwrap();
    assert_eq!(
        vitrea.expr,
        Expr::And(vec![
            test("Manufacturer", Method::ContainsIgnoreCase, "VITAL Images"),
            Expr::Or(vec![
                test("SeriesDescription", Method::ContainsIgnoreCase, "AAA"),
                test("SeriesDescription", Method::ContainsIgnoreCase, "Report"),
            ]),
            test("Rows", Method::Equals, "1041"),
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Edge cases of CTP's operand lexer and parser (ctp-semantics.md §2), verified against the Java
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_operands_are_false_not_parse_errors() {
    let f = Fixture::new().text("Modality", "CT");
    // An unquoted literal: the operand is false, the script still parses.
    assert!(!f.eval_any(r#"Modality.equals(CT)"#));
    assert!(f.eval_any(r#"!Modality.equals(CT)"#));
    // A bare identifier: false.
    assert!(f.eval_any(r#"!Modality"#));
    // A missing `)`: the literal runs to the end, trimmed, so this is true.
    assert!(f.eval_any(r#"Modality.equals("CT""#));
    // `true` is a word only up to the next `.`: `true + Modality` is one identifier.
    assert!(!f.eval_any(r#"true + Modality.equals("XX")"#));
    assert!(f.eval_any(r#"Modality.equals("XX") + true"#));
    assert!(f.eval_any(r#"true."#));
    assert!(!f.eval_any("TRUE"));
    // …and `false)` is no word either: inside parentheses the `)` is eaten, a parse error.
    assert_eq!(
        parse_expr(r#"Modality.equals("CT") * (Modality.equals("US") + false)"#),
        Expr::Invalid
    );
}

#[test]
fn double_negation_like_ctp() {
    let f = Fixture::new().text("Modality", "CT").us("Rows", &[512]);
    assert!(!f.eval_any("!!true"));
    assert!(!f.eval_any(r#"!!Modality.equals("CT")"#));
    assert!(!f.eval_any(r#"!!!Modality.equals("CT")"#), "!!!X is !X");
    assert!(!f.eval_any(r#"Rows.equals("512") * !!Modality.equals("CT")"#));
    // With parentheses CTP is right.
    assert!(f.eval(r#"!(!Modality.equals("CT"))"#));
}

#[test]
fn invalid_regex_makes_the_whole_script_false() {
    let f = Fixture::new().text("Modality", "CT").us("Rows", &[512]);
    assert!(!f.eval_any(r#"Rows.equals("512") * !Modality.matches("[")"#));
    assert!(!f.eval_any(r#"Modality.equals("CT") + Modality.matches("[")"#));
    assert!(f.eval(r#"Modality.equals("CT") + Modality.matches("[C]")"#));
}

#[test]
fn ctp_shunting_yard_on_mixed_negations() {
    // Each verified against CTP's jar (DicomObject.matches) on a CT header.
    let f = Fixture::new().text("Modality", "CT");
    for (expr, ctp) in [
        (
            r#"Modality.equals("MR") * !Modality.equals("CT") + !!true"#,
            true,
        ),
        (r#"!Modality.equals("MR") * !Modality.equals("XX")"#, true),
        (r#"Modality.equals("CT") * !!Modality.equals("CT")"#, false),
        (r#"!(!Modality.equals("CT"))"#, true),
    ] {
        assert_eq!(f.eval_any(expr), ctp, "{expr}");
    }
    // Left-associative `+` and `*` read as ever.
    let e = parse_expr(r#"Modality.equals("A") + Modality.equals("B") + Modality.equals("CT")"#);
    assert!(e.eval(&f.header()));
    // Nesting beyond any real script is refused, not a stack overflow.
    let deep = format!("{}true{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(parse_expr(&deep), Expr::Invalid);
    // CTP's `!!` reading nests each term of `!!A + !!B + …` deeper: refused past the limit
    // (evaluating it would overflow the stack), fine below.
    let nots = |n| vec![r#"!!Modality.equals("CT")"#; n].join(" + ");
    assert_eq!(parse_expr(&nots(5_000)), Expr::Invalid);
    assert_ne!(parse_expr(&nots(20)), Expr::Invalid);
    // A long chain is no nesting: a signature may list thousands of images.
    let long = vec![r#"Modality.equals("CT")"#; 100_000].join(" * ");
    assert!(f.eval(&long));
}

#[test]
fn padding_between_values_is_kept() {
    let f = Fixture::new().text("ImageType", r"ORIGINAL\PRIMARY \AXIAL");
    assert!(f.eval(r#"ImageType.equals("ORIGINAL\PRIMARY \AXIAL")"#));
}

#[test]
fn person_names_lose_trailing_carets() {
    let f = Fixture::new().text("PatientName", "Doe^John^^");
    assert!(f.eval(r#"PatientName.equals("Doe^John")"#));
}

#[test]
fn floats_render_like_java() {
    let fl = Fixture::new().with(Element::bytes(
        dict("RecommendedDisplayFrameRateInFloat").0,
        Vr::FL,
        1.0f32.to_le_bytes().to_vec(),
    ));
    assert!(fl.eval(r#"RecommendedDisplayFrameRateInFloat.equals("1.0")"#));
    let fd = Fixture::new().with(Element::bytes(
        dict("TimeRange").0,
        Vr::FD,
        2.5f64.to_le_bytes().to_vec(),
    ));
    assert!(fd.eval(r#"TimeRange.equals("2.5")"#));
}

#[test]
fn parentheses_in_notes_between_signatures_are_regions() {
    // CTP takes every `(…)` after a signature as a region, notes included; four fields that are
    // no numbers make (0,0,0,0) (ctp-semantics.md §1).
    let script = PixelScript::parse(
        "n",
        "{ true } (1,1,1,1)\nA note (parenthetical, remark, here, x) and (an aside)\n",
    );
    assert_eq!(
        script.signatures[0].regions,
        vec![region(1, 1, 1, 1), region(0, 0, 0, 0)]
    );
}

#[test]
fn known_private_text_is_not_trimmed() {
    let f = Fixture::new()
        .with(Element::text(
            Tag(0x0029, 0x0010),
            Vr::LO,
            "SIEMENS CSA HEADER",
        ))
        .with(Element::text(Tag(0x0029, 0x1008), Vr::CS, "IMAGE NUM 4"));
    assert!(f.eval(r#"[0029[SIEMENS CSA HEADER]08].equals("IMAGE NUM 4 ")"#));
    assert!(!f.eval(r#"[0029[SIEMENS CSA HEADER]08].equals("IMAGE NUM 4")"#));
}

/// The private elements of the CTP check (`/work/ctp-semantics.md` §3.2): creators CTP, ACME
/// (unknown to CTP's dictionary), GEMS_ACQU_01 in upper and lower case, GEHC_IQTB_IDEN_47 and
/// BrainWave, each value as CTP's `getElementValue` gave it for the same file written explicit
/// little endian, big endian and implicit VR little endian.
fn ctp_privates(encoding: Encoding) -> Fixture {
    let implicit = encoding == Encoding::IMPLICIT_LE;
    let num = |v: u64, n: usize| -> Vec<u8> {
        let be = v.to_be_bytes()[8 - n..].to_vec();
        if encoding == Encoding::EXPLICIT_BE {
            be
        } else {
            be.into_iter().rev().collect()
        }
    };
    // An implicit VR reader does not know a private element's VR: UN.
    let vr = |v: Vr| if implicit { Vr::UN } else { v };
    let text = |g, e, v: Vr, s: &str| Element::text(Tag(g, e), vr(v), s);
    let mut f = Fixture::new();
    f.encoding = encoding;
    let syntax = match encoding {
        Encoding::IMPLICIT_LE => "1.2.840.10008.1.2",
        Encoding::EXPLICIT_BE => "1.2.840.10008.1.2.2",
        _ => "1.2.840.10008.1.2.1",
    };
    f.text("TransferSyntaxUID", syntax)
        .text("Modality", "CT")
        .with(Element::text(Tag(0x0013, 0x0010), Vr::LO, "CTP"))
        .with(text(0x0013, 0x1010, Vr::LO, " proj "))
        .with(text(0x0013, 0x1011, Vr::LO, "unk "))
        .with(Element::text(Tag(0x0019, 0x0010), Vr::LO, "ACME"))
        .with(Element::text(Tag(0x0019, 0x0011), Vr::LO, "GEMS_ACQU_01"))
        .with(Element::text(Tag(0x0019, 0x0012), Vr::LO, "gems_acqu_01"))
        .with(text(0x0019, 0x101E, Vr::LO, " acme "))
        .with(text(0x0019, 0x111E, Vr::DS, "500 "))
        .with(Element::bytes(
            Tag(0x0019, 0x1102),
            vr(Vr::SL),
            num(-5i32 as u32 as u64, 4),
        ))
        .with(Element::bytes(
            Tag(0x0019, 0x1111),
            vr(Vr::SS),
            [num(-3i16 as u16 as u64, 2), num(4, 2)].concat(),
        ))
        .with(text(0x0019, 0x121E, Vr::DS, "7 "))
        .with(Element::text(
            Tag(0x0047, 0x0010),
            Vr::LO,
            "GEHC_IQTB_IDEN_47",
        ))
        .with(Element::bytes(
            Tag(0x0047, 0x1003),
            vr(Vr::UL),
            num(3_000_000_000, 4),
        ))
        .with(Element::text(
            Tag(0x2001, 0x0010),
            Vr::LO,
            "BrainWave: 1.2.840.113819.3",
        ))
        .with(Element::bytes(Tag(0x2001, 0x1080), vr(Vr::OB), vec![1, 2]))
        .with(Element::bytes(
            Tag(0x2001, 0x108A),
            vr(Vr::FL),
            num(1.5f32.to_bits() as u64, 4),
        ))
        .with(Element::bytes(
            Tag(0x2001, 0x1031),
            vr(Vr::US),
            num(65535, 2),
        ))
        .with(text(0x2001, 0x1072, Vr::LO, r"x\y "))
}

#[test]
fn private_values_read_as_ctp_reads_them() {
    for encoding in [
        Encoding::EXPLICIT_LE,
        Encoding::EXPLICIT_BE,
        Encoding::IMPLICIT_LE,
    ] {
        let f = ctp_privates(encoding);
        let implicit = encoding == Encoding::IMPLICIT_LE;
        for (ident, ctp) in [
            // Creator CTP: every element is text, untrimmed.
            ("[0013,1010]", " proj "),
            ("[0013,1011]", "unk "),
            // A creator CTP's dictionary does not know: dcm4che's reading (the text trimmed,
            // or with no VR in the file, its bytes in hex).
            (
                "[0019,101E]",
                if implicit {
                    r"20\61\63\6D\65\20"
                } else {
                    "acme"
                },
            ),
            // Known as DS: untrimmed, whatever case the creator is written in.
            ("[0019,111E]", "500 "),
            ("[0019,121E]", "7 "),
            ("[0019[GEMS_ACQU_01]1E]", "500 "),
            ("[0019[gems_acqu_01]1E]", "7 "),
            // Known as SL, UL: signed 32-bit; SS, US: unsigned 16-bit.
            ("[0019,1102]", "-5"),
            ("[0047,1003]", "-1294967296"),
            ("[0019,1111]", r"65533\4"),
            ("[2001,1031]", "65535"),
            // Known as OB or FL: dcm4che's reading of the VR in the file.
            ("[2001,1080]", r"01\02"),
            ("[2001,108A]", if implicit { r"00\00\C0\3F" } else { "1.5" }),
            // Known as LO: the backslash is no separator to CTP, the padding stays.
            ("[2001,1072]", r"x\y "),
        ] {
            let expr = format!("{ident}.equals(\"{ctp}\")");
            assert!(f.eval(&expr), "{encoding:?}: {expr}");
        }
    }
}

#[test]
fn private_numbers_read_empty_in_items_and_without_file_meta() {
    // CTP takes their byte order from the file meta, which an item (or a file without meta)
    // lacks: verified with CTP's jar, `RefImageSeq::[0019,1002]` (GEMS_ACQU_01, SL) gave "",
    // while text in the same item reads as ever.
    let gems = || {
        let mut item = Item::default();
        item.put(Element::text(Tag(0x0019, 0x0010), Vr::LO, "GEMS_ACQU_01"));
        item.put(Element::bytes(
            Tag(0x0019, 0x1002),
            Vr::SL,
            (-5i32).to_le_bytes().to_vec(),
        ));
        item.put(Element::text(Tag(0x0019, 0x101E), Vr::DS, "500 "));
        item
    };
    let with_meta = Fixture::new()
        .text("TransferSyntaxUID", "1.2.840.10008.1.2.1")
        .with(Element::sequence(
            dict("ReferencedImageSequence").0,
            vec![gems()],
        ));
    let mut top = with_meta;
    for e in gems().elements {
        top.put(e);
    }
    assert!(top.eval(r#"[0019,1002].equals("-5")"#));
    assert!(top.eval(r#"RefImageSeq::[0019,1002].equals("")"#));
    assert!(top.eval(r#"RefImageSeq::[0019[GEMS_ACQU_01]02].equals("")"#));
    assert!(top.eval(r#"RefImageSeq::[0019,101E].equals("500 ")"#));
    let mut no_meta = Fixture::new();
    for e in gems().elements {
        no_meta.put(e);
    }
    assert!(no_meta.eval(r#"[0019,1002].equals("")"#));
    assert!(no_meta.eval(r#"[0019,101E].equals("500 ")"#));
}
