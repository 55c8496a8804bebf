//! Behaviour of the engine on fixtures built in code and on real public files (tests/data).

mod common;

use common::*;
use dicom_deid::deid::SafePrivate;
use dicom_deid::dicom::model::{Item, Tag, TagExt, Value, tags};
use dicom_deid::{Deidentifier, Error, Lookup, Options, ProjectKey};

fn key(n: u8) -> ProjectKey {
    ProjectKey::from_bytes([n; 32])
}

fn session(opts: Options) -> Deidentifier {
    Deidentifier::new(opts, key(1)).unwrap()
}

/// Parses output and hands the data set and meta to `f`.
fn with_parsed<R>(bytes: &[u8], f: impl FnOnce(&Item<'_>, &Item<'_>) -> R) -> R {
    let mut scratch = Vec::new();
    let obj = dicom_deid::dicom::read_file(bytes, &mut scratch).expect("output parses");
    f(&obj.dataset, &obj.meta)
}

fn items<'a, 'b>(item: &'b Item<'a>, tag: u32) -> &'b [Item<'a>] {
    match item.get(Tag::from_u32(tag)).map(|e| &e.value) {
        Some(Value::Items(i)) => i,
        _ => &[],
    }
}

fn s(item: &Item<'_>, tag: u32) -> Option<String> {
    item.ascii(Tag::from_u32(tag))
}

fn opts(f: impl FnOnce(&mut Options)) -> Options {
    let mut o = Options::basic();
    f(&mut o);
    o
}

#[test]
fn same_key_same_bytes_other_key_other_uids() {
    let input = file(
        &ct_image("PID-1", "Doe^Jane", "1.2.826.0.1.3680043.2.1125.9.1"),
        Syntax::ExplicitLe,
    );
    let a = session(Options::tcia()).deidentify(&input).unwrap();
    let b = session(Options::tcia()).deidentify(&input).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.name, b.name);
    let c = Deidentifier::new(Options::tcia(), key(2))
        .unwrap()
        .deidentify(&input)
        .unwrap();
    let uid = |d: &[u8]| with_parsed(d, |ds, _| s(ds, 0x0008_0018).unwrap());
    assert_ne!(uid(&a.bytes), uid(&c.bytes));
    assert!(uid(&a.bytes).starts_with("2.25."));
}

#[test]
fn uids_are_consistent_across_files_and_standard_uids_stay() {
    let sop_a = "1.2.826.0.1.3680043.2.1125.7.1";
    let sop_b = "1.2.826.0.1.3680043.2.1125.7.2";
    let a = file(&ct_image("P", "Doe^Jane", sop_a), Syntax::ExplicitLe);
    let mut b_els = ct_image("P", "Doe^Jane", sop_b);
    // File B references A three levels down, with a coding scheme UID that must not change.
    b_els.push(seq(
        0x0008_1115,
        vec![vec![seq(
            0x0008_1199,
            vec![vec![
                text(0x0008_1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
                text(0x0008_1155, "UI", sop_a),
                seq(
                    0x0040_A170,
                    vec![vec![
                        text(0x0008_010C, "UI", "2.16.840.1.113883.6.96"),
                        text(0x0008_0104, "LO", "x"),
                    ]],
                ),
            ]],
        )]],
    ));
    let b = file(&b_els, Syntax::ExplicitLe);
    let s1 = session(Options::basic());
    let out_a = s1.deidentify(&a).unwrap();
    let out_b = s1.deidentify(&b).unwrap();
    let new_a = with_parsed(&out_a.bytes, |ds, meta| {
        let uid = s(ds, 0x0008_0018).unwrap();
        assert_eq!(
            s(meta, 0x0002_0003).unwrap(),
            uid,
            "meta follows the new SOP Instance UID"
        );
        assert!(
            meta.get(Tag(0x0002, 0x0016)).is_none(),
            "Source AE Title removed"
        );
        assert_eq!(s(ds, 0x0008_0016).unwrap(), "1.2.840.10008.5.1.4.1.1.2");
        uid
    });
    with_parsed(&out_b.bytes, |ds, _| {
        let r = &items(&items(ds, 0x0008_1115)[0], 0x0008_1199)[0];
        assert_eq!(
            s(r, 0x0008_1155).unwrap(),
            new_a,
            "reference follows the referenced file"
        );
        assert_eq!(s(r, 0x0008_1150).unwrap(), "1.2.840.10008.5.1.4.1.1.2");
        assert_eq!(
            s(&items(r, 0x0040_A170)[0], 0x0008_010C).unwrap(),
            "2.16.840.1.113883.6.96"
        );
        assert_eq!(
            s(ds, 0x0020_000D).unwrap(),
            with_parsed(&out_a.bytes, |d, _| s(d, 0x0020_000D).unwrap()),
            "same study in both files"
        );
    });
    // Retain UIDs keeps them.
    let kept = session(opts(|o| o.retain_uids = true))
        .deidentify(&a)
        .unwrap();
    with_parsed(&kept.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0008_0018).unwrap(), sop_a)
    });
}

#[test]
fn dates_shift_per_patient_and_keep_intervals() {
    let mut first = ct_image("PAT-A", "Doe^Jane", "1.2.3.100");
    let mut second = ct_image("PAT-A", "Doe^Jane", "1.2.3.101");
    second.retain(|e| e.tag != 0x0008_0020);
    second.push(text(0x0008_0020, "DA", "20210325"));
    first.push(text(0x0008_002A, "DT", "20210315101500.25+0100"));
    let modified = session(opts(|o| o.retain_long_modified_dates = true));
    let d1 = modified
        .deidentify(&file(&first, Syntax::ExplicitLe))
        .unwrap();
    let d2 = modified
        .deidentify(&file(&second, Syntax::ExplicitLe))
        .unwrap();
    let date = |b: &[u8], t: u32| with_parsed(b, |ds, _| s(ds, t).unwrap());
    let days = |d: &str| {
        let (y, m, dd) = (
            d[..4].parse::<i64>().unwrap(),
            d[4..6].parse::<i64>().unwrap(),
            d[6..8].parse::<i64>().unwrap(),
        );
        // Days from a fixed epoch; good enough across the shifts used (no month-end ambiguity).
        let a = (14 - m) / 12;
        let (y2, m2) = (y + 4800 - a, m + 12 * a - 3);
        dd + (153 * m2 + 2) / 5 + 365 * y2 + y2 / 4 - y2 / 100 + y2 / 400
    };
    let (a, b) = (date(&d1.bytes, 0x0008_0020), date(&d2.bytes, 0x0008_0020));
    assert_ne!(a, "20210315");
    assert_eq!(days(&b) - days(&a), 10, "interval between studies survives");
    let dt = date(&d1.bytes, 0x0008_002A);
    assert_eq!(&dt[..8], a.as_str(), "DT moves with the DA");
    assert_eq!(&dt[8..], "101500.25+0100", "time of day and offset kept");
    assert_eq!(date(&d1.bytes, 0x0008_0030), "101500", "study time kept");
    assert_eq!(date(&d1.bytes, 0x0028_0303), "MODIFIED");
    let full = session(opts(|o| o.retain_long_full_dates = true))
        .deidentify(&file(&first, Syntax::ExplicitLe))
        .unwrap();
    assert_eq!(date(&full.bytes, 0x0008_0020), "20210315");
    assert_eq!(date(&full.bytes, 0x0028_0303), "UNMODIFIED");
    let basic = session(Options::basic())
        .deidentify(&file(&first, Syntax::ExplicitLe))
        .unwrap();
    assert_eq!(
        date(&basic.bytes, 0x0008_0020),
        "",
        "Study Date is Z in the Basic profile"
    );
    assert_eq!(date(&basic.bytes, 0x0028_0303), "REMOVED");
}

#[test]
fn compound_actions_follow_the_iod_type() {
    let mut els = ct_image("P", "Doe^Jane", "1.2.3.5");
    els.push(text(0x0018_1000, "LO", "SERIAL-9"));
    let ct = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&ct.bytes, |ds, _| {
        // Institution Name X/Z/D is Type 3 in the CT IOD: removed.
        assert!(ds.get(Tag(0x0008, 0x0080)).is_none());
        // Referring Physician's Name is Z: present and empty.
        assert_eq!(s(ds, 0x0008_0090).as_deref(), Some(""));
        // Device Serial Number X/Z/D, Type 3 in General Equipment: removed.
        assert!(ds.get(Tag(0x0018, 0x1000)).is_none());
    });
    // A SOP Class the standard does not know: the conformance-safe fallback (D) applies.
    let mut private = els.clone();
    private.retain(|e| e.tag != 0x0008_0016);
    private.push(text(0x0008_0016, "UI", "1.3.12.2.1107.5.9.1"));
    let out = session(Options::basic())
        .deidentify(&file(&private, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0008_0080).as_deref(), Some("ANONYMOUS"));
        assert_eq!(
            s(ds, 0x0008_0016).as_deref(),
            Some("1.3.12.2.1107.5.9.1"),
            "private SOP class kept"
        );
    });
    // Retain Device Identity keeps the serial number.
    let dev = session(opts(|o| o.retain_device_identity = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&dev.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0018_1000).as_deref(), Some("SERIAL-9"))
    });
}

#[test]
fn pseudonyms_from_key_or_lookup() {
    let jane = file(
        &ct_image("MRN-1", "Doe^Jane", "1.2.3.7"),
        Syntax::ExplicitLe,
    );
    let jane2 = file(
        &ct_image("MRN-1", "Doe^Jane", "1.2.3.8"),
        Syntax::ExplicitLe,
    );
    let john = file(
        &ct_image("MRN-2", "Roe^John", "1.2.3.9"),
        Syntax::ExplicitLe,
    );
    let s1 = session(Options::basic());
    let id = |b: &[u8]| {
        with_parsed(b, |ds, _| {
            (s(ds, 0x0010_0020).unwrap(), s(ds, 0x0010_0010).unwrap())
        })
    };
    let (a, b, c) = (
        s1.deidentify(&jane).unwrap(),
        s1.deidentify(&jane2).unwrap(),
        s1.deidentify(&john).unwrap(),
    );
    assert_eq!(id(&a.bytes), id(&b.bytes));
    assert_ne!(id(&a.bytes).0, id(&c.bytes).0);
    assert!(a.name.starts_with(&id(&a.bytes).0));
    assert_eq!(a.linkage.original_patient_id, "MRN-1");
    let lookup =
        Lookup::from_csv("original_id,new_id,new_name\nMRN-1,SUBJ-001,Subject^001\n").unwrap();
    let s2 = session(Options::basic()).with_lookup(lookup);
    let out = s2.deidentify(&jane).unwrap();
    assert_eq!(
        id(&out.bytes),
        ("SUBJ-001".to_string(), "Subject^001".to_string())
    );
    assert!(out.name.starts_with("SUBJ-001/"));
    let err = s2.deidentify(&john).unwrap_err();
    assert!(matches!(err, Error::Lookup(_)));
    assert!(!err.to_string().contains("MRN-2"));
}

#[test]
fn age_over_89_and_method_record() {
    let mut els = ct_image("P", "Doe^Jane", "1.2.3.10");
    els.retain(|e| e.tag != 0x0010_1010);
    els.push(text(0x0010_1010, "AS", "093Y"));
    let out = session(Options::tcia())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0010_1010).as_deref(), Some("090Y"));
        assert_eq!(
            s(ds, 0x0010_0040).as_deref(),
            Some("F"),
            "sex kept by Retain Patient Characteristics"
        );
        assert_eq!(s(ds, 0x0012_0062).as_deref(), Some("YES"));
        let method = s(ds, 0x0012_0063).unwrap();
        assert!(method.starts_with("DICOM PS3.15 2026c Table E.1-1\\Retain Safe Private Option"));
        let codes: Vec<String> = items(ds, 0x0012_0064)
            .iter()
            .map(|i| s(i, 0x0008_0100).unwrap())
            .collect();
        assert_eq!(
            codes,
            ["113100", "113111", "113109", "113108", "113107", "113105"]
        );
    });
    let basic = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&basic.bytes, |ds, _| {
        assert!(ds.get(Tag(0x0010, 0x1010)).is_none(), "age is X in Basic");
        assert_eq!(s(ds, 0x0010_0040).as_deref(), Some(""), "sex is Z in Basic");
    });
}

#[test]
fn clean_descriptors_removes_identifying_values_only() {
    let mut els = ct_image("PID-5", "Doe^Jane", "1.2.3.11");
    els.push(text(
        0x0008_103E,
        "LO",
        "AX T1 post ACC12345 Mercy General Hospital",
    ));
    els.push(text(
        0x0020_4000,
        "LT",
        "Jane called from 555-123-4567 on 03/15/2021; DOB 07/04/1960",
    ));
    let out = session(opts(|o| o.clean_descriptors = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0008_1030).as_deref(), Some("CT CHEST for"));
        assert_eq!(s(ds, 0x0008_103E).as_deref(), Some("AX T1 post"));
        assert_eq!(s(ds, 0x0020_4000).as_deref(), Some("called from on ; DOB"));
    });
    let basic = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&basic.bytes, |ds, _| {
        assert!(ds.get(Tag(0x0008, 0x1030)).is_none())
    });
}

fn content_item(value_type: &str, code: &str, scheme: &str, value: El) -> Vec<El> {
    vec![
        text(0x0040_A010, "CS", "CONTAINS"),
        text(0x0040_A040, "CS", value_type),
        seq(
            0x0040_A043,
            vec![vec![
                text(0x0008_0100, "SH", code),
                text(0x0008_0102, "SH", scheme),
                text(0x0008_0104, "LO", "concept"),
            ]],
        ),
        value,
    ]
}

#[test]
fn clean_structured_content_cleans_content_items() {
    let mut els = ct_image("PID-6", "Doe^Jane", "1.2.3.12");
    els.retain(|e| e.tag != 0x0008_0016 && e.tag != 0x7FE0_0010);
    els.push(text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.88.22"));
    els.push(text(0x0040_A040, "CS", "CONTAINER"));
    els.push(seq(
        0x0040_A730,
        vec![
            content_item(
                "TEXT",
                "121071",
                "DCM",
                text(0x0040_A160, "UT", "Nodule seen, Jane Doe to follow up"),
            ),
            content_item(
                "PNAME",
                "121008",
                "DCM",
                text(0x0040_A123, "PN", "Welby^Marcus"),
            ),
            content_item("TEXT", "121022", "DCM", text(0x0040_A160, "UT", "ACC12345")),
            content_item(
                "UIDREF",
                "999001",
                "99LOCAL",
                text(0x0040_A124, "UI", "1.2.826.0.1.3680043.2.1125.55"),
            ),
            content_item(
                "DATE",
                "999002",
                "99LOCAL",
                text(0x0040_A121, "DA", "20210301"),
            ),
            content_item(
                "TEXT",
                "999003",
                "99LOCAL",
                text(0x0040_A160, "UT", "Lesion 12 mm"),
            ),
            // A measurement of the patient: Subject Age.
            content_item(
                "NUM",
                "121033",
                "DCM",
                seq(0x0040_A300, vec![vec![text(0x0040_A30A, "DS", "047.25")]]),
            ),
        ],
    ));
    let input = file(&els, Syntax::ExplicitLe);
    let both = opts(|o| {
        o.clean_structured_content = true;
        o.clean_descriptors = true;
    });
    let out = session(both).deidentify(&input).unwrap();
    with_parsed(&out.bytes, |ds, _| {
        let c = items(ds, 0x0040_A730);
        assert_eq!(
            c.len(),
            6,
            "the Accession Number item (X in Table E.3.4-1) is removed"
        );
        assert_eq!(
            s(&c[0], 0x0040_A160).as_deref(),
            Some("Nodule seen, to follow up")
        );
        assert_eq!(s(&c[1], 0x0040_A123).as_deref(), Some("ANONYMOUS"));
        assert!(s(&c[2], 0x0040_A124).unwrap().starts_with("2.25."));
        assert_eq!(s(&c[3], 0x0040_A121).as_deref(), Some("19000101"));
        assert_eq!(s(&c[4], 0x0040_A160).as_deref(), Some("Lesion 12 mm"));
    });
    // Without Clean Descriptors, a Finding (X/D in Table E.3.4-1) gets a dummy value.
    let out = session(opts(|o| o.clean_structured_content = true))
        .deidentify(&input)
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(
            s(&items(ds, 0x0040_A730)[0], 0x0040_A160).as_deref(),
            Some("ANONYMOUS")
        );
    });
    // Without the option the content tree is a dummy (D): every item keeps its structure (the
    // Document Relationship and Content macros' Type 1 attributes), no value survives.
    let basic = session(Options::basic()).deidentify(&input).unwrap();
    with_parsed(&basic.bytes, |ds, _| {
        let c = items(ds, 0x0040_A730);
        assert_eq!(c.len(), 7);
        for item in c {
            assert_eq!(s(item, 0x0040_A010).as_deref(), Some("CONTAINS"));
            assert!(s(item, 0x0040_A040).is_some(), "Value Type kept");
            let name = items(item, 0x0040_A043);
            assert_eq!(s(&name[0], 0x0008_0100).as_deref(), Some("ANONYMOUS"));
        }
        assert_eq!(s(&c[1], 0x0040_A123).as_deref(), Some("ANONYMOUS"));
        assert_eq!(s(&c[2], 0x0040_A160).as_deref(), Some("ANONYMOUS"));
        assert!(s(&c[3], 0x0040_A124).unwrap().starts_with("2.25."));
        assert_eq!(s(&c[4], 0x0040_A121).as_deref(), Some("19000101"));
    });
    for planted in [
        "Welby", "ACC12345", "Lesion", "Nodule", "20210301", "1125.55", "047.25",
    ] {
        assert!(
            !basic
                .bytes
                .windows(planted.len())
                .any(|w| w == planted.as_bytes()),
            "{planted} survives the dummy content tree"
        );
    }
}

#[test]
fn clean_graphics_keeps_graphics_and_drops_text_objects() {
    let mut els = ct_image("PID-7", "Doe^Jane", "1.2.3.13");
    els.push(seq(
        0x0070_0001,
        vec![vec![
            seq(
                0x0070_0008,
                vec![vec![text(0x0070_0006, "ST", "Jane Doe MRN 12345")]],
            ),
            seq(
                0x0070_0009,
                vec![vec![
                    text(0x0070_0005, "CS", "PIXEL"),
                    text(0x0070_0023, "CS", "POINT"),
                ]],
            ),
        ]],
    ));
    let input = file(&els, Syntax::ExplicitLe);
    let out = session(opts(|o| o.clean_graphics = true))
        .deidentify(&input)
        .unwrap();
    assert!(!contains(&out.bytes, b"Jane Doe MRN"));
    with_parsed(&out.bytes, |ds, _| {
        let g = items(ds, 0x0070_0001);
        assert_eq!(g.len(), 1);
        assert!(g[0].get(Tag(0x0070, 0x0008)).is_none());
        assert_eq!(items(&g[0], 0x0070_0009).len(), 1);
    });
    // The real GSPS object keeps its graphic objects under Clean Graphics.
    let gsps = std::fs::read("tests/data/gsps_annotation.dcm").unwrap();
    let out = session(opts(|o| o.clean_graphics = true))
        .deidentify(&gsps)
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        let g = items(ds, 0x0070_0001);
        assert_eq!(items(&g[0], 0x0070_0009).len(), 1);
        assert_eq!(
            s(&items(&g[0], 0x0070_0009)[0], 0x0070_0005).as_deref(),
            Some("PIXEL")
        );
    });
}

#[test]
fn safe_private_uses_creator_and_any_block_and_shifts_kept_dates() {
    let mut els = ct_image("PID-8", "Doe^Jane", "1.2.3.14");
    els.push(text(0x0009_0010, "LO", "ACME DATES"));
    els.push(text(0x0009_1001, "DA", "20210315"));
    els.push(text(0x0009_1002, "LO", "Jane Doe"));
    let table = SafePrivate::from_csv(
        "mine.csv",
        "private_creator,group,element_offset,vr\nACME DATES,0009,01,DA\n",
    )
    .unwrap();
    let o = opts(|o| {
        o.retain_safe_private = true;
        o.retain_long_modified_dates = true;
    });
    let out = session(o)
        .with_safe_private(table)
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0009_0010).as_deref(), Some("ACME DATES"));
        let d = s(ds, 0x0009_1001).unwrap();
        assert_eq!(d.len(), 8);
        assert_ne!(d, "20210315");
        assert_eq!(
            d,
            s(ds, 0x0008_0020).unwrap(),
            "same shift as the study date"
        );
        assert!(ds.get(Tag(0x0009, 0x1002)).is_none());
    });
}

#[test]
fn encodings_round_trip_with_pixels_untouched() {
    for syntax in [Syntax::ExplicitLe, Syntax::ImplicitLe, Syntax::ExplicitBe] {
        let mut els = ct_image("PID-9", "Doe^Jane", "1.2.3.15");
        els.push(seq(
            0x0008_1140,
            vec![vec![
                text(0x0008_1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
                text(0x0008_1155, "UI", "1.2.3.16"),
            ]],
        ));
        let input = file(&els, syntax);
        let out = session(Options::tcia()).deidentify(&input).unwrap();
        assert!(!contains(&out.bytes, b"Doe"), "{syntax:?}");
        with_parsed(&out.bytes, |ds, meta| {
            assert_eq!(s(meta, 0x0002_0010).unwrap(), syntax.uid());
            assert_eq!(
                ds.get(tags::PIXEL_DATA).unwrap().raw().unwrap(),
                &[1, 2, 3, 4, 5, 6, 7, 8]
            );
            assert_eq!(s(ds, 0x0008_0060).as_deref(), Some("CT"));
        });
    }
}

#[test]
fn real_files_deidentify_and_keep_what_is_not_identifying() {
    let dir = std::path::Path::new("tests/data");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("dcm") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let mut scratch = Vec::new();
        let original = dicom_deid::dicom::read_file(&input, &mut scratch).unwrap();
        for o in [
            Options::basic(),
            Options::tcia(),
            opts(|o| {
                o.clean_structured_content = true;
                o.clean_graphics = true;
                o.clean_descriptors = true;
            }),
        ] {
            let out = session(o)
                .deidentify(&input)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            with_parsed(&out.bytes, |ds, meta| {
                assert_eq!(
                    s(meta, 0x0002_0010).unwrap(),
                    original.transfer_syntax,
                    "{}",
                    path.display()
                );
                assert_eq!(
                    ds.get(tags::SOP_CLASS_UID).map(|e| e.raw()),
                    original.dataset.get(tags::SOP_CLASS_UID).map(|e| e.raw())
                );
                assert_eq!(
                    ds.get(tags::PIXEL_DATA),
                    original.dataset.get(tags::PIXEL_DATA),
                    "{}",
                    path.display()
                );
                assert_eq!(s(ds, 0x0012_0062).as_deref(), Some("YES"));
                if let Some(name) = original
                    .dataset
                    .ascii(tags::PATIENT_NAME)
                    .filter(|n| n.len() > 3)
                {
                    assert!(!contains(&out.bytes, name.as_bytes()), "{}", path.display());
                }
                if let Some(uid) = original
                    .dataset
                    .ascii(tags::SOP_INSTANCE_UID)
                    .filter(|u| u.len() > 8)
                {
                    assert!(!contains(&out.bytes, uid.as_bytes()), "{}", path.display());
                }
            });
        }
        n += 1;
    }
    assert!(n >= 8);
}

#[test]
fn private_blocks_of_a_real_file_are_kept_only_when_safe() {
    let input = std::fs::read("tests/data/CT_small_deflated.dcm").unwrap();
    let basic = session(Options::basic()).deidentify(&input).unwrap();
    with_parsed(&basic.bytes, |ds, _| {
        assert!(ds.elements.iter().all(|e| !e.tag.is_private()))
    });
    let safe = session(opts(|o| o.retain_safe_private = true))
        .deidentify(&input)
        .unwrap();
    with_parsed(&safe.bytes, |ds, _| {
        let kept: Vec<_> = ds
            .elements
            .iter()
            .filter(|e| e.tag.is_private() && !e.tag.is_private_creator())
            .collect();
        assert!(!kept.is_empty(), "GE safe private attributes are kept");
        let table = SafePrivate::builtin();
        let creators = dicom_deid::deid::creators(ds);
        for e in kept {
            let a =
                dicom_deid::deid::address(e.tag, &creators).expect("kept element has a creator");
            let entry = table.decide(&a.display(), e.vr);
            assert!(
                entry.is_some_and(|d| !d.disposition.removes()),
                "{} is not safe in the private dictionaries",
                a.display()
            );
        }
    });
}

#[test]
fn character_sets_are_decoded_for_cleaning() {
    // The real GB 2312 file's name (ISO 2022 escapes), and a descriptor holding it.
    let input = std::fs::read("tests/data/chrGB2312.dcm").unwrap();
    let mut scratch = Vec::new();
    let real = dicom_deid::dicom::read_file(&input, &mut scratch).unwrap();
    let name = real
        .dataset
        .get(Tag(0x0010, 0x0010))
        .unwrap()
        .raw()
        .unwrap()
        .to_vec();
    let cs =
        dicom_deid::dicom::charset::CharacterSet::from_item(&real.dataset, &Default::default());
    let desc = cs.encode("胸部CT 张小东 复查").unwrap();
    let mut els = ct_image("GB1", "x", "1.2.3.19");
    els.retain(|e| ![0x0008_0005, 0x0010_0010, 0x0008_1030].contains(&e.tag));
    els.push(text(0x0008_0005, "CS", "\\ISO 2022 IR 58"));
    els.push(bytes(0x0010_0010, "PN", name));
    els.push(bytes(0x0008_1030, "LO", desc));
    let out = session(opts(|o| o.clean_descriptors = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0008_0005).unwrap(), "\\ISO 2022 IR 58");
        let raw = ds.get(Tag(0x0008, 0x1030)).unwrap().raw().unwrap();
        let cleaned = cs.decode(dicom_deid::dicom::model::trim_text(
            dicom_deid::dicom::model::Vr::LO,
            raw,
        ));
        assert_eq!(cleaned.as_deref(), Some("胸部CT 复查"));
    });
    // A Latin-1 name inside a descriptor is found and removed.
    let mut els = ct_image("P1", "Müller^Jürgen", "1.2.3.17");
    els.retain(|e| e.tag != 0x0010_0010 && e.tag != 0x0008_1030);
    els.push(bytes(0x0010_0010, "PN", b"M\xfcller^J\xfcrgen".to_vec()));
    els.push(bytes(0x0008_1030, "LO", b"Kopf f\xfcr M\xfcller ".to_vec()));
    let out = session(opts(|o| o.clean_descriptors = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(
            ds.get(Tag(0x0008, 0x1030)).unwrap().raw().unwrap(),
            b"Kopf f\xfcr"
        );
    });
}

#[test]
fn bad_input_gets_a_clear_error_without_values() {
    let s1 = session(Options::basic());
    assert!(matches!(
        s1.deidentify(b"").unwrap_err(),
        Error::NotDicom(_)
    ));
    assert!(matches!(
        s1.deidentify(b"hello, this is a text file with a .dcm name")
            .unwrap_err(),
        Error::NotDicom(_)
    ));
    let good = file(
        &ct_image("SECRETID", "Secret^Name", "1.2.3.18"),
        Syntax::ExplicitLe,
    );
    for cut in [140, 200, good.len() / 2, good.len() - 3] {
        let err = s1.deidentify(&good[..cut]).unwrap_err();
        assert!(
            matches!(err, Error::Malformed { .. }),
            "cut at {cut}: {err}"
        );
        let msg = err.to_string();
        assert!(!msg.contains("SECRET") && !msg.contains("Secret"), "{msg}");
    }
    // A declared length of 4 GB must be refused without allocating it.
    let mut huge = good.clone();
    let pos = huge
        .windows(4)
        .position(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .unwrap();
    huge[pos + 8..pos + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert!(matches!(
        s1.deidentify(&huge).unwrap_err(),
        Error::Malformed { .. }
    ));
}

#[test]
fn deflated_image_frame_compression_has_a_plain_data_set() {
    // 1.2.840.10008.1.2.8.1 deflates each frame of an encapsulated Pixel Data; unlike Deflated
    // Explicit VR Little Endian, the data set itself is not deflated.
    let mut els = ct_image("PID-77", "DOE^JANE", "1.2.3.4.5");
    els.retain(|e| e.tag != 0x7FE0_0010);
    let mut body = Vec::new();
    encode(&els, Syntax::ExplicitLe, 0, &mut body);
    let frame = [0x63u8, 0x60, 0x60, 0x60, 0x00, 0x00, 0x00, 0x0C];
    body.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
    body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, frame.len() as u8, 0, 0, 0]);
    body.extend_from_slice(&frame);
    body.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let input = file_with(&els, "1.2.840.10008.1.2.8.1", &body);
    let out = Deidentifier::new(Options::basic(), ProjectKey::from_bytes([1; 32]))
        .unwrap()
        .deidentify(&input)
        .expect("de-identified");
    let mut scratch = Vec::new();
    let f = dicom_deid::dicom::read_file(&out.bytes, &mut scratch).unwrap();
    assert_eq!(f.transfer_syntax, "1.2.840.10008.1.2.8.1");
    assert!(contains(&out.bytes, &frame), "the frame is kept as it was");
    assert!(!contains(&out.bytes, b"PID-77"));
}

// --- Outputs as valid as their inputs (issue 10): each rule dciodvfy found broken on the corpus.

const ENHANCED_MR: &str = "1.2.840.10008.5.1.4.1.1.4.1";
const MPPS_CLASS: &str = "1.2.840.10008.3.1.2.3.3";

fn with_class(mut els: Vec<El>, sop_class: &str) -> Vec<El> {
    els.retain(|e| e.tag != 0x0008_0016);
    els.push(text(0x0008_0016, "UI", sop_class));
    els.sort_by_key(|e| e.tag);
    els
}

fn reference(class: &str, instance: &str) -> Vec<El> {
    vec![
        text(0x0008_1150, "UI", class),
        text(0x0008_1155, "UI", instance),
    ]
}

#[test]
fn a_dummy_reference_sequence_keeps_its_items_with_uids_remapped() {
    // Referenced Performed Procedure Step Sequence is X/Z/D; Type 1C in the Enhanced MR IOD, so
    // D: the item keeps its Type 1 SOP Class (a class) and Instance UID (remapped), not nothing.
    let mut els = with_class(ct_image("PID-20", "Doe^Jane", "1.2.3.20"), ENHANCED_MR);
    els.push(seq(0x0008_1111, vec![reference(MPPS_CLASS, "1.2.3.20.9")]));
    els.sort_by_key(|e| e.tag);
    let out = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    let expected = out
        .linkage
        .uids
        .iter()
        .find(|(old, _)| old == "1.2.3.20.9")
        .map(|(_, new)| new.clone())
        .expect("the referenced instance UID is in the linkage");
    with_parsed(&out.bytes, |ds, _| {
        let item = &items(ds, 0x0008_1111)[0];
        assert_eq!(s(item, 0x0008_1150).as_deref(), Some(MPPS_CLASS));
        assert_eq!(s(item, 0x0008_1155), Some(expected));
    });
    // In a CT the sequence is Type 3: removed.
    let mut ct = ct_image("PID-20", "Doe^Jane", "1.2.3.21");
    ct.push(seq(0x0008_1111, vec![reference(MPPS_CLASS, "1.2.3.20.9")]));
    let out = session(Options::basic())
        .deidentify(&file(&ct, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert!(ds.get(Tag(0x0008, 0x1111)).is_none())
    });
}

#[test]
fn references_listed_in_a_common_instance_reference_module_are_kept_remapped() {
    // Referenced Image Sequence is X/Z/U*, Type 3 in a CT: removed, unless the object lists its
    // references in a Referenced Series Sequence, which must then still match them.
    let image = reference("1.2.840.10008.5.1.4.1.1.2", "1.2.3.30.1");
    let mut els = ct_image("PID-30", "Doe^Jane", "1.2.3.30");
    els.push(seq(0x0008_1140, vec![image.clone()]));
    let plain = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&plain.bytes, |ds, _| {
        assert!(ds.get(Tag(0x0008, 0x1140)).is_none())
    });
    els.push(seq(
        0x0008_1115,
        vec![vec![
            seq(0x0008_114A, vec![image]),
            text(0x0020_000E, "UI", "1.2.3.30.2"),
        ]],
    ));
    let out = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        let referenced = s(&items(ds, 0x0008_1140)[0], 0x0008_1155).unwrap();
        let listed = s(
            &items(&items(ds, 0x0008_1115)[0], 0x0008_114A)[0],
            0x0008_1155,
        )
        .unwrap();
        assert!(referenced.starts_with("2.25."));
        assert_eq!(referenced, listed);
    });
}

#[test]
fn a_removal_the_iod_forbids_becomes_an_empty_or_dummy_value() {
    // Responsible Person is X in Table E.1-1 but Type 2C in the Patient Module (the patient is
    // an animal): it stays, empty. Other Patient IDs (Type 3) is removed.
    let mut els = ct_image("PID-40", "Rex", "1.2.3.40");
    els.push(text(0x0010_1000, "LO", "OTHER-40"));
    els.push(text(0x0010_2201, "LO", "CANINE"));
    els.push(text(0x0010_2297, "PN", "Owner^Olivia"));
    els.sort_by_key(|e| e.tag);
    let out = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0010_2297).as_deref(), Some(""));
        assert!(ds.get(Tag(0x0010, 0x1000)).is_none());
    });
    assert!(!contains(&out.bytes, b"Owner") && !contains(&out.bytes, b"OTHER-40"));
    // Presentation Creation Date is X but Type 1 in a presentation state: a dummy date.
    let mut gsps = with_class(
        ct_image("PID-41", "Doe^Jane", "1.2.3.41"),
        "1.2.840.10008.5.1.4.1.1.11.1",
    );
    gsps.retain(|e| e.tag != 0x7FE0_0010);
    gsps.push(text(0x0070_0082, "DA", "20220202"));
    gsps.push(text(0x0070_0083, "TM", "101010"));
    gsps.sort_by_key(|e| e.tag);
    let out = session(Options::basic())
        .deidentify(&file(&gsps, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0070_0082).as_deref(), Some("19000101"));
        assert_eq!(s(ds, 0x0070_0083).as_deref(), Some("000000"));
    });
}

#[test]
fn the_meta_and_the_data_set_agree_on_the_instance_when_the_input_had_none() {
    // The data set has no SOP Instance UID; its file meta has one: the output's data set gets
    // that UID remapped, and the meta says the same.
    let mut els = ct_image("PID-50", "Doe^Jane", "unused");
    els.retain(|e| e.tag != 0x0008_0018);
    let input = file(&els, Syntax::ExplicitLe); // meta instance UID 1.2.3.4
    let out = session(Options::basic()).deidentify(&input).unwrap();
    with_parsed(&out.bytes, |ds, meta| {
        let uid = s(ds, 0x0008_0018).expect("an instance UID is given");
        assert!(uid.starts_with("2.25."));
        assert_eq!(s(meta, 0x0002_0003), Some(uid));
    });
    assert!(
        out.record
            .report
            .warnings
            .iter()
            .any(|w| w.contains("SOP Instance UID"))
    );
}

#[test]
fn an_unreadable_date_under_modified_dates_gets_a_dummy_not_an_empty_value() {
    // Frame Acquisition DateTime is Type 1C in the Frame Content macro: "NaN" cannot be shifted.
    let mut els = ct_image("PID-60", "Doe^Jane", "1.2.3.60");
    els.push(text(0x0018_9074, "DT", "NaN"));
    els.sort_by_key(|e| e.tag);
    let out = session(opts(|o| o.retain_long_modified_dates = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0018_9074).as_deref(), Some("19000101000000"));
    });
}

#[test]
fn clean_descriptors_keeps_decimal_measurements() {
    let mut els = ct_image("PID-70", "Doe^Jane", "1.2.3.70");
    els.push(text(0x0020_4000, "LT", "Field 2.89362 T, MRN 12345678"));
    els.sort_by_key(|e| e.tag);
    let out = session(opts(|o| o.clean_descriptors = true))
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(s(ds, 0x0020_4000).as_deref(), Some("Field 2.89362 T, MRN"));
    });
}

#[test]
fn one_patient_id_under_two_issuers_is_two_patients() {
    let with_issuer = |issuer: Option<El>, sop: &str| {
        let mut els = ct_image("MRN-77", "Doe^Jane", sop);
        els.extend(issuer);
        els.sort_by_key(|e| e.tag);
        file(&els, Syntax::ExplicitLe)
    };
    let qualified = |ueid: &str| seq(0x0010_0024, vec![vec![text(0x0040_0032, "UT", ueid)]]);
    let modified = session(opts(|o| o.retain_long_modified_dates = true));
    let run = |input: Vec<u8>| {
        let out = modified.deidentify(&input).unwrap();
        let date = with_parsed(&out.bytes, |ds, _| s(ds, 0x0008_0020));
        let issuer = out.linkage.original_issuer;
        (out.linkage.new_patient_id, date, issuer)
    };
    let a = run(with_issuer(
        Some(text(0x0010_0021, "LO", "HOSP A")),
        "1.2.3.80",
    ));
    let b = run(with_issuer(
        Some(text(0x0010_0021, "LO", "HOSP B")),
        "1.2.3.81",
    ));
    let none = run(with_issuer(None, "1.2.3.82"));
    // No merge: another issuer, or none, is another patient, with its own date shift.
    assert_ne!(a.0, b.0);
    assert_ne!(a.0, none.0);
    assert_ne!(b.0, none.0);
    // No split: the same issuer written differently, or only in the qualifiers sequence, and
    // files without an issuer among themselves, stay one patient.
    let spaced = run(with_issuer(
        Some(text(0x0010_0021, "LO", " hosp  a ")),
        "1.2.3.83",
    ));
    let in_sequence = run(with_issuer(Some(qualified("HOSP A")), "1.2.3.84"));
    assert_eq!(spaced, a);
    assert_eq!(in_sequence, a);
    assert_eq!(run(with_issuer(None, "1.2.3.85")), none);
    // The linkage names the issuer as it was compared, so two rows of one ID can be told apart.
    assert_eq!(
        (a.2.as_str(), b.2.as_str(), none.2.as_str()),
        ("HOSP A", "HOSP B", "")
    );
}

#[test]
fn odd_length_values_are_padded_and_the_forbidden_group_ffff_goes() {
    let mut els = ct_image("PID-90", "Doe^Jane", "1.2.3.90");
    els.retain(|e| e.tag != 0x7FE0_0010);
    els.push(bytes(0x7FE0_0010, "OB", vec![1, 2, 3]));
    els.push(text(0xFFFF_0001, "LO", "Doe^Jane"));
    let out = session(Options::basic())
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    with_parsed(&out.bytes, |ds, _| {
        assert_eq!(
            ds.get(Tag(0x7FE0, 0x0010)).and_then(|e| e.raw()),
            Some(&[1u8, 2, 3, 0][..])
        );
        assert!(ds.get(Tag(0xFFFF, 0x0001)).is_none());
    });
}
