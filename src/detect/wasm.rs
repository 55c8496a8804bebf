//! The detector on its own in the browser, for the benchmark (`tests/e2e/bench-detect.mjs`) and
//! for checking that the page finds the same boxes as the CLI (the masks made of them must be
//! byte for byte the same).

use wasm_bindgen::prelude::*;

use crate::wasm::{js_error, to_js};

/// The text boxes on every frame of a file, merged across frames, as `detect_text --json`
/// prints them natively: `{frames, boxes: [{rect: {x0, y0, x1, y1}, score}]}`.
#[wasm_bindgen(js_name = detectText)]
pub fn detect_text(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let image = crate::render::Image::open(bytes).map_err(|e| js_error(&e))?;
    let boxes = super::detect_image(&image).map_err(|e| js_error(&e))?;
    to_js(&serde_json::json!({ "frames": image.frames(), "boxes": boxes }))
}
