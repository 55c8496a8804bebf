//! The private dictionaries under Retain Safe Private: PS3.15 Table E.3.10-1 and TCIA's Posda
//! dispositions (built in), and a user's table in either format. Fixtures are built in code; the
//! rows they rely on are quoted from `profiles/posda/private_dispositions_2023-10.csv`.

mod common;

use chrono::NaiveDate;
use common::*;
use dicom_deid::deid::{PrivateDisposition, PrivateSource, SafePrivate};
use dicom_deid::dicom::model::{Item, Tag, TagExt};
use dicom_deid::output::audit::Applied;
use dicom_deid::{Deidentified, Deidentifier, Error, Options, ProjectKey};

fn session(opts: Options) -> Deidentifier {
    Deidentifier::new(opts, ProjectKey::from_bytes([7; 32])).unwrap()
}

fn run(opts: Options, extra: Vec<El>) -> Deidentified {
    run_as(opts, "PID-P", extra, Syntax::ExplicitLe)
}

fn run_as(opts: Options, patient: &str, extra: Vec<El>, syntax: Syntax) -> Deidentified {
    let mut els = ct_image(patient, "Doe^Jane", &format!("1.2.3.77.{}", patient.len()));
    els.extend(extra);
    session(opts).deidentify(&file(&els, syntax)).unwrap()
}

/// Retain Safe Private alone: no date option.
fn safe_only() -> Options {
    let mut o = Options::basic();
    o.retain_safe_private = true;
    o
}

fn parsed<R>(out: &Deidentified, f: impl FnOnce(&Item<'_>) -> R) -> R {
    let mut scratch = Vec::new();
    let obj = dicom_deid::dicom::read_file(&out.bytes, &mut scratch).expect("output parses");
    f(&obj.dataset)
}

fn value(out: &Deidentified, tag: u32) -> Option<String> {
    parsed(out, |ds| ds.ascii(Tag::from_u32(tag)))
}

fn raw(out: &Deidentified, tag: u32) -> Option<Vec<u8>> {
    parsed(out, |ds| {
        ds.get(Tag::from_u32(tag))
            .and_then(|e| e.raw())
            .map(<[u8]>::to_vec)
    })
}

fn applied(out: &Deidentified, path: &str) -> Option<Applied> {
    let r = &out.record.report;
    r.actions.iter().find(|(p, _)| p == path).map(|(_, a)| *a)
}

/// Days the patient's dates moved by, read from the Study Date (20210315 in the fixture).
fn shift_days(out: &Deidentified) -> i64 {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
    (d(&value(out, 0x0008_0020).unwrap()) - d("20210315")).num_days()
}

#[test]
fn posda_keep_row_is_kept_in_any_block() {
    // "(0035,""SIEMENS MED NM"",01)",LO,Y,Energy Window Type,k — not in Table E.3.10-1, and
    // placed in block 0x40 rather than the usual 0x10.
    let els = vec![
        text(0x0035_0040, "LO", "SIEMENS MED NM"),
        text(0x0035_4001, "LO", "PHOTOPEAK"),
    ];
    let out = run(Options::tcia(), els.clone());
    assert_eq!(value(&out, 0x0035_4001).as_deref(), Some("PHOTOPEAK"));
    assert_eq!(value(&out, 0x0035_0040).as_deref(), Some("SIEMENS MED NM"));
    let e = SafePrivate::builtin()
        .decide(
            "(0035,\"SIEMENS MED NM\",01)",
            dicom_deid::dicom::model::Vr::LO,
        )
        .unwrap();
    assert_eq!(e.source, PrivateSource::Posda);
    assert_eq!(e.source.label(), "Posda 2023-10");
    assert_eq!(e.disposition.code(), "k");
    // Without Retain Safe Private every private element goes, creators too.
    let basic = run(Options::basic(), els);
    parsed(&basic, |ds| {
        assert!(ds.elements.iter().all(|e| !e.tag.is_private()))
    });
}

#[test]
fn delete_rows_and_unknown_elements_are_removed() {
    let out = run(
        Options::tcia(),
        vec![
            // "(0009,""SPI-P Release 1"",16)",LO,Y,Unknown,d
            text(0x0009_0010, "LO", "SPI-P Release 1"),
            text(0x0009_1016, "LO", "MKDELETED"),
            // In no dictionary.
            text(0x0011_0010, "LO", "ACME NOBODY"),
            text(0x0011_1001, "LO", "MKUNKNOWN"),
        ],
    );
    assert!(!contains(&out.bytes, b"MKDELETED"));
    assert!(!contains(&out.bytes, b"MKUNKNOWN"));
    assert!(
        !contains(&out.bytes, b"ACME NOBODY"),
        "emptied block's creator goes"
    );
    assert_eq!(
        applied(&out, "<(0009,\"SPI-P RELEASE 1\",16)>"),
        Some(Applied::X)
    );
}

#[test]
fn hash_rows_remap_uids_like_every_other_uid() {
    // "(0009,""GEMS_IDEN_01"",e3)",UI,Y,EquipmentUID,h (rows for OB and LO say h too).
    let equipment = "1.2.840.113619.1.44.5.7088985.14091324";
    let els = |for_uid: &str| {
        vec![
            text(0x0009_0010, "LO", "GEMS_IDEN_01"),
            text(0x0009_10E3, "UI", equipment),
            text(0x0020_0052, "UI", for_uid),
        ]
    };
    let a = run_as(Options::tcia(), "PID-A", els(equipment), Syntax::ExplicitLe);
    let b = run_as(
        Options::tcia(),
        "PID-BB",
        els("1.2.3.5"),
        Syntax::ImplicitLe,
    );
    let ha = value(&a, 0x0009_10E3).unwrap();
    assert!(ha.starts_with("2.25."), "remapped");
    assert_eq!(
        Some(ha.clone()),
        value(&b, 0x0009_10E3),
        "same key, same UID"
    );
    assert_eq!(
        Some(ha),
        value(&a, 0x0020_0052),
        "the same remap as a standard UID with that value"
    );
    assert!(!contains(&a.bytes, equipment.as_bytes()));
    assert_eq!(
        applied(&a, "<(0009,\"GEMS_IDEN_01\",e3)>"),
        Some(Applied::U)
    );
    assert!(a.linkage.uids.iter().any(|(old, _)| old == equipment));
}

/// A remapped private UID is padded as the VR it is written with wants: NUL for UI, and for an
/// implicit-VR file (readers type it UI by their dictionary); a space where the file says LO.
#[test]
fn a_remapped_private_uid_is_padded_for_the_vr_it_is_written_with() {
    let mut seen = [false; 3];
    for i in 0..40 {
        let uid = format!("1.2.840.113619.1.44.{i}");
        for (n, (vr, syntax, pad)) in [
            ("UI", Syntax::ExplicitLe, 0u8),
            ("UI", Syntax::ImplicitLe, 0),
            ("LO", Syntax::ExplicitLe, b' '),
        ]
        .into_iter()
        .enumerate()
        {
            let els = vec![
                text(0x0009_0010, "LO", "GEMS_IDEN_01"),
                text(0x0009_10E3, vr, &uid),
            ];
            let out = run_as(safe_only(), "PID-PAD", els, syntax);
            let r = raw(&out, 0x0009_10E3).unwrap();
            let last = *r.last().unwrap();
            if matches!(last, 0 | b' ') {
                assert_eq!(last, pad, "{vr} {syntax:?}");
                seen[n] = true;
            }
        }
    }
    assert_eq!(seen, [true; 3], "some remapped UIDs have an odd length");
}

#[test]
fn date_rows_shift_under_modified_dates_and_go_otherwise() {
    // "(0009,""GEMS_PETD_01"",0d)",DT,Y,Scan Date Time,o (and LO, o).
    // "(0009,""GEMS_IDEN_01"",e9)",SL,Y,ActualSeriesDataTimeStamp,oi
    let epoch = 1_601_338_497i32;
    let els = |scan: &str| {
        vec![
            text(0x0009_0010, "LO", "GEMS_PETD_01"),
            text(0x0009_100D, "DT", scan),
            text(0x0009_0011, "LO", "GEMS_IDEN_01"),
            bytes(0x0009_11E9, "SL", epoch.to_le_bytes().to_vec()),
        ]
    };
    let tcia = run(Options::tcia(), els("20141023110036.00"));
    let days = shift_days(&tcia);
    assert!(days < 0);
    let expected = (NaiveDate::from_ymd_opt(2014, 10, 23).unwrap() + chrono::TimeDelta::days(days))
        .format("%Y%m%d110036.00")
        .to_string();
    assert_eq!(value(&tcia, 0x0009_100D), Some(expected));
    let secs = i32::from_le_bytes(raw(&tcia, 0x0009_11E9).unwrap().try_into().unwrap());
    assert_eq!(i64::from(secs), i64::from(epoch) + days * 86_400);
    assert_eq!(
        applied(&tcia, "<(0009,\"GEMS_PETD_01\",0d)>"),
        Some(Applied::C)
    );
    assert_eq!(
        applied(&tcia, "<(0009,\"GEMS_IDEN_01\",e9)>"),
        Some(Applied::C)
    );

    // Without Modified Dates both go.
    let plain = run(safe_only(), els("20141023110036.00"));
    assert!(value(&plain, 0x0009_100D).is_none());
    assert!(raw(&plain, 0x0009_11E9).is_none());

    // A value that is not a date goes too, with a warning that names no value.
    let odd = run(Options::tcia(), els("2014-10-23 11:00"));
    assert!(value(&odd, 0x0009_100D).is_none());
    assert!(!contains(&odd.bytes, b"2014-10-23"));
    assert!(
        odd.record
            .report
            .warnings
            .iter()
            .any(|w| w.contains("private date"))
    );
}

#[test]
fn an_un_value_is_read_with_the_dictionary_vr_and_written_back_as_un() {
    // Implicit VR: the reader cannot know the private VR, so the element is UN.
    let els = vec![
        text(0x0009_0010, "LO", "GEMS_PETD_01"),
        text(0x0009_100D, "LO", "20141023110036.00"),
    ];
    let out = run_as(Options::tcia(), "PID-P", els, Syntax::ImplicitLe);
    let days = shift_days(&out);
    let expected = (NaiveDate::from_ymd_opt(2014, 10, 23).unwrap() + chrono::TimeDelta::days(days))
        .format("%Y%m%d")
        .to_string();
    assert!(value(&out, 0x0009_100D).unwrap().starts_with(&expected));
    assert!(!contains(&out.bytes, b"20141023"));
}

#[test]
fn nested_rows_apply_at_their_nesting() {
    // "(2001,""Philips Imaging DD 001"",c1)",LO,Y,...,d  (Table E.3.10-1 keeps it: Posda wins)
    // "(0040,9096)[<0>](2001,""Philips Imaging DD 001"",c1)",LO,Y,...,k (Real World Value
    // Mapping Sequence, which the profile keeps)
    let philips = |v: &str| {
        vec![
            text(0x2001_0010, "LO", "Philips Imaging DD 001"),
            text(0x2001_10C1, "LO", v),
        ]
    };
    let mut els = philips("MKTOPLEVEL");
    els.push(seq(0x0040_9096, vec![philips("MKNESTED")]));
    let out = run(Options::tcia(), els);
    assert!(!contains(&out.bytes, b"MKTOPLEVEL"));
    assert!(contains(&out.bytes, b"MKNESTED"));
    assert_eq!(
        applied(&out, "<(2001,\"PHILIPS IMAGING DD 001\",c1)>"),
        Some(Applied::X)
    );
    let top = SafePrivate::builtin()
        .decide(
            "(2001,\"PHILIPS IMAGING DD 001\",c1)",
            dicom_deid::dicom::model::Vr::LO,
        )
        .unwrap();
    assert_eq!(
        (top.source, top.disposition),
        (PrivateSource::Posda, PrivateDisposition::Delete)
    );
}

#[test]
fn conflicting_vr_rows_take_the_cautious_disposition() {
    // "(0903,""GEIIS PACS"",10)",US,...,k and ...,OB,...,d: removed even as US.
    // "(0903,""GEIIS PACS"",11)",US,...,k and ...,OB,...,k: kept.
    let out = run(
        Options::tcia(),
        vec![
            text(0x0903_0010, "LO", "GEIIS PACS"),
            bytes(0x0903_1010, "US", vec![0x4B, 0x4D]),
            bytes(0x0903_1011, "US", vec![0x4B, 0x4E]),
        ],
    );
    assert!(raw(&out, 0x0903_1010).is_none());
    assert_eq!(raw(&out, 0x0903_1011), Some(vec![0x4B, 0x4E]));
}

#[test]
fn a_user_table_in_posda_format_replaces_the_built_in_ones() {
    // A kept private sequence whose rows remove one standard element inside it and keep
    // another, and leave a third to the profile.
    let table = "element_sig_pattern,vr,is_private,tag_name,private_disposition\n\
        \"(0009,\"\"ACME\"\",10)\",SQ,Y,Thumbnails,k\n\
        \"(0009,\"\"ACME\"\",10)[<0>](0028,0010)\",US,Y,Rows,na\n\
        \"(0009,\"\"ACME\"\",10)[<0>](0028,0011)\",US,Y,Columns,k\n\
        \"(0009,\"\"ACME\"\",10)[<0>](0010,0010)\",PN,Y,Name,k\n";
    let d =
        session(Options::tcia()).with_safe_private(SafePrivate::from_csv("t.csv", table).unwrap());
    let els = {
        let mut e = ct_image("PID-U", "Doe^Jane", "1.2.3.88");
        e.push(text(0x0009_0010, "LO", "ACME"));
        e.push(seq(
            0x0009_1010,
            vec![vec![
                bytes(0x0028_0010, "US", vec![0x11, 0x22]),
                bytes(0x0028_0011, "US", vec![0x33, 0x44]),
                text(0x0010_0010, "PN", "Doe^Jane"),
            ]],
        ));
        // Kept by Table E.3.10-1, which the user's table replaces.
        e.push(text(0x0019_0010, "LO", "GEMS_ACQU_01"));
        e.push(text(0x0019_109E, "LO", "MKBUILTIN"));
        e
    };
    let out = d.deidentify(&file(&els, Syntax::ExplicitLe)).unwrap();
    let item = parsed(&out, |ds| {
        match &ds.get(Tag(0x0009, 0x1010)).unwrap().value {
            dicom_deid::dicom::model::Value::Items(i) => i[0]
                .clone()
                .elements
                .into_iter()
                .map(|e| e.tag)
                .collect::<Vec<_>>(),
            _ => panic!("sequence kept"),
        }
    });
    assert!(!item.contains(&Tag(0x0028, 0x0010)), "na row removes");
    assert!(
        item.contains(&Tag(0x0028, 0x0011)),
        "k row and the profile keep"
    );
    assert!(
        !contains(&out.bytes, b"Doe^Jane"),
        "the profile still removes a name"
    );
    assert!(!contains(&out.bytes, b"MKBUILTIN"));
}

#[test]
fn tcia_2024_knowledge_base_loads_as_a_user_table() {
    let path = "../shared/standards/tcia/TCIAPrivateTagKB-02-01-2024-formatted.csv";
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} is not beside the repository");
        return;
    };
    let kb = SafePrivate::from_csv("TCIAPrivateTagKB-02-01-2024-formatted.csv", &text).unwrap();
    assert_eq!(kb.len(), 8787);
    // Its first rows lost the opening quote of the creator; they still match.
    let e = kb
        .decide(
            "(0008,1084)[<0>](312f,\"RAMSOFT DIAGNOSIS DATETIME IDENTIFIER\",20)",
            dicom_deid::dicom::model::Vr::TM,
        )
        .unwrap();
    assert_eq!(
        (e.source, e.disposition),
        (PrivateSource::User, PrivateDisposition::Delete)
    );
}

#[test]
fn a_bad_user_row_is_a_profile_error_naming_its_line() {
    let err = SafePrivate::from_csv(
        "kb.csv",
        "element_sig_pattern,tag_name,vr,private_disposition\n\
         \"(0009,\"\"A\"\",10)\",x,LO,k\n\
         \"(0009,\"\"A\"\",10)\",x,LO,maybe\n",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Profile { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("kb.csv, line 3"));
}
