//! Masking native (uncompressed) pixel data in place: only the samples inside the rectangles
//! change, plus the bits above High Bit, which are cleared everywhere.

use crate::dicom::model::Vr;
use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::regions::Rect;

/// Paints every rectangle on every frame of native pixel data held in `data` (the value of Pixel
/// Data, or one frame of it) and clears the bits above High Bit of every sample. `big_endian` is
/// the byte order of the data set (Explicit VR Big Endian swaps 16- and 32-bit samples).
pub fn mask(data: &mut [u8], info: &ImageInfo, rects: &[Rect], big_endian: bool) -> Result<()> {
    let frames = whole_frames(data.len(), info)?;
    if info.bits_allocated == 1 {
        mask_bits(data, info, rects, frames);
        return Ok(());
    }
    let unit = Layout::of(info, big_endian);
    let frame_len = (info.frame_bits() / 8) as usize;
    for frame in data.chunks_exact_mut(frame_len).take(frames) {
        for r in rects {
            unit.fill_rect(frame, info, r);
        }
    }
    unit.clear_unused_bits(&mut data[..frames * frame_len], info);
    Ok(())
}

/// [`mask`] on a Pixel Data value as stored in a data set of byte order `big_endian`, with VR
/// `vr`. OW of 8-bit (or 1-bit) samples in a big-endian data set is a string of 16-bit words,
/// so its bytes come swapped in pairs: they are swapped back for the painting and again after.
pub fn mask_stored(
    data: &mut [u8],
    info: &ImageInfo,
    rects: &[Rect],
    (big_endian, vr): (bool, Vr),
) -> Result<()> {
    let swapped = big_endian && info.bits_allocated <= 8 && vr == Vr::OW;
    let swap = |d: &mut [u8]| d.chunks_exact_mut(2).for_each(|p| p.swap(0, 1));
    if swapped {
        swap(data);
    }
    let masked = mask(data, info, rects, big_endian && !swapped);
    if swapped {
        swap(data);
    }
    masked
}

/// How many whole frames `len` bytes hold; an error when fewer than Number of Frames (a
/// truncated image cannot be shown to be masked).
pub fn whole_frames(len: usize, info: &ImageInfo) -> Result<usize> {
    let needed_bits = info.frame_bits() * info.frames as u64;
    if (len as u64) * 8 < needed_bits {
        return Err(Error::Unsupported(
            "pixel masking: Pixel Data is shorter than its frames".into(),
        ));
    }
    Ok(info.frames as usize)
}

/// Where a sample lives in a frame of native data.
struct Layout {
    bytes: usize,
    big_endian: bool,
}

impl Layout {
    fn of(info: &ImageInfo, big_endian: bool) -> Layout {
        Layout {
            bytes: info.bytes_per_sample(),
            big_endian,
        }
    }

    fn put(&self, buf: &mut [u8], at: usize, v: u32) {
        let b = &mut buf[at..at + self.bytes];
        let le = v.to_le_bytes();
        for (i, byte) in b.iter_mut().enumerate() {
            let k = if self.big_endian {
                self.bytes - 1 - i
            } else {
                i
            };
            *byte = le[k];
        }
    }

    fn get(&self, buf: &[u8], at: usize) -> u32 {
        let mut le = [0u8; 4];
        for (i, &byte) in buf[at..at + self.bytes].iter().enumerate() {
            let k = if self.big_endian {
                self.bytes - 1 - i
            } else {
                i
            };
            le[k] = byte;
        }
        u32::from_le_bytes(le)
    }

    /// Paints one rectangle of one frame with the darkest value of each sample.
    fn fill_rect(&self, frame: &mut [u8], info: &ImageInfo, r: &Rect) {
        let fill = info.fill().map(|v| v << info.low_bit());
        let cols = info.columns as usize;
        let spp = info.samples_per_pixel as usize;
        let (x0, x1) = (r.x0 as usize, r.x1 as usize);
        for y in r.y0 as usize..r.y1 as usize {
            if info.is_422() {
                // Y1 Y2 Cb Cr for each pair of pixels: a pair half inside is painted whole.
                let pair = 4 * self.bytes;
                let row = y * (cols / 2 + cols % 2) * pair;
                for p in x0 / 2..x1.div_ceil(2) {
                    let at = row + p * pair;
                    for (k, v) in [fill[0], fill[0], fill[1], fill[2]].into_iter().enumerate() {
                        self.put(frame, at + k * self.bytes, v);
                    }
                }
            } else if info.planar {
                let plane = cols * info.rows as usize * self.bytes;
                for (s, &v) in fill.iter().enumerate().take(spp) {
                    for x in x0..x1 {
                        self.put(frame, s * plane + (y * cols + x) * self.bytes, v);
                    }
                }
            } else {
                for x in x0..x1 {
                    let at = (y * cols + x) * spp * self.bytes;
                    for (s, &v) in fill.iter().enumerate().take(spp) {
                        self.put(frame, at + s * self.bytes, v);
                    }
                }
            }
        }
    }

    /// Clears every bit outside [low bit, High Bit] of every sample.
    fn clear_unused_bits(&self, data: &mut [u8], info: &ImageInfo) {
        let keep = info.value_mask();
        let all = if self.bytes >= 4 {
            u32::MAX
        } else {
            (1u32 << (8 * self.bytes)) - 1
        };
        if keep & all == all {
            return;
        }
        let mut at = 0;
        while at + self.bytes <= data.len() {
            let v = self.get(data, at);
            if v & !keep != 0 {
                self.put(data, at, v & keep);
            }
            at += self.bytes;
        }
    }
}

/// Bits Allocated 1: pixels are bits, the first pixel in the least significant bit of the first
/// byte, frames following each other without padding (PS3.5 8.1.1).
fn mask_bits(data: &mut [u8], info: &ImageInfo, rects: &[Rect], frames: usize) {
    let on = info.fill()[0] & 1 == 1;
    let cols = info.columns as u64;
    for f in 0..frames as u64 {
        let base = f * info.pixels();
        for r in rects {
            for y in r.y0 as u64..r.y1 as u64 {
                for x in r.x0 as u64..r.x1 as u64 {
                    let bit = base + y * cols + x;
                    let (byte, m) = ((bit / 8) as usize, 1u8 << (bit % 8));
                    if on {
                        data[byte] |= m;
                    } else {
                        data[byte] &= !m;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pi: &str, spp: u16, ba: u16, bs: u16, signed: bool) -> ImageInfo {
        ImageInfo {
            rows: 4,
            columns: 4,
            samples_per_pixel: spp,
            bits_allocated: ba,
            bits_stored: bs,
            high_bit: bs - 1,
            signed,
            photometric: pi.into(),
            planar: false,
            frames: 2,
            darkest_index: None,
        }
    }

    const RECT: Rect = Rect {
        x0: 1,
        y0: 1,
        x1: 3,
        y1: 2,
    };

    #[test]
    fn monochrome_16_bit_signed_fills_the_minimum_and_clears_high_bits() {
        let i = info("MONOCHROME2", 1, 16, 12, true);
        let mut data: Vec<u8> = (0..32u16)
            .flat_map(|v| (v | 0xF000).to_le_bytes())
            .collect();
        mask(&mut data, &i, &[RECT], false).unwrap();
        let v: Vec<u16> = data
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        for f in 0..2 {
            for p in 0..16 {
                let inside = p / 4 == 1 && (1..3).contains(&(p % 4));
                let want = if inside { 0x800 } else { (f * 16 + p) as u16 };
                assert_eq!(v[f * 16 + p], want, "frame {f} pixel {p}");
            }
        }
    }

    #[test]
    fn monochrome1_big_endian_fills_the_maximum() {
        let i = info("MONOCHROME1", 1, 16, 16, false);
        let mut data = vec![0u8; 64];
        mask(&mut data, &i, &[RECT], true).unwrap();
        assert_eq!(&data[10..14], &[0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(&data[8..10], &[0, 0]);
    }

    #[test]
    fn ybr_422_pairs_and_planar_rgb() {
        let i = info("YBR_FULL_422", 3, 8, 8, false);
        let mut data = vec![200u8; 2 * 4 * 4 * 2];
        mask(
            &mut data,
            &i,
            &[Rect {
                x0: 1,
                y0: 0,
                x1: 2,
                y1: 1,
            }],
            false,
        )
        .unwrap();
        assert_eq!(&data[0..8], &[0, 0, 128, 128, 200, 200, 200, 200]);
        let mut p = info("RGB", 3, 8, 8, false);
        p.planar = true;
        let mut data = vec![9u8; 2 * 48];
        mask(
            &mut data,
            &p,
            &[Rect {
                x0: 0,
                y0: 0,
                x1: 1,
                y1: 1,
            }],
            false,
        )
        .unwrap();
        assert_eq!((data[0], data[16], data[32], data[1]), (0, 0, 0, 9));
        assert_eq!(data[48], 0, "second frame masked too");
    }

    #[test]
    fn bit_packed_and_short_data() {
        let i = info("MONOCHROME2", 1, 1, 1, false);
        let mut data = vec![0xFFu8; 4];
        mask(&mut data, &i, &[RECT], false).unwrap();
        assert_eq!(data, vec![!0b0110_0000u8, 0xFF, !0b0110_0000u8, 0xFF]);
        let mut short = vec![0u8; 10];
        assert!(
            mask(
                &mut short,
                &info("MONOCHROME2", 1, 8, 8, false),
                &[RECT],
                false
            )
            .is_err()
        );
    }
}
