//! The wasm boundary, run headless in Chromium with wasm-bindgen-test
//! (`CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown
//! --no-default-features --test wasm`). Results are read back into the library's own types and
//! compared whole. The worker-only path (`deidentifyFile`: a `File` in, an OPFS file out) is
//! covered by the end-to-end tests, which compare the page's zip with the CLI's output.
#![cfg(target_arch = "wasm32")]

use dicom_deid::output::{FileResult, Summary};
use dicom_deid::wasm::{
    Batch, JsDeidentifier, generate_key, key_from_hex, key_to_hex, option_list, studio::Viewer,
};
use dicom_deid::{Options, ProjectKey};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MR: &[u8] = include_bytes!("data/mr_implicit_vr_le.dcm");

fn tcia() -> JsValue {
    serde_wasm_bindgen::to_value(&Options::tcia()).unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap()
}

fn result_of(out: &JsValue) -> FileResult {
    serde_wasm_bindgen::from_value(get(out, "result")).unwrap()
}

#[wasm_bindgen_test]
fn deidentifies_a_real_file_like_the_native_library() {
    let d = JsDeidentifier::new(tcia(), &[3u8; 32], None, JsValue::UNDEFINED, None).unwrap();
    let out = d.deidentify(MR).unwrap();
    let bytes = js_sys::Uint8Array::new(&get(&out, "bytes")).to_vec();
    let native = dicom_deid::Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([3; 32]))
        .unwrap()
        .deidentify(MR);
    assert_eq!(result_of(&out), FileResult::of(&native), "the whole result");
    assert_eq!(bytes, native.unwrap().bytes, "the same bytes");
}

#[wasm_bindgen_test]
fn errors_are_named_by_kind_and_carry_no_value() {
    let d = JsDeidentifier::new(tcia(), &[3u8; 32], None, JsValue::UNDEFINED, None).unwrap();
    let out = d.deidentify(b"PATIENT SECRET NAME, not dicom").unwrap();
    match result_of(&out) {
        FileResult::Skipped { reason } => assert!(!reason.contains("SECRET"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(get(&out, "bytes").is_undefined());
    let name = |e: JsValue| get(&e, "name").as_string().unwrap();
    let e = JsDeidentifier::new(tcia(), &[1, 2, 3], None, JsValue::UNDEFINED, None)
        .err()
        .unwrap();
    assert_eq!(name(e), "key");
    let e = Batch::new(
        tcia(),
        &[0; 32],
        Some("x\n".into()),
        false,
        JsValue::UNDEFINED,
        None,
    )
    .err()
    .unwrap();
    assert_eq!(name(e), "lookup");
    let e = JsDeidentifier::new("tcia".into(), &[0; 32], None, JsValue::UNDEFINED, None)
        .err()
        .unwrap();
    assert_eq!(name(e), "options");
}

#[wasm_bindgen_test]
fn a_batch_commits_in_order_and_ends_the_zip() {
    let d = JsDeidentifier::new(tcia(), &[3u8; 32], None, JsValue::UNDEFINED, None).unwrap();
    let mut batch = Batch::new(tcia(), &[3u8; 32], None, true, JsValue::UNDEFINED, None).unwrap();
    let first = batch
        .commit("a/1.dcm", get(&d.deidentify(MR).unwrap(), "result"))
        .unwrap();
    assert_eq!(
        get(&get(&first, "outcome"), "status").as_string().unwrap(),
        "written"
    );
    let header = js_sys::Uint8Array::new(&get(&first, "header")).to_vec();
    assert_eq!(&header[..4], b"PK\x03\x04");
    let again = batch
        .commit("a/2.dcm", get(&d.deidentify(MR).unwrap(), "result"))
        .unwrap();
    assert_eq!(
        get(&get(&again, "outcome"), "status").as_string().unwrap(),
        "skipped"
    );
    assert!(get(&again, "header").is_undefined() || get(&again, "header").is_null());
    let stamp = || {
        use serde::Serialize;
        serde_json::json!({
            "run_id": "r1", "started_utc": "2026-01-01T00:00:00Z",
            "finished_utc": "2026-01-01T00:00:01Z", "sample_seed": 5, "reviewer": "QA"
        })
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap()
    };
    let end = batch.finish(stamp()).unwrap();
    let reports = js_sys::Uint8Array::new(&get(&end, "reports")).to_vec();
    for name in [
        "final_review-noPHI.csv",
        "review_sample-noPHI.csv",
        "deid_log-noPHI.csv",
    ] {
        assert!(
            reports.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name}"
        );
    }
    assert_eq!(get(&get(&end, "log"), "sample_size").as_f64(), Some(1.0));
    let summary: Summary = serde_wasm_bindgen::from_value(get(&end, "summary")).unwrap();
    assert_eq!(
        (summary.found, summary.deidentified, summary.skipped),
        (2, 1, 1)
    );
    assert!(
        get(&end, "summaryLine")
            .as_string()
            .unwrap()
            .contains("\"found\":2")
    );
    let tail = js_sys::Uint8Array::new(&get(&end, "end")).to_vec();
    assert!(
        tail.windows(4).any(|w| w == b"PK\x05\x06"),
        "end of central directory"
    );
    let linkage = batch.linkage_zip().unwrap();
    assert_eq!(&linkage[..4], b"PK\x03\x04");
    assert!(batch.finish(stamp()).is_err(), "finished once");
}

#[wasm_bindgen_test]
fn the_inventory_is_built_from_worker_parts_as_natively() {
    let d = JsDeidentifier::new(tcia(), &[3u8; 32], None, JsValue::UNDEFINED, None).unwrap();
    let mut inv = dicom_deid::wasm::JsInventory::new();
    let examined = d.examine(MR, true).unwrap();
    inv.add("a/1.dcm", get(&examined, "part")).unwrap();
    assert!(get(&d.examine(b"nope", true).unwrap(), "reason").is_string());
    let native = dicom_deid::Deidentifier::new(
        dicom_deid::Options::tcia(),
        dicom_deid::ProjectKey::from_bytes([3; 32]),
    )
    .unwrap();
    let mut expected = dicom_deid::review::inventory::Inventory::default();
    expected.add(
        "a/1.dcm",
        dicom_deid::review::inventory::examine(&native, MR, true).unwrap(),
    );
    assert_eq!(inv.files(), 1);
    assert_eq!(inv.inventory_csv(), expected.inventory_csv());
    assert_eq!(inv.pre_review_csv(), expected.pre_review_csv());
    let overrides = "path_pattern,value,decision\n\"<(0008,1030)>\",<x>,keep\n";
    assert!(
        JsDeidentifier::new(
            tcia(),
            &[3u8; 32],
            None,
            JsValue::UNDEFINED,
            Some(overrides.into())
        )
        .is_ok()
    );
    let bad = "path_pattern,value,decision\n\"<(0008,1030)>\",<x>,shred\n";
    let e = JsDeidentifier::new(
        tcia(),
        &[3u8; 32],
        None,
        JsValue::UNDEFINED,
        Some(bad.into()),
    );
    let e = e.err().unwrap();
    assert_eq!(get(&e, "name").as_string().as_deref(), Some("profile"));
    assert!(!get(&e, "message").as_string().unwrap().contains("shred"));
}

#[wasm_bindgen_test]
fn keys_and_the_option_list() {
    let k = generate_key().unwrap();
    assert_eq!(k.len(), 32);
    assert_eq!(key_from_hex(&key_to_hex(&k).unwrap()).unwrap(), k);
    let list = option_list().unwrap();
    let options = js_sys::Array::from(&get(&list, "options"));
    assert_eq!(
        options.length() as usize,
        dicom_deid::ProfileOption::ALL.len()
    );
    assert_eq!(
        get(&options.get(0), "id").as_string().unwrap(),
        "retain_safe_private"
    );
}

#[wasm_bindgen_test]
fn the_studio_sees_in_wasm_what_the_native_library_sees() {
    let d = JsDeidentifier::new(tcia(), &[3u8; 32], None, JsValue::UNDEFINED, None).unwrap();
    let survey = d.survey(MR).unwrap();
    let card = get(&survey, "card");
    let native = dicom_deid::review::survey::survey(
        &dicom_deid::Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([3; 32])).unwrap(),
        MR,
    )
    .unwrap();
    assert_eq!(
        get(&card, "series_uid").as_string().unwrap(),
        native.series_uid
    );
    assert_eq!(get(&card, "rows").as_f64().unwrap() as u32, native.rows);
    // The thumbnail and a full render are the native renderer's, byte for byte.
    let image = dicom_deid::render::Image::open(MR).unwrap();
    let thumb = get(&survey, "thumbnail");
    let data = js_sys::Uint8ClampedArray::new(&get(&thumb, "data")).to_vec();
    assert_eq!(data, image.thumbnail(128).unwrap().data);
    let viewer = Viewer::new(MR).unwrap();
    let picture = viewer.render(0, 600.0, 1200.0, false).unwrap();
    let data = js_sys::Uint8ClampedArray::new(&get(&picture, "data")).to_vec();
    let window = dicom_deid::render::Window {
        center: 600.0,
        width: 1200.0,
    };
    assert_eq!(data, image.render(0, Some(window), false).unwrap().data);
    // The tags before and after cross as the native comparison.
    let rows = get(&d.compare_tags(MR).unwrap(), "rows");
    let native = dicom_deid::review::compare::compare(
        &dicom_deid::Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([3; 32])).unwrap(),
        MR,
    )
    .unwrap();
    assert_eq!(
        js_sys::Array::from(&rows).length() as usize,
        native.rows.len()
    );
}
