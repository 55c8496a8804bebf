//! Outputs read back by a second, independent DICOM implementation (dicom-rs's dicom-object),
//! so that a bug shared by our reader and writer cannot hide: every real file in `tests/data`
//! de-identified with Basic and with TCIA must open, keep its SOP Class, transfer syntax and
//! pixel data, carry a new SOP Instance UID that the file meta agrees with, and hold the
//! pseudonym as Patient ID.

use dicom_deid::{Deidentified, Deidentifier, Options, ProjectKey};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_object::file::ReadPreamble;

fn open(bytes: &[u8]) -> Option<dicom_object::DefaultDicomObject> {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(std::io::Cursor::new(bytes.to_vec()))
        .ok()
}

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

/// Checks one de-identified output against its input with dicom-object: it opens, and when
/// dicom-object reads the input too, SOP Class, transfer syntax and pixel data are kept, the SOP
/// Instance UID is new and the file meta agrees, and the pseudonym is the Patient ID.
fn check_output(name: &str, original: Option<&dicom_object::DefaultDicomObject>, d: &Deidentified) {
    let out = open(&d.bytes).unwrap_or_else(|| panic!("{name}: dicom-object reads the output"));
    let sop = text(&out, tags::SOP_INSTANCE_UID).unwrap_or_default();
    assert_eq!(
        out.meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0'),
        sop,
        "{name}: meta agrees with the data set"
    );
    assert_eq!(
        text(&out, tags::PATIENT_ID).as_deref(),
        Some(d.linkage.new_patient_id.as_str()),
        "{name}"
    );
    assert_eq!(
        text(&out, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
        Some("YES"),
        "{name}"
    );
    let Some(original) = original else { return };
    assert_eq!(
        text(&out, tags::SOP_CLASS_UID),
        text(original, tags::SOP_CLASS_UID).or_else(|| text(&out, tags::SOP_CLASS_UID)),
        "{name}"
    );
    assert_ne!(
        Some(&sop),
        text(original, tags::SOP_INSTANCE_UID).as_ref(),
        "{name}"
    );
    let pixels = |o: &dicom_object::DefaultDicomObject| {
        o.element_opt(tags::PIXEL_DATA)
            .ok()
            .flatten()
            .map(|e| e.value().to_bytes().map(|b| b.to_vec()).unwrap_or_default())
    };
    // Where dicom-object and this reader agree on the encoding, the pixels are byte for byte
    // (an odd-length value gains the zero byte PS3.5 pads it with).
    if out.meta().transfer_syntax() == original.meta().transfer_syntax() {
        let mut before = pixels(original);
        if let Some(b) = before.as_mut().filter(|b| b.len() % 2 == 1) {
            b.push(0);
        }
        assert_eq!(pixels(&out), before, "{name}: pixel data unchanged");
    }
}

#[test]
fn outputs_open_in_dicom_object_with_their_essentials_intact() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut checked = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "dcm") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        // Inputs dicom-object cannot open itself (no file meta, say) are checked through the
        // de-identified output's own invariants.
        let original = open(&input);
        for options in [Options::basic(), Options::tcia()] {
            let d = Deidentifier::new(options, ProjectKey::from_bytes([9; 32]))
                .unwrap()
                .deidentify(&input)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Some(o) = &original {
                assert_eq!(
                    o.meta().transfer_syntax(),
                    open(&d.bytes).unwrap().meta().transfer_syntax(),
                    "{}: transfer syntax kept",
                    path.display()
                );
            }
            check_output(&path.display().to_string(), original.as_ref(), &d);
            checked += 1;
        }
    }
    assert!(checked >= 14, "every real file, twice: {checked}");
}

/// Every file of the shared real-file corpus (when it sits beside the repository) that the
/// engine de-identifies, under Basic and TCIA, opens in dicom-object with its essentials intact.
#[test]
fn corpus_outputs_open_in_dicom_object() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.is_dir() {
        eprintln!("no ../shared/corpus: skipped");
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![corpus];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let (mut opened, mut refused) = (0, 0);
    for options in [Options::basic(), Options::tcia()] {
        let engine = Deidentifier::new(options, ProjectKey::from_bytes([9; 32])).unwrap();
        for path in &files {
            let input = std::fs::read(path).unwrap();
            match engine.deidentify(&input) {
                Ok(d) => {
                    check_output(&path.display().to_string(), open(&input).as_ref(), &d);
                    opened += 1;
                }
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("dicom-object opened {opened} corpus outputs ({refused} inputs not de-identified)");
    assert!(opened > 700, "most of the corpus, twice: {opened}");
}
