//! How each frame of an encapsulated image is masked, chosen once from its transfer syntax (and,
//! for the JPEG syntaxes, from the first frame's SOF marker). One step per frame serves both a
//! file held in memory ([`super::apply`]) and a large file whose frames are read one at a time
//! from the input ([`super::streamed`]).

use dicom_dictionary_std::uids;

use crate::dicom::model::FileObject;
use crate::error::{Error, Result};
use crate::pixels::codec::JPEG_LS;
use crate::pixels::image::ImageInfo;
use crate::pixels::regions::Rect;
use crate::pixels::{codec, jpeg, jpegls, native, rle};

/// The path a transfer syntax takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Encapsulated uncompressed: the frame is native samples.
    InPlace,
    /// Deflated image frames: inflated, painted, deflated again.
    Deflated,
    /// Baseline or extended Huffman JPEG: the DCT blocks that meet a region ([`jpeg`]).
    DctBlocks,
    /// RLE: decoded, painted, encoded again ([`rle`]).
    Rle,
    /// JPEG-LS: decoded, painted, encoded again losslessly by CharLS ([`jpegls`]).
    JpegLs,
    /// JPEG XL: decoded by jxl-oxide, painted, encoded as JPEG XL lossless by zune-jpegxl (both
    /// through the codec registry, [`codec::encode_jpeg_xl_lossless`]).
    JpegXl,
    /// Anything the codec registry decodes: painted and written as native samples.
    Decoded,
}

/// What the masked frames become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// One fragment per frame, in the input's transfer syntax.
    Fragments,
    /// Native samples in Explicit VR Little Endian (see [`super::decoded_info`]).
    Native,
}

/// Masks the frames of one image, one at a time.
#[derive(Debug, Clone)]
pub(crate) struct FrameMasker {
    path: Path,
    ts: String,
    /// The image (every frame), as the JPEG masker wants it.
    info: ImageInfo,
    /// One frame of it, as stored.
    one: ImageInfo,
    /// One frame as its decoder hands it over ([`super::decoded_info`]).
    decoded: ImageInfo,
    rects: Vec<Rect>,
}

impl FrameMasker {
    /// The masker for encapsulated frames of `ts`; `first` is the first frame's bytes (some
    /// files label baseline JPEG as lossless: the SOF marker decides). An error names why the
    /// image cannot be masked here (the caller quarantines it).
    pub fn new(ts: &str, info: &ImageInfo, rects: &[Rect], first: &[u8]) -> Result<FrameMasker> {
        let path = match ts {
            uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN => Path::InPlace,
            uids::DEFLATED_IMAGE_FRAME_COMPRESSION => Path::Deflated,
            uids::JPEG_BASELINE8_BIT
            | uids::JPEG_EXTENDED12_BIT
            | uids::JPEG_LOSSLESS
            | uids::JPEG_LOSSLESS_SV1
                if is_dct_huffman(first) =>
            {
                Path::DctBlocks
            }
            uids::JPEG_BASELINE8_BIT | uids::JPEG_EXTENDED12_BIT => {
                return Err(Error::Unsupported(
                    "pixel masking: a JPEG frame is not baseline or extended Huffman".into(),
                ));
            }
            uids::RLE_LOSSLESS => Path::Rle,
            t if JPEG_LS.contains(&t) && jpegls::available() => Path::JpegLs,
            t if JPEG_LS.contains(&t) => return Err(codec::no_codec(t)),
            t if codec::is_jpeg_xl(t) && codec::can_decode(t) => Path::JpegXl,
            t if codec::can_decode(t) => Path::Decoded,
            t => return Err(codec::no_codec(t)),
        };
        let mut one = info.clone();
        one.frames = 1;
        let decoded = super::decoded_info(ts, &one);
        if matches!(path, Path::Decoded | Path::JpegXl) && decoded.photometric == "YBR_PARTIAL" {
            return Err(Error::Unsupported(
                "pixel masking: partial-range YCbCr decoded at full resolution has no Photometric Interpretation to be written with".into(),
            ));
        }
        Ok(FrameMasker {
            path,
            ts: ts.into(),
            info: info.clone(),
            one,
            decoded,
            rects: rects.to_vec(),
        })
    }

    /// How the audit names the path.
    pub fn method(&self) -> &'static str {
        match self.path {
            Path::InPlace | Path::Deflated => "in place",
            Path::DctBlocks => "dct blocks",
            Path::Rle | Path::JpegLs | Path::JpegXl | Path::Decoded => "re-encoded",
        }
    }

    pub fn output(&self) -> Output {
        match self.path {
            Path::Decoded => Output::Native,
            _ => Output::Fragments,
        }
    }

    /// Labels masked fragments that are no longer in the input's syntax: near-lossless JPEG-LS
    /// is written losslessly (4.80), JPEG XL as JPEG XL lossless (4.110) in the colours its
    /// decoder gave (a recompressed JPEG's YBR_FULL_422 comes back RGB). Lossy Image
    /// Compression and its ratio and method stay as they were.
    pub fn label(&self, obj: &mut FileObject<'_>) {
        match self.path {
            Path::JpegLs => obj.transfer_syntax = uids::JPEGLS_LOSSLESS.into(),
            Path::JpegXl => super::relabel(obj, &self.info, &self.decoded, uids::JPEGXL_LOSSLESS),
            _ => {}
        }
    }

    /// One frame masked: the new fragment, or (for [`Output::Native`]) its native samples.
    pub fn frame(&self, frame: &[u8]) -> Result<Vec<u8>> {
        let rects = &self.rects[..];
        match self.path {
            Path::InPlace => {
                let mut f = frame.to_vec();
                native::mask(&mut f, &self.one, rects, false)?;
                Ok(f)
            }
            Path::Deflated => {
                let mut f = super::inflate(frame)?;
                native::mask(&mut f, &self.one, rects, false)?;
                Ok(super::deflate(&f))
            }
            Path::DctBlocks => jpeg::mask_frame(frame, &self.info, rects),
            Path::JpegLs => jpegls::mask_frame(frame, &self.info, rects),
            Path::Rle => {
                let mut f = codec::decode(&self.ts, &self.one, frame)?;
                let mut decoded = self.one.clone();
                decoded.planar = false;
                native::mask(&mut f, &decoded, rects, false)?;
                let i = &self.info;
                Ok(rle::encode(
                    &f,
                    i.rows as usize,
                    i.columns as usize,
                    i.samples_per_pixel as usize,
                    i.bytes_per_sample(),
                ))
            }
            Path::Decoded => {
                let mut f = codec::decode(&self.ts, &self.one, frame)?;
                native::mask(&mut f, &self.decoded, rects, false)?;
                Ok(f)
            }
            Path::JpegXl => {
                let mut f = codec::decode(&self.ts, &self.one, frame)?;
                native::mask(&mut f, &self.decoded, rects, false)?;
                codec::encode_jpeg_xl_lossless(&self.decoded, &f)
            }
        }
    }
}

/// Whether a JPEG stream's frame is a Huffman DCT process (SOF0 baseline or SOF1 extended),
/// which [`jpeg`] masks block by block.
fn is_dct_huffman(stream: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= stream.len() && stream[i] == 0xFF {
        match stream[i + 1] {
            0xC0 | 0xC1 => return true,
            0xC2..=0xCF if stream[i + 1] != 0xC4 && stream[i + 1] != 0xCC => return false,
            0xD8 | 0x01 | 0xD0..=0xD7 => i += 2,
            0xFF => i += 1,
            _ => i += 2 + u16::from_be_bytes([stream[i + 2], stream[i + 3]]) as usize,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::codec::decoded_photometric;

    fn info(pi: &str, spp: u16) -> ImageInfo {
        ImageInfo {
            rows: 4,
            columns: 4,
            samples_per_pixel: spp,
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            signed: false,
            photometric: pi.into(),
            planar: true,
            frames: 2,
            darkest_index: None,
        }
    }

    #[test]
    fn each_decoder_s_colours() {
        for (ts, pi, spp, want) in [
            (uids::JPEG_BASELINE8_BIT, "YBR_FULL_422", 3, "RGB"),
            (uids::JPEGXLJPEG_RECOMPRESSION, "YBR_FULL_422", 3, "RGB"),
            (uids::JPEGXL, "XYB", 3, "RGB"),
            (uids::JPEGXL, "YBR_FULL", 3, "YBR_FULL"),
            (uids::JPEGXL_LOSSLESS, "YBR_FULL", 3, "YBR_FULL"),
            (uids::JPEG2000, "YBR_ICT", 3, "RGB"),
            (uids::JPEG_LOSSLESS_SV1, "YBR_FULL_422", 3, "YBR_FULL"),
            (uids::JPEG_LOSSLESS_SV1, "YBR_PARTIAL_420", 3, "YBR_PARTIAL"),
            (uids::JPEG_BASELINE8_BIT, "MONOCHROME1", 1, "MONOCHROME1"),
        ] {
            assert_eq!(decoded_photometric(ts, &info(pi, spp)), want, "{ts} {pi}");
        }
    }

    /// Partial-range YCbCr decoded at full resolution has no PS3.3 name to be written under.
    #[test]
    fn partial_range_decoded_frames_are_refused() {
        let i = info("YBR_PARTIAL_420", 3);
        let e = FrameMasker::new(uids::JPEG_LOSSLESS_SV1, &i, &[], &[]).unwrap_err();
        assert!(e.to_string().contains("partial-range"), "{e}");
        let labelled = info("YBR_FULL", 3);
        let m = FrameMasker::new(uids::JPEG_LOSSLESS_SV1, &labelled, &[], &[]).unwrap();
        assert_eq!(m.decoded.photometric, "YBR_FULL");
        assert!(!m.decoded.planar, "decoders interleave");
    }
}
