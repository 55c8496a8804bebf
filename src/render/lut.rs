//! Lookup tables as PS3.3 describes them: the Modality and VOI LUTs (C.11.1.1, C.11.2.1.1) and
//! the three Palette Color LUTs, plain or segmented (C.7.6.3.1.5-6, C.7.9.2).

use crate::dicom::model::{Encoding, Item, Tag, Vr, tags};
use crate::error::{Error, Result};

/// A LUT: `data[i]` is the output for input `first + i`; inputs outside the table take its end
/// values (PS3.3 C.11.1.1: "values less than the first ... are mapped to the first entry").
#[derive(Debug, Clone)]
pub(crate) struct Lut {
    pub first: i64,
    pub data: Vec<u16>,
    /// Bits per entry from the descriptor (the output range is 0 ..= 2^bits - 1).
    pub bits: u16,
}

impl Lut {
    /// A LUT from an item holding LUT Descriptor and LUT Data. `signed_first` says whether the
    /// descriptor's second value (US or SS, and files write SS values as US) may be negative.
    pub fn read(item: &Item<'_>, enc: Encoding, signed_first: bool) -> Option<Lut> {
        let d = item.get(tags::LUT_DESCRIPTOR)?;
        let (entries, first, bits) = descriptor(d.raw()?, d.vr, enc, signed_first)?;
        let data = entries_of(item.get(tags::LUT_DATA)?.raw()?, entries, enc)?;
        Some(Lut { first, data, bits })
    }

    /// The output for an input value.
    pub fn get(&self, x: i64) -> u16 {
        let i = (x - self.first).clamp(0, self.data.len() as i64 - 1);
        self.data[i as usize]
    }

    /// The largest output the table can give. Some files declare 16 bits per entry and hold
    /// 12-bit values (or the reverse); the data wins when it exceeds the declared range.
    pub fn out_max(&self) -> f64 {
        let declared = ((1u32 << self.bits.min(16)) - 1) as f64;
        let actual = self.data.iter().copied().max().unwrap_or(0) as f64;
        if actual > declared { actual } else { declared }
    }
}

/// Number of entries (0 means 65536), first mapped value and bits per entry.
fn descriptor(raw: &[u8], vr: Vr, enc: Encoding, signed_first: bool) -> Option<(usize, i64, u16)> {
    if raw.len() < 6 {
        return None;
    }
    let word = |i: usize| enc.u16([raw[2 * i], raw[2 * i + 1]]);
    let n = match word(0) {
        0 => 65536,
        n => n as usize,
    };
    let first = word(1);
    let first = if (vr == Vr::SS || signed_first) && first >= 0x8000 {
        first as i64 - 0x10000
    } else {
        first as i64
    };
    Some((n, first, word(2)))
}

/// LUT Data as 16-bit words, or as bytes when the file packed 8-bit entries one per byte
/// (the data is then exactly as long as the table).
fn entries_of(raw: &[u8], n: usize, enc: Encoding) -> Option<Vec<u16>> {
    if raw.len() >= 2 * n {
        Some(
            raw.chunks_exact(2)
                .take(n)
                .map(|c| enc.u16([c[0], c[1]]))
                .collect(),
        )
    } else if raw.len() >= n {
        Some(raw[..n].iter().map(|&b| b as u16).collect())
    } else {
        None
    }
}

const DESCRIPTORS: [Tag; 3] = [
    tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
];
const DATA: [Tag; 3] = [
    tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
];
const SEGMENTED: [Tag; 3] = [
    tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
];

/// The red, green and blue tables of a PALETTE COLOR image, reduced to 8 bits per entry.
#[derive(Debug, Clone)]
pub(crate) struct Palette {
    channels: [(i64, Vec<u8>); 3],
}

impl Palette {
    /// Reads the three tables; an error names what is missing (never a value).
    pub fn read(d: &Item<'_>, enc: Encoding, signed: bool) -> Result<Palette> {
        let channel = |c: usize| -> Result<(i64, Vec<u8>)> {
            let e = d
                .get(DESCRIPTORS[c])
                .ok_or_else(|| no_palette("a descriptor"))?;
            let raw = e.raw().ok_or_else(|| no_palette("a descriptor"))?;
            let (n, first, bits) =
                descriptor(raw, e.vr, enc, signed).ok_or_else(|| no_palette("a descriptor"))?;
            let words = match d.get(DATA[c]).and_then(|e| e.raw()) {
                Some(raw) => entries_of(raw, n, enc),
                None => d
                    .get(SEGMENTED[c])
                    .and_then(|e| e.raw())
                    .and_then(|raw| segmented(raw, n, enc)),
            }
            .ok_or_else(|| no_palette("usable table data"))?;
            Ok((first, to_8bit(&words, bits)))
        };
        Ok(Palette {
            channels: [channel(0)?, channel(1)?, channel(2)?],
        })
    }

    /// The colour of a stored value.
    pub fn rgb(&self, v: i64) -> [u8; 3] {
        self.channels.each_ref().map(|(first, t)| {
            let i = (v - first).clamp(0, t.len() as i64 - 1);
            t[i as usize]
        })
    }
}

fn no_palette(what: &str) -> Error {
    Error::Unsupported(format!(
        "PALETTE COLOR image without {what} for its palette"
    ))
}

/// Entries reduced to 8 bits: 16-bit entries keep their high byte (C.7.6.3.1.5). Entries
/// declared 8-bit but stored in the high byte of a word (found in the wild) are moved down.
fn to_8bit(words: &[u16], bits: u16) -> Vec<u8> {
    let shift = if bits > 8 || words.iter().any(|&w| w > 0xFF) {
        8
    } else {
        0
    };
    words.iter().map(|&w| (w >> shift) as u8).collect()
}

/// Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2): discrete (0), linear (1) and
/// indirect (2) segments of 16-bit words, into `n` entries.
fn segmented(raw: &[u8], n: usize, enc: Encoding) -> Option<Vec<u16>> {
    let words: Vec<u16> = raw.chunks_exact(2).map(|c| enc.u16([c[0], c[1]])).collect();
    let mut out = Vec::with_capacity(n);
    expand(&words, 0, usize::MAX, &mut out, 0)?;
    (out.len() >= n).then(|| {
        out.truncate(n);
        out
    })
}

/// Expands up to `segments` segments starting at word `at`; `depth` stops indirect loops.
fn expand(w: &[u16], mut at: usize, segments: usize, out: &mut Vec<u16>, depth: u8) -> Option<()> {
    let mut done = 0;
    while at + 1 < w.len() && done < segments {
        let (op, len) = (w[at], w[at + 1] as usize);
        match op {
            0 => {
                out.extend_from_slice(w.get(at + 2..at + 2 + len)?);
                at += 2 + len;
            }
            1 => {
                let y0 = *out.last()? as f64;
                let y1 = *w.get(at + 2)? as f64;
                out.extend(
                    (1..=len).map(|i| (y0 + (y1 - y0) * i as f64 / len as f64).round() as u16),
                );
                at += 3;
            }
            2 if depth < 4 => {
                let lo = *w.get(at + 2)? as usize;
                let hi = *w.get(at + 3)? as usize;
                // The offset counts bytes from the start of the segmented data.
                expand(w, ((hi << 16) | lo) / 2, len, out, depth + 1)?;
                at += 4;
            }
            _ => return None,
        }
        done += 1;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn segmented_discrete_linear_indirect() {
        // discrete [0, 10], linear to 40 over 3, then the first segment again (byte offset 0)
        let raw = words(&[0, 2, 0, 10, 1, 3, 40, 2, 1, 0, 0]);
        let got = segmented(&raw, 7, Encoding::EXPLICIT_LE).unwrap();
        assert_eq!(got, vec![0, 10, 20, 30, 40, 0, 10]);
        assert!(
            segmented(&raw, 8, Encoding::EXPLICIT_LE).is_none(),
            "too short"
        );
    }

    #[test]
    fn lut_clamps_and_reads_signed_first() {
        let mut raw = Vec::new();
        for v in [3u16, (-2i16) as u16, 16] {
            raw.extend(v.to_le_bytes());
        }
        let (n, first, bits) = descriptor(&raw, Vr::US, Encoding::EXPLICIT_LE, true).unwrap();
        assert_eq!((n, first, bits), (3, -2, 16));
        let lut = Lut {
            first,
            data: vec![5, 6, 7],
            bits,
        };
        assert_eq!([lut.get(-10), lut.get(-1), lut.get(99)], [5, 6, 7]);
    }
}
