//! From the model's probability map to boxes of text lines, in map pixels.
//!
//! The map is cut at [`PROB_THRESHOLD`] into connected components ("cores"). A core that looks
//! like a line (thin, compact, probable enough) becomes a line; one that does not (lines close
//! together melt into one ragged blob) is cut again at higher thresholds, where such lines
//! come apart. Each line's box is grown back by DBNet's unclip plus a margin proportional to its
//! height (masks must cover antialiased edges and glyph tips the core misses). Boxes on one line
//! across word gaps are then joined, and faint cores beside a line (an isolated letter, a
//! period) join it too: they never make a box on their own.

/// A pixel of the probability map belongs to text above this (PaddleOCR's `det_db_thresh`).
pub const PROB_THRESHOLD: f32 = 0.3;
/// A core is a line when its mean probability reaches this (PaddleOCR's `det_db_box_thresh`).
pub const BOX_THRESHOLD: f32 = 0.6;
/// Thresholds at which a core that is not line-like is cut again.
const SPLIT_THRESHOLDS: [f32; 2] = [0.5, 0.7];
/// DBNet's unclip ratio (PaddleOCR's `det_db_unclip_ratio`).
pub const UNCLIP_RATIO: f32 = 1.5;
/// Margin added on every side of a line's box, as a part of its core's thickness.
pub const MARGIN_RATIO: f32 = 0.3;
/// The thickest core a line may have, in image pixels (a line's core is about 0.7 of its cap
/// height): thicker blobs are anatomy (DBNet marks some mediastina and brains).
pub const MAX_CORE: f32 = 44.0;
/// The least part of its bounding box a line's core fills: cores are compact bands, the
/// components DBNet finds in anatomy are ragged (measured on the corpus: text 0.75–0.98,
/// false alarms 0.49–0.76).
pub const MIN_FILL: f32 = 0.65;
/// A long, confident band is a line at a lower fill: small text (punctuation and digits dip
/// below the band), and two lines touching at different heights, melt into such cores (measured
/// on the evaluation: 10 px lines at fill 0.58–0.62 and score 0.9 or more).
const BAND_LENGTH: f32 = 4.0;
const BAND_SCORE: f32 = 0.85;
const BAND_FILL: f32 = 0.5;
/// Boxes on one line join across a gap up to this many times the line's height (a word gap is
/// about one cap height; columns of a table are further apart).
pub const JOIN_GAP: f32 = 1.2;

/// A box in map pixels (half-open, floats) with its mean probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub score: f32,
}

impl MapBox {
    fn height(&self) -> f32 {
        self.y1 - self.y0
    }

    fn union(&self, o: &MapBox) -> MapBox {
        MapBox {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
            score: self.score.max(o.score),
        }
    }

    /// Whether `o` lies on this line: their vertical extents overlap by half the smaller,
    /// `o` is not much taller, and the horizontal gap is within [`JOIN_GAP`] line heights.
    fn on_line(&self, o: &MapBox) -> bool {
        let overlap = self.y1.min(o.y1) - self.y0.max(o.y0);
        let gap = (o.x0 - self.x1).max(self.x0 - o.x1);
        overlap * 2.0 >= self.height().min(o.height())
            && o.height() <= self.height() * 1.5
            && gap <= JOIN_GAP * self.height().max(o.height())
    }
}

/// A connected component of the map above a threshold.
#[derive(Debug, Clone)]
struct Core {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    pixels: Vec<usize>,
    sum: f64,
}

impl Core {
    fn width(&self) -> f32 {
        (self.x1 - self.x0 + 1) as f32
    }
    fn height(&self) -> f32 {
        (self.y1 - self.y0 + 1) as f32
    }
    fn score(&self) -> f32 {
        (self.sum / self.pixels.len().max(1) as f64) as f32
    }
    fn fill(&self) -> f32 {
        self.pixels.len() as f32 / (self.width() * self.height())
    }
    /// Thin and compact enough to be a line of text (its probability aside).
    fn line_shaped(&self, scale: f32) -> bool {
        let thick = self.width().min(self.height());
        let long = self.width().max(self.height());
        let band =
            long >= BAND_LENGTH * thick && self.score() >= BAND_SCORE && self.fill() >= BAND_FILL;
        (3.0..=MAX_CORE * scale).contains(&thick) && (self.fill() >= MIN_FILL || band)
    }
    /// Stricter, for a piece of a cut core: anatomy cut at a high threshold leaves compact
    /// pieces too, so a piece must be a confident, well-filled band at least 2.5 times as
    /// long as it is thick (measured: without this the cut tripled the false alarms on MR).
    fn clear_line(&self) -> bool {
        let (long, thick) = (
            self.width().max(self.height()),
            self.width().min(self.height()),
        );
        self.score() >= 0.75 && self.fill() >= 0.8 && long >= 2.5 * thick
    }

    /// The core grown back by unclip and the margin.
    fn grown(&self) -> MapBox {
        let (w, h) = (self.width(), self.height());
        let d = w * h * UNCLIP_RATIO / (2.0 * (w + h)) + MARGIN_RATIO * w.min(h);
        MapBox {
            x0: self.x0 as f32 - d,
            y0: self.y0 as f32 - d,
            x1: self.x1 as f32 + 1.0 + d,
            y1: self.y1 as f32 + 1.0 + d,
            score: self.score(),
        }
    }
}

/// What a pass found: its lines, and the doubtful ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lines {
    pub sure: Vec<MapBox>,
    /// Line-shaped and confident cores of a strict pass that are not clear lines, and that no
    /// cut of theirs made one: as often a short word or a line over anatomy as a ventricle or
    /// a loop of bowel, so they are lines only if a reader says so.
    pub doubtful: Vec<MapBox>,
}

/// The boxes of the text lines in a probability map of `w` × `h`.
/// `strict`: every line must be a [`Core::clear_line`] (for the extra passes, turned or
/// enlarged, whose false alarms on anatomy outnumber what they find otherwise).
pub fn boxes(prob: &[f32], (w, h): (usize, usize), scale: f32, split: bool, strict: bool) -> Lines {
    let h = h.min(prob.len() / w.max(1));
    let mut found = Found::default();
    for core in label(prob, w, (0, 0, w, h), PROB_THRESHOLD, None) {
        let cuts = if split { SPLIT_THRESHOLDS.len() } else { 0 };
        let cut = Cut {
            scale,
            depth: 0,
            cuts,
            clear: strict,
        };
        sort_core(prob, w, core, cut, &mut found);
    }
    let mut lines = join(found.lines);
    absorb(&mut lines, &found.faint);
    // Doubtful cores are read one by one: joined, lines and anatomy beside them would make
    // large boxes that read as nothing.
    Lines {
        sure: join(lines),
        doubtful: found.doubtful,
    }
}

/// The cores sorted so far.
#[derive(Debug, Default)]
struct Found {
    lines: Vec<MapBox>,
    /// Cores too faint to be a line, which may join one.
    faint: Vec<MapBox>,
    doubtful: Vec<MapBox>,
}

/// Where a core stands in the cutting: how many cuts were made, how many may be, and whether
/// it must be a clear line (a piece of a cut, or any core of a strict pass).
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// Map pixels per image pixel.
    scale: f32,
    depth: usize,
    cuts: usize,
    clear: bool,
}

/// Files a core as a line, as faint (it may join a line), or cuts it again; a line-shaped,
/// confident core that must be clear and is not is doubtful when no cut of it makes a line.
fn sort_core(prob: &[f32], w: usize, core: Core, cut: Cut, found: &mut Found) {
    let shaped = core.line_shaped(cut.scale);
    if shaped && (!cut.clear || core.clear_line()) {
        if core.score() >= BOX_THRESHOLD {
            found.lines.push(core.grown());
        } else {
            found.faint.push(core.grown());
        }
        return;
    }
    let before = (found.lines.len(), found.doubtful.len());
    if let Some(&t) = SPLIT_THRESHOLDS[..cut.cuts].get(cut.depth) {
        let win = (core.x0, core.y0, core.x1 + 1, core.y1 + 1);
        for part in label(prob, w, win, t, Some(&core.pixels)) {
            let deeper = Cut {
                depth: cut.depth + 1,
                clear: true,
                ..cut
            };
            sort_core(prob, w, part, deeper, found);
        }
    }
    // The whole core, not the pieces a cut doubted too (they are parts of it).
    if shaped && core.score() >= BOX_THRESHOLD && found.lines.len() == before.0 {
        found.doubtful.truncate(before.1);
        found.doubtful.push(core.grown());
    }
}

/// Connected components (8-neighbours) of the pixels above `threshold` within the window
/// `(x0, y0, x1, y1)`, and among `only` when given (sorted pixel indices).
fn label(
    prob: &[f32],
    w: usize,
    (wx0, wy0, wx1, wy1): (usize, usize, usize, usize),
    threshold: f32,
    only: Option<&[usize]>,
) -> Vec<Core> {
    let ww = wx1 - wx0;
    let local = |i: usize| (i / w - wy0) * ww + (i % w - wx0);
    let inside = |i: usize| prob[i] > threshold && only.is_none_or(|o| o.binary_search(&i).is_ok());
    let mut seen = vec![false; ww * (wy1 - wy0)];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for y in wy0..wy1 {
        for x in wx0..wx1 {
            let start = y * w + x;
            if seen[local(start)] || !inside(start) {
                continue;
            }
            seen[local(start)] = true;
            stack.push(start);
            let mut core = Core {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
                pixels: Vec::new(),
                sum: 0.0,
            };
            while let Some(i) = stack.pop() {
                let (px, py) = (i % w, i / w);
                (core.x0, core.y0) = (core.x0.min(px), core.y0.min(py));
                (core.x1, core.y1) = (core.x1.max(px), core.y1.max(py));
                core.sum += prob[i] as f64;
                core.pixels.push(i);
                for ny in py.saturating_sub(1).max(wy0)..(py + 2).min(wy1) {
                    for nx in px.saturating_sub(1).max(wx0)..(px + 2).min(wx1) {
                        let j = ny * w + nx;
                        if !seen[local(j)] && inside(j) {
                            seen[local(j)] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            core.pixels.sort_unstable();
            out.push(core);
        }
    }
    out
}

/// Joins the boxes that lie on one line, until none do.
fn join(mut boxes: Vec<MapBox>) -> Vec<MapBox> {
    let mut changed = true;
    while changed {
        changed = false;
        let mut i = 0;
        while i < boxes.len() {
            let found = (i + 1..boxes.len())
                .find(|&j| boxes[i].on_line(&boxes[j]) || boxes[j].on_line(&boxes[i]));
            if let Some(j) = found {
                let b = boxes.swap_remove(j);
                boxes[i] = boxes[i].union(&b);
                changed = true;
            } else {
                i += 1;
            }
        }
    }
    boxes
}

/// Faint cores on a line's row, within the gap, join that line.
fn absorb(lines: &mut [MapBox], faint: &[MapBox]) {
    for f in faint {
        if let Some(l) = lines.iter_mut().find(|l| l.on_line(f)) {
            *l = l.union(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map of `w` × `h` with rectangles of probability `p`.
    fn map(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.0; w * h];
        for &(x0, y0, x1, y1, p) in rects {
            for y in y0..y1 {
                m[y * w + x0..y * w + x1].fill(p);
            }
        }
        m
    }

    #[test]
    fn words_of_one_line_make_one_box() {
        let m = map(200, 40, &[(10, 10, 50, 18, 0.9), (58, 10, 120, 18, 0.9)]);
        let b = boxes(&m, (200, 40), 1.0, true, false).sure;
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].x0 < 10.0 && b[0].x1 > 120.0 && b[0].y0 < 10.0 && b[0].y1 > 18.0);
    }

    #[test]
    fn columns_far_apart_stay_apart() {
        let m = map(300, 40, &[(10, 10, 50, 18, 0.9), (150, 10, 200, 18, 0.9)]);
        assert_eq!(boxes(&m, (300, 40), 1.0, true, false).sure.len(), 2);
    }

    #[test]
    fn a_faint_letter_beside_a_line_joins_it_but_never_stands_alone() {
        let m = map(
            300,
            80,
            &[
                (10, 10, 16, 18, 0.45),
                (24, 10, 90, 18, 0.9),
                (200, 50, 206, 58, 0.45),
            ],
        );
        let b = boxes(&m, (300, 80), 1.0, true, false).sure;
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].x0 < 10.0 && b[0].x1 < 200.0);
    }

    #[test]
    fn lines_melted_at_the_low_threshold_come_apart_higher_up() {
        // Two lines whose cores touch through a band of 0.4 and a ragged edge.
        let m = map(
            200,
            60,
            &[
                (10, 10, 150, 18, 0.9),
                (10, 18, 60, 22, 0.4),
                (90, 18, 150, 30, 0.4),
                (10, 22, 150, 30, 0.9),
            ],
        );
        let b = boxes(&m, (200, 60), 1.0, true, false).sure;
        assert!(!b.is_empty(), "the melted lines are lost");
        let covered = |y: f32| b.iter().any(|b| b.y0 <= y && y <= b.y1);
        assert!(covered(11.0) && covered(29.0), "{b:?}");
    }

    #[test]
    fn ragged_and_thick_blobs_are_not_text() {
        // A 60-pixel-thick disc of high probability.
        let mut m = vec![0.0; 100 * 100];
        for y in 0..100 {
            for x in 0..100 {
                if (x as f32 - 50.0).hypot(y as f32 - 50.0) < 30.0 {
                    m[y * 100 + x] = 0.9;
                }
            }
        }
        assert_eq!(boxes(&m, (100, 100), 1.0, true, false), Lines::default());
    }

    #[test]
    fn two_lines_touching_at_different_heights_make_a_box() {
        // A line at rows 12..22 and another at 8..14, touching end to end: one confident core
        // stepped at x = 80, which fills about half its bounding box.
        let m = map(200, 40, &[(10, 12, 80, 22, 0.95), (80, 8, 190, 14, 0.95)]);
        let b = boxes(&m, (200, 40), 1.0, false, false).sure;
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].x0 < 10.0 && b[0].x1 > 190.0 && b[0].y0 < 8.0 && b[0].y1 > 22.0);
        // The same shape, short or unsure, stays anatomy.
        let short = map(200, 40, &[(10, 12, 30, 22, 0.95), (30, 8, 50, 14, 0.95)]);
        assert_eq!(
            boxes(&short, (200, 40), 1.0, false, false),
            Lines::default()
        );
        let unsure = map(200, 40, &[(10, 12, 80, 22, 0.7), (80, 8, 190, 14, 0.7)]);
        assert_eq!(
            boxes(&unsure, (200, 40), 1.0, false, false),
            Lines::default()
        );
    }

    #[test]
    fn a_strict_pass_doubts_a_line_that_is_not_clear() {
        // A confident band filling 0.73 of its box (a ragged top): a line upright, doubtful in
        // a strict pass.
        let mut m = map(200, 40, &[(10, 10, 120, 20, 0.9)]);
        for x in (10..120).filter(|x| x % 3 != 0) {
            for y in 10..14 {
                m[y * 200 + x] = 0.0;
            }
        }
        let lax = boxes(&m, (200, 40), 1.0, true, false);
        assert_eq!((lax.sure.len(), lax.doubtful.len()), (1, 0), "{lax:?}");
        let strict = boxes(&m, (200, 40), 1.0, true, true);
        assert!(strict.sure.is_empty(), "{strict:?}");
        assert_eq!(strict.doubtful.len(), 1);
        assert!(strict.doubtful[0].x0 < 10.0 && strict.doubtful[0].x1 > 120.0);
        // A clear band is sure in either pass, never doubtful.
        let clear = map(200, 40, &[(10, 10, 120, 20, 0.9)]);
        let b = boxes(&clear, (200, 40), 1.0, true, true);
        assert_eq!((b.sure.len(), b.doubtful.len()), (1, 0));
        // Unsure or thick-blob cores are neither.
        let unsure = boxes(
            &map(200, 40, &[(10, 10, 120, 20, 0.5)]),
            (200, 40),
            1.0,
            true,
            true,
        );
        assert!(unsure.doubtful.is_empty());
    }
}
