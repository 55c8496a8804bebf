//! The wasm boundary, run headless in Chromium with wasm-bindgen-test
//! (`CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown
//! --no-default-features --test wasm`).
#![cfg(target_arch = "wasm32")]

use dicom_deid::wasm::{
    Audit, Session, ZipStream, generate_key, key_from_hex, key_to_hex, preset_options,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CT: &[u8] = include_bytes!("data/mr_implicit_vr_le.dcm");

fn session() -> Session {
    Session::new(preset_options("tcia").unwrap(), &[3u8; 32], None).unwrap()
}

fn message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    js_sys::Reflect::get(&v, &"message".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
fn deidentifies_a_real_file() {
    let s = session();
    let mut out = s.deidentify(CT).unwrap();
    assert!(out.name().ends_with(".dcm") && out.name().starts_with("ANON"));
    let bytes = out.take_bytes();
    assert_eq!(&bytes[128..132], b"DICM");
    assert_eq!(out.crc32(), crc32fast::hash(&bytes));
    assert!(out.audit_jsonl().contains("\"record\":\"file\""));
    // Same key, same bytes: the browser matches the CLI.
    let native = dicom_deid::Deidentifier::new(
        dicom_deid::Options::tcia(),
        dicom_deid::ProjectKey::from_bytes([3; 32]),
    )
    .unwrap()
    .deidentify(CT)
    .unwrap();
    assert_eq!(bytes, native.bytes);
}

#[wasm_bindgen_test]
fn errors_carry_their_kind_and_no_value() {
    let s = session();
    let e = message(
        s.deidentify(b"PATIENT SECRET NAME, not dicom")
            .err()
            .unwrap(),
    );
    assert!(e.starts_with("[not-dicom]"), "{e}");
    assert!(!e.contains("SECRET"));
    let e = message(
        Session::new(preset_options("basic").unwrap(), &[1, 2, 3], None)
            .err()
            .unwrap(),
    );
    assert!(e.starts_with("[key]"), "{e}");
    let e = message(
        Session::new(
            preset_options("basic").unwrap(),
            &[0; 32],
            Some("x\n".into()),
        )
        .err()
        .unwrap(),
    );
    assert!(e.starts_with("[lookup]"), "{e}");
}

#[wasm_bindgen_test]
fn keys_zip_and_audit() {
    let k = generate_key().unwrap();
    assert_eq!(k.len(), 32);
    assert_eq!(key_from_hex(&key_to_hex(&k).unwrap()).unwrap(), k);
    let mut z = ZipStream::new();
    let mut zip = z.header("a.dcm", 3.0, crc32fast::hash(b"abc")).unwrap();
    zip.extend_from_slice(b"abc");
    zip.extend(z.finish().unwrap());
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let mut a = Audit::new();
    a.done("{}\n", "x\n");
    a.skip("not a DICOM file");
    let line = a.summary_line(&session());
    assert!(line.contains("\"found\":2") && line.contains("\"skipped\":1"));
}
