//! The Image Pixel module of a data set (PS3.3 C.7.6.3), read once, and what masking needs of it:
//! the native layout of a frame and the darkest value for each sample.

use crate::dicom::model::{Encoding, Item, Tag, Vr, tags, trim_text};
use crate::error::{Error, Result};

/// Red, Green and Blue Palette Color Lookup Table Descriptors and Data (PS3.3 C.7.6.3.1.5).
const PALETTE_DESCRIPTORS: [Tag; 3] = [
    tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
];
const PALETTE_DATA: [Tag; 3] = [
    tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
];

/// The attributes that describe the pixels of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    /// Photometric Interpretation without padding, e.g. `MONOCHROME2`, `YBR_FULL_422`.
    pub photometric: String,
    /// Planar Configuration 1: each sample in its own plane (colour-by-plane).
    pub planar: bool,
    pub frames: u32,
    /// For PALETTE COLOR, the index whose colour is darkest.
    pub darkest_index: Option<u32>,
}

impl ImageInfo {
    /// Reads the Image Pixel attributes of a top-level data set; `None` when it has no Pixel Data.
    pub fn of(d: &Item<'_>, enc: Encoding) -> Result<Option<ImageInfo>> {
        if d.get(tags::PIXEL_DATA).is_none() {
            return Ok(None);
        }
        let need = |tag: Tag, name: &str| {
            us(d, tag, enc).ok_or_else(|| {
                Error::Unsupported(format!("the image has Pixel Data but no usable {name}"))
            })
        };
        let rows = need(tags::ROWS, "Rows")? as u32;
        let columns = need(tags::COLUMNS, "Columns")? as u32;
        let bits_allocated = need(tags::BITS_ALLOCATED, "Bits Allocated")?;
        let bits_stored = us(d, tags::BITS_STORED, enc).unwrap_or(bits_allocated);
        let high_bit = us(d, tags::HIGH_BIT, enc).unwrap_or(bits_stored.saturating_sub(1));
        let photometric = d
            .ascii(tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap_or_else(|| "MONOCHROME2".into());
        let frames = d
            .ascii(tags::NUMBER_OF_FRAMES)
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(1);
        let darkest_index = (photometric == "PALETTE COLOR")
            .then(|| darkest_palette_index(d, enc))
            .flatten();
        let info = ImageInfo {
            rows,
            columns,
            samples_per_pixel: us(d, tags::SAMPLES_PER_PIXEL, enc).unwrap_or(1),
            bits_allocated,
            bits_stored,
            high_bit,
            signed: us(d, tags::PIXEL_REPRESENTATION, enc) == Some(1),
            photometric,
            planar: us(d, tags::PLANAR_CONFIGURATION, enc) == Some(1),
            frames,
            darkest_index,
        };
        info.check()?;
        Ok(Some(info))
    }

    /// Refuses geometry that masking cannot handle safely (the image is then quarantined).
    fn check(&self) -> Result<()> {
        let bad = |why: &str| Err(Error::Unsupported(format!("pixel masking: {why}")));
        if self.rows == 0 || self.columns == 0 {
            return bad("Rows or Columns is zero");
        }
        if !matches!(self.samples_per_pixel, 1 | 3 | 4) {
            return bad("Samples per Pixel is not 1, 3 or 4");
        }
        if !(self.bits_allocated == 1 || self.bits_allocated.is_multiple_of(8))
            || self.bits_allocated > 32
        {
            return bad("Bits Allocated is not 1, 8, 16, 24 or 32");
        }
        if self.bits_stored == 0
            || self.bits_stored > self.bits_allocated
            || self.high_bit >= self.bits_allocated
            || self.high_bit + 1 < self.bits_stored
        {
            return bad("Bits Stored and High Bit do not fit Bits Allocated");
        }
        Ok(())
    }

    /// Whether native data stores two luminance and one pair of chrominance samples per two
    /// pixels (YBR_FULL_422 and YBR_PARTIAL_422 as PS3.3 C.7.6.3.1.2 defines them).
    pub fn is_422(&self) -> bool {
        self.samples_per_pixel == 3 && self.photometric.ends_with("_422")
    }

    /// Bytes per sample in native data (bit-packed data, Bits Allocated 1, counts as 0).
    pub fn bytes_per_sample(&self) -> usize {
        self.bits_allocated as usize / 8
    }

    /// Pixels in one frame.
    pub fn pixels(&self) -> u64 {
        self.rows as u64 * self.columns as u64
    }

    /// Size in bits of one native frame.
    pub fn frame_bits(&self) -> u64 {
        let samples = if self.is_422() {
            2
        } else {
            self.samples_per_pixel as u64
        };
        self.pixels() * samples * self.bits_allocated as u64
    }

    /// The value that paints a sample darkest, per sample, in the stored bits (PS3.15 E.3.1 asks
    /// only that the text be removed; black is what readers expect of a blanked region).
    /// MONOCHROME2: the lowest value (the most negative when signed); MONOCHROME1: the highest;
    /// RGB: zero; YBR: zero luminance and neutral chrominance; PALETTE COLOR: the index whose
    /// entry is darkest.
    pub fn fill(&self) -> [u32; 4] {
        let bs = self.bits_stored as u32;
        let max_unsigned = if bs >= 32 { u32::MAX } else { (1u32 << bs) - 1 };
        let half = 1u32 << (bs - 1);
        let pi = self.photometric.as_str();
        let grey = match (pi, self.signed) {
            ("MONOCHROME1", false) => max_unsigned,
            ("MONOCHROME1", true) => half - 1,
            ("PALETTE COLOR", _) => self.darkest_index.unwrap_or(0),
            (_, false) => 0,
            (_, true) => half, // -2^(bs-1) in bs-bit two's complement
        };
        if pi.starts_with("YBR") {
            let y = if pi.starts_with("YBR_PARTIAL") {
                16 << (bs.saturating_sub(8))
            } else {
                0
            };
            [y, half, half, 0]
        } else if self.samples_per_pixel == 1 {
            [grey; 4]
        } else {
            [0; 4]
        }
    }

    /// The bits of a sample that hold its value, counted from bit 0 of the allocated unit: a
    /// mask applied to every sample of a masked image clears what lies above High Bit (old
    /// overlays were stored there) and below the value.
    pub fn value_mask(&self) -> u32 {
        let high = self.high_bit as u32;
        let low = high + 1 - self.bits_stored as u32;
        let top = if high >= 31 {
            u32::MAX
        } else {
            (1u32 << (high + 1)) - 1
        };
        top & !((1u32 << low) - 1)
    }

    /// The shift that places a stored value in the allocated unit.
    pub fn low_bit(&self) -> u32 {
        (self.high_bit + 1 - self.bits_stored) as u32
    }
}

/// A US value of the top-level data set, in the data set's byte order.
pub(crate) fn us(d: &Item<'_>, tag: Tag, enc: Encoding) -> Option<u16> {
    let e = d.get(tag)?;
    let raw = e.raw()?;
    if e.vr == Vr::US || e.vr == Vr::SS || e.vr == Vr::OW || e.vr == Vr::UN || raw.len() == 2 {
        raw.first_chunk::<2>().map(|b| enc.u16(*b))
    } else {
        std::str::from_utf8(trim_text(e.vr, raw))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// The palette index whose red + green + blue is lowest, from the three LUTs' descriptors and
/// data (16-bit entries); `None` when the palette is missing or segmented.
fn darkest_palette_index(d: &Item<'_>, enc: Encoding) -> Option<u32> {
    let descriptor = |tag: Tag| -> Option<(u32, u32)> {
        let raw = d.get(tag)?.raw()?;
        let n = enc.u16(*raw.first_chunk::<2>()?);
        let first = enc.u16(raw.get(2..4)?.try_into().ok()?);
        Some((if n == 0 { 65536 } else { n as u32 }, first as u32))
    };
    let (entries, first) = descriptor(PALETTE_DESCRIPTORS[0])?;
    let luts: Vec<&[u8]> = PALETTE_DATA
        .iter()
        .map(|&t| d.get(t).and_then(|e| e.raw()))
        .collect::<Option<_>>()?;
    let wide = luts.iter().all(|l| l.len() >= entries as usize * 2);
    let entry = |lut: &[u8], i: usize| -> u32 {
        if wide {
            enc.u16([lut[2 * i], lut[2 * i + 1]]) as u32
        } else {
            lut.get(i).copied().unwrap_or(u8::MAX) as u32
        }
    };
    if !wide && luts.iter().any(|l| l.len() < entries as usize) {
        return None;
    }
    (0..entries as usize)
        .min_by_key(|&i| luts.iter().map(|l| entry(l, i)).sum::<u32>())
        .map(|i| first + i as u32)
}
