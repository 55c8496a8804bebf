//! The review studio's side of the boundary: in the workers, a file's card and thumbnail for
//! the grid, its tags before and after, and a [`Viewer`] that keeps one image open and renders
//! any frame with any window. Everything here holds PHI and stays in the page.

use wasm_bindgen::prelude::*;

use super::deidentifier::JsDeidentifier;
use super::{js_error, to_js};
use crate::Error;
use crate::pixels::ExplicitMasks;
use crate::render::{Image, Rgba, Window};
use crate::review::{compare, survey};

/// Longest side of a grid thumbnail, in pixels.
const THUMBNAIL: u32 = 128;

#[wasm_bindgen(js_class = Deidentifier)]
impl JsDeidentifier {
    /// The studio's view of one original file: `{card, thumbnail?: {width, height, data},
    /// thumbReason?}`, or `{reason}` when the file cannot be read. A thumbnail that cannot be
    /// drawn (no decoder in the browser) leaves the card, with the reason.
    pub fn survey(&self, input: &[u8]) -> Result<JsValue, JsValue> {
        let out = js_sys::Object::new();
        let card = match survey::survey(self.inner(), input) {
            Ok(card) => card,
            Err(e) => {
                js_sys::Reflect::set(&out, &"reason".into(), &e.to_string().into())?;
                return Ok(out.into());
            }
        };
        let has_pixels = !card.flags.contains(&"no-pixels");
        js_sys::Reflect::set(&out, &"card".into(), &to_js(&card)?)?;
        if has_pixels {
            match Image::open(input).and_then(|i| i.thumbnail(THUMBNAIL)) {
                Ok(t) => js_sys::Reflect::set(&out, &"thumbnail".into(), &picture(t))?,
                Err(e) => js_sys::Reflect::set(&out, &"thumbReason".into(), &e.to_string().into())?,
            };
        }
        Ok(out.into())
    }

    /// The card alone (no thumbnail): what the viewer asks again when masks change.
    pub fn card(&self, input: &[u8]) -> Result<JsValue, JsValue> {
        to_js(&survey::survey(self.inner(), input).map_err(|e| js_error(&e))?)
    }

    /// One file's elements before and after de-identification with these settings
    /// ([`compare::Comparison`]).
    #[wasm_bindgen(js_name = compareTags)]
    pub fn compare_tags(&self, input: &[u8]) -> Result<JsValue, JsValue> {
        let c = compare::compare(self.inner(), input).map_err(|e| js_error(&e))?;
        to_js(&c)
    }
}

/// One image open for viewing (JS class `Viewer`): any frame, any window, invert.
#[wasm_bindgen]
pub struct Viewer {
    image: Image,
}

#[wasm_bindgen]
impl Viewer {
    /// Opens an image; throws an `Error` named by the reason's kind when it has no pixels or
    /// no decoder here.
    #[wasm_bindgen(constructor)]
    pub fn new(input: &[u8]) -> Result<Viewer, JsValue> {
        Ok(Viewer {
            image: Image::open(input).map_err(|e| js_error(&e))?,
        })
    }

    /// `{width, height, frames, photometric, window?: {center, width}, range?: [min, max]}`.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        let i = &self.image;
        let info = serde_json::json!({
            "width": i.width(),
            "height": i.height(),
            "frames": i.frames(),
            "photometric": i.photometric(),
            "window": i.default_window(),
            "range": i.value_range(i.frames() / 2).ok(),
        });
        to_js(&info)
    }

    /// Renders `frame` with the window (`center`, `width`; NaN for the file's own) as
    /// `{width, height, data}` (RGBA).
    pub fn render(
        &self,
        frame: u32,
        center: f64,
        width: f64,
        invert: bool,
    ) -> Result<JsValue, JsValue> {
        let window = (center.is_finite() && width.is_finite()).then_some(Window { center, width });
        let rgba = self
            .image
            .render(frame, window, invert)
            .map_err(|e| js_error(&e))?;
        Ok(picture(rgba))
    }
}

/// A reviewer's explicit masks (`{images, series, devices}`) as a CTP pixel script.
#[wasm_bindgen(js_name = maskScript)]
pub fn mask_script(masks: JsValue) -> Result<String, JsValue> {
    let masks: ExplicitMasks = serde_wasm_bindgen::from_value(masks)
        .map_err(|_| js_error(&Error::Options("the masks could not be read".into())))?;
    Ok(crate::pixels::script::write_script(&masks))
}

/// An RGBA picture as `{width, height, data: Uint8ClampedArray}` (ready for `ImageData`).
fn picture(p: Rgba) -> JsValue {
    let out = js_sys::Object::new();
    let data = js_sys::Uint8ClampedArray::from(&p.data[..]);
    let _ = js_sys::Reflect::set(&out, &"width".into(), &p.width.into());
    let _ = js_sys::Reflect::set(&out, &"height".into(), &p.height.into());
    let _ = js_sys::Reflect::set(&out, &"data".into(), &data);
    out.into()
}

/// The studio's random-sample queue: the indices of `paths` chosen for `seed` (at least 30
/// files or 5 %, the same choice for the same seed and paths; see [`crate::review::sample`]).
#[wasm_bindgen(js_name = sampleOf)]
pub fn sample_of(paths: Vec<String>, seed: f64) -> Vec<u32> {
    crate::review::sample::choose(&paths, seed as u64)
        .into_iter()
        .map(|i| i as u32)
        .collect()
}
