//! Residual-PHI verification: identifiers planted in an output are found, each as a critical
//! finding of its class; our own outputs (of fixtures and of the real files in tests/data) give
//! none; the shareable report holds no identifying text; the per-file state crosses as JSON.

mod common;

use std::process::Command;

use common::*;
use dicom_deid::review::final_review::{self, FinalReview};
use dicom_deid::review::harvest::IdClass;
use dicom_deid::review::verify::{Check, Report, Severity, deidentify_and_check};
use dicom_deid::review::{FileCheck, Verifier, VerifyConfig, check_file};
use dicom_deid::{Deidentifier, Options, ProjectKey};

const NAME: &str = "scans/TORVALDSEN77/image1.dcm";
const STUDY_UID: &str = "1.2.826.0.1.3680043.2.1125.7.1";

fn key() -> ProjectKey {
    ProjectKey::from_bytes([42; 32])
}

fn config(opts: Options) -> (Deidentifier, VerifyConfig) {
    let d = Deidentifier::new(opts, key()).unwrap();
    let c = VerifyConfig::of(&d);
    (d, c)
}

/// An input with one value of each identifier class.
fn input_elements(patient_id: &str, sop: &str) -> Vec<El> {
    vec![
        text(0x0008_0005, "CS", "ISO_IR 100"),
        text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
        text(0x0008_0018, "UI", sop),
        text(0x0008_0020, "DA", "20210315"),
        text(0x0008_0050, "SH", "ACQ5566771"),
        text(0x0008_0060, "CS", "CT"),
        text(0x0008_0080, "LO", "Hollowbrook Infirmary"),
        text(0x0008_0090, "PN", "Welby^Marcus"),
        text(0x0008_1010, "SH", "HBCTSTN7"),
        text(0x0008_1030, "LO", "CT CHEST"),
        text(0x0010_0010, "PN", "Quixley^Zebulon"),
        text(0x0010_0020, "LO", patient_id),
        text(0x0010_0030, "DA", "19450930"),
        text(0x0010_0040, "CS", "M"),
        text(0x0010_1040, "LO", "12 Larkspur Lane, Fenwick"),
        text(0x0010_2154, "SH", "(555) 867-5309"),
        text(0x0018_1000, "LO", "SN99127733"),
        text(0x0020_000D, "UI", STUDY_UID),
        text(0x0020_000E, "UI", "1.2.826.0.1.3680043.2.1125.7.2"),
        bytes(0x0028_0010, "US", 2u16.to_le_bytes().to_vec()),
        bytes(0x0028_0011, "US", 2u16.to_le_bytes().to_vec()),
        bytes(0x0028_0100, "US", 16u16.to_le_bytes().to_vec()),
        bytes(0x7FE0_0010, "OW", vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ]
}

fn input() -> Vec<u8> {
    file(
        &input_elements("PQX-884411", "1.2.826.0.1.3680043.2.1125.7.3"),
        Syntax::ExplicitLe,
    )
}

/// A Part 10 file whose meta holds `version` as Implementation Version Name.
fn file_with_meta(elements: &[El], version: &str) -> Vec<u8> {
    let mut body = Vec::new();
    encode(elements, Syntax::ExplicitLe, 0, &mut body);
    let meta = vec![
        bytes(0x0002_0001, "OB", vec![0, 1]),
        text(0x0002_0002, "UI", "1.2.840.10008.5.1.4.1.1.2"),
        text(0x0002_0003, "UI", "2.25.1111"),
        text(0x0002_0010, "UI", Syntax::ExplicitLe.uid()),
        text(0x0002_0012, "UI", "2.25.9"),
        text(0x0002_0013, "SH", version),
    ];
    let mut mb = Vec::new();
    encode(&meta, Syntax::ExplicitLe, 1, &mut mb);
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&(mb.len() as u32).to_le_bytes());
    out.extend_from_slice(&mb);
    out.extend_from_slice(&body);
    out
}

/// A de-identified-looking output (pseudonym, remapped UIDs, a shifted date) with `extra`
/// elements planted in it.
fn output(extra: Vec<El>, version: &str) -> Vec<u8> {
    let mut els = vec![
        text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
        text(0x0008_0018, "UI", "2.25.1111"),
        text(0x0008_0020, "DA", "20190101"),
        text(0x0008_0060, "CS", "CT"),
        text(0x0008_1030, "LO", "CT CHEST"),
        text(0x0010_0010, "PN", "ANONYMOUS^X7"),
        text(0x0010_0020, "LO", "ANONX7"),
        text(0x0020_000D, "UI", "2.25.2222"),
        text(0x0020_000E, "UI", "2.25.3333"),
        bytes(0x7FE0_0010, "OW", vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ];
    for e in extra {
        els.retain(|x| x.tag != e.tag);
        els.push(e);
    }
    file_with_meta(&els, version)
}

const CLEAN_NAME: &str = "ANONX7/2.25.2222/2.25.3333/2.25.1111.dcm";

fn verify(cfg: &VerifyConfig, pairs: &[(&[u8], &str, &[u8], &str)]) -> Report {
    let mut v = Verifier::new(cfg);
    for (input, input_name, out, out_name) in pairs {
        v.commit(
            Some(out_name),
            check_file(cfg, Some(input), input_name, Some(out)),
        );
    }
    v.finish()
}

fn critical(r: &Report) -> Vec<(IdClass, Check)> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .map(|f| (f.identifier_class.unwrap(), f.check))
        .collect()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn each_planted_class_is_one_critical_finding_of_that_class() {
    let (_, cfg) = config(Options::basic());
    let inp = input();
    let comments = |s: &str| vec![text(0x0020_4000, "LT", s)];
    let cases: Vec<(IdClass, Check, Vec<u8>, &str)> = vec![
        (
            IdClass::PatientName,
            Check::IdentifierMatch,
            output(vec![text(0x0008_103E, "LO", "follow-up Quixley")], "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::PatientId,
            Check::IdentifierMatch,
            output(
                vec![
                    text(0x0011_0010, "LO", "ACME 1.1"),
                    bytes(0x0011_1001, "OB", utf16("ref PQX-884411 ")),
                ],
                "V1",
            ),
            CLEAN_NAME,
        ),
        (
            IdClass::BirthDate,
            Check::OriginalDate,
            output(comments("born 30 Sep 1945"), "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::Uid,
            Check::OriginalUid,
            output(comments(&format!("prior study {STUDY_UID}")), "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::AccessionNumber,
            Check::FileMeta,
            output(vec![], "ACQ5566771"),
            CLEAN_NAME,
        ),
        (
            IdClass::Phone,
            Check::IdentifierMatch,
            output(vec![text(0x0032_4000, "LT", "call 555-867-5309")], "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::Institution,
            Check::IdentifierMatch,
            output(
                vec![text(0x0008_1030, "LO", "CT at Hollowbrook Infirmary")],
                "V1",
            ),
            CLEAN_NAME,
        ),
        (
            IdClass::Address,
            Check::IdentifierMatch,
            output(comments("lives at 12 Larkspur Lane"), "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::PersonName,
            Check::IdentifierMatch,
            output(comments("referred by Marcus Welby"), "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::Device,
            Check::IdentifierMatch,
            output(comments("scanner HBCTSTN7 serial SN99127733"), "V1"),
            CLEAN_NAME,
        ),
        (
            IdClass::FileName,
            Check::Filename,
            output(vec![], "V1"),
            "ANONX7/TORVALDSEN77/2.25.3333/2.25.1111.dcm",
        ),
    ];
    for (class, check, out, out_name) in cases {
        let r = verify(&cfg, &[(&inp, NAME, &out, out_name)]);
        let found = critical(&r);
        assert!(!found.is_empty(), "{class:?}: nothing found");
        assert!(
            found.iter().all(|(c, _)| *c == class),
            "{class:?}: {found:?}"
        );
        assert!(found.contains(&(class, check)), "{class:?}: {found:?}");
        assert!(r.has_critical());
    }
    // The clean output alone gives nothing critical.
    let r = verify(&cfg, &[(&inp, NAME, &output(vec![], "V1"), CLEAN_NAME)]);
    assert_eq!(critical(&r), []);
}

#[test]
fn retained_classes_and_engine_values_are_not_findings() {
    let inp = input();
    // Retain Institution Identity: the institution is no identifier to look for.
    let mut o = Options::basic();
    o.retain_institution_identity = true;
    let (_, cfg) = config(o);
    let out = output(
        vec![text(0x0008_1030, "LO", "CT at Hollowbrook Infirmary")],
        "V1",
    );
    assert_eq!(
        critical(&verify(&cfg, &[(&inp, NAME, &out, CLEAN_NAME)])),
        []
    );
    // Retain Device Identity keeps the station name where it stands.
    let mut o = Options::basic();
    o.retain_device_identity = true;
    let (_, cfg) = config(o);
    let out = output(vec![text(0x0008_1010, "SH", "HBCTSTN7")], "V1");
    assert_eq!(
        critical(&verify(&cfg, &[(&inp, NAME, &out, CLEAN_NAME)])),
        []
    );
    // The pseudonym the key gives this patient is not an identifier, even in free text.
    let (d, cfg) = config(Options::basic());
    let real = d.deidentify(&inp).unwrap();
    let pseudonym = real.linkage.new_patient_id.clone();
    let out = output(comments_with(&format!("subject {pseudonym}")), "V1");
    assert_eq!(
        critical(&verify(&cfg, &[(&inp, NAME, &out, CLEAN_NAME)])),
        []
    );
}

fn comments_with(s: &str) -> Vec<El> {
    vec![text(0x0020_4000, "LT", s)]
}

#[test]
fn dates_the_engine_wrote_are_reviewed_kept_ones_are_critical() {
    let (_, cfg) = config(Options::tcia());
    let inp = input();
    // A shifted study date that happens to equal the birth date: a coincidence to review.
    let shifted = output(vec![text(0x0008_0020, "DA", "19450930")], "V1");
    let r = verify(&cfg, &[(&inp, NAME, &shifted, CLEAN_NAME)]);
    assert_eq!(critical(&r), []);
    assert!(r.findings.iter().any(|f| f.severity == Severity::Review
        && f.identifier_class == Some(IdClass::BirthDate)
        && f.rule_id == "verify.date_coincides"));
    // The study date where it stood, unchanged: the date was kept.
    let kept = output(vec![text(0x0008_0020, "DA", "20210315")], "V1");
    let r = verify(&cfg, &[(&inp, NAME, &kept, CLEAN_NAME)]);
    assert_eq!(critical(&r), [(IdClass::StudyDate, Check::OriginalDate)]);
    // Under Full Dates it is the option's to keep.
    let mut o = Options::basic();
    o.retain_long_full_dates = true;
    let (_, cfg) = config(o);
    let r = verify(&cfg, &[(&inp, NAME, &kept, CLEAN_NAME)]);
    assert_eq!(critical(&r), []);
    // A date inside a UID is no date.
    let (_, cfg) = config(Options::basic());
    let uid = output(vec![text(0x0008_1155, "UI", "2.25.19450930")], "V1");
    assert_eq!(
        critical(&verify(&cfg, &[(&inp, NAME, &uid, CLEAN_NAME)])),
        []
    );
}

#[test]
fn identifiers_of_one_file_are_found_in_another_files_output() {
    let (_, cfg) = config(Options::basic());
    // File A has an Other Patient ID; file B of the same patient does not, and its output holds it.
    let mut a = input_elements("PQX-884411", "1.2.826.0.1.3680043.2.1125.7.3");
    a.push(text(0x0010_1000, "LO", "OPID-55443322"));
    let a = file(&a, Syntax::ExplicitLe);
    let b = file(
        &input_elements("PQX-884411", "1.2.826.0.1.3680043.2.1125.7.4"),
        Syntax::ExplicitLe,
    );
    let a_out = output(vec![], "V1");
    let b_out = output(
        vec![
            text(0x0008_0018, "UI", "2.25.1112"),
            text(0x0020_4000, "LT", "see OPID-55443322"),
        ],
        "V1",
    );
    let b_name = "ANONX7/2.25.2222/2.25.3333/2.25.1112.dcm";
    // B is committed before A: the order of the batch does not matter.
    let r = verify(
        &cfg,
        &[
            (&b, "b.dcm", &b_out, b_name),
            (&a, "a.dcm", &a_out, CLEAN_NAME),
        ],
    );
    assert_eq!(critical(&r), [(IdClass::OtherId, Check::IdentifierMatch)]);
    let f = r
        .findings
        .iter()
        .find(|f| f.severity == Severity::Critical)
        .unwrap();
    assert_eq!(f.output_file, b_name);
    assert_eq!(f.element_path, "<(0020,4000)>");
    // Another patient's ID in this patient's output is critical too.
    let c = file(
        &input_elements("ZZT-1177", "1.2.826.0.1.3680043.2.1125.7.5"),
        Syntax::ExplicitLe,
    );
    let a_leak = output(vec![text(0x0020_4000, "LT", "compare ZZT-1177")], "V1");
    let r = verify(
        &cfg,
        &[
            (&a, "a.dcm", &a_leak, CLEAN_NAME),
            (&c, "c.dcm", &output(vec![], "V1"), "ANONY/x/y/z.dcm"),
        ],
    );
    assert_eq!(critical(&r), [(IdClass::PatientId, Check::IdentifierMatch)]);
}

#[test]
fn our_own_outputs_have_no_critical_finding() {
    let inp = input();
    for opts in [
        Options::basic(),
        Options::tcia(),
        Options {
            clean_descriptors: true,
            ..Options::basic()
        },
        Options {
            retain_uids: true,
            retain_long_full_dates: true,
            retain_institution_identity: true,
            ..Options::tcia()
        },
    ] {
        let mut o = opts;
        o.retain_long_modified_dates &= !o.retain_long_full_dates;
        let (d, cfg) = config(o);
        let out = d.deidentify(&inp).unwrap();
        let r = verify(&cfg, &[(&inp, NAME, &out.bytes, &out.name)]);
        assert_eq!(critical(&r), [], "{o:?}: {:?}", r.findings);
    }
}

#[test]
fn sr_content_an_option_retains_is_not_a_finding() {
    // A Device Observer UID (DCM 121012) is kept by Clean Structured Content under Retain Device
    // Identity (Table E.3.4-1); a Tracking Unique Identifier is remapped.
    let item = |code: &str, uid: &str| {
        vec![
            text(0x0040_A010, "CS", "HAS OBS CONTEXT"),
            text(0x0040_A040, "CS", "UIDREF"),
            seq(
                0x0040_A043,
                vec![vec![
                    text(0x0008_0100, "SH", code),
                    text(0x0008_0102, "SH", "DCM"),
                    text(0x0008_0104, "LO", "a concept"),
                ]],
            ),
            text(0x0040_A124, "UI", uid),
        ]
    };
    let mut els = input_elements("PQX-884411", "1.2.826.0.1.3680043.2.1125.7.9");
    els.retain(|e| e.tag != 0x0008_0016 && e.tag != 0x7FE0_0010);
    els.push(text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.88.22"));
    els.push(text(0x0040_A040, "CS", "CONTAINER"));
    els.push(seq(
        0x0040_A730,
        vec![
            item("121012", "1.2.826.0.1.3680043.2.1125.7.50"),
            item("112040", "1.2.826.0.1.3680043.2.1125.7.51"),
        ],
    ));
    let inp = file(&els, Syntax::ExplicitLe);
    for opts in [
        Options {
            clean_structured_content: true,
            ..Options::tcia()
        },
        Options {
            clean_structured_content: true,
            ..Options::basic()
        },
    ] {
        let (d, cfg) = config(opts);
        let out = d.deidentify(&inp).unwrap();
        let kept = common::contains(&out.bytes, b"1.2.826.0.1.3680043.2.1125.7.50");
        assert_eq!(kept, opts.retain_device_identity, "{opts:?}");
        let r = verify(&cfg, &[(&inp, NAME, &out.bytes, &out.name)]);
        assert_eq!(critical(&r), [], "{opts:?}: {:?}", r.findings);
    }
}

#[test]
fn the_shareable_report_holds_no_identifying_text() {
    let (_, cfg) = config(Options::basic());
    let inp = input();
    let out = output(
        vec![
            text(0x0020_4000, "LT", "Quixley PQX-884411 born 30 Sep 1945"),
            text(0x0032_4000, "LT", &format!("{STUDY_UID} (555) 867-5309")),
        ],
        "ACQ5566771",
    );
    let r = verify(&cfg, &[(&inp, NAME, &out, CLEAN_NAME)]);
    let csv = r.no_phi_csv();
    assert!(csv.starts_with("# residual_phi-noPHI.csv"));
    for phi in [
        "QUIXLEY",
        "Quixley",
        "884411",
        "1945",
        "Sep",
        STUDY_UID,
        "867",
        "5309",
        "ACQ5566771",
    ] {
        assert!(!csv.contains(phi), "{phi} in the shareable report");
    }
    let header = csv.lines().nth(2).unwrap();
    assert_eq!(
        header,
        "finding_id,severity,check,output_file,sop_instance_uid_out,element_path,vr,identifier_class,source_path_pattern,match_kind,match_offset,match_length,match_hmac8,rule_id,recommendation,places"
    );
    let detail = r.detail_phi_csv();
    assert!(detail.contains("<QUIXLEY>") && detail.contains("<19450930>"));
    assert!(detail.contains("[Quixley]"), "context around the match");
    // The keyed code is the same for the same text under the same key, and 8 characters.
    let codes: Vec<&str> = r.findings.iter().map(|f| f.match_hmac8.as_str()).collect();
    assert!(codes.iter().all(|c| c.len() == 8));
}

#[test]
fn the_final_review_marks_the_rows_verification_flagged() {
    let (_, cfg) = config(Options::basic());
    let inp = input();
    let leaked = output(
        vec![text(
            0x0020_4000,
            "LT",
            "Quixley PQX-884411 born 30 Sep 1945",
        )],
        "ACQ5566771",
    );
    let clean = output(vec![text(0x0020_4000, "LT", "no contrast")], "ACQ5566771");
    let r = verify(&cfg, &[(&inp, NAME, &leaked, CLEAN_NAME)]);
    let mut review = FinalReview::default();
    for out in [&leaked, &clean] {
        review.add(final_review::examine(out, &[]).unwrap());
    }
    let csv = review.csv(&r.marks());
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let comment = |value: &str| {
        rows.iter()
            .find(|row| &row[0] == "<(0020,4000)>" && row[5].contains(value))
            .unwrap_or_else(|| panic!("no row for {value}: {csv}"))
    };
    let flagged = comment("Quixley");
    assert_eq!(&flagged[12], "fail");
    let classes: Vec<&str> = flagged[11].split('|').collect();
    assert!(
        classes.contains(&"PatientName") && classes.contains(&"PatientID"),
        "{classes:?}"
    );
    // The flag names a class, never the text; another value of the same element is not marked.
    assert!(!flagged[11].contains("Quixley") && !flagged[11].contains("884411"));
    let unflagged = comment("no contrast");
    assert_eq!((&unflagged[11], &unflagged[12]), ("", ""));
    // Elements with no finding carry no flag.
    assert!(
        rows.iter()
            .filter(|row| &row[0] != "<(0020,4000)>")
            .all(|row| row[11].is_empty())
    );
}

#[test]
fn per_file_state_crosses_as_json() {
    let (d, cfg) = config(Options::tcia());
    let inp = input();
    let out = d.deidentify(&inp).unwrap();
    let check = check_file(&cfg, Some(&inp), NAME, Some(&out.bytes));
    assert!(!check.harvest.is_empty() && !check.tokens.is_empty() && check.scanned);
    let json = serde_json::to_string(&check).unwrap();
    let back: FileCheck = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    // No identifier text outside the harvest and details (which stay in memory).
    let mut bare = check.clone();
    bare.harvest.iter_mut().for_each(|h| h.text.clear());
    bare.details.clear();
    bare.issues.iter_mut().for_each(|i| i.matched_text.clear());
    let bare = serde_json::to_string(&bare).unwrap();
    for phi in ["QUIXLEY", "Quixley", "884411", "19450930", STUDY_UID] {
        assert!(!bare.contains(phi), "{phi}");
    }
}

#[test]
fn beside_the_deidentification_the_check_is_the_same() {
    for opts in [Options::basic(), Options::tcia()] {
        let (d, cfg) = config(opts);
        let inp = input();
        let (out, check) = deidentify_and_check(&d, &cfg, &inp, NAME);
        let out = out.unwrap();
        assert_eq!(out.bytes, d.deidentify(&inp).unwrap().bytes);
        let alone = check_file(&cfg, Some(&inp), NAME, Some(&out.bytes));
        assert_eq!(
            serde_json::to_string(&check.unwrap()).unwrap(),
            serde_json::to_string(&alone).unwrap()
        );
    }
    // Not DICOM: no check.
    let (d, cfg) = config(Options::basic());
    let (r, check) = deidentify_and_check(&d, &cfg, b"not dicom", "x");
    assert!(r.is_err() && check.is_none());
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcm-deid"))
}

#[test]
fn real_files_deidentified_have_no_critical_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let key_file = tmp.path().join("k");
    std::fs::write(&key_file, key().to_hex()).unwrap();
    for preset in ["tcia", "basic"] {
        let out = tmp.path().join(format!("{preset}.zip"));
        let res = bin()
            .args(["deidentify", data.to_str().unwrap(), "-o"])
            .arg(&out)
            .args(["--preset", preset, "--key"])
            .arg(&key_file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(res.status.success(), "{preset}: {stdout}");
        assert!(stdout.contains(": 0 critical,"), "{preset}: {stdout}");
        // On demand, against the zip: the same verdict.
        let report = tmp.path().join(format!("report-{preset}"));
        let res = bin()
            .args(["verify", "--originals", data.to_str().unwrap()])
            .arg(&out)
            .arg("-o")
            .arg(&report)
            .args(["--preset", preset, "--key"])
            .arg(&key_file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(res.status.success(), "{preset}: {stdout}");
        assert!(stdout.contains(": 0 critical,"), "{preset}: {stdout}");
        assert!(!stdout.contains("have no original"), "{stdout}");
        assert!(report.join("residual_phi-noPHI.csv").exists());
    }
}

#[test]
fn verify_exits_1_on_an_untouched_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let originals = tmp.path().join("in");
    let copy = tmp.path().join("out");
    std::fs::create_dir_all(&originals).unwrap();
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(originals.join("a.dcm"), input()).unwrap();
    std::fs::write(copy.join("a.dcm"), input()).unwrap();
    let res = bin()
        .args(["verify", "--originals"])
        .arg(&originals)
        .arg(&copy)
        .arg("-o")
        .arg(tmp.path().join("r"))
        .arg("--detail")
        .arg(tmp.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("critical"), "{stdout}");
    assert!(!stdout.contains("Quixley") && !stdout.contains("PQX-884411"));
    let detail = std::fs::read_to_string(tmp.path().join("d/residual_phi-detail-PHI.csv")).unwrap();
    assert!(detail.contains("QUIXLEY"));
}
