//! Decoding one encapsulated frame through dicom-rs's transfer-syntax registry (the codec stack
//! dicom-pixeldata is built on), reached through a view of our own data set so that the engine
//! keeps its byte-preserving model.

use std::borrow::Cow;

use dicom_dictionary_std::uids;
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::adapters::{EncodeOptions, PixelDataObject, RawPixelData};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::{j2k, jpegls};

/// JPEG-LS lossless and near-lossless: decoded by CharLS ([`jpegls`]), not by the registry.
pub(crate) const JPEG_LS: [&str; 2] = [
    dicom_dictionary_std::uids::JPEGLS_LOSSLESS,
    dicom_dictionary_std::uids::JPEGLS_NEAR_LOSSLESS,
];

/// One frame of an encapsulated image, as the registry's pixel-data adapters see it: a
/// single-frame object with one fragment, so that adapters which copy every fragment on each
/// call (the JPEG one does) cost one frame, not the whole cine loop.
struct FrameView<'a> {
    ts: &'a str,
    info: &'a ImageInfo,
    photometric: &'a str,
    data: &'a [u8],
}

impl PixelDataObject for FrameView<'_> {
    fn transfer_syntax_uid(&self) -> &str {
        self.ts
    }
    fn rows(&self) -> Option<u16> {
        u16::try_from(self.info.rows).ok()
    }
    fn cols(&self) -> Option<u16> {
        u16::try_from(self.info.columns).ok()
    }
    fn samples_per_pixel(&self) -> Option<u16> {
        Some(self.info.samples_per_pixel)
    }
    fn bits_allocated(&self) -> Option<u16> {
        Some(self.info.bits_allocated)
    }
    fn bits_stored(&self) -> Option<u16> {
        Some(self.info.bits_stored)
    }
    fn photometric_interpretation(&self) -> Option<&str> {
        Some(self.photometric)
    }
    fn number_of_frames(&self) -> Option<u32> {
        Some(1)
    }
    fn number_of_fragments(&self) -> Option<u32> {
        Some(1)
    }
    fn fragment(&self, fragment: usize) -> Option<Cow<'_, [u8]>> {
        (fragment == 0).then_some(Cow::Borrowed(self.data))
    }
    fn offset_table(&self) -> Option<Cow<'_, [u32]>> {
        Some(Cow::Borrowed(&[]))
    }
    fn raw_pixel_data(&self) -> Option<RawPixelData> {
        Some(RawPixelData {
            fragments: std::iter::once(self.data.to_vec()).collect(),
            offset_table: Default::default(),
        })
    }
}

/// Whether this build can decode frames of a transfer syntax.
pub fn can_decode(ts: &str) -> bool {
    if JPEG_LS.contains(&ts) {
        return jpegls::available();
    }
    if in_page_decoder(ts) {
        return j2k::available();
    }
    TransferSyntaxRegistry
        .get(ts)
        .is_some_and(|t| t.pixel_data_reader().is_some())
}

/// JPEG 2000 (4.90-4.93) and HTJ2K (4.201-4.203) decode natively through the registry, but its
/// OpenJPEG translation corrupts the heap of the wasm32 build (measured on the WG04 J2K files: a
/// trap in its tile coder's deallocation), so the page decodes them with OpenJPEG compiled to
/// wasm from npm instead ([`j2k`]), or holds them back when that is not loaded. The translation
/// is not even built for wasm32 (Cargo.toml: 522 kB less wasm).
fn in_page_decoder(ts: &str) -> bool {
    cfg!(target_arch = "wasm32") && is_j2k(ts)
}

/// Decodes one frame (its fragments joined) into native little-endian samples, interleaved
/// (planar configuration 0), one frame long.
pub fn decode(ts: &str, info: &ImageInfo, frame: &[u8]) -> Result<Vec<u8>> {
    if JPEG_LS.contains(&ts) {
        return jpegls::decode(info, frame);
    }
    if is_j2k(ts) && !j2k::fits(info, frame) {
        return Err(Error::Unsupported(
            "pixel masking: a JPEG 2000 frame is larger than the image or has more components"
                .into(),
        ));
    }
    if in_page_decoder(ts) {
        return j2k::decode(info, frame);
    }
    let reader = TransferSyntaxRegistry
        .get(ts)
        .and_then(|t| t.pixel_data_reader())
        .ok_or_else(|| no_codec(ts))?;
    let view = FrameView {
        ts,
        info,
        photometric: &info.photometric,
        data: frame,
    };
    let mut out = Vec::new();
    reader
        .decode_frame(&view, 0, &mut out)
        .map_err(|_| Error::Unsupported("pixel masking: a frame could not be decoded".into()))?;
    // Decoders give every sample of every pixel, subsampled chroma included.
    let expected =
        (info.pixels() * info.samples_per_pixel as u64 * info.bits_allocated as u64 / 8) as usize;
    if out.len() < expected {
        return Err(Error::Unsupported(
            "pixel masking: a frame decoded to fewer samples than the image declares".into(),
        ));
    }
    out.truncate(expected);
    if is_jpeg_xl(ts) {
        jpeg_xl_stored_values(info, frame, &mut out)?;
    }
    Ok(out)
}

/// jxl-oxide hands back the stored integers only when the codestream's samples are integers of
/// exactly the output's width (8 or 16 bits); any other depth (12-bit integers, the floats of a
/// lossy image) it scales to the output's full range. This scales them back to the depth the
/// codestream gives (Bits Stored for floats), so that masking and display see stored values.
fn jpeg_xl_stored_values(info: &ImageInfo, frame: &[u8], out: &mut [u8]) -> Result<()> {
    use jxl_oxide::image::BitDepth;
    let header = jxl_oxide::JxlImage::builder().read(frame).map_err(|_| {
        Error::Unsupported("pixel masking: a JPEG XL header could not be read".into())
    })?;
    let width = info.bits_allocated as u32;
    let bits = match header.image_header().metadata.bit_depth {
        BitDepth::IntegerSample { bits_per_sample } => bits_per_sample,
        BitDepth::FloatSample { .. } => info.bits_stored as u32,
    };
    if bits == width {
        return Ok(());
    }
    if bits > width || bits == 0 {
        return Err(Error::Unsupported(
            "pixel masking: a JPEG XL frame is deeper than Bits Allocated".into(),
        ));
    }
    let (from, to) = (((1u64 << width) - 1) as f64, ((1u64 << bits) - 1) as f64);
    let rescale = |v: u64| ((v as f64) * to / from).round() as u64;
    match width {
        8 => out.iter_mut().for_each(|b| *b = rescale(*b as u64) as u8),
        _ => out.chunks_exact_mut(2).for_each(|c| {
            let v = rescale(u16::from_le_bytes([c[0], c[1]]) as u64) as u16;
            c.copy_from_slice(&v.to_le_bytes());
        }),
    }
    Ok(())
}

/// What a decoder's output holds, for an image of `info` in `ts`. Checked against the registry's
/// adapters (dicom-transfer-syntax-registry 0.10.1) and on corpus files (see `tests/render.rs`):
/// * JPEG lossy (4.50, 4.51): jpeg-decoder converts every 3-component DCT frame from YCbCr to
///   RGB (unless the frame's component ids say R, G, B or an Adobe marker says untransformed,
///   where it already is RGB), and upsamples 4:2:2 / 4:2:0 chroma: the output is RGB whatever
///   the header says (YBR_FULL_422, YBR_FULL, YBR_PARTIAL_420). A frame labelled RGB that was
///   encoded untransformed with ids 1, 2, 3 would be wrongly converted; the decoder has no
///   switch for it through the registry.
/// * JPEG lossless (4.57, 4.70): no colour transform; the samples are what was encoded, so a
///   YBR_FULL label still means Y Cb Cr.
/// * JPEG 2000 / HTJ2K: OpenJPEG undoes the multiple-component transform, so YBR_ICT and
///   YBR_RCT come out RGB.
/// * JPEG XL: jxl-oxide renders a recompressed JPEG (4.111, labelled YBR_FULL_422) and an XYB
///   image (lossy 4.112 labelled XYB) in RGB; otherwise it gives back the samples encoded.
/// * RLE: the samples as encoded (RGB or YBR_FULL), interleaved.
///
/// Chroma comes back at full resolution: YBR_FULL_422 becomes YBR_FULL and the partial-range
/// labels `YBR_PARTIAL` (no PS3.3 term names full-resolution partial range).
pub(crate) fn decoded_photometric<'a>(ts: &str, info: &'a ImageInfo) -> &'a str {
    let pi = info.photometric.as_str();
    if info.samples_per_pixel != 3 {
        return pi;
    }
    let to_rgb = matches!(
        ts,
        uids::JPEG_BASELINE8_BIT | uids::JPEG_EXTENDED12_BIT | uids::JPEGXLJPEG_RECOMPRESSION
    );
    match pi {
        _ if to_rgb => "RGB",
        "XYB" if ts == uids::JPEGXL => "RGB",
        "YBR_ICT" | "YBR_RCT" => "RGB",
        "YBR_FULL_422" => "YBR_FULL",
        "YBR_PARTIAL_422" | "YBR_PARTIAL_420" => "YBR_PARTIAL",
        _ => pi,
    }
}

/// JPEG XL (4.110-4.112).
pub(crate) fn is_jpeg_xl(ts: &str) -> bool {
    matches!(
        ts,
        uids::JPEGXL_LOSSLESS | uids::JPEGXLJPEG_RECOMPRESSION | uids::JPEGXL
    )
}

/// Encodes one frame of decoded samples (interleaved, little endian, `info` as decoded) as JPEG
/// XL lossless through the registry's adapter (zune-jpegxl, pure Rust: the page and the CLI
/// write the same bytes). 8 and 16 bits allocated only; anything else is an error.
pub(crate) fn encode_jpeg_xl_lossless(info: &ImageInfo, samples: &[u8]) -> Result<Vec<u8>> {
    let writer = TransferSyntaxRegistry
        .get(uids::JPEGXL_LOSSLESS)
        .and_then(|t| t.pixel_data_writer())
        .ok_or_else(|| no_codec(uids::JPEGXL_LOSSLESS))?;
    let view = FrameView {
        ts: uids::JPEGXL_LOSSLESS,
        info,
        photometric: &info.photometric,
        data: samples,
    };
    let mut out = Vec::new();
    writer
        .encode_frame(&view, 0, EncodeOptions::default(), &mut out)
        .map_err(|_| {
            Error::Unsupported("pixel masking: a frame could not be encoded as JPEG XL".into())
        })?;
    Ok(out)
}

/// JPEG 2000 and HTJ2K.
fn is_j2k(ts: &str) -> bool {
    ts.starts_with("1.2.840.10008.1.2.4.9") || ts.starts_with("1.2.840.10008.1.2.4.20")
}

pub(crate) fn no_codec(ts: &str) -> Error {
    if JPEG_LS.contains(&ts) {
        return Error::Unsupported(
            "pixel masking: no JPEG-LS decoder is loaded in this page (CharLS); use the command-line tool".into(),
        );
    }
    if in_page_decoder(ts) {
        return j2k::absent();
    }
    Error::Unsupported(format!(
        "pixel masking: no decoder for transfer syntax {ts} in this build"
    ))
}
