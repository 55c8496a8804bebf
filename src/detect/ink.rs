//! Glyphs the model left out at the ends of a line, taken back from the image itself.
//!
//! DBNet often gives nothing for a letter standing alone ("L" of "L KIDNEY") or for the first
//! glyphs of a line that runs onto anatomy, and then the line's box, used as a mask, leaves them
//! visible (the misses looked at in the evaluation, BENCHMARKS.md). Here each box learns its
//! text's ink and background from its own pixels (the two sides of an Otsu split, when they
//! differ clearly), then walks outward along the line, slice by slice, over slices of ink on
//! that background. The walk is kept only when it ends cleanly: on a run of background slices
//! wider than a word gap, at the frame's edge, or past at least one background slice where
//! something else begins (the edge of a plate behind the text). A walk that runs on into
//! texture is anatomy, not text, and the box keeps its ends. Nothing here makes a box: an image
//! without one gets none.

use crate::pixels::Rect;
use crate::render::Rgba;

/// The least difference between the mean of the ink and of the background inside a box, in
/// grey levels, for its ink to be told apart (the evaluation counts ink the same way).
const MIN_CONTRAST: f32 = 32.0;
/// How far a box may grow at each end, in box thicknesses (an isolated glyph one space away
/// is within about one).
const MAX_GROWTH: f32 = 2.5;
/// The run of slices without ink that ends a walk, in box thicknesses: wider than a word gap
/// (a third of a thickness), so that words the model dropped at the ends are taken back.
const END_GAP: f32 = 0.6;
/// A slice whose ink fills more than this part of it is full (a stroke along it)...
const MAX_SLICE_INK: f32 = 0.85;
/// ...and more full slices in a row than this part of a box's thickness are a solid region,
/// wider than any stroke.
const SOLID: f32 = 0.4;
/// A slice with this much more of its pixels neither ink nor background than the box has is
/// something else (anatomy past the edge of the plate the text is written on).
const MAX_OTHER: f32 = 0.1;
/// The part of a box's thickness, about its middle, that is read: a line's glyphs fill about
/// 0.6 of its box (the core is 0.7 of the cap height, grown by unclip and margin).
const BAND: f32 = 0.6;
/// The margin kept past the last ink taken back, in box thicknesses.
const MARGIN: f32 = 0.15;

/// The box grown over the glyphs at its ends that the model missed; `horizontal`: the line
/// runs across the frame (the upright pass), not down it (the turned pass), whatever the box's
/// shape (a box of one or two glyphs is taller than wide).
pub fn extend(frame: &Rgba, r: Rect, horizontal: bool) -> Rect {
    match Ink::of(frame, &r, horizontal) {
        Some(ink) => ink.grow(frame, &r, horizontal),
        None => r,
    }
}

/// Which grey levels are ink, and which are the background, in one box.
struct Ink {
    threshold: f32,
    /// Ink is above the threshold (light text) or below it (dark text).
    light: bool,
    /// The background's mean level and how far from it a pixel still is background.
    background: f32,
    tolerance: f32,
    /// The part of the box's pixels that are neither.
    other: f32,
}

/// A box is small, a glyph or two, when it is no longer than this many times its thickness...
const SMALL_ASPECT: u32 = 3;
/// ...and no thicker than this, in pixels (the box of a line about 12 px high).
const SMALL_THICKNESS: u32 = 24;
/// Ink components smaller than this, in pixels, are specks, not strokes.
const SPECK: usize = 3;

/// Whether a small box holds something a glyph could be: its ink (the minority side of an
/// Otsu split) has at least one component that fits inside the box one way across (clear of
/// its left and right edges, or of its top and bottom), and at most one speck.
/// The model's small boxes on noise (specks everywhere) and on the rim of a bright region (ink
/// running out of the box) fail; a glyph lies inside its box, which is the core grown by a
/// margin. Larger boxes are always kept: over anatomy they are what covers the text.
pub fn holds_glyphs(frame: &Rgba, r: &Rect) -> bool {
    let (w, h) = (r.x1 - r.x0, r.y1 - r.y0);
    let (long, thick) = (w.max(h), w.min(h));
    if thick == 0 || long >= SMALL_ASPECT * thick || thick > SMALL_THICKNESS {
        return true;
    }
    let Some((threshold, below, above)) = otsu(&histogram(frame, r)) else {
        return false;
    };
    let light = above.count <= below.count;
    let ink = |x: u32, y: u32| (grey(frame, x, y) as f32 > threshold) == light;
    // An edge of the box on the frame's edge does not count: the glyph may touch it.
    let (left, top) = (r.x0 > 0, r.y0 > 0);
    let (right, bottom) = (r.x1 < frame.width, r.y1 < frame.height);
    // A glyph fits inside its box at least one way across: a rim or a band of a region runs
    // out of it both ways (a glyph may meet a box's end, or a line crossing the text).
    let fits = |c: &[(u32, u32)]| {
        let meets = |f: &dyn Fn(&(u32, u32)) -> bool| c.iter().any(f);
        let across = !(left && meets(&|p| p.0 == r.x0) || right && meets(&|p| p.0 + 1 == r.x1));
        let down = !(top && meets(&|p| p.1 == r.y0) || bottom && meets(&|p| p.1 + 1 == r.y1));
        across || down
    };
    let (mut specks, mut inside) = (0, false);
    for component in components(r, ink) {
        if component.len() < SPECK {
            specks += 1;
        } else if fits(&component) {
            inside = true;
        }
    }
    inside && specks <= 1
}

/// The 8-connected components of the pixels of `r` for which `inside` holds.
fn components(r: &Rect, inside: impl Fn(u32, u32) -> bool) -> Vec<Vec<(u32, u32)>> {
    let w = (r.x1 - r.x0) as usize;
    let mut seen = vec![false; w * (r.y1 - r.y0) as usize];
    let index = |x: u32, y: u32| (y - r.y0) as usize * w + (x - r.x0) as usize;
    let mut out = Vec::new();
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            if seen[index(x, y)] || !inside(x, y) {
                continue;
            }
            seen[index(x, y)] = true;
            let (mut stack, mut component) = (vec![(x, y)], Vec::new());
            while let Some((px, py)) = stack.pop() {
                component.push((px, py));
                for ny in py.saturating_sub(1).max(r.y0)..(py + 2).min(r.y1) {
                    for nx in px.saturating_sub(1).max(r.x0)..(px + 2).min(r.x1) {
                        if !seen[index(nx, ny)] && inside(nx, ny) {
                            seen[index(nx, ny)] = true;
                            stack.push((nx, ny));
                        }
                    }
                }
            }
            out.push(component);
        }
    }
    out
}

/// What one slice across the line holds.
enum Slice {
    /// Background only.
    Clear,
    /// Strokes of ink on the background.
    Glyphs,
    /// Ink across the whole slice: a stroke along it, or a solid region if many follow.
    Full,
    /// Pixels that are neither ink nor the background.
    Other,
}

impl Ink {
    /// The ink of the box, if the pixels of its middle band split clearly into ink and
    /// background.
    fn of(frame: &Rgba, r: &Rect, horizontal: bool) -> Option<Ink> {
        let r = &band(r, horizontal);
        let (threshold, below, above) = otsu(&histogram(frame, r))?;
        if (above.mean - below.mean) < MIN_CONTRAST {
            return None;
        }
        let light = above.count <= below.count;
        let background = if light { below } else { above };
        let mut ink = Ink {
            threshold,
            light,
            background: background.mean,
            tolerance: (3.0 * background.deviation).max(MIN_CONTRAST / 2.0),
            other: 0.0,
        };
        // The box's own share of other pixels (its margin may reach past a plate's edge): a
        // slice is something else only with clearly more.
        let pixels = (r.y0..r.y1).flat_map(|y| (r.x0..r.x1).map(move |x| (x, y)));
        let (other, n) = pixels.fold((0u32, 0u32), |(o, n), (x, y)| {
            let v = grey(frame, x, y);
            (o + (!ink.is_ink(v) && !ink.is_background(v)) as u32, n + 1)
        });
        ink.other = other as f32 / n.max(1) as f32;
        Some(ink)
    }

    fn is_ink(&self, level: u8) -> bool {
        (level as f32 > self.threshold) == self.light
    }

    fn is_background(&self, level: u8) -> bool {
        (level as f32 - self.background).abs() <= self.tolerance
    }

    /// What the pixels of one slice hold.
    fn classify(&self, levels: impl Iterator<Item = u8>) -> Slice {
        let (mut ink, mut other, mut n) = (0, 0, 0);
        for v in levels {
            n += 1;
            if self.is_ink(v) {
                ink += 1;
            } else if !self.is_background(v) {
                other += 1;
            }
        }
        let n = n as f32;
        if other as f32 > (self.other + MAX_OTHER) * n {
            Slice::Other
        } else if ink as f32 > MAX_SLICE_INK * n {
            Slice::Full
        } else if ink == 0 {
            Slice::Clear
        } else {
            Slice::Glyphs
        }
    }

    /// The box with each end moved to the last ink of a walk that ends on background.
    fn grow(&self, frame: &Rgba, r: &Rect, horizontal: bool) -> Rect {
        let thick = if horizontal { r.y1 - r.y0 } else { r.x1 - r.x0 } as f32;
        let steps = (MAX_GROWTH * thick).ceil() as u32;
        let gap = (END_GAP * thick).ceil().max(2.0) as u32;
        let margin = (MARGIN * thick).round() as u32;
        // The slice at position `p` along the line, across the box's middle band.
        let middle = band(r, horizontal);
        let slice = |p: u32| {
            let across = if horizontal {
                middle.y0..middle.y1
            } else {
                middle.x0..middle.x1
            };
            self.classify(across.map(|q| {
                let (x, y) = if horizontal { (p, q) } else { (q, p) };
                grey(frame, x, y)
            }))
        };
        let (start, end, limit) = if horizontal {
            (r.x0, r.x1, frame.width)
        } else {
            (r.y0, r.y1, frame.height)
        };
        let limits = Walk {
            steps,
            gap,
            solid: (SOLID * thick).ceil() as u32,
        };
        let before = limits.walk((0..start).rev(), &slice);
        let after = limits.walk(end..limit, &slice);
        let new_start = before.map_or(start, |p| p.saturating_sub(margin));
        let new_end = after.map_or(end, |p| (p + 1 + margin).min(limit));
        if horizontal {
            Rect {
                x0: new_start,
                x1: new_end,
                ..*r
            }
        } else {
            Rect {
                y0: new_start,
                y1: new_end,
                ..*r
            }
        }
    }
}

/// The middle of a box across its line ([`BAND`] of its thickness), where the glyphs are: the
/// margins may reach past the plate the text is written on.
fn band(r: &Rect, horizontal: bool) -> Rect {
    let cut = |lo: u32, hi: u32| {
        let trim = ((hi - lo) as f32 * (1.0 - BAND) / 2.0).floor() as u32;
        (lo + trim, hi - trim)
    };
    if horizontal {
        let (y0, y1) = cut(r.y0, r.y1);
        Rect { y0, y1, ..*r }
    } else {
        let (x0, x1) = cut(r.x0, r.x1);
        Rect { x0, x1, ..*r }
    }
}

/// How far a walk may go, in slices.
struct Walk {
    steps: u32,
    /// Clear slices in a row that end it.
    gap: u32,
    /// Full slices in a row that make a solid region.
    solid: u32,
}

impl Walk {
    /// Walks the slices at `positions` (outward from a box's end, to the frame's edge; glyphs
    /// up to `steps` of them): the last slice of glyphs when the walk ends cleanly (a gap, the frame's edge, or something
    /// else past a clear slice); `None` when there were no glyphs, or the walk ran on into
    /// texture or a solid region.
    fn walk(
        &self,
        positions: impl Iterator<Item = u32>,
        slice: &impl Fn(u32) -> Slice,
    ) -> Option<u32> {
        let (mut last, mut clear, mut full) = (None, 0, 0);
        // The clear slices just before a run of full ones under way, and its last slice.
        let (mut clear_before, mut full_at) = (0, None);
        for (taken, p) in positions.enumerate() {
            let s = slice(p);
            // Past the last step only a gap may follow (it ends the walk cleanly).
            if taken as u32 >= self.steps && !matches!(s, Slice::Clear) {
                return None;
            }
            match s {
                Slice::Full => {
                    if full == 0 {
                        clear_before = clear;
                    }
                    full += 1;
                    full_at = Some(p);
                    clear = 0;
                    if full > self.solid {
                        // A solid region: it ends the walk as something else does.
                        return if clear_before > 0 { last } else { None };
                    }
                    continue;
                }
                s => {
                    if full > 0 {
                        // A stroke, not a region: its slices were glyphs.
                        last = full_at;
                        full = 0;
                    }
                    match s {
                        Slice::Clear => {
                            clear += 1;
                            if clear >= self.gap {
                                return last;
                            }
                        }
                        Slice::Other => return if clear > 0 { last } else { None },
                        _ => {
                            clear = 0;
                            last = Some(p);
                        }
                    }
                }
            }
        }
        // The frame's edge.
        if full > 0 { full_at } else { last }
    }
}

/// The grey levels of the pixels of `r`, counted.
fn histogram(frame: &Rgba, r: &Rect) -> [u32; 256] {
    let mut counts = [0u32; 256];
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            counts[grey(frame, x, y) as usize] += 1;
        }
    }
    counts
}

/// Count, mean and standard deviation of one side of a threshold.
struct Side {
    count: u64,
    mean: f32,
    deviation: f32,
}

/// Otsu's threshold of a histogram (the level that best separates two classes) and the two
/// classes, below and above it; `None` when all pixels share one level.
fn otsu(histogram: &[u32; 256]) -> Option<(f32, Side, Side)> {
    let total: u64 = histogram.iter().map(|&c| c as u64).sum();
    let sum: f64 = histogram
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum();
    let (mut count, mut below) = (0u64, 0f64);
    let mut best: Option<(f64, usize)> = None;
    for (level, &c) in histogram.iter().enumerate().take(255) {
        count += c as u64;
        below += level as f64 * c as f64;
        if count == 0 || count == total {
            continue;
        }
        let above = (total - count) as f64;
        let gap = below / count as f64 - (sum - below) / above;
        let between = count as f64 * above * gap * gap;
        if best.is_none_or(|(b, _)| between > b) {
            best = Some((between, level));
        }
    }
    let (_, level) = best?;
    Some((
        level as f32 + 0.5,
        side(&histogram[..=level], 0),
        side(&histogram[level + 1..], level + 1),
    ))
}

/// Count, mean and deviation of the levels `first..` counted in `bins`.
fn side(bins: &[u32], first: usize) -> Side {
    let levels = || {
        bins.iter()
            .enumerate()
            .map(|(i, &c)| ((first + i) as f64, c as f64))
    };
    let count: f64 = levels().map(|(_, c)| c).sum();
    let mean = levels().map(|(v, c)| v * c).sum::<f64>() / count;
    let variance = levels().map(|(v, c)| c * (v - mean).powi(2)).sum::<f64>() / count;
    Side {
        count: count as u64,
        mean: mean as f32,
        deviation: variance.sqrt() as f32,
    }
}

/// The grey level of a pixel (ITU-R BT.601 luma).
fn grey(frame: &Rgba, x: u32, y: u32) -> u8 {
    let i = (y as usize * frame.width as usize + x as usize) * 4;
    let [r, g, b] = [0, 1, 2].map(|c| frame.data[i + c] as u32);
    ((299 * r + 587 * g + 114 * b + 500) / 1000) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey frame of `w` × `h` whose pixel at (x, y) has the level `level(x, y)`.
    fn painted(w: u32, h: u32, level: impl Fn(u32, u32) -> u8) -> Rgba {
        let mut data = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let v = level(x, y);
                data.extend_from_slice(&[v, v, v, 255]);
            }
        }
        Rgba {
            width: w,
            height: h,
            data,
        }
    }

    /// A grey frame of `w` × `h` at `background`, with `blocks` (x0, y0, x1, y1) at `level`.
    fn frame(w: u32, h: u32, background: u8, blocks: &[(u32, u32, u32, u32)], level: u8) -> Rgba {
        painted(w, h, |x, y| {
            let inside = blocks
                .iter()
                .any(|&(x0, y0, x1, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y));
            if inside { level } else { background }
        })
    }

    /// Glyph-like strokes: 3 px wide, 12 px tall, every 7 px from `x0` to `x1`, rows 20..32.
    fn strokes(x0: u32, x1: u32) -> Vec<(u32, u32, u32, u32)> {
        (x0..x1).step_by(7).map(|x| (x, 20, x + 3, 32)).collect()
    }

    fn rect(x0: u32, y0: u32, x1: u32, y1: u32) -> Rect {
        Rect { x0, y0, x1, y1 }
    }

    #[test]
    fn a_letter_standing_alone_before_the_line_is_taken_back() {
        // "L" at 30..33, a word gap, then the word the model found at 44..100.
        let mut blocks = vec![(30, 20, 33, 32)];
        blocks.extend(strokes(44, 100));
        let f = frame(200, 60, 10, &blocks, 230);
        let b = extend(&f, rect(42, 16, 100, 36), true);
        assert!(b.x0 <= 30, "{:?}", b);
        assert!(b.x0 >= 25, "no further than the letter and its margin");
        assert_eq!(b.x1, 100, "nothing after the line: the end stays");
        assert_eq!((b.y0, b.y1), (16, 36), "the height stays");
    }

    #[test]
    fn a_box_of_two_glyphs_grows_along_its_line_not_across() {
        // The box of "K" alone (taller than wide) on an upright line: the "L" before it is
        // taken back; the lines above and below are not.
        let mut blocks = vec![(30, 20, 33, 32), (44, 20, 47, 32), (51, 20, 54, 32)];
        blocks.extend([(30, 0, 60, 3), (30, 52, 60, 60)]);
        let f = frame(200, 60, 10, &blocks, 230);
        let b = extend(&f, rect(42, 16, 56, 36), true);
        assert!(b.x0 <= 30 && b.x0 >= 25, "{b:?}");
        assert_eq!((b.y0, b.y1), (16, 36));
    }

    #[test]
    fn dark_text_on_light_and_vertical_lines_too() {
        // Dark strokes on light, written top to bottom: the transposed picture of the above.
        let inked = |x: u32, y: u32| {
            (20..32).contains(&x)
                && ((30..33).contains(&y) || ((44..100).contains(&y) && (y - 44) % 7 < 3))
        };
        let f = painted(60, 200, |x, y| if inked(x, y) { 20 } else { 220 });
        let b = extend(&f, rect(16, 42, 36, 100), false);
        assert!(b.y0 <= 30 && b.y0 >= 25, "{:?}", b);
        assert_eq!(b.y1, 100);
    }

    #[test]
    fn a_letter_on_the_plate_the_line_is_written_on_is_taken_back() {
        // Dark text on a light plate (x 24..106) over a mid-grey texture.
        let f = painted(200, 60, |x, y| {
            let glyph = (20..32).contains(&y)
                && ((30..33).contains(&x) || ((44..100).contains(&x) && (x - 44) % 7 < 3));
            let plate = (24..106).contains(&x) && (14..38).contains(&y);
            match (glyph, plate) {
                (true, _) => 15,
                (false, true) => 210,
                _ => [90, 140, 60, 120][((x + 2 * y) % 4) as usize],
            }
        });
        let b = extend(&f, rect(42, 16, 100, 36), true);
        assert!(b.x0 <= 30 && b.x0 >= 25, "{b:?}");
        assert_eq!(b.x1, 100);
        // A box whose margin reaches past the plate, into the texture above and below.
        let b = extend(&f, rect(42, 10, 100, 42), true);
        assert!(b.x0 <= 30 && b.x0 >= 25, "{b:?}");
    }

    #[test]
    fn the_frame_s_edge_ends_a_walk() {
        let mut blocks = vec![(2, 20, 5, 32)];
        blocks.extend(strokes(16, 80));
        let f = frame(120, 60, 10, &blocks, 230);
        let b = extend(&f, rect(14, 16, 80, 36), true);
        assert_eq!(b.x0, 0, "{b:?}");
    }

    #[test]
    fn texture_all_the_way_is_not_text() {
        // Strokes run on past the longest walk (anatomy-like texture): the box keeps its ends.
        let f = frame(400, 60, 10, &strokes(0, 400), 230);
        let b = extend(&f, rect(150, 16, 250, 36), true);
        assert_eq!(b, rect(150, 16, 250, 36));
    }

    #[test]
    fn a_solid_region_beside_the_line_is_not_text() {
        let mut blocks = strokes(44, 100);
        blocks.push((10, 0, 40, 60));
        let f = frame(200, 60, 10, &blocks, 230);
        let b = extend(&f, rect(42, 16, 100, 36), true);
        assert_eq!(b.x0, 42);
    }

    #[test]
    fn a_letter_before_a_solid_border_is_taken_back() {
        let mut blocks = vec![(0, 0, 20, 60), (30, 20, 33, 32)];
        blocks.extend(strokes(44, 100));
        let f = frame(200, 60, 10, &blocks, 230);
        let b = extend(&f, rect(42, 16, 100, 36), true);
        assert!(b.x0 <= 30 && b.x0 >= 25, "{b:?}");
    }

    #[test]
    fn a_box_without_contrast_is_left_alone() {
        let f = frame(200, 60, 100, &strokes(30, 100), 120);
        let b = extend(&f, rect(42, 16, 100, 36), true);
        assert_eq!(b, rect(42, 16, 100, 36));
    }

    #[test]
    fn a_small_box_around_a_glyph_holds_glyphs() {
        // "L" and "R": two strokes clear of the box's edges.
        let f = frame(
            100,
            60,
            10,
            &[(40, 20, 43, 32), (43, 29, 48, 32), (52, 20, 55, 32)],
            230,
        );
        assert!(holds_glyphs(&f, &rect(34, 15, 62, 37)));
        // The same glyph against the frame's edge: the edge does not count.
        let f = frame(100, 60, 10, &[(0, 20, 3, 32)], 230);
        assert!(holds_glyphs(&f, &rect(0, 15, 10, 37)));
        // A glyph on a thin line that crosses the whole box still fits inside it top to bottom.
        let f = frame(100, 60, 10, &[(40, 20, 43, 32), (0, 26, 100, 27)], 230);
        assert!(holds_glyphs(&f, &rect(34, 15, 50, 37)));
    }

    #[test]
    fn a_small_box_on_noise_or_on_a_rim_holds_none() {
        // Salt and pepper: specks everywhere.
        let noise = painted(100, 60, |x, y| {
            if (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 7 < 2 {
                240
            } else {
                20
            }
        });
        assert!(!holds_glyphs(&noise, &rect(40, 20, 58, 32)));
        // The edge of a bright disc: the ink runs out of the box.
        let disc = painted(100, 100, |x, y| {
            let (dx, dy) = (x as i32 - 50, y as i32 - 50);
            if dx * dx + dy * dy < 30 * 30 { 200 } else { 20 }
        });
        assert!(!holds_glyphs(&disc, &rect(45, 74, 55, 86)));
    }

    #[test]
    fn boxes_longer_or_thicker_than_a_glyph_or_two_are_always_kept() {
        let noise = painted(
            200,
            100,
            |x, y| if (x * 7 + y * 13) % 5 < 2 { 240 } else { 20 },
        );
        assert!(
            holds_glyphs(&noise, &rect(10, 20, 100, 35)),
            "a line's length"
        );
        assert!(
            holds_glyphs(&noise, &rect(10, 10, 60, 60)),
            "thicker than small text"
        );
    }
}
