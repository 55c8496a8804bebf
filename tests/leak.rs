//! Leak test: a unique marker in every attribute of Table E.1-1 (top level and nested three
//! sequences deep), in private blocks of safe and unknown creators at unusual block numbers, and in
//! overlays and curves. For the Basic profile and for each option alone, every marker the table
//! says must go is gone from the output bytes, and every marker it says to keep is still there.
//!
//! Expectations are computed here from the CSV columns, not from the library.

mod common;

use common::*;
use dicom_deid::dicom::model::{Tag, TagExt, Value};
use dicom_deid::{Deidentifier, Options, ProfileOption, ProjectKey};
use std::collections::HashMap;

const TABLE: &str = include_str!("../profiles/basic_profile_e1_1.csv");
const NAME_WORD: &str = "LEAKYNAME";
const WRAP: [u32; 3] = [0x0008_1115, 0x0008_1199, 0x0040_A170];

#[derive(Debug, Clone)]
struct Row {
    idx: usize,
    tag: u32,
    vr: String,
    cols: std::collections::HashMap<String, String>,
}

fn rows() -> Vec<Row> {
    let mut rdr = csv::Reader::from_reader(TABLE.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let mut out = Vec::new();
    for (idx, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let cols: std::collections::HashMap<String, String> = headers
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        let pat = &cols["tag_pattern"];
        if pat.contains('x') || pat.contains('g') {
            continue; // pattern rows are planted separately
        }
        let tag = u32::from_str_radix(pat, 16).unwrap();
        if tag >> 16 == 0x0002 {
            continue; // file meta, checked separately
        }
        let vr = cols["vr"].split(" or ").next().unwrap_or("").to_string();
        let vr = if vr.is_empty() { "UT".to_string() } else { vr };
        out.push(Row { idx, tag, vr, cols });
    }
    out
}

#[derive(Debug, PartialEq, Clone, Copy)]
enum Expect {
    Gone,
    Present,
    /// Kept but cleaned: the row's own marker stays, the planted name does not.
    Cleaned,
}

fn code(row: &Row, opt: Option<ProfileOption>) -> &str {
    // Clean Pixel Data has no Table E.1-1 column: its attributes follow the Basic profile.
    opt.and_then(|o| row.cols.get(o.column()).map(String::as_str))
        .filter(|c| !c.is_empty())
        .unwrap_or(row.cols["basic_profile"].as_str())
}

fn expect(row: &Row, opt: Option<ProfileOption>) -> Expect {
    if matches!(row.tag, 0x0010_0010 | 0x0010_0020) {
        return Expect::Gone; // replaced by the pseudonym at every depth that matters
    }
    match code(row, opt) {
        "K" => Expect::Present,
        "C" => match opt {
            Some(ProfileOption::RetainLongModifiedDates) => match row.vr.as_str() {
                "DA" | "DT" => Expect::Gone,
                "TM" | "SH" => Expect::Present,
                _ => expect(row, None),
            },
            Some(ProfileOption::RetainDeviceIdentity) => Expect::Gone,
            _ if row.vr == "SQ" => Expect::Present,
            _ => Expect::Cleaned,
        },
        _ => Expect::Gone,
    }
}

/// The marker planted in a row; `n` distinguishes top level (1) from nested (2).
fn marker(row: &Row, n: usize) -> String {
    let i = row.idx;
    match row.vr.as_str() {
        "DA" => format!("{:04}{}15", 1301 + i, if n == 1 { "06" } else { "11" }),
        "DT" => format!("{:04}0615101010.{:04}{n}", 1301 + i, i),
        "TM" => format!("101010.{:04}{n}", i),
        "UI" => format!("1.2.826.0.1.3680043.10.999.{i}.{n}"),
        "DS" => format!("{i}.{n}5"),
        "IS" => format!("{}{n}", 7000 + i),
        "AS" => format!("0{:02}Y", 10 + i % 70),
        _ => format!("MK{i:03}{}", if n == 1 { 'T' } else { 'N' }),
    }
}

fn element(row: &Row, n: usize) -> El {
    let m = marker(row, n);
    match row.vr.as_str() {
        "SQ" => seq(
            row.tag,
            vec![vec![
                text(0x0008_0104, "LO", &format!("MKC{:03}{n}", row.idx)),
                text(
                    0x0010_0010,
                    "PN",
                    &format!("MKS{:03}{n}^{NAME_WORD}", row.idx),
                ),
            ]],
        ),
        "US" | "SS" => bytes(row.tag, &row.vr, vec![0xEF, 0xBE]),
        "OB" | "OW" | "UN" => bytes(row.tag, &row.vr, m.into_bytes()),
        "PN" => text(row.tag, "PN", &format!("{m}^{NAME_WORD}")),
        "AE" | "CS" | "AS" | "DA" | "DT" | "TM" | "UI" | "DS" | "IS" => text(row.tag, &row.vr, &m),
        vr => text(row.tag, vr, &format!("{m} {NAME_WORD}")),
    }
}

fn planted_file(rows: &[Row]) -> Vec<u8> {
    let mut top: Vec<El> = rows.iter().map(|r| element(r, 1)).collect();
    let nested: Vec<El> = rows.iter().map(|r| element(r, 2)).collect();
    let mut inner = nested;
    // Private blocks inside the nested item too.
    inner.extend(private_elements("N"));
    let mut wrapped = seq(WRAP[2], vec![inner]);
    wrapped = seq(WRAP[1], vec![vec![wrapped]]);
    wrapped = seq(WRAP[0], vec![vec![wrapped]]);
    top.push(wrapped);
    top.push(text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"));
    top.extend(private_elements("T"));
    // Overlay plane 2 and curve 9 (groups 6002 and 5012).
    top.push(bytes(0x6002_0010, "US", vec![2, 0]));
    top.push(text(0x6002_0022, "LO", "MKOVLDESC"));
    top.push(text(0x6002_1500, "LO", &format!("MKOVLLABEL {NAME_WORD}")));
    top.push(bytes(0x6002_3000, "OW", b"MKOVLDATA\0".to_vec()));
    top.push(text(0x6002_4000, "LT", "MKOVLCOMMENT"));
    top.push(text(0x5012_2500, "LO", "MKCURVELABEL"));
    top.push(bytes(0x5012_3000, "OB", b"MKCURVEDATA\0".to_vec()));
    // Places that are no attribute of any IOD but can hold anything.
    top.push(bytes(0xFFFC_FFFC, "OB", b"MKTRAILINGPAD".to_vec()));
    top.push(text(0x0003_0010, "LO", "MKILLEGALGROUP"));
    let mut f = file(&top, Syntax::ExplicitLe);
    f[..10].copy_from_slice(b"MKPREAMBLE"); // the preamble is free for applications to fill
    f
}

/// A safe creator at block E3 and an unknown creator at block E7, plus an orphan element.
fn private_elements(s: &str) -> Vec<El> {
    vec![
        text(0x0019_00E3, "LO", "GEMS_ACQU_01"),
        text(0x0019_E39E, "LO", &format!("MKPRIVSAFE{s}")),
        text(0x0019_E3FE, "LO", &format!("MKPRIVUNSAFE{s}")),
        text(0x0029_00E7, "LO", "ACME LEAKY 1.0"),
        text(0x0029_E710, "LO", &format!("MKPRIVACME{s}")),
        text(0x0031_1010, "LO", &format!("MKPRIVORPHAN{s}")),
    ]
}

fn run(opts: Options, input: &[u8]) -> Vec<u8> {
    let d = Deidentifier::new(opts, ProjectKey::from_bytes([42; 32])).unwrap();
    d.deidentify(input).unwrap().bytes
}

/// The raw values of the top-level item and of the item nested inside WRAP.
fn values(out: &[u8]) -> [HashMap<u32, Vec<u8>>; 2] {
    let mut scratch = Vec::new();
    let f = dicom_deid::dicom::read_file(out, &mut scratch).unwrap();
    let collect = |item: &dicom_deid::dicom::model::Item<'_>| {
        item.elements
            .iter()
            .filter_map(|e| e.raw().map(|r| (e.tag.as_u32(), r.to_vec())))
            .collect::<HashMap<u32, Vec<u8>>>()
    };
    let top = collect(&f.dataset);
    let mut item = &f.dataset;
    for w in WRAP {
        match item.get(Tag::from_u32(w)).map(|e| &e.value) {
            Some(Value::Items(items)) if !items.is_empty() => item = &items[0],
            _ => return [top, HashMap::new()],
        }
    }
    [top, collect(item)]
}

fn check_option(opt: Option<ProfileOption>, rows: &[Row], input: &[u8]) -> Vec<String> {
    let mut opts = Options::basic();
    if let Some(o) = opt {
        opts.set(o, true);
    }
    let out = run(opts, input);
    let mut failures = Vec::new();
    let mut fail = |m: String| failures.push(format!("{opt:?}: {m}"));
    let vals = values(&out);
    if contains(&out, b"SENDERAE") {
        fail("Source Application Entity Title survives in the file meta".into());
    }
    for row in rows {
        let e = expect(row, opt);
        for n in [1, 2] {
            let nested = n == 2;
            let m = marker(row, n);
            let where_ = format!(
                "({:04X},{:04X}) {} {}",
                row.tag >> 16,
                row.tag & 0xFFFF,
                if nested { "nested" } else { "top" },
                code(row, opt)
            );
            if row.vr == "SQ" {
                let child = format!("MKC{:03}{n}", row.idx);
                if contains(&out, format!("MKS{:03}{n}", row.idx).as_bytes()) {
                    fail(format!(
                        "{where_}: person name inside the sequence survives"
                    ));
                }
                if code(row, opt) != "X/Z/U*" {
                    let present = contains(&out, child.as_bytes());
                    if present != (e == Expect::Present) {
                        fail(format!(
                            "{where_}: sequence content present={present}, expected {e:?}"
                        ));
                    }
                }
                continue;
            }
            let byte_checkable = !matches!(row.vr.as_str(), "US" | "SS" | "DS" | "IS" | "AS");
            let value = vals[n - 1].get(&row.tag).cloned();
            let planted = match &element(row, n).v {
                V::Bytes(b) => b.clone(),
                V::Seq(_) => unreachable!(),
            };
            match e {
                Expect::Gone => {
                    if byte_checkable && contains(&out, m.as_bytes()) {
                        fail(format!("{where_}: marker survives"));
                    }
                    if value.as_ref() == Some(&planted) {
                        fail(format!("{where_}: value unchanged"));
                    }
                }
                Expect::Present => {
                    if value.as_ref() != Some(&planted) {
                        fail(format!("{where_}: kept value missing or changed"));
                    }
                }
                Expect::Cleaned => {
                    if !contains(&out, m.as_bytes()) {
                        fail(format!(
                            "{where_}: cleaned value lost its non-identifying text"
                        ));
                    }
                    if value.is_some_and(|v| contains(&v, NAME_WORD.as_bytes())) {
                        fail(format!(
                            "{where_}: cleaned value still holds the patient's name"
                        ));
                    }
                }
            }
        }
    }
    for m in ["MKTRAILINGPAD", "MKILLEGALGROUP", "MKPREAMBLE"] {
        if contains(&out, m.as_bytes()) {
            fail(format!("{m} survives"));
        }
    }
    // Private blocks.
    let safe = opt == Some(ProfileOption::RetainSafePrivate);
    for s in ["T", "N"] {
        for (m, keep) in [
            (format!("MKPRIVSAFE{s}"), safe),
            (format!("MKPRIVUNSAFE{s}"), false),
            (format!("MKPRIVACME{s}"), false),
            (format!("MKPRIVORPHAN{s}"), false),
        ] {
            if contains(&out, m.as_bytes()) != keep {
                fail(format!("private {m}: expected present={keep}"));
            }
        }
    }
    if contains(&out, b"ACME LEAKY") {
        fail("creator of an emptied block survives".into());
    }
    if contains(&out, b"GEMS_ACQU_01") != safe {
        fail(format!("safe creator: expected present={safe}"));
    }
    // Overlays and curves.
    let graphics = opt == Some(ProfileOption::CleanGraphics);
    if graphics
        && vals[0]
            .get(&0x6002_1500)
            .is_some_and(|v| contains(v, NAME_WORD.as_bytes()))
    {
        fail("overlay label still holds the patient's name".into());
    }
    for m in [
        "MKOVLDESC",
        "MKOVLLABEL",
        "MKOVLDATA",
        "MKOVLCOMMENT",
        "MKCURVELABEL",
        "MKCURVEDATA",
    ] {
        if contains(&out, m.as_bytes()) != graphics {
            fail(format!("{m}: expected present={graphics}"));
        }
    }
    if !graphics && vals[0].contains_key(&0x6002_0010) {
        fail("overlay plane attributes survive without the overlay".into());
    }
    failures
}

#[test]
fn no_marker_leaks_for_basic_or_any_option() {
    let rows = rows();
    assert!(
        rows.len() > 600,
        "the table should have its ~650 attribute rows"
    );
    let input = planted_file(&rows);
    let mut failures = check_option(None, &rows, &input);
    for o in ProfileOption::ALL {
        failures.extend(check_option(Some(o), &rows, &input));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn planted_markers_are_in_the_input() {
    // Guards the test itself: every marker must be findable before de-identification.
    let rows = rows();
    let input = planted_file(&rows);
    for row in &rows {
        if row.vr != "SQ" && !matches!(row.vr.as_str(), "US" | "SS" | "DS" | "IS" | "AS") {
            assert!(
                contains(&input, marker(row, 1).as_bytes()),
                "{:08X}",
                row.tag
            );
            assert!(
                contains(&input, marker(row, 2).as_bytes()),
                "{:08X}",
                row.tag
            );
        }
    }
    assert!(contains(&input, NAME_WORD.as_bytes()));
}
