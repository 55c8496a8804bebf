//! The WebAssembly boundary, kept thin: a [`Deidentifier`](deidentifier::JsDeidentifier) per
//! worker, a [`Batch`](batch::Batch) and an [`Inventory`](review::JsInventory) on the page. Results cross as plain objects (serde);
//! errors as JS `Error`s whose `name` is the error kind (`not-dicom`, `options`, ...) and whose
//! message names no patient value.

pub mod batch;
pub mod deidentifier;
pub mod review;
pub mod studio;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{Error, Lookup, Options, ProjectKey};

pub use batch::Batch;
pub use deidentifier::{JsDeidentifier, unreadable_result};
pub use review::JsInventory;

/// A JS `Error` whose `name` is the kind of `e`.
pub(crate) fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name(e.kind());
    err.into()
}

/// A plain JS value (objects, not `Map`s) for a serde value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(&Error::Unsupported(e.to_string())))
}

/// The configuration shared by the workers' deidentifiers and the page's batch.
/// `pixels` is a [`PixelSettings`](crate::pixels::PixelSettings) object, or undefined.
/// `overrides_csv` is an edited pre-review whose decisions override the profile.
pub(crate) fn configure(
    options: JsValue,
    key: &[u8],
    lookup_csv: Option<String>,
    pixels: JsValue,
    overrides_csv: Option<String>,
) -> Result<crate::Deidentifier, JsValue> {
    let options: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| js_error(&Error::Options(e.to_string())))?;
    let mut d = crate::Deidentifier::new(options, key_from(key)?).map_err(|e| js_error(&e))?;
    if let Some(csv) = lookup_csv.filter(|c| !c.trim().is_empty()) {
        d = d.with_lookup(Lookup::from_csv(&csv).map_err(|e| js_error(&e))?);
    }
    if let Some(csv) = overrides_csv.filter(|c| !c.trim().is_empty()) {
        let o =
            crate::Overrides::from_csv("pre-review decisions", &csv).map_err(|e| js_error(&e))?;
        d = d.with_overrides(o);
    }
    let pixels: crate::pixels::PixelSettings = if pixels.is_undefined() || pixels.is_null() {
        Default::default()
    } else {
        // A fixed message: serde's could quote a value.
        serde_wasm_bindgen::from_value(pixels).map_err(|_| {
            js_error(&Error::Options(
                "the pixel settings could not be read".into(),
            ))
        })?
    };
    Ok(d.with_pixels(pixels.policy().map_err(|e| js_error(&e))?))
}

fn key_from(bytes: &[u8]) -> Result<ProjectKey, JsValue> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| js_error(&Error::Key("a project key is 32 bytes".into())))?;
    Ok(ProjectKey::from_bytes(arr))
}

/// The PS3.15 options and the presets, with names and help, for the options form.
#[wasm_bindgen(js_name = optionList)]
pub fn option_list() -> Result<JsValue, JsValue> {
    to_js(&crate::deid::option_list())
}

/// Hands this instance the text-detection models (`pkg/text-detection.onnx` and
/// `pkg/text-reader.onnx`, fetched by the page from its own origin only when detection is on);
/// each is checked against the npm release's digest.
#[wasm_bindgen(js_name = installTextModels)]
pub fn install_text_models(detector: Vec<u8>, reader: Vec<u8>) -> Result<(), JsValue> {
    crate::detect::install_models(detector, reader).map_err(|e| js_error(&e))
}

/// A fresh 32-byte project key from the browser's random source.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key() -> Result<Vec<u8>, JsValue> {
    Ok(ProjectKey::generate()
        .map_err(|e| js_error(&e))?
        .as_bytes()
        .to_vec())
}

/// Parses a key file (64 hex digits) into its 32 bytes.
#[wasm_bindgen(js_name = keyFromHex)]
pub fn key_from_hex(text: &str) -> Result<Vec<u8>, JsValue> {
    Ok(ProjectKey::from_hex(text)
        .map_err(|e| js_error(&e))?
        .as_bytes()
        .to_vec())
}

/// Renders 32 key bytes as the key file format.
#[wasm_bindgen(js_name = keyToHex)]
pub fn key_to_hex(bytes: &[u8]) -> Result<String, JsValue> {
    Ok(key_from(bytes)?.to_hex())
}

/// The order in which a batch commits inputs given by relative path (see
/// [`crate::output::names::input_order`]): indices into `paths`.
#[wasm_bindgen(js_name = inputOrder)]
pub fn input_order(paths: Vec<String>) -> Vec<u32> {
    crate::output::names::input_order(&paths)
        .into_iter()
        .map(|i| i as u32)
        .collect()
}

/// The result a worker reports for a file on which the engine stopped (a trap), so that the
/// batch goes on with that file failed.
#[wasm_bindgen(js_name = internalErrorResult)]
pub fn internal_error_result() -> Result<JsValue, JsValue> {
    to_js(&crate::output::FileResult::rejected(&Error::Internal))
}
