//! The frames of an image, kept as stored (native bytes, or each compressed frame's fragments
//! joined), and one frame's stored values on demand: decoded if compressed, then the value bits
//! of each sample taken out of its allocated unit (PS3.5 8.1.1, PS3.3 C.7.6.3.1).

use std::borrow::Cow;

use dicom_dictionary_std::uids;

use crate::dicom::model::{FileObject, Tag, Value, Vr, tags};
use crate::error::{Error, Result};
use crate::pixels::{self, ImageInfo, codec, frames};

/// Extended Offset Table (7FE0,0001): where each frame starts when the Basic Offset Table cannot
/// say (over 4 GiB) or is empty.
const EXTENDED_OFFSET_TABLE: Tag = Tag(0x7FE0, 0x0001);

/// Where the frames are.
pub(crate) enum Frames {
    /// Native Pixel Data, every frame end to end (bit-packed frames need not start on a byte).
    Native { data: Vec<u8>, big_endian: bool },
    /// One byte string per frame, in the transfer syntax `ts`.
    Encapsulated { ts: String, frames: Vec<Vec<u8>> },
    /// Frame `k` alone (a large file's frames are read from it one at a time).
    Single { k: u32, frame: Box<Frames> },
}

/// One frame's stored values, one per stored sample, and how they are laid out.
pub(crate) struct Stored {
    pub values: Vec<i64>,
    /// The photometric interpretation of `values` (a decoder may have converted the colour).
    pub photometric: String,
    /// Colour by plane (Planar Configuration 1).
    pub planar: bool,
    /// Native YBR_*_422: Y1 Y2 Cb Cr for each pair of pixels.
    pub pairs: bool,
}

impl Frames {
    /// Copies the frames out of a parsed file; `Unsupported` when no decoder here can read them.
    pub fn read(obj: &FileObject<'_>, info: &ImageInfo) -> Result<(Frames, u32)> {
        let element = obj
            .dataset
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| unsupported("the file has no Pixel Data"))?;
        match &element.value {
            Value::Bytes(b) if b.is_empty() => Err(unsupported(
                "the file has no Pixel Data to display (the element is empty)",
            )),
            Value::Bytes(b) => {
                let available =
                    (b.len() as u64 * 8 / info.frame_bits().max(1)).min(info.frames as u64);
                if available == 0 {
                    return Err(unsupported("Pixel Data is shorter than one frame"));
                }
                let native = native(b.to_vec(), obj.encoding.big_endian, element.vr, info);
                Ok((native, available as u32))
            }
            Value::Fragments(all) => encapsulated(obj, info, all),
            Value::Items(_) => Err(unsupported("Pixel Data is a sequence")),
        }
    }

    /// The stored values of frame `k` (counted from 0).
    pub fn stored(&self, k: u32, info: &ImageInfo) -> Result<Stored> {
        match self {
            Frames::Native { data, big_endian } => {
                let start = k as u64 * info.frame_bits();
                let count = (info.frame_bits() / info.bits_allocated as u64) as usize;
                let values = extract(data, start, count, info, *big_endian)?;
                Ok(Stored {
                    values,
                    photometric: info.photometric.clone(),
                    planar: info.planar && !info.is_422(),
                    pairs: info.is_422(),
                })
            }
            Frames::Encapsulated { ts, frames } => {
                let frame = frames
                    .get(k as usize)
                    .ok_or_else(|| unsupported("no such frame"))?;
                decoded(ts, frame, info)
            }
            Frames::Single { k: held, frame } if *held == k => frame.stored(0, info),
            Frames::Single { .. } => Err(unsupported("no such frame")),
        }
    }

    /// Frame `k` alone, from its stored bytes: native samples of a data set in byte order
    /// `big_endian`, Pixel Data of VR `vr` (`ts` is `None`), or a compressed frame in transfer
    /// syntax `ts`.
    pub fn single(
        k: u32,
        bytes: Vec<u8>,
        ts: Option<&str>,
        (big_endian, vr): (bool, Vr),
        info: &ImageInfo,
    ) -> Frames {
        let frame = match ts {
            Some(ts) => Frames::Encapsulated {
                ts: ts.into(),
                frames: vec![bytes],
            },
            None => native(bytes, big_endian, vr, info),
        };
        Frames::Single {
            k,
            frame: Box::new(frame),
        }
    }
}

/// Native samples as stored, with the byte order they are read in.
fn native(mut data: Vec<u8>, mut big_endian: bool, vr: Vr, info: &ImageInfo) -> Frames {
    if big_endian && info.bits_allocated <= 8 {
        // OW in big endian holds 16-bit words: bytes (and packed bits) come swapped in pairs.
        // OB does not.
        if vr == Vr::OW {
            data.chunks_exact_mut(2).for_each(|p| p.swap(0, 1));
        }
        big_endian = false;
    }
    Frames::Native { data, big_endian }
}

fn unsupported(why: &str) -> Error {
    Error::Unsupported(why.into())
}

/// The frames of encapsulated Pixel Data, found as masking finds them ([`frames::split`]).
fn encapsulated(
    obj: &FileObject<'_>,
    info: &ImageInfo,
    all: &[Cow<'_, [u8]>],
) -> Result<(Frames, u32)> {
    let ts = obj.transfer_syntax.as_str();
    let own = [
        uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN,
        uids::DEFLATED_IMAGE_FRAME_COMPRESSION,
    ];
    if !own.contains(&ts) && !codec::can_decode(ts) {
        return Err(super::plain(codec::no_codec(ts)));
    }
    let (bot, fragments) = all
        .split_first()
        .ok_or_else(|| unsupported("encapsulated Pixel Data without an offset table item"))?;
    let fragments: Vec<&[u8]> = fragments.iter().map(|f| f.as_ref()).collect();
    let eot = obj.dataset.get(EXTENDED_OFFSET_TABLE).and_then(|e| e.raw());
    let ranges = frames::split(bot, &fragments, info.frames, eot).map_err(super::plain)?;
    let frames: Vec<Vec<u8>> = ranges
        .iter()
        .map(|r| fragments[r.clone()].concat())
        .collect();
    let n = frames.len() as u32;
    Ok((
        Frames::Encapsulated {
            ts: ts.into(),
            frames,
        },
        n,
    ))
}

/// Decodes one compressed frame into stored values.
fn decoded(ts: &str, frame: &[u8], info: &ImageInfo) -> Result<Stored> {
    let mut one = info.clone();
    one.frames = 1;
    let bytes: Cow<'_, [u8]> = match ts {
        uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN => Cow::Borrowed(frame),
        uids::DEFLATED_IMAGE_FRAME_COMPRESSION => {
            Cow::Owned(pixels::inflate(frame).map_err(super::plain)?)
        }
        uids::JPEG_BASELINE8_BIT | uids::JPEG_EXTENDED12_BIT
            if super::jpeg12::precision(frame).is_some_and(|p| p > 8) =>
        {
            let (samples, w, h) = super::jpeg12::decode(frame)?;
            if (w, h) != (one.columns as usize, one.rows as usize) || one.bits_allocated != 16 {
                return Err(unsupported("a 12-bit JPEG frame does not match the image"));
            }
            Cow::Owned(samples)
        }
        _ => Cow::Owned(codec::decode(ts, &one, frame).map_err(super::plain)?),
    };
    if matches!(
        ts,
        uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN
            | uids::DEFLATED_IMAGE_FRAME_COMPRESSION
    ) {
        // Uncompressed frames are native frames: same layout, little endian.
        let count = (one.frame_bits() / one.bits_allocated as u64) as usize;
        return Ok(Stored {
            values: extract(&bytes, 0, count, &one, false)?,
            photometric: one.photometric.clone(),
            planar: one.planar && !one.is_422(),
            pairs: one.is_422(),
        });
    }
    let count = (one.pixels() * one.samples_per_pixel as u64) as usize;
    Ok(Stored {
        values: extract(&bytes, 0, count, &one, false)?,
        photometric: codec::decoded_photometric(ts, info).into(),
        planar: false,
        pairs: false,
    })
}

/// `count` stored values from `data`, starting at bit `start`: each sample's bits High Bit down
/// to High Bit + 1 - Bits Stored, sign-extended when Pixel Representation is 1. Bits outside
/// them (old overlays, garbage) are dropped, as PS3.5 8.1.1 requires of a reader.
pub(crate) fn extract(
    data: &[u8],
    start: u64,
    count: usize,
    info: &ImageInfo,
    big_endian: bool,
) -> Result<Vec<i64>> {
    let bits = info.bits_allocated as u64;
    if (data.len() as u64) * 8 < start + count as u64 * bits {
        return Err(unsupported("Pixel Data is shorter than the frame"));
    }
    if bits == 1 {
        let bit = |i: u64| (data[(i / 8) as usize] >> (i % 8)) & 1;
        return Ok((0..count as u64).map(|i| bit(start + i) as i64).collect());
    }
    let width = (bits / 8) as usize;
    let body = &data[(start / 8) as usize..][..count * width];
    let low = info.low_bit();
    let stored = info.bits_stored as u32;
    let mask: u64 = (1u64 << stored) - 1;
    let sign = 1u64 << (stored - 1);
    let signed = info.signed;
    let word = |c: &[u8]| -> u64 {
        let fold = |acc: u64, &b: &u8| (acc << 8) | b as u64;
        if big_endian {
            c.iter().fold(0, fold)
        } else {
            c.iter().rev().fold(0, fold)
        }
    };
    Ok(body
        .chunks_exact(width)
        .map(|c| {
            let v = (word(c) >> low) & mask;
            if signed && v & sign != 0 {
                v as i64 - (1i64 << stored)
            } else {
                v as i64
            }
        })
        .collect())
}
