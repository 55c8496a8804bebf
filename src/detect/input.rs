//! What the model is shown: the frame at the scale chosen for it (small frames enlarged so that
//! 8–12 px text reaches the size the model was trained on, very large ones shrunk to bound the
//! cost), upright or turned a quarter for vertical text, cut into overlapping tiles so that the
//! memory of one run stays bounded whatever the frame's size.
// Without the model (no `detect` feature) nothing runs tiles.
#![cfg_attr(not(feature = "detect"), allow(dead_code))]

use crate::render::Rgba;

/// Frames whose longer side is at most this are enlarged twice before detection (0: never).
/// Off: measured on the evaluation, enlarging frames up to 400 px found 4 more lines of 623
/// (≥ 10 px) and 1 of 89 at 8 px, but raised false alarms on MR from 7 to 12 of 144 images and
/// the MR cost 1.5× (BENCHMARKS.md).
pub const UPSCALE_BELOW: u32 = 0;
/// Frames whose longer side exceeds this are shrunk to it (cost grows with the area; tiles keep
/// the memory bounded, not the time).
pub const MAX_SIDE: u32 = 2048;
/// The side of a tile of model input, a multiple of 32.
pub const TILE: usize = 1024;
/// How far tiles overlap; each keeps only its inner part, so a line near a tile's edge is seen
/// with this much context on either side.
pub const OVERLAP: usize = 128;

/// A picture in model-input pixels: RGB as 0–255 floats, row by row.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<[f32; 3]>,
}

/// The frame resampled by `scale`: area average when shrinking (thin strokes survive),
/// bilinear when enlarging.
pub fn picture(frame: &Rgba, scale: f32) -> Picture {
    let (fw, fh) = (frame.width as usize, frame.height as usize);
    if fw == 0 || fh == 0 || frame.data.len() < fw * fh * 4 {
        return Picture {
            width: 0,
            height: 0,
            rgb: Vec::new(),
        };
    }
    let w = ((fw as f32 * scale).round() as usize).max(1);
    let h = ((fh as f32 * scale).round() as usize).max(1);
    let px = |x: usize, y: usize| {
        let i = (y * fw + x) * 4;
        [0, 1, 2].map(|c| frame.data[i + c] as f32)
    };
    let mut rgb = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            rgb.push(if scale == 1.0 {
                px(x, y)
            } else if scale < 1.0 {
                area_average(&px, (x, y), scale, (fw, fh))
            } else {
                bilinear(&px, (x, y), scale, (fw, fh))
            });
        }
    }
    Picture {
        width: w,
        height: h,
        rgb,
    }
}

fn area_average(
    px: &impl Fn(usize, usize) -> [f32; 3],
    (x, y): (usize, usize),
    scale: f32,
    (fw, fh): (usize, usize),
) -> [f32; 3] {
    let (sx0, sx1) = span(x, scale, fw);
    let (sy0, sy1) = span(y, scale, fh);
    let mut acc = [0f32; 3];
    for yy in sy0..sy1 {
        for xx in sx0..sx1 {
            let p = px(xx, yy);
            for c in 0..3 {
                acc[c] += p[c];
            }
        }
    }
    let n = ((sx1 - sx0) * (sy1 - sy0)).max(1) as f32;
    acc.map(|a| a / n)
}

fn span(i: usize, scale: f32, len: usize) -> (usize, usize) {
    let a = ((i as f32 / scale) as usize).min(len - 1);
    let b = (((i + 1) as f32 / scale).ceil() as usize).clamp(a + 1, len);
    (a, b)
}

fn bilinear(
    px: &impl Fn(usize, usize) -> [f32; 3],
    (x, y): (usize, usize),
    scale: f32,
    (fw, fh): (usize, usize),
) -> [f32; 3] {
    let sx = ((x as f32 + 0.5) / scale - 0.5).clamp(0.0, (fw - 1) as f32);
    let sy = ((y as f32 + 0.5) / scale - 0.5).clamp(0.0, (fh - 1) as f32);
    let (x0, y0) = (sx as usize, sy as usize);
    let (x1, y1) = ((x0 + 1).min(fw - 1), (y0 + 1).min(fh - 1));
    let (ax, ay) = (sx - x0 as f32, sy - y0 as f32);
    let (p00, p10, p01, p11) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    [0, 1, 2].map(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * ax;
        let bottom = p01[c] + (p11[c] - p01[c]) * ax;
        top + (bottom - top) * ay
    })
}

/// The picture turned a quarter counter-clockwise: text that reads top to bottom becomes
/// upright. Pixel (x', y') of the result is (width − 1 − y', x') of the picture.
pub fn rotated(p: &Picture) -> Picture {
    let (w, h) = (p.height, p.width);
    let mut rgb = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            rgb.push(p.rgb[x * p.width + (p.width - 1 - y)]);
        }
    }
    Picture {
        width: w,
        height: h,
        rgb,
    }
}

/// One run of the model: a window of the picture (`x`, `y`, `w`, `h`), and the part of its
/// output kept (`keep_*`, in picture coordinates, half-open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tile {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
    pub keep_x: (usize, usize),
    pub keep_y: (usize, usize),
}

/// Tiles covering a picture: one when it fits in [`TILE`], else overlapping tiles whose kept
/// parts partition the picture.
pub fn tiles(width: usize, height: usize) -> Vec<Tile> {
    let xs = spans(width);
    let ys = spans(height);
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    for &(y, h, keep_y) in &ys {
        for &(x, w, keep_x) in &xs {
            out.push(Tile {
                x,
                y,
                w,
                h,
                keep_x,
                keep_y,
            });
        }
    }
    out
}

/// Windows along one axis: (start, length, kept range).
fn spans(len: usize) -> Vec<(usize, usize, (usize, usize))> {
    if len <= TILE {
        return vec![(0, len, (0, len))];
    }
    let step = TILE - OVERLAP;
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let start_c = start.min(len - TILE);
        let last = start_c + TILE >= len;
        let keep0 = if out.is_empty() {
            0
        } else {
            start_c + OVERLAP / 2
        };
        let keep1 = if last {
            len
        } else {
            start_c + TILE - OVERLAP / 2
        };
        out.push((start_c, TILE, (keep0, keep1)));
        if last {
            return fix_first_keeps(out);
        }
        start += step;
    }
}

/// The last window may start earlier than the step (it is pushed back to end at the picture's
/// edge): each window keeps from where the previous one stopped.
fn fix_first_keeps(
    mut v: Vec<(usize, usize, (usize, usize))>,
) -> Vec<(usize, usize, (usize, usize))> {
    for i in 1..v.len() {
        v[i].2.0 = v[i - 1].2.1;
    }
    v
}

/// The model's input for a window of the picture, NCHW with channels B, G, R (PaddleOCR reads
/// images as BGR), normalised with ImageNet's mean and deviation, padded (black) to multiples
/// of 32; returns the data and the padded width and height.
pub fn tensor(p: &Picture, t: &Tile) -> (Vec<f32>, usize, usize) {
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    let (pw, ph) = (t.w.div_ceil(32) * 32, t.h.div_ceil(32) * 32);
    let mut data = vec![0f32; 3 * pw * ph];
    for (c, plane) in data.chunks_exact_mut(pw * ph).enumerate() {
        plane.fill(-MEAN[c] / STD[c]);
        for y in 0..t.h {
            let row = &p.rgb[(t.y + y) * p.width + t.x..][..t.w];
            for (x, v) in row.iter().enumerate() {
                // Plane 0 is blue.
                plane[y * pw + x] = (v[2 - c] / 255.0 - MEAN[c]) / STD[c];
            }
        }
    }
    (data, pw, ph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_parts_of_the_tiles_partition_the_picture() {
        for len in [1, 31, 1024, 1025, 1800, 2048, 3000] {
            let s = spans(len);
            assert_eq!(s[0].2.0, 0, "{len}");
            assert_eq!(s.last().unwrap().2.1, len, "{len}");
            for w in s.windows(2) {
                assert_eq!(w[0].2.1, w[1].2.0, "{len}: {s:?}");
            }
            for (start, l, (k0, k1)) in &s {
                assert!(
                    start + l <= len && start <= k0 && k1 <= &(start + l),
                    "{len}: {s:?}"
                );
                // Every kept pixel but those at the picture's edges has context on both sides.
                assert!(*k0 == 0 || k0 - start >= OVERLAP / 2 - 1, "{len}: {s:?}");
            }
        }
        assert_eq!(tiles(3000, 500).len(), 4);
    }

    #[test]
    fn a_quarter_turn_puts_the_top_row_in_the_left_column() {
        let p = Picture {
            width: 3,
            height: 2,
            rgb: (0..6).map(|i| [i as f32; 3]).collect(),
        };
        let r = rotated(&p);
        assert_eq!((r.width, r.height), (2, 3));
        // Top row 0 1 2 becomes the left column read bottom to top.
        let col: Vec<f32> = (0..3).map(|y| r.rgb[y * 2][0]).collect();
        assert_eq!(col, vec![2.0, 1.0, 0.0]);
        assert_eq!(r.rgb[2 * 2 + 1][0], 3.0);
    }

    #[test]
    fn small_frames_are_enlarged_and_huge_ones_shrunk() {
        let t = crate::detect::Tuning {
            upscale_below: 400,
            ..Default::default()
        };
        assert_eq!(t.scale(256, 256), 2.0);
        assert_eq!(t.scale(512, 512), 1.0);
        assert_eq!(t.scale(4096, 1000), 0.5);
        let f = Rgba {
            width: 2,
            height: 1,
            data: vec![0, 0, 0, 255, 200, 200, 200, 255],
        };
        let p = picture(&f, 2.0);
        assert_eq!((p.width, p.height), (4, 2));
        assert_eq!(p.rgb[0][0], 0.0);
        assert_eq!(p.rgb[3][0], 200.0);
        assert!(p.rgb[1][0] > 0.0 && p.rgb[1][0] < 200.0);
    }
}
