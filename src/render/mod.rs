//! The display renderer of the review studio: one image opened once, any frame rendered to RGBA
//! on demand with the grey-scale pipeline of PS3.3 (C.7.6.3 Image Pixel, C.11.1 Modality LUT,
//! C.11.2 VOI LUT, C.7.6.16 functional groups) or its colour models.
//!
//! Our own renderer rather than dicom-pixeldata's `to_dynamic_image`: that one shows PALETTE
//! COLOR as grey indices and refuses native YBR_FULL_422 (`../shared/notes/pixels.md` §2), and it
//! needs dicom-object, a second parse of every file.
//!
//! | stored | path |
//! |---|---|
//! | 1 bit (packed, LSB first), 8, 16, 24, 32 bits | value bits below High Bit taken, sign-extended if Pixel Representation is 1 |
//! | MONOCHROME1/2 | Modality LUT (table, or rescale per frame) → VOI (table, window linear / exact / sigmoid, or min-max) → MONOCHROME1 inverted |
//! | PALETTE COLOR | stored value → red, green, blue tables (plain or segmented), high byte of 16-bit entries |
//! | RGB, YBR_FULL, YBR_FULL_422, YBR_PARTIAL_* | to 8 bits; YBR through the C.7.6.3.1.2 matrices; native 4:2:2 pairs; planes interleaved |
//! | compressed | decoded by the registry ([`crate::pixels::codec`]); see [`crate::pixels::codec::decoded_photometric`] for what colour each decoder returns; 12-bit grey JPEG by [`jpeg12`] |
//!
//! The last frame decoded is cached as modality values (grey) or RGB (colour), so dragging a
//! window re-runs only the VOI step.

mod color;
mod jpeg12;
mod lut;
mod params;
mod samples;
mod thumb;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::dicom::read;
use crate::error::{Error, Result};
use crate::pixels::ImageInfo;
use lut::{Lut, Palette};
use params::{FrameParams, Function};
use samples::Frames;

/// A window: centre and width as PS3.3 C.11.2.1.2 defines them (linear function), in modality
/// units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

/// An RGBA8 picture (straight alpha, 255), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// One frame after the steps that do not depend on the window.
enum Decoded {
    /// Modality values, and their range.
    Grey { values: Vec<f32>, range: (f64, f64) },
    /// RGB triplets (colour and palette images: no window applies).
    Color(Vec<u8>),
}

/// One image opened for display: header read once, frames kept (encoded) so any frame renders
/// on demand.
pub struct Image {
    info: ImageInfo,
    frames: Frames,
    count: u32,
    modality_lut: Option<Lut>,
    /// Per frame, or one entry for all frames.
    params: Vec<FrameParams>,
    palette: Option<Palette>,
    cache: RefCell<Option<(u32, Decoded)>>,
}

/// An error without the masking stage's prefix: the renderer's messages speak of display.
pub(crate) fn plain(e: Error) -> Error {
    match e {
        Error::Unsupported(m) => Error::Unsupported(
            m.strip_prefix("pixel masking: ")
                .map_or(m.clone(), str::to_owned),
        ),
        e => e,
    }
}

impl Image {
    /// Reads the header and keeps the frames. `Unsupported` (with a plain reason, never a value
    /// from the file) when there is nothing to display or no decoder for it here.
    pub fn open(bytes: &[u8]) -> Result<Image> {
        let mut scratch = Vec::new();
        let obj = read::read_file(bytes, &mut scratch)?;
        Image::of_object(&obj)
    }

    /// The same as [`Image::open`] for a file already read (the text detector sees the original
    /// object the engine holds, without a second parse).
    pub(crate) fn of_object(obj: &crate::dicom::model::FileObject<'_>) -> Result<Image> {
        let (d, enc) = (&obj.dataset, obj.encoding);
        let info = ImageInfo::of(d, enc)
            .map_err(plain)?
            .ok_or_else(|| Error::Unsupported("the file has no Pixel Data to display".into()))?;
        let (frames, count) = Frames::read(obj, &info)?;
        Image::of_parts(obj, info, frames, count)
    }

    /// An image whose frames are elsewhere (a large file's, read one at a time): its header,
    /// and the frame given to [`Image::set_frame`] to render.
    pub(crate) fn of_header(obj: &crate::dicom::model::FileObject<'_>) -> Result<Image> {
        let info = ImageInfo::of(&obj.dataset, obj.encoding)
            .map_err(plain)?
            .ok_or_else(|| Error::Unsupported("the file has no Pixel Data to display".into()))?;
        let none = Frames::Encapsulated {
            ts: String::new(),
            frames: Vec::new(),
        };
        let count = info.frames;
        Image::of_parts(obj, info, none, count)
    }

    /// Gives frame `k`'s stored bytes to render next: native samples of a data set in byte
    /// order `big_endian`, Pixel Data of VR `vr` (`ts` is `None`), or a compressed frame in
    /// transfer syntax `ts`.
    pub(crate) fn set_frame(
        &mut self,
        k: u32,
        bytes: Vec<u8>,
        ts: Option<&str>,
        order: (bool, crate::dicom::model::Vr),
    ) {
        self.frames = Frames::single(k, bytes, ts, order, &self.info);
        *self.cache.borrow_mut() = None;
    }

    fn of_parts(
        obj: &crate::dicom::model::FileObject<'_>,
        info: ImageInfo,
        frames: Frames,
        count: u32,
    ) -> Result<Image> {
        let (d, enc) = (&obj.dataset, obj.encoding);
        let palette = if info.photometric == "PALETTE COLOR" && info.samples_per_pixel == 1 {
            Some(Palette::read(d, enc, info.signed)?)
        } else {
            None
        };
        if info.samples_per_pixel == 4 {
            return Err(Error::Unsupported(
                "images with four samples per pixel (ARGB, CMYK) cannot be displayed".into(),
            ));
        }
        let modality_lut = params::first_item(d, crate::dicom::model::tags::MODALITY_LUT_SEQUENCE)
            .and_then(|it| Lut::read(it, enc, info.signed));
        let params = params::per_frame(d, enc, count, &info);
        Ok(Image {
            info,
            frames,
            count,
            modality_lut,
            params,
            palette,
            cache: RefCell::new(None),
        })
    }

    pub fn width(&self) -> u32 {
        self.info.columns
    }

    pub fn height(&self) -> u32 {
        self.info.rows
    }

    /// The frames there are to show (fewer than Number of Frames when Pixel Data is short).
    pub fn frames(&self) -> u32 {
        self.count
    }

    pub fn photometric(&self) -> &str {
        &self.info.photometric
    }

    /// The file's own window for the first frame (first Window Center/Width; a frame's
    /// functional group, then the shared one, then the top level), else `None`.
    pub fn default_window(&self) -> Option<Window> {
        self.frame_params(0).window
    }

    /// The file's own window for a frame (they differ between frames of enhanced images).
    pub fn frame_window(&self, frame: u32) -> Option<Window> {
        self.frame_params(frame).window
    }

    /// The range of modality values in a frame (after the Modality LUT), for presets and the
    /// min-max fallback. For colour images, the range of the displayed 8-bit samples.
    pub fn value_range(&self, frame: u32) -> Result<(f64, f64)> {
        self.with_frame(frame, |d| match d {
            Decoded::Grey { range, .. } => *range,
            Decoded::Color(rgb) => {
                let (lo, hi) = rgb
                    .iter()
                    .fold((255u8, 0u8), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                (lo as f64, hi as f64)
            }
        })
    }

    /// Renders one frame. `window`: `None` = the file's VOI (its VOI LUT Sequence if present,
    /// else its window, else the frame's min-max); `Some` = that window, through the file's VOI
    /// LUT Function. Colour images ignore the window. `invert` flips the grey result.
    pub fn render(&self, frame: u32, window: Option<Window>, invert: bool) -> Result<Rgba> {
        let p = self.frame_params(frame).clone();
        let mono1 = self.info.photometric == "MONOCHROME1";
        let data = self.with_frame(frame, |d| match d {
            Decoded::Color(rgb) => rgb
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect(),
            Decoded::Grey { values, range } => {
                let voi = choose_voi(&p, window, *range);
                let flip = if mono1 != invert { 255 } else { 0 };
                values
                    .iter()
                    .flat_map(|&x| {
                        let g = voi.apply(x as f64) ^ flip;
                        [g, g, g, 255]
                    })
                    .collect()
            }
        })?;
        Ok(Rgba {
            width: self.width(),
            height: self.height(),
            data,
        })
    }

    /// A thumbnail no larger than `max_side` on either side, aspect kept, area-averaged, of the
    /// middle frame with the file's own VOI.
    pub fn thumbnail(&self, max_side: u32) -> Result<Rgba> {
        let full = self.render(self.count / 2, None, false)?;
        let (w, h) = thumb::fit(full.width, full.height, max_side.max(1));
        if (w, h) == (full.width, full.height) {
            return Ok(full);
        }
        Ok(thumb::downscale(&full, w, h))
    }

    fn frame_params(&self, frame: u32) -> &FrameParams {
        &self.params[(frame as usize).min(self.params.len() - 1)]
    }

    /// Runs `f` on the decoded frame, decoding it only when it is not the one cached.
    fn with_frame<T>(&self, frame: u32, f: impl FnOnce(&Decoded) -> T) -> Result<T> {
        if frame >= self.count {
            return Err(Error::Unsupported(format!(
                "frame {} does not exist (the image has {})",
                frame + 1,
                self.count
            )));
        }
        let hit = matches!(&*self.cache.borrow(), Some((k, _)) if *k == frame);
        if !hit {
            let decoded = self.decode(frame)?;
            *self.cache.borrow_mut() = Some((frame, decoded));
        }
        let cache = self.cache.borrow();
        let (_, d) = cache.as_ref().ok_or(Error::Internal)?;
        Ok(f(d))
    }

    /// Stored values → modality values (grey) or RGB (colour).
    fn decode(&self, frame: u32) -> Result<Decoded> {
        let stored = self.frames.stored(frame, &self.info)?;
        let pixels = self.info.pixels() as usize;
        if let Some(p) = &self.palette {
            return Ok(Decoded::Color(color::palette(&stored, p)));
        }
        if self.info.samples_per_pixel == 3 {
            let columns = self.info.columns as usize;
            let rgb = color::to_rgb(&stored, pixels, columns, self.info.bits_stored)?;
            return Ok(Decoded::Color(rgb));
        }
        let values = self.modality(&stored.values, self.frame_params(frame));
        let range = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| {
            (lo.min(v as f64), hi.max(v as f64))
        });
        Ok(Decoded::Grey { values, range })
    }

    /// The Modality LUT (C.11.1): the table when there is one, else Rescale Slope/Intercept.
    fn modality(&self, stored: &[i64], p: &FrameParams) -> Vec<f32> {
        if let Some(lut) = &self.modality_lut {
            return stored.iter().map(|&v| lut.get(v) as f32).collect();
        }
        match p.rescale {
            Some((m, b)) if (m, b) != (1.0, 0.0) => {
                stored.iter().map(|&v| (v as f64 * m + b) as f32).collect()
            }
            _ => stored.iter().map(|&v| v as f32).collect(),
        }
    }
}

/// The VOI transformation of one render.
enum Voi<'a> {
    Window(Window, Function),
    Table(&'a Lut, f64),
}

fn choose_voi(p: &FrameParams, window: Option<Window>, range: (f64, f64)) -> Voi<'_> {
    if let Some(w) = window {
        return Voi::Window(w, p.function);
    }
    if let Some(lut) = &p.voi_lut {
        return Voi::Table(lut, lut.out_max().max(1.0));
    }
    if let Some(w) = p.window {
        return Voi::Window(w, p.function);
    }
    // No VOI in the file: the frame's own range, end to end.
    let (lo, hi) = range;
    let w = Window {
        center: (lo + hi) / 2.0,
        width: hi - lo,
    };
    Voi::Window(w, Function::LinearExact)
}

impl Voi<'_> {
    /// The grey level (0-255) of a modality value.
    fn apply(&self, x: f64) -> u8 {
        let y = match *self {
            Voi::Table(lut, max) => lut.get(x.round() as i64) as f64 / max,
            Voi::Window(w, f) => window_fraction(x, w, f),
        };
        (y * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

/// Where `x` falls in the window, 0 to 1, by the equations of C.11.2.1.2 (LINEAR: `c - 0.5`
/// and `w - 1`, so a width of 1 is a threshold), C.11.2.1.3.1 (LINEAR_EXACT) and C.11.2.1.3.2
/// (SIGMOID).
fn window_fraction(
    x: f64,
    Window {
        center: c,
        width: w,
    }: Window,
    f: Function,
) -> f64 {
    match f {
        // A width under 1 is invalid for LINEAR, yet RT images carry dose windows such as
        // 0.2 Gy: the exact function scales them as their author meant.
        Function::Linear if w < 1.0 => window_fraction(
            x,
            Window {
                center: c,
                width: w,
            },
            Function::LinearExact,
        ),
        Function::Linear => {
            if x <= c - 0.5 - (w - 1.0) / 2.0 {
                0.0
            } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                1.0
            } else {
                (x - (c - 0.5)) / (w - 1.0) + 0.5
            }
        }
        Function::LinearExact => {
            if w <= 0.0 {
                return if x > c { 1.0 } else { 0.0 };
            }
            ((x - c) / w + 0.5).clamp(0.0, 1.0)
        }
        Function::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - c) / w.max(f64::MIN_POSITIVE)).exp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_matches_the_standard() {
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        let f = |x| window_fraction(x, w, Function::Linear);
        assert_eq!(f(-160.5 - 1.0), 0.0);
        assert_eq!(f(240.0), 1.0);
        assert!(
            (f(39.5) - 0.5).abs() < 1e-12,
            "the centre maps to mid-range"
        );
        let exact = |x| window_fraction(x, w, Function::LinearExact);
        assert_eq!(exact(40.0), 0.5);
        assert_eq!(exact(-160.0), 0.0);
        let s = window_fraction(40.0, w, Function::Sigmoid);
        assert!((s - 0.5).abs() < 1e-12);
    }
}
