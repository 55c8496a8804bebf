//! JPEG-LS frames (ITU-T T.87; 1.2.840.10008.1.2.4.80 lossless, .4.81 near-lossless) for Clean
//! Pixel Data: one frame decoded to native samples, painted, and encoded again losslessly.
//!
//! No pure-Rust JPEG-LS codec decodes real files (`notes/pixels.md` §3), so both builds call
//! CharLS: the CLI through the `charls` crate (CharLS 2.4.5, built from source), the page through
//! CharLS compiled to wasm from npm (`@cornerstonejs/codec-charls`, CharLS 2.4.4), which the worker
//! installs as `globalThis.dcmDeidJpegLs` (`www/shared/jpegls.js`). Without that hook a frame
//! cannot be decoded and the image is held back, never passed. The two CharLS builds give the
//! same bytes for the same samples and parameters (`tests/jpegls.rs`, the page's e2e test), so
//! the page's output equals the CLI's.
//!
//! Everything CharLS is not asked to decide is decided here, identically for both builds: the
//! frame's layout (CharLS hands back planes for interleave mode "none"), the sample width, and
//! the parameters of the new stream (the input's interleave mode and precision, NEAR = 0).

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::native;
use crate::pixels::regions::Rect;

/// What the frame header (SOF55) and the first scan header (SOS) of a JPEG-LS stream say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub width: u32,
    pub height: u32,
    /// Bits per sample (P), 2 to 16.
    pub precision: u8,
    pub components: u8,
    /// NEAR: 0 for lossless.
    pub near: u8,
    /// Interleave mode: 0 none (a scan per component), 1 line, 2 sample.
    pub ilv: u8,
}

impl Frame {
    /// Bytes of one sample in CharLS's buffers: one up to 8 bits, two (little endian) above.
    fn sample_bytes(&self) -> usize {
        if self.precision <= 8 { 1 } else { 2 }
    }

    fn samples(&self) -> usize {
        self.width as usize * self.height as usize * self.components as usize
    }
}

/// Reads the frame and first scan headers of a JPEG-LS stream.
pub(crate) fn header(stream: &[u8]) -> Result<Frame> {
    if !stream.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("it does not start with SOI"));
    }
    let mut frame = None;
    let mut i = 2;
    while i + 4 <= stream.len() {
        if stream[i] != 0xFF {
            return Err(bad("a marker is missing"));
        }
        if stream[i + 1] == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = u16::from_be_bytes([stream[i + 2], stream[i + 3]]) as usize;
        let segment = stream
            .get(i + 4..i + 2 + len)
            .filter(|_| len >= 2)
            .ok_or_else(|| bad("a marker segment is truncated"))?;
        match stream[i + 1] {
            0xF7 => frame = Some(sof55(segment)?),
            0xDA => {
                return sos(
                    segment,
                    frame.ok_or_else(|| bad("a scan comes before SOF55"))?,
                );
            }
            0xC0..=0xCF if stream[i + 1] != 0xC4 && stream[i + 1] != 0xCC => {
                return Err(bad("it is not a JPEG-LS frame"));
            }
            _ => {}
        }
        i += 2 + len;
    }
    Err(bad("no scan header"))
}

fn sof55(s: &[u8]) -> Result<Frame> {
    if s.len() < 6 {
        return Err(bad("the frame header is truncated"));
    }
    let frame = Frame {
        precision: s[0],
        height: u16::from_be_bytes([s[1], s[2]]) as u32,
        width: u16::from_be_bytes([s[3], s[4]]) as u32,
        components: s[5],
        near: 0,
        ilv: 0,
    };
    if !(2..=16).contains(&frame.precision) || frame.width == 0 || frame.height == 0 {
        return Err(bad("the frame header has no usable size or precision"));
    }
    Ok(frame)
}

fn sos(s: &[u8], mut frame: Frame) -> Result<Frame> {
    let n = *s.first().ok_or_else(|| bad("the scan header is empty"))? as usize;
    let tail = s
        .get(1 + 2 * n..3 + 2 * n)
        .ok_or_else(|| bad("the scan header is truncated"))?;
    frame.near = tail[0];
    frame.ilv = tail[1];
    if frame.ilv > 2 || (frame.ilv == 0 && n != 1) {
        return Err(bad("the scan header has an unknown interleave mode"));
    }
    Ok(frame)
}

fn bad(why: &str) -> Error {
    Error::Unsupported(format!(
        "pixel masking: a JPEG-LS frame is not readable ({why})"
    ))
}

/// Whether JPEG-LS frames can be decoded here: always natively; in the page once the worker has
/// installed CharLS.
pub(crate) fn available() -> bool {
    backend::available()
}

/// Decodes one frame into native little-endian samples, interleaved (planar configuration 0),
/// `Bits Allocated` wide.
pub(crate) fn decode(info: &ImageInfo, stream: &[u8]) -> Result<Vec<u8>> {
    decode_as(&header(stream)?, info, stream)
}

fn decode_as(frame: &Frame, info: &ImageInfo, stream: &[u8]) -> Result<Vec<u8>> {
    if (frame.width, frame.height, frame.components as u16)
        != (info.columns, info.rows, info.samples_per_pixel)
    {
        return Err(Error::Unsupported(
            "pixel masking: a JPEG-LS frame's size or components differ from the image's".into(),
        ));
    }
    let raw = backend::decode(stream).or_else(|e| match without_pad_before_eoi(stream) {
        Some(trimmed) => backend::decode(&trimmed),
        None => Err(e),
    })?;
    if raw.len() != frame.samples() * frame.sample_bytes() {
        return Err(Error::Unsupported(
            "pixel masking: a JPEG-LS frame decoded to the wrong number of samples".into(),
        ));
    }
    let raw = if frame.ilv == 0 && frame.components > 1 {
        interleave(&raw, frame.components as usize, frame.sample_bytes())
    } else {
        raw
    };
    widen(raw, frame.sample_bytes(), info.bits_allocated)
}

/// The stream without a 0x00 byte between its entropy-coded data and EOI, if it has one. Some
/// encoders wrote one (WG04's `MR1_JLSL`); CharLS 2.4.2 (the `charls` crate) refuses it where
/// 2.4.4 (the page's) reads it, so both builds retry without it: one image, one decision.
fn without_pad_before_eoi(stream: &[u8]) -> Option<Vec<u8>> {
    let n = stream.len();
    (n >= 4 && stream[n - 3..] == [0x00, 0xFF, 0xD9] && stream[n - 4] != 0xFF)
        .then(|| [&stream[..n - 3], &[0xFF, 0xD9][..]].concat())
}

/// Samples of CharLS's width in the image's Bits Allocated: 8-bit samples of a 16-bit image are
/// widened; wider samples than allocated cannot be stored.
fn widen(raw: Vec<u8>, bytes: usize, bits_allocated: u16) -> Result<Vec<u8>> {
    match (bytes, bits_allocated) {
        (1, 8) | (2, 16) => Ok(raw),
        (1, 16) => Ok(raw.iter().flat_map(|&b| [b, 0]).collect()),
        _ => Err(Error::Unsupported(format!(
            "pixel masking: JPEG-LS frames of {bits_allocated}-bit images are not supported here"
        ))),
    }
}

/// Planes (`RRR…GGG…BBB…`) to pixels (`RGBRGB…`).
fn interleave(planes: &[u8], components: usize, bytes: usize) -> Vec<u8> {
    let plane = planes.len() / components;
    let mut out = Vec::with_capacity(planes.len());
    for p in (0..plane).step_by(bytes) {
        for c in 0..components {
            out.extend_from_slice(&planes[c * plane + p..c * plane + p + bytes]);
        }
    }
    out
}

/// Pixels (`RGBRGB…`) to planes (`RRR…GGG…BBB…`).
fn planes(pixels: &[u8], components: usize, bytes: usize) -> Vec<u8> {
    let pixel = components * bytes;
    (0..components)
        .flat_map(|c| {
            pixels
                .chunks_exact(pixel)
                .flat_map(move |p| &p[c * bytes..(c + 1) * bytes])
        })
        .copied()
        .collect()
}

/// Paints `rects` on one JPEG-LS frame and encodes it again losslessly, with the input's
/// interleave mode and precision (raised if the paint needs more bits).
pub(crate) fn mask_frame(stream: &[u8], info: &ImageInfo, rects: &[Rect]) -> Result<Vec<u8>> {
    let like = header(stream)?;
    let mut one = info.clone();
    one.frames = 1;
    one.planar = false; // JPEG-LS decodes to pixels; Planar Configuration does not apply
    let mut samples = decode_as(&like, &one, stream)?;
    native::mask(&mut samples, &one, rects, false)?;
    encode(&one, &samples, &like)
}

/// Encodes native little-endian interleaved samples (`Bits Allocated` wide) as a lossless JPEG-LS
/// frame with the interleave mode and at least the precision of `like`.
pub(crate) fn encode(info: &ImageInfo, samples: &[u8], like: &Frame) -> Result<Vec<u8>> {
    let values: Vec<u16> = match info.bits_allocated {
        8 => samples.iter().map(|&b| b as u16).collect(),
        16 => samples
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
        b => {
            return Err(Error::Unsupported(format!(
                "pixel masking: JPEG-LS frames of {b}-bit images are not supported here"
            )));
        }
    };
    let needed = 16 - values.iter().max().copied().unwrap_or(0).leading_zeros() as u8;
    let components = info.samples_per_pixel as u8;
    let frame = Frame {
        width: info.columns,
        height: info.rows,
        precision: like.precision.max(needed).max(2),
        components,
        near: 0,
        ilv: if components > 1 { like.ilv } else { 0 },
    };
    let bytes = frame.sample_bytes();
    let packed: Vec<u8> = values
        .iter()
        .flat_map(|v| v.to_le_bytes().into_iter().take(bytes))
        .collect();
    let buffer = if frame.ilv == 0 && components > 1 {
        planes(&packed, components as usize, bytes)
    } else {
        packed
    };
    backend::encode(&frame, &buffer)
}

fn failed(what: &str) -> Error {
    Error::Unsupported(format!(
        "pixel masking: a JPEG-LS frame could not be {what}"
    ))
}

/// CharLS built from source (the `charls` crate).
#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::{Frame, failed};
    use crate::error::Result;
    use charls::{CharLS, FrameInfo, InterleaveMode};

    pub(super) fn available() -> bool {
        true
    }

    /// CharLS's own layout: planes for interleave mode none, pixels otherwise.
    pub(super) fn decode(stream: &[u8]) -> Result<Vec<u8>> {
        CharLS::default()
            .decode(stream)
            .map_err(|_| failed("decoded"))
    }

    pub(super) fn encode(frame: &Frame, buffer: &[u8]) -> Result<Vec<u8>> {
        let mut codec = CharLS::default();
        let mode = match frame.ilv {
            0 => InterleaveMode::None,
            1 => InterleaveMode::Line,
            _ => InterleaveMode::Sample,
        };
        codec
            .set_interleave_mode(mode)
            .map_err(|_| failed("encoded"))?;
        let info = FrameInfo {
            width: frame.width,
            height: frame.height,
            bits_per_sample: frame.precision as i32,
            component_count: frame.components as i32,
        };
        codec
            .encode(info, frame.near as i32, buffer)
            .map_err(|_| failed("encoded"))
    }
}

/// CharLS compiled to wasm (npm `@cornerstonejs/codec-charls`), which the worker installs as
/// `globalThis.dcmDeidJpegLs = { decode(stream), encode(samples, width, height, bits,
/// components, interleave) }`, both returning a `Uint8Array` in CharLS's layout.
#[cfg(target_arch = "wasm32")]
mod backend {
    use super::{Frame, failed};
    use crate::error::{Error, Result};
    use crate::pixels::hook::{installed, method};
    use js_sys::{Array, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};

    const HOOK: &str = "dcmDeidJpegLs";

    pub(super) fn available() -> bool {
        installed(HOOK).is_some()
    }

    fn call(name: &str, args: &Array, what: &str) -> Result<Vec<u8>> {
        let absent = || {
            Error::Unsupported(
                "pixel masking: no JPEG-LS decoder is loaded in this page (CharLS); \
                 use the command-line tool"
                    .into(),
            )
        };
        let hook = installed(HOOK).ok_or_else(absent)?;
        let f = method(&hook, name).ok_or_else(absent)?;
        let out = f.apply(&hook, args).map_err(|_| failed(what))?;
        let bytes: Uint8Array = out.dyn_into().map_err(|_| failed(what))?;
        Ok(bytes.to_vec())
    }

    pub(super) fn decode(stream: &[u8]) -> Result<Vec<u8>> {
        call(
            "decode",
            &Array::of1(&Uint8Array::from(stream).into()),
            "decoded",
        )
    }

    pub(super) fn encode(frame: &Frame, buffer: &[u8]) -> Result<Vec<u8>> {
        let args = Array::new();
        args.push(&Uint8Array::from(buffer).into());
        for n in [
            frame.width,
            frame.height,
            frame.precision as u32,
            frame.components as u32,
            frame.ilv as u32,
        ] {
            args.push(&JsValue::from(n));
        }
        call("encode", &args, "encoded")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_info(rows: u32, columns: u32) -> ImageInfo {
        ImageInfo {
            rows,
            columns,
            samples_per_pixel: 3,
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            signed: false,
            photometric: "RGB".into(),
            planar: false,
            frames: 1,
            darkest_index: None,
        }
    }

    #[test]
    fn planes_and_pixels_convert_both_ways() {
        let pixels = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(planes(&pixels, 3, 1), [1, 4, 2, 5, 3, 6]);
        assert_eq!(interleave(&planes(&pixels, 3, 1), 3, 1), pixels);
        let wide = [1u8, 0, 2, 0, 3, 0, 4, 0];
        assert_eq!(planes(&wide, 2, 2), [1, 0, 3, 0, 2, 0, 4, 0]);
        assert_eq!(interleave(&planes(&wide, 2, 2), 2, 2), wide);
    }

    #[test]
    fn every_interleave_mode_round_trips_and_keeps_its_header() {
        let info = rgb_info(5, 7);
        let samples: Vec<u8> = (0..105u32).map(|i| (i * 37 % 251) as u8).collect();
        for ilv in 0..3 {
            let like = Frame {
                width: 7,
                height: 5,
                precision: 8,
                components: 3,
                near: 0,
                ilv,
            };
            let stream = encode(&info, &samples, &like).unwrap();
            assert_eq!(header(&stream).unwrap(), like, "mode {ilv}");
            assert_eq!(decode(&info, &stream).unwrap(), samples, "mode {ilv}");
        }
    }

    #[test]
    fn the_precision_grows_to_hold_the_paint_and_narrow_samples_widen() {
        let mut info = rgb_info(2, 3);
        info.samples_per_pixel = 1;
        info.bits_allocated = 16;
        info.photometric = "MONOCHROME1".into();
        let samples: Vec<u8> = [5u16, 6, 7, 0x0FFF, 9, 10]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let like = Frame {
            width: 3,
            height: 2,
            precision: 8,
            components: 1,
            near: 3,
            ilv: 0,
        };
        let stream = encode(&info, &samples, &like).unwrap();
        let h = header(&stream).unwrap();
        assert_eq!((h.precision, h.near), (12, 0), "12 bits, lossless");
        assert_eq!(decode(&info, &stream).unwrap(), samples);
        let small: Vec<u8> = [1u16, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let stream = encode(&info, &small, &like).unwrap();
        assert_eq!(header(&stream).unwrap().precision, 8);
        assert_eq!(
            decode(&info, &stream).unwrap(),
            small,
            "8-bit samples widened"
        );
    }

    #[test]
    fn headers_that_are_not_jpeg_ls_are_refused() {
        assert!(
            header(&[0xFF, 0xD8, 0xFF, 0xC0, 0, 2]).is_err(),
            "baseline JPEG"
        );
        assert!(header(&[0, 1, 2]).is_err());
        assert!(header(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0]).is_err());
    }
}
