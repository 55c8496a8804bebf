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
    let o = out.to_str().unwrap();
    let k = key.to_str().unwrap();
    let i = tmp.path().join("in");
    let res = run(&[
        "deidentify",
        i.to_str().unwrap(),
        "-o",
        o,
        "--preset",
        "tcia",
        "--key",
        k,
        "--jobs",
        "2",
    ]);
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

    let files = all_files(&out);
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        let rel = f.strip_prefix(&out).unwrap().to_string_lossy().to_string();
        assert!(
            !rel.contains("DOE") && !rel.contains("JANE") && !rel.contains("4711"),
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
    let res2 = run(&[
        "deidentify",
        i.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
        "--preset",
        "tcia",
        "--key",
        k,
        "--jobs",
        "1",
    ]);
    assert_eq!(res2.status.code(), Some(1));
    let files2 = all_files(&out2);
    assert_eq!(files.len(), files2.len());
    for (a, b) in files.iter().zip(&files2) {
        assert_eq!(
            a.strip_prefix(&out).unwrap(),
            b.strip_prefix(&out2).unwrap()
        );
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
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
    assert!(String::from_utf8_lossy(&res.stderr).contains("Full Dates or Modified Dates"));
}
