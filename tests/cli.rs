//! The `dcm-deid` binary on a folder holding DICOM files with identifying file and folder names,
//! a text file and a truncated file.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The DICOM outputs under a folder (the audit files left out).
fn dcm_files(dir: &Path) -> Vec<std::path::PathBuf> {
    all_files(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

/// `dcm-deid deidentify INPUT -o OUT --key KEY EXTRA...`
fn deid(input: &Path, out: &Path, key: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "deidentify",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dcm-deid"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn folder_batch_with_phi_names_bad_files_and_a_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in").join("DOE_JANE_MRN4711");
    std::fs::create_dir_all(input.join("nested")).unwrap();
    for (i, name) in ["DOE_JANE_ct1.dcm", "nested/DOE_JANE_ct2.dcm"]
        .iter()
        .enumerate()
    {
        let els = ct_image(
            "MRN4711",
            "DOE^JANE",
            &format!("1.2.826.0.1.3680043.2.1125.3.{i}"),
        );
        std::fs::write(input.join(name), file(&els, Syntax::ImplicitLe)).unwrap();
    }
    std::fs::write(input.join("notes_DOE_JANE.dcm"), b"not dicom at all").unwrap();
    let good = file(
        &ct_image("MRN4711", "DOE^JANE", "1.2.3.77"),
        Syntax::ExplicitLe,
    );
    std::fs::write(input.join("truncated.dcm"), &good[..good.len() - 5]).unwrap();

    let out = tmp.path().join("out");
    let key = tmp.path().join("project.key");
    let i = tmp.path().join("in");
    let res = deid(&i, &out, &key, &["--preset", "tcia", "--jobs", "2"]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_eq!(
        res.status.code(),
        Some(1),
        "a failed file makes the exit code 1\n{stdout}"
    );
    assert!(
        stdout.contains("4 files found: 2 de-identified, 1 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains(", 1 failed"), "{stdout}");
    assert!(key.exists(), "the key file is created");

    let files = dcm_files(&out);
    assert_eq!(files.len(), 2, "{files:?}");
    check_audit(
        &std::fs::read(out.join("audit.jsonl")).unwrap(),
        &std::fs::read(out.join("audit.csv")).unwrap(),
    );
    for f in &files {
        let rel = f.strip_prefix(&out).unwrap().to_string_lossy().to_string();
        // The patient part is a pseudonym; the rest are new UIDs (whose random digits may
        // contain the original ID's by chance, so they are checked for their form instead).
        let (patient, uids) = rel.split_once('/').unwrap();
        assert!(
            !rel.contains("DOE") && !rel.contains("JANE") && !patient.contains("4711"),
            "{rel}"
        );
        assert!(
            uids.trim_end_matches(".dcm")
                .split('/')
                .all(|u| u.starts_with("2.25.")),
            "{rel}"
        );
        assert_eq!(
            rel.matches('/').count(),
            3,
            "patient/study/series/sop.dcm: {rel}"
        );
        let bytes = std::fs::read(f).unwrap();
        assert!(!contains(&bytes, b"DOE") && !contains(&bytes, b"MRN4711"));
    }

    // The same key gives byte-identical output on a second run, with one job.
    let out2 = tmp.path().join("out2");
    let res2 = deid(&i, &out2, &key, &["--preset", "tcia", "--jobs", "1"]);
    assert_eq!(res2.status.code(), Some(1));
    let files2 = dcm_files(&out2);
    assert_eq!(files.len(), files2.len());
    for (a, b) in files.iter().zip(&files2) {
        assert_eq!(
            a.strip_prefix(&out).unwrap(),
            b.strip_prefix(&out2).unwrap()
        );
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
}

/// The audit names no patient value, input path or original UID, and accounts for every input.
fn check_audit(jsonl: &[u8], csv: &[u8]) {
    for audit in [jsonl, csv] {
        for phi in [
            &b"DOE"[..],
            b"JANE",
            b"MRN4711",
            b"1.2.826.0.1.3680043.2.1125",
            b"truncated",
            b"notes_",
        ] {
            assert!(
                !contains(audit, phi),
                "audit holds {}",
                String::from_utf8_lossy(phi)
            );
        }
    }
    let text = String::from_utf8(jsonl.to_vec()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let files: Vec<_> = lines.iter().filter(|l| l["record"] == "file").collect();
    assert_eq!(files.len(), 2);
    for f in files {
        assert_eq!(f["sop_class_uid"], "1.2.840.10008.5.1.4.1.1.2");
        assert_eq!(f["modality"], "CT");
        assert!(f["counts"]["X"].as_u64().unwrap() > 0);
        let actions = f["actions"].as_array().unwrap();
        assert!(
            actions
                .iter()
                .any(|a| a[0] == "<(0010,0010)>" && a[1] == "Z")
        );
    }
    let s = &lines[2];
    assert_eq!(s["record"], "summary");
    assert_eq!(
        (
            s["found"].as_u64(),
            s["deidentified"].as_u64(),
            s["skipped"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(4), Some(2), Some(1), Some(1))
    );
    assert!(
        s["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "Clean Descriptors Option")
    );
    assert_eq!(String::from_utf8_lossy(csv).lines().count(), 3);
}

#[test]
fn zip_output_matches_folder_output_and_linkage_stays_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for i in 0..3 {
        let els = ct_image(
            "MRN4711",
            "DOE^JANE",
            &format!("1.2.826.0.1.3680043.2.1125.4.{i}"),
        );
        std::fs::write(
            input.join(format!("f{i}.dcm")),
            file(&els, Syntax::ExplicitLe),
        )
        .unwrap();
    }
    std::fs::write(input.join("notes_x.dcm"), b"plain text").unwrap();
    let good = file(
        &ct_image("MRN4711", "DOE^JANE", "1.2.3.77"),
        Syntax::ExplicitLe,
    );
    std::fs::write(input.join("truncated.dcm"), &good[..good.len() - 5]).unwrap();
    let key = tmp.path().join("k");
    std::fs::write(&key, "11".repeat(32)).unwrap();
    let zip_path = tmp.path().join("result").join("out.zip");
    let link = tmp.path().join("linkage");
    let res = deid(
        &input,
        &zip_path,
        &key,
        &["--linkage", link.to_str().unwrap()],
    );
    assert_eq!(res.status.code(), Some(1));
    assert!(!tmp.path().join("result").join("out.zip.partial").exists());
    let dir = tmp.path().join("dir");
    deid(&input, &dir, &key, &[]);
    // Inputs are committed in input order: the whole zip is the same whatever the job count.
    let zip1 = tmp.path().join("one.zip");
    let zip2 = tmp.path().join("two.zip");
    for (z, jobs) in [(&zip1, "1"), (&zip2, "2")] {
        deid(&input, z, &key, &["--jobs", jobs, "--sample-seed", "9"]);
    }
    // Every entry but the run's log (its times and run ID) is the same.
    let entries = |p: &Path| -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(std::fs::File::open(p).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let mut e = z.by_index(i).unwrap();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
                (e.name().unwrap().to_string(), bytes)
            })
            .filter(|(n, _)| n != "deid_log-noPHI.csv")
            .collect()
    };
    let (e1, e2) = (entries(&zip1), entries(&zip2));
    assert!(e1.iter().any(|(n, _)| n == "final_review-noPHI.csv"));
    assert!(e1.iter().any(|(n, _)| n == "review_sample-noPHI.csv"));
    assert_eq!(e1, e2);
    assert!(
        !all_files(tmp.path())
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".partial"))
    );

    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
        if name.ends_with(".dcm") {
            assert_eq!(
                bytes,
                std::fs::read(dir.join(&name)).unwrap(),
                "{name}: zip and folder differ"
            );
        }
        names.push(name);
    }
    names.sort();
    // Three images, two audit files, the residual-PHI report and three review files (final
    // review, sample, log).
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(names.contains(&"audit.jsonl".to_string()) && names.contains(&"audit.csv".to_string()));
    // After the files: the audit, the residual-PHI report, the review files, the log (which
    // counts the report's findings) last.
    let order: Vec<String> = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .filter(|n| !n.ends_with(".dcm"))
        .collect();
    assert_eq!(
        order,
        [
            "audit.jsonl",
            "audit.csv",
            "residual_phi-noPHI.csv",
            "final_review-noPHI.csv",
            "review_sample-noPHI.csv",
            "deid_log-noPHI.csv"
        ]
    );
    let report = std::fs::read_to_string(dir.join("residual_phi-noPHI.csv")).unwrap();
    assert!(report.starts_with("# residual_phi-noPHI.csv"));
    assert!(!report.contains("MRN4711"));
    let detail = std::fs::read_to_string(link.join("residual_phi-detail-PHI.csv")).unwrap();
    assert!(detail.contains("finding_id,matched_text,context"));

    let linkage = std::fs::read_to_string(link.join("linkage.csv")).unwrap();
    assert!(
        linkage.contains("MRN4711")
            && linkage.contains("truncated.dcm")
            && linkage.contains("failed")
    );
    let uids = std::fs::read_to_string(link.join("uid_mapping.csv")).unwrap();
    assert!(uids.starts_with("id_old,id_new\n"));
    assert!(uids.contains("1.2.826.0.1.3680043.2.1125.4.0,2.25."));
    let pat = std::fs::read_to_string(link.join("patid_mapping.csv")).unwrap();
    assert_eq!(pat.lines().count(), 2);
    assert!(pat.contains("MRN4711,ANON"));
    assert!(link.join("README_CONTAINS_PHI.txt").exists());
}

#[test]
fn conflicting_options_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("o");
    let res = run(&[
        "deidentify",
        tmp.path().to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--retain-long-full-dates",
        "--retain-long-modified-dates",
    ]);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("Full Dates Option or the Retain Longitudinal Temporal Information Modified Dates Option, not both"));
}

#[test]
fn custom_profile_lookup_and_dicomdir() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let els = ct_image("MRN-77", "DOE^JANE", "1.2.826.0.1.3680043.2.1125.6.1");
    std::fs::write(input.join("a.dcm"), file(&els, Syntax::ExplicitLe)).unwrap();
    let dicomdir = vec![
        text(0x0004_1130, "CS", "DOE JANE MEDIA"),
        text(0x0008_0016, "UI", "1.2.840.10008.1.3.10"),
        text(0x0008_0018, "UI", "1.2.3.9"),
    ];
    std::fs::write(input.join("DICOMDIR"), file(&dicomdir, Syntax::ExplicitLe)).unwrap();
    // A site profile: Table E.1-1 with Study Description kept.
    let table = include_str!("../profiles/basic_profile_e1_1.csv").replace(
        "\"(0008,1030)\",00081030,Study Description,StudyDescription,LO,1,N,Y,X,",
        "\"(0008,1030)\",00081030,Study Description,StudyDescription,LO,1,N,Y,K,",
    );
    assert_ne!(
        table,
        include_str!("../profiles/basic_profile_e1_1.csv"),
        "the row was edited"
    );
    let profile = tmp.path().join("site.csv");
    std::fs::write(&profile, table).unwrap();
    let lookup = tmp.path().join("lookup.csv");
    std::fs::write(
        &lookup,
        "original_id,new_id,new_name\nMRN-77,SUBJ-7,Subject^Seven\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let key = tmp.path().join("k");
    let (p, l) = (profile.to_str().unwrap(), lookup.to_str().unwrap());
    let res = deid(&input, &out, &key, &["--profile", p, "--lookup", l]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_eq!(res.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 de-identified, 1 skipped") && stdout.contains("DICOMDIR"),
        "{stdout}"
    );
    let files = dcm_files(&out);
    assert_eq!(files.len(), 1);
    assert!(files[0].strip_prefix(&out).unwrap().starts_with("SUBJ-7"));
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(
        contains(&bytes, b"CT CHEST for Doe"),
        "the site profile keeps Study Description"
    );
    assert!(contains(&bytes, b"Subject^Seven") && !contains(&bytes, b"MRN-77"));
    assert!(
        contains(&bytes, b"site.csv"),
        "De-identification Method names the profile used"
    );
}

#[test]
fn safe_private_takes_a_knowledge_base_csv_and_a_bad_row_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut els = ct_image("MRN-78", "DOE^JANE", "1.2.826.0.1.3680043.2.1125.6.2");
    els.push(text(0x0009_0030, "LO", "ACME"));
    els.push(text(0x0009_3010, "LO", "MKKEPT"));
    els.push(text(0x0009_3011, "LO", "MKDROPPED"));
    std::fs::write(input.join("a.dcm"), file(&els, Syntax::ExplicitLe)).unwrap();
    // TCIA's 2024 knowledge base column order, with its lost opening quote.
    let kb = tmp.path().join("kb.csv");
    std::fs::write(
        &kb,
        "\u{feff}element_sig_pattern,tag_name,vr,private_disposition\n\
         \"(0009,ACME\"\",10)\",Kept,LO, k\n\
         \"(0009,\"\"ACME\"\",11)\",Dropped,LO,D\n",
    )
    .unwrap();
    let (out, key) = (tmp.path().join("out"), tmp.path().join("k"));
    let kb_arg = kb.to_str().unwrap();
    let res = deid(
        &input,
        &out,
        &key,
        &["--preset", "tcia", "--safe-private", kb_arg],
    );
    assert_eq!(res.status.code(), Some(0), "{res:?}");
    let bytes = std::fs::read(&dcm_files(&out)[0]).unwrap();
    assert!(contains(&bytes, b"MKKEPT") && !contains(&bytes, b"MKDROPPED"));

    std::fs::write(
        &kb,
        "element_sig_pattern,tag_name,vr,private_disposition\n\"(0009,ACME,1)\",x,LO,k\n",
    )
    .unwrap();
    let res = deid(
        &input,
        &tmp.path().join("out2"),
        &key,
        &["--safe-private", kb_arg],
    );
    assert_ne!(res.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("kb.csv, line 2"), "{stderr}");
}

#[test]
fn output_inside_the_input_folder_is_not_an_input() {
    for out_name in ["result.zip", "result"] {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let els = ct_image("MRN-1", "DOE^JANE", "1.2.826.0.1.3680043.2.1125.6.2");
        std::fs::write(input.join("a.dcm"), file(&els, Syntax::ExplicitLe)).unwrap();
        let out = input.join(out_name);
        let key = tmp.path().join("k");
        let res = deid(&input, &out, &key, &[]);
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(
            stdout.starts_with("1 file found: 1 de-identified, 0 skipped, 0 failed"),
            "{out_name}: {stdout}"
        );
    }
}

#[test]
fn an_explicit_date_option_overrides_the_preset_and_no_key_means_a_fresh_one() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let els = ct_image("MRN-5", "DOE^JANE", "1.2.826.0.1.3680043.2.1125.6.5");
    std::fs::write(input.join("a.dcm"), file(&els, Syntax::ExplicitLe)).unwrap();
    let key = tmp.path().join("k");
    // TCIA shifts dates; adding --retain-long-full-dates keeps them instead.
    let full = tmp.path().join("full");
    deid(
        &input,
        &full,
        &key,
        &["--preset", "tcia", "--retain-long-full-dates"],
    );
    let bytes = std::fs::read(&dcm_files(&full)[0]).unwrap();
    assert!(contains(&bytes, b"20210315") && contains(&bytes, b"UNMODIFIED"));
    let shifted = tmp.path().join("shifted");
    deid(&input, &shifted, &key, &["--preset", "tcia"]);
    let bytes = std::fs::read(&dcm_files(&shifted)[0]).unwrap();
    assert!(!contains(&bytes, b"20210315") && contains(&bytes, b"MODIFIED"));
    // Without --key, each run draws a new key from the OS: other pseudonyms, and a note says so.
    let names: Vec<String> = ["r1", "r2"]
        .iter()
        .map(|r| {
            let out = tmp.path().join(r);
            let res = run(&[
                "deidentify",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert!(String::from_utf8_lossy(&res.stderr).contains("no --key given"));
            dcm_files(&out)[0]
                .strip_prefix(&out)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_ne!(names[0], names[1]);
}

#[test]
fn the_linkage_folder_is_never_the_output_or_inside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("a.dcm"),
        file(&ct_image("P1", "DOE^JANE", "1.2.3.4"), Syntax::ExplicitLe),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let beside = tmp.path().join("linkage");
    let cases = [
        (out.clone(), 2),
        (out.join("phi"), 2),
        (out.join("x").join("..").join("y"), 2),
        (beside, 0),
    ];
    for (linkage, code) in cases {
        let res = run(&[
            "deidentify",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--linkage",
            linkage.to_str().unwrap(),
        ]);
        assert_eq!(res.status.code(), Some(code), "{}", linkage.display());
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(
            stderr.contains("must not be the output or inside it"),
            code == 2
        );
        assert_eq!(linkage.join("linkage.csv").exists(), code == 0);
    }
}

/// An ultrasound image of `rows` × 2 bright pixels from a scanner CTP's library does not know.
fn ultrasound(sop_uid: &str, manufacturer: &str) -> Vec<u8> {
    let mut els = ct_image("MRN4711", "Doe^Jane", sop_uid);
    for e in &mut els {
        if e.tag == 0x0008_0016 {
            *e = text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.6.1");
        }
        if e.tag == 0x0008_0060 {
            *e = text(0x0008_0060, "CS", "US");
        }
    }
    els.push(text(0x0008_0070, "LO", manufacturer));
    file(&els, Syntax::ExplicitLe)
}

#[test]
fn clean_pixel_data_masks_by_script_and_holds_back_the_rest_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in").join("DOE_JANE");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("a_known.dcm"),
        ultrasound("1.2.3.1", "ACME SONO"),
    )
    .unwrap();
    std::fs::write(input.join("b_unknown.dcm"), ultrasound("1.2.3.2", "OTHER")).unwrap();
    let script = tmp.path().join("site.script");
    std::fs::write(
        &script,
        "ACME\n  { Manufacturer.equals(\"ACME SONO\") * Rows.equals(\"2\") }\n  (0,0,0,0)\n",
    )
    .unwrap();
    let (key, out, q) = (
        tmp.path().join("k"),
        tmp.path().join("out"),
        tmp.path().join("held"),
    );
    let args = [
        "--clean-pixel-data",
        "--pixel-script",
        script.to_str().unwrap(),
        "--quarantine",
        q.to_str().unwrap(),
    ];
    let r = deid(&input, &out, &key, &args);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        stdout.contains("2 files found: 1 de-identified, 0 skipped, 0 failed, 1 quarantined"),
        "{stdout}"
    );
    let written = dcm_files(&out);
    assert_eq!(written.len(), 1);
    let bytes = std::fs::read(&written[0]).unwrap();
    assert_eq!(
        &bytes[bytes.len() - 8..],
        &[0, 0, 3, 4, 5, 6, 7, 8],
        "only pixel (0,0) painted"
    );
    let audit = std::fs::read_to_string(out.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"source\":\"site.script line 2\""),
        "{audit}"
    );
    assert!(
        audit.contains("{\"record\":\"quarantined\",\"input_number\":2,"),
        "{audit}"
    );
    assert!(!audit.contains("DOE_JANE"), "no input path in the audit");
    assert_eq!(
        std::fs::read(q.join("000002.dcm")).unwrap(),
        ultrasound("1.2.3.2", "OTHER")
    );
    let index = std::fs::read_to_string(q.join("index.csv")).unwrap();
    assert!(
        index.contains("000002.dcm,2,") && index.contains("b_unknown.dcm"),
        "{index}"
    );
    assert!(
        std::fs::read_to_string(q.join("README.txt"))
            .unwrap()
            .starts_with("CONTAINS PATIENT DATA")
    );
    // The quarantine is PHI: never inside the output.
    let inside = out.join("held");
    let elsewhere = deid(
        &input,
        &tmp.path().join("out2"),
        &key,
        &[
            "--clean-pixel-data",
            "--quarantine",
            inside.to_str().unwrap(),
        ],
    );
    assert!(
        elsewhere.status.success(),
        "a quarantine outside this output is fine"
    );
    let r = deid(
        &input,
        &out,
        &key,
        &[
            "--clean-pixel-data",
            "--quarantine",
            out.join("q").to_str().unwrap(),
        ],
    );
    assert!(
        !r.status.success() && String::from_utf8_lossy(&r.stderr).contains("quarantine folder")
    );
    // Accepting the risk writes both, and says so.
    let out3 = tmp.path().join("out3");
    let r = deid(
        &input,
        &out3,
        &key,
        &["--clean-pixel-data", "--release-unmasked"],
    );
    assert!(String::from_utf8_lossy(&r.stdout).contains("2 de-identified"));
    let audit = std::fs::read_to_string(out3.join("audit.jsonl")).unwrap();
    assert_eq!(audit.matches("\"released_unmasked\":true").count(), 2);
}
