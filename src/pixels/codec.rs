//! Decoding one encapsulated frame through dicom-rs's transfer-syntax registry (the codec stack
//! dicom-pixeldata is built on), reached through a view of our own data set so that the engine
//! keeps its byte-preserving model.

use std::borrow::Cow;

use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::adapters::{PixelDataObject, RawPixelData};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::jpegls;

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

/// Whether the registry in this build can decode frames of a transfer syntax.
pub fn can_decode(ts: &str) -> bool {
    if JPEG_LS.contains(&ts) {
        return jpegls::available();
    }
    usable_here(ts)
        && TransferSyntaxRegistry
            .get(ts)
            .is_some_and(|t| t.pixel_data_reader().is_some())
}

/// JPEG 2000 (4.90-4.93) and HTJ2K (4.201-4.203) decode natively, but the OpenJPEG port
/// corrupts the heap of the wasm32 build (measured on the WG04 J2K files: a trap in its tile
/// coder's deallocation), so the browser holds such images back instead of trapping.
fn usable_here(ts: &str) -> bool {
    !cfg!(target_arch = "wasm32")
        || !(ts.starts_with("1.2.840.10008.1.2.4.9") || ts.starts_with("1.2.840.10008.1.2.4.20"))
}

/// Decodes one frame (its fragments joined) into native little-endian samples, interleaved
/// (planar configuration 0), one frame long.
pub fn decode(ts: &str, info: &ImageInfo, frame: &[u8]) -> Result<Vec<u8>> {
    if JPEG_LS.contains(&ts) {
        return jpegls::decode(info, frame);
    }
    let reader = TransferSyntaxRegistry
        .get(ts)
        .and_then(|t| t.pixel_data_reader())
        .ok_or_else(|| no_codec(ts))?;
    if is_j2k(ts) && !j2k_fits(info, frame) {
        return Err(Error::Unsupported(
            "pixel masking: a JPEG 2000 frame is larger than the image or has more components"
                .into(),
        ));
    }
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
    Ok(out)
}

/// JPEG 2000 and HTJ2K.
fn is_j2k(ts: &str) -> bool {
    ts.starts_with("1.2.840.10008.1.2.4.9") || ts.starts_with("1.2.840.10008.1.2.4.20")
}

/// Whether a JPEG 2000 codestream's image (its SIZ marker segment, in the first 64 kB) fits the
/// header's Rows, Columns and Samples per Pixel. The registry's decoder writes every component
/// into a buffer sized by the header and panics when the codestream is larger (found by
/// fuzzing), so a frame that does not fit is refused before it gets there.
fn j2k_fits(info: &ImageInfo, frame: &[u8]) -> bool {
    let head = &frame[..frame.len().min(64 << 10)];
    let Some(at) = head.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51]) else {
        return false;
    };
    // Lsiz, Rsiz (2 bytes each); Xsiz, Ysiz, XOsiz, YOsiz, then four tile sizes (4 each); Csiz.
    let Some(siz) = frame.get(at + 4..at + 4 + 38) else {
        return false;
    };
    let be32 = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]);
    let width = be32(4).saturating_sub(be32(12));
    let height = be32(8).saturating_sub(be32(16));
    let components = u16::from_be_bytes([siz[36], siz[37]]);
    width <= info.columns
        && height <= info.rows
        && (1..=info.samples_per_pixel).contains(&components)
}

pub(crate) fn no_codec(ts: &str) -> Error {
    if JPEG_LS.contains(&ts) {
        return Error::Unsupported(
            "pixel masking: no JPEG-LS decoder is loaded in this page (CharLS); use the command-line tool".into(),
        );
    }
    if !usable_here(ts) {
        return Error::Unsupported(format!(
            "pixel masking: no decoder for transfer syntax {ts} in the browser; use the command-line tool"
        ));
    }
    Error::Unsupported(format!(
        "pixel masking: no decoder for transfer syntax {ts} in this build"
    ))
}
