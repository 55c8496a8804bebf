//! Downscaling by area averaging: each output pixel is the mean of the source area it covers,
//! partial pixels weighted by their share. Nearest-neighbour sampling would drop thin lines
//! and turn fine texture into moiré; a reviewer scanning thumbnails for burned-in text needs
//! the text's strokes to survive as grey.

use super::Rgba;

/// The size that fits `max_side` with the aspect kept, never larger than the source.
pub(crate) fn fit(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_side {
        return (width, height);
    }
    let scale = max_side as f64 / longest as f64;
    let side = |s: u32| ((s as f64 * scale).round() as u32).clamp(1, max_side);
    (side(width), side(height))
}

/// For each output index, the source indices it covers and their weights (summing to 1).
fn weights(src: u32, dst: u32) -> Vec<Vec<(usize, f32)>> {
    let ratio = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            let (a, b) = (o as f64 * ratio, (o + 1) as f64 * ratio);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(src as usize);
            (first..last)
                .map(|i| {
                    let overlap = (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0);
                    (i, (overlap / ratio) as f32)
                })
                .filter(|&(_, w)| w > 0.0)
                .collect()
        })
        .collect()
}

/// `img` averaged down to `width` × `height` (separably: rows first, then columns).
pub(crate) fn downscale(img: &Rgba, width: u32, height: u32) -> Rgba {
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (dw, dh) = (width as usize, height as usize);
    let wx = weights(img.width, width);
    let wy = weights(img.height, height);
    // Rows: sh × dw pixels of 4 channels, in f32.
    let mut rows = vec![0f32; sh * dw * 4];
    for y in 0..sh {
        let src = &img.data[y * sw * 4..][..sw * 4];
        for (x, taps) in wx.iter().enumerate() {
            let out = &mut rows[(y * dw + x) * 4..][..4];
            for &(i, w) in taps {
                for c in 0..4 {
                    out[c] += src[i * 4 + c] as f32 * w;
                }
            }
        }
    }
    let mut data = vec![0u8; dw * dh * 4];
    for (y, taps) in wy.iter().enumerate() {
        for x in 0..dw {
            let mut acc = [0f32; 4];
            for &(j, w) in taps {
                let p = &rows[(j * dw + x) * 4..][..4];
                for c in 0..4 {
                    acc[c] += p[c] * w;
                }
            }
            let out = &mut data[(y * dw + x) * 4..][..4];
            for c in 0..4 {
                out[c] = acc[c].round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Rgba {
        width,
        height,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_keeps_aspect() {
        assert_eq!(fit(512, 256, 128), (128, 64));
        assert_eq!(fit(100, 50, 128), (100, 50));
        assert_eq!(fit(3000, 2, 256), (256, 1));
    }

    #[test]
    fn weights_sum_to_one() {
        for (s, d) in [(7, 3), (512, 128), (5, 5), (640, 256)] {
            for taps in weights(s, d) {
                let sum: f32 = taps.iter().map(|t| t.1).sum();
                assert!((sum - 1.0).abs() < 1e-4, "{s}->{d}: {sum}");
            }
        }
    }
}
