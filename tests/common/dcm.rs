//! Files read and written by dicom-object (an independent reader and writer), for the pixel
//! tests that build images with dicom-rs and decode outputs with it.

use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};

/// A Part 10 file read by dicom-object.
pub fn open(bytes: &[u8]) -> DefaultDicomObject {
    OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(std::io::Cursor::new(bytes.to_vec()))
        .unwrap()
}

/// `o` written by dicom-object as a Part 10 file in transfer syntax `ts`.
pub fn part10(o: InMemDicomObject, ts: &str, sop_class: &str, sop_instance: &str) -> Vec<u8> {
    let file = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop_instance),
        )
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}
