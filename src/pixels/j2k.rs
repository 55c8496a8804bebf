//! JPEG 2000 and HTJ2K codestreams (1.2.840.10008.1.2.4.90-.93, .4.201-.203): what their SIZ
//! marker segment says, and, in the page, their decoding.
//!
//! The CLI decodes them with the codec registry's decoder (`openjp2`, a Rust translation of
//! OpenJPEG). That translation corrupts the heap of the wasm32 build (a trap in its tile coder's
//! deallocation on the WG04 files), so the page never calls it: it calls OpenJPEG 2.5 compiled to
//! wasm from npm (`@cornerstonejs/codec-openjpeg`, decoder-only build), which the worker installs
//! as `globalThis.dcmDeidJpeg2000` (`www/shared/jpeg2000.js`). Without that hook the image is held
//! back with the reason, never passed.
//!
//! Both decoders are OpenJPEG, but the npm wrapper adds its own steps (a YCC-to-RGB conversion for
//! subsampled or JP2-signalled colour, clamping of signed 8-bit samples to 0, interleaving of
//! exactly three 8-bit components only, the image offset counted in the width). The page accepts
//! only the codestreams where none of those steps applies ([`page_refuses`]), checks what the
//! decoder reports against the SIZ segment and the header, and writes the samples in the layout
//! the registry's adapter writes (the low `Bits Allocated` bytes of each value, interleaved), so
//! that a masked image is the same bytes in both builds.

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;

/// One component of the image (SIZ: Ssiz, XRsiz, YRsiz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Component {
    /// Bits per sample, 1 to 38.
    pub precision: u8,
    pub signed: bool,
    /// Horizontal and vertical subsampling.
    pub dx: u8,
    pub dy: u8,
}

/// What a codestream's SIZ marker segment says of its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Siz {
    /// Where the SOC marker is in the frame (0 for a bare codestream, more inside a JP2 file).
    pub at: usize,
    /// Xsiz and Ysiz: the right and bottom edges of the reference grid.
    pub x1: u32,
    pub y1: u32,
    /// XOsiz and YOsiz: the image's offset on the grid.
    pub x0: u32,
    pub y0: u32,
    /// Csiz.
    pub count: u16,
    /// Each component's Ssiz, XRsiz and YRsiz; empty if the segment is cut short.
    pub components: Vec<Component>,
}

impl Siz {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }

    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
}

/// Reads the SIZ marker segment that follows SOC in the first 64 kB of a frame.
pub(crate) fn siz(frame: &[u8]) -> Option<Siz> {
    let head = &frame[..frame.len().min(64 << 10)];
    let at = head
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    // Lsiz, Rsiz (2 bytes each); Xsiz, Ysiz, XOsiz, YOsiz, then four tile sizes (4 each); Csiz;
    // then Ssiz, XRsiz, YRsiz for each component.
    let s = frame.get(at + 4..at + 4 + 38)?;
    let be32 = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let count = u16::from_be_bytes([s[36], s[37]]);
    let components = frame
        .get(at + 42..at + 42 + 3 * count as usize)
        .map(|c| {
            c.chunks_exact(3)
                .map(|c| Component {
                    precision: (c[0] & 0x7F) + 1,
                    signed: c[0] & 0x80 != 0,
                    dx: c[1],
                    dy: c[2],
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Siz {
        at,
        x1: be32(4),
        y1: be32(8),
        x0: be32(12),
        y0: be32(16),
        count,
        components,
    })
}

/// Whether a codestream's image fits the header's Rows, Columns and Samples per Pixel. The
/// registry's decoder writes every component into a buffer sized by the header and panics when
/// the codestream is larger (found by fuzzing), so a frame that does not fit is refused before it
/// gets there, in both builds.
pub(crate) fn fits(info: &ImageInfo, frame: &[u8]) -> bool {
    siz(frame).is_some_and(|s| {
        s.width() <= info.columns
            && s.height() <= info.rows
            && (1..=info.samples_per_pixel).contains(&s.count)
    })
}

/// Why the page's decoder would not give the registry's samples for this codestream, if it
/// would not: the wrapper's own steps (see the module's comment) and the shapes the registry
/// fills partly (a smaller image, fewer components) are all refused.
pub(crate) fn page_refuses(info: &ImageInfo, siz: &Siz) -> Option<&'static str> {
    let Some(first) = siz.components.first() else {
        return Some("its SIZ marker segment has no components");
    };
    if siz.at != 0 {
        return Some("the codestream is wrapped in a JP2 file");
    }
    if (siz.x0, siz.y0) != (0, 0) {
        return Some("the image has an offset on its reference grid");
    }
    if (siz.width(), siz.height(), siz.components.len())
        != (info.columns, info.rows, info.samples_per_pixel as usize)
    {
        return Some("its size or components differ from the image's");
    }
    if siz.components.iter().any(|c| (c.dx, c.dy) != (1, 1)) {
        return Some("its components are subsampled");
    }
    if siz.components.iter().any(|c| c != first) {
        return Some("its components differ in precision or sign");
    }
    if first.precision > 16 || !matches!(info.bits_allocated, 8 | 16) {
        return Some("its samples are wider than 16 bits");
    }
    if siz.components.len() > 1 && (siz.components.len() != 3 || first.precision > 8) {
        return Some("it has colour components other than three of 8 bits");
    }
    if first.signed && first.precision <= 8 {
        return Some("its samples are signed 8-bit");
    }
    None
}

/// What the page's decoder hands back for one codestream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Samples, interleaved, one byte each up to 8 bits, else two (little endian).
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub components: u32,
    pub bits: u32,
    pub signed: bool,
}

/// Whether JPEG 2000 frames can be decoded by the page's decoder (only once the worker has
/// installed it; natively the registry decodes them and this is not asked).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn available() -> bool {
    backend::available()
}

/// Decodes one frame with the page's decoder into native little-endian samples, interleaved,
/// `Bits Allocated` wide: the bytes the registry's adapter gives natively.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn decode(info: &ImageInfo, frame: &[u8]) -> Result<Vec<u8>> {
    let siz = siz(frame).ok_or_else(|| unreadable("it has no SIZ marker segment"))?;
    if let Some(why) = page_refuses(info, &siz) {
        return Err(refused(why));
    }
    samples(info, &siz, backend::decode(frame)?)
}

/// The decoder's samples checked against the SIZ segment (already checked against the header)
/// and widened or narrowed to `Bits Allocated` as the registry's adapter stores them.
fn samples(info: &ImageInfo, siz: &Siz, d: Decoded) -> Result<Vec<u8>> {
    let c = siz.components[0];
    if (d.width, d.height, d.components, d.bits, d.signed)
        != (
            siz.width(),
            siz.height(),
            siz.components.len() as u32,
            c.precision as u32,
            c.signed,
        )
    {
        return Err(unreadable(
            "the decoder reports another size, component count or precision than its header",
        ));
    }
    let bytes = if c.precision <= 8 { 1 } else { 2 };
    let count = d.width as usize * d.height as usize * d.components as usize;
    if d.pixels.len() != count * bytes {
        return Err(unreadable("it decoded to the wrong number of samples"));
    }
    Ok(match (bytes, info.bits_allocated) {
        // Unsigned (signed 8-bit samples are refused before): the high byte is zero.
        (1, 16) => d.pixels.iter().flat_map(|&b| [b, 0]).collect(),
        // The low byte, as the registry's adapter truncates each value.
        (2, 8) => d.pixels.iter().step_by(2).copied().collect(),
        _ => d.pixels,
    })
}

fn unreadable(why: &str) -> Error {
    Error::Unsupported(format!(
        "pixel masking: a JPEG 2000 frame could not be decoded in this page ({why})"
    ))
}

fn refused(why: &str) -> Error {
    Error::Unsupported(format!(
        "pixel masking: the page's JPEG 2000 decoder cannot give this frame as the command-line \
         tool decodes it ({why}); use the command-line tool"
    ))
}

/// Why a JPEG 2000 image is held back when the page has no decoder.
pub(crate) fn absent() -> Error {
    Error::Unsupported(
        "pixel masking: no JPEG 2000 decoder is loaded in this page (OpenJPEG); use the \
         command-line tool"
            .into(),
    )
}

/// Natively the registry decodes JPEG 2000 ([`super::codec`]); this backend is never asked.
#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::Decoded;
    use crate::error::Result;

    pub(super) fn available() -> bool {
        false
    }

    pub(super) fn decode(_: &[u8]) -> Result<Decoded> {
        Err(super::absent())
    }
}

/// OpenJPEG compiled to wasm (npm `@cornerstonejs/codec-openjpeg`), which the worker installs as
/// `globalThis.dcmDeidJpeg2000 = { decode(stream) }`, returning `{ pixels: Uint8Array, width,
/// height, componentCount, bitsPerSample, isSigned }` (the decoder's frame info and buffer).
#[cfg(target_arch = "wasm32")]
mod backend {
    use super::{Decoded, absent, unreadable};
    use crate::error::Result;
    use crate::pixels::hook::{installed, method};
    use js_sys::{Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};

    const HOOK: &str = "dcmDeidJpeg2000";

    pub(super) fn available() -> bool {
        installed(HOOK).is_some()
    }

    pub(super) fn decode(stream: &[u8]) -> Result<Decoded> {
        let hook = installed(HOOK).ok_or_else(absent)?;
        let f = method(&hook, "decode").ok_or_else(absent)?;
        let failed = || unreadable("the decoder failed");
        let out = f
            .call1(&hook, &Uint8Array::from(stream).into())
            .map_err(|_| failed())?;
        let field = |name: &str| Reflect::get(&out, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let number = |name: &str| field(name).as_f64().map(|n| n as u32).ok_or_else(failed);
        let pixels: Uint8Array = field("pixels").dyn_into().map_err(|_| failed())?;
        Ok(Decoded {
            pixels: pixels.to_vec(),
            width: number("width")?,
            height: number("height")?,
            components: number("componentCount")?,
            bits: number("bitsPerSample")?,
            signed: field("isSigned").is_truthy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare codestream's SOC and SIZ: `w` x `h`, one (precision, signed, dx, dy) per component.
    fn codestream(w: u32, h: u32, offset: u32, comps: &[(u8, bool, u8, u8)]) -> Vec<u8> {
        let mut s = vec![0xFF, 0x4F, 0xFF, 0x51];
        s.extend_from_slice(&(38 + 3 * comps.len() as u16).to_be_bytes());
        s.extend_from_slice(&[0, 0]);
        for v in [w, h, offset, offset, w, h, 0, 0] {
            s.extend_from_slice(&v.to_be_bytes());
        }
        s.extend_from_slice(&(comps.len() as u16).to_be_bytes());
        for &(p, signed, dx, dy) in comps {
            s.extend_from_slice(&[(p - 1) | if signed { 0x80 } else { 0 }, dx, dy]);
        }
        s.extend_from_slice(&[0xFF, 0x52]); // COD follows
        s
    }

    fn info(rows: u32, columns: u32, spp: u16, bits_allocated: u16) -> ImageInfo {
        ImageInfo {
            rows,
            columns,
            samples_per_pixel: spp,
            bits_allocated,
            bits_stored: bits_allocated,
            high_bit: bits_allocated - 1,
            signed: false,
            photometric: if spp == 3 { "RGB" } else { "MONOCHROME2" }.into(),
            planar: false,
            frames: 1,
            darkest_index: None,
        }
    }

    fn decoded(siz: &Siz, pixels: Vec<u8>) -> Decoded {
        let c = siz.components[0];
        Decoded {
            pixels,
            width: siz.width(),
            height: siz.height(),
            components: siz.components.len() as u32,
            bits: c.precision as u32,
            signed: c.signed,
        }
    }

    #[test]
    fn the_siz_segment_is_read() {
        let s = siz(&codestream(7, 5, 0, &[(12, true, 1, 1)])).unwrap();
        assert_eq!((s.at, s.width(), s.height()), (0, 7, 5));
        assert_eq!(
            s.components,
            [Component {
                precision: 12,
                signed: true,
                dx: 1,
                dy: 1
            }]
        );
        let mut jp2 = b"\0\0\0\x0cjP  \r\n\x87\n".to_vec();
        jp2.extend(codestream(7, 5, 2, &[(8, false, 1, 1); 3]));
        let s = siz(&jp2).unwrap();
        assert_eq!((s.at, s.width(), s.components.len()), (12, 5, 3));
        let short = codestream(7, 5, 0, &[(8, false, 1, 1); 3]);
        let cut = siz(&short[..short.len() - 5]).unwrap();
        assert_eq!(
            (cut.count, cut.components.len()),
            (3, 0),
            "a component cut off"
        );
        assert!(page_refuses(&info(5, 7, 3, 8), &cut).is_some());
        assert!(siz(&[0xFF, 0x4F, 0xFF, 0x51, 0]).is_none());
    }

    #[test]
    fn the_page_takes_only_what_its_decoder_gives_as_the_registry_does() {
        let grey = info(5, 7, 1, 16);
        let rgb = info(5, 7, 3, 8);
        let refuses = |info: &ImageInfo, s: &[u8]| page_refuses(info, &siz(s).unwrap());
        assert_eq!(
            refuses(&grey, &codestream(7, 5, 0, &[(16, true, 1, 1)])),
            None
        );
        assert_eq!(
            refuses(&grey, &codestream(7, 5, 0, &[(8, false, 1, 1)])),
            None
        );
        assert_eq!(
            refuses(&rgb, &codestream(7, 5, 0, &[(8, false, 1, 1); 3])),
            None
        );
        for (info, stream) in [
            (&grey, codestream(6, 5, 0, &[(12, false, 1, 1)])),
            (&grey, codestream(8, 6, 1, &[(12, false, 1, 1)])),
            (&grey, codestream(7, 5, 0, &[(8, true, 1, 1)])),
            (&grey, codestream(7, 5, 0, &[(17, false, 1, 1)])),
            (&rgb, codestream(7, 5, 0, &[(8, false, 1, 1); 2])),
            (
                &rgb,
                codestream(
                    7,
                    5,
                    0,
                    &[(8, false, 1, 1), (8, false, 2, 1), (8, false, 2, 1)],
                ),
            ),
            (
                &rgb,
                codestream(
                    7,
                    5,
                    0,
                    &[(8, false, 1, 1), (7, false, 1, 1), (8, false, 1, 1)],
                ),
            ),
            (
                &info(5, 7, 3, 16),
                codestream(7, 5, 0, &[(12, false, 1, 1); 3]),
            ),
        ] {
            assert!(refuses(info, &stream).is_some(), "{:?}", siz(&stream));
        }
        let mut jp2 = b"\0\0\0\x0cjP  \r\n\x87\n".to_vec();
        jp2.extend(codestream(7, 5, 0, &[(12, false, 1, 1)]));
        assert!(refuses(&grey, &jp2).is_some());
    }

    #[test]
    fn decoded_samples_take_the_registrys_layout_and_are_checked() {
        let grey = info(2, 2, 1, 16);
        let s = siz(&codestream(2, 2, 0, &[(12, false, 1, 1)])).unwrap();
        let wide = vec![1, 0, 0xFF, 0x0F, 3, 0, 4, 0];
        assert_eq!(samples(&grey, &s, decoded(&s, wide.clone())).unwrap(), wide);
        let narrow = siz(&codestream(2, 2, 0, &[(8, false, 1, 1)])).unwrap();
        assert_eq!(
            samples(&grey, &narrow, decoded(&narrow, vec![1, 2, 3, 255])).unwrap(),
            [1, 0, 2, 0, 3, 0, 255, 0],
            "8-bit samples in 16 bits allocated"
        );
        let low = info(2, 2, 1, 8);
        assert_eq!(
            samples(&low, &s, decoded(&s, wide.clone())).unwrap(),
            [1, 0xFF, 3, 4],
            "the low byte, as the registry truncates"
        );
        let mut other = decoded(&s, wide.clone());
        other.bits = 16;
        assert!(samples(&grey, &s, other).is_err(), "another precision");
        let mut other = decoded(&s, wide.clone());
        other.width = 1;
        assert!(samples(&grey, &s, other).is_err(), "another width");
        assert!(
            samples(&grey, &s, decoded(&s, wide[..6].to_vec())).is_err(),
            "too few samples"
        );
    }

    #[test]
    fn natively_the_page_decoder_is_absent() {
        let grey = info(2, 2, 1, 16);
        let err = decode(&grey, &codestream(2, 2, 0, &[(12, false, 1, 1)])).unwrap_err();
        assert!(
            err.to_string()
                .contains("no JPEG 2000 decoder is loaded in this page (OpenJPEG)"),
            "{err}"
        );
        assert!(!available());
    }
}
