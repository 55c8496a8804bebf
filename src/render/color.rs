//! Colour images to RGB, 8 bits a sample (PS3.3 C.7.6.3.1.2): RGB as is, YBR full or partial
//! range through the matrices of that section, native 4:2:2 pairs shared between two pixels,
//! colour-by-plane interleaved, and PALETTE COLOR through its tables.

use super::lut::Palette;
use super::samples::Stored;
use crate::error::{Error, Result};

/// RGB triplets of one frame of `pixels` pixels.
pub(crate) fn to_rgb(
    s: &Stored,
    pixels: usize,
    columns: usize,
    bits_stored: u16,
) -> Result<Vec<u8>> {
    let to8 = |v: i64| -> u8 {
        let v = v.max(0);
        let v = if bits_stored > 8 {
            v >> (bits_stored - 8)
        } else {
            v << (8 - bits_stored)
        };
        v.min(255) as u8
    };
    let triplets = if s.pairs {
        pairs_422(&s.values, pixels, columns, to8)
    } else if s.planar {
        let plane = |c: usize| &s.values[c * pixels..(c + 1) * pixels];
        let (r, g, b) = (plane(0), plane(1), plane(2));
        (0..pixels)
            .map(|i| [to8(r[i]), to8(g[i]), to8(b[i])])
            .collect()
    } else {
        s.values
            .chunks_exact(3)
            .map(|c| [to8(c[0]), to8(c[1]), to8(c[2])])
            .collect()
    };
    let convert: fn([u8; 3]) -> [u8; 3] = match s.photometric.as_str() {
        "RGB" => |p| p,
        "YBR_FULL" | "YBR_FULL_422" => ybr_full,
        p if p.starts_with("YBR_PARTIAL") => ybr_partial,
        _ => {
            return Err(Error::Unsupported(format!(
                "colour images with Photometric Interpretation {} cannot be displayed",
                s.photometric
            )));
        }
    };
    Ok(triplets.into_iter().flat_map(convert).collect())
}

/// Native YBR_FULL_422 / YBR_PARTIAL_422: each pair of pixels in a row stores Y1 Y2 Cb Cr
/// (C.7.6.3.1.2); an odd last column uses its pair's first luminance.
fn pairs_422(v: &[i64], pixels: usize, columns: usize, to8: impl Fn(i64) -> u8) -> Vec<[u8; 3]> {
    let rows = pixels / columns.max(1);
    let pairs_per_row = columns.div_ceil(2);
    let mut out = Vec::with_capacity(pixels);
    for r in 0..rows {
        for x in 0..columns {
            let q = &v[(r * pairs_per_row + x / 2) * 4..][..4];
            out.push([to8(q[x % 2]), to8(q[2]), to8(q[3])]);
        }
    }
    out
}

fn clamp8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// Full-range Y Cb Cr to R G B (C.7.6.3.1.2, the inverse of its YBR_FULL equations).
pub(crate) fn ybr_full([y, cb, cr]: [u8; 3]) -> [u8; 3] {
    let (y, cb, cr) = (y as f32, cb as f32 - 128.0, cr as f32 - 128.0);
    [
        clamp8(y + 1.402 * cr),
        clamp8(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp8(y + 1.772 * cb),
    ]
}

/// Partial-range (Y 16-235, Cb Cr 16-240) Y Cb Cr to R G B (C.7.6.3.1.2's YBR_PARTIAL_422).
fn ybr_partial([y, cb, cr]: [u8; 3]) -> [u8; 3] {
    let (y, cb, cr) = (
        1.164_383 * (y as f32 - 16.0),
        cb as f32 - 128.0,
        cr as f32 - 128.0,
    );
    [
        clamp8(y + 1.596_027 * cr),
        clamp8(y - 0.391_762 * cb - 0.812_968 * cr),
        clamp8(y + 2.017_232 * cb),
    ]
}

/// A PALETTE COLOR frame through its tables.
pub(crate) fn palette(s: &Stored, p: &Palette) -> Vec<u8> {
    s.values.iter().flat_map(|&v| p.rgb(v)).collect()
}
