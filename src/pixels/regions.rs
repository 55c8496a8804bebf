//! Mask rectangles: how a region given by a script or a reviewer becomes pixels of an image.

use serde::{Deserialize, Serialize};

/// A rectangle of pixels, half-open: columns `x0..x1`, rows `y0..y1`, inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Rect {
    /// Whether the rectangle covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }

    /// Whether the rectangle meets the half-open box `[x, x + w) × [y, y + h)`.
    pub fn meets(&self, x: u32, y: u32, w: u32, h: u32) -> bool {
        self.x0 < x.saturating_add(w) && x < self.x1 && self.y0 < y.saturating_add(h) && y < self.y1
    }
}

/// A region as a CTP DicomPixelAnonymizer script writes it: `(x, y, w, h)` in pixels, where a
/// negative x or y counts from the right or bottom edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Region {
    /// The pixels CTP blanks for this region in an image of `columns` × `rows`: a negative
    /// origin is moved in from the far edge, and the blanked span is inclusive of both ends
    /// (columns `x..=x+w`, rows `y..=y+h`, CTP's `Regions.getRangesFor` and `blankRegions`),
    /// clipped to the image. `None` when nothing of the image is covered.
    pub fn to_rect(self, columns: u32, rows: u32) -> Option<Rect> {
        let x = if self.x < 0 {
            self.x + columns as i64
        } else {
            self.x
        };
        let y = if self.y < 0 {
            self.y + rows as i64
        } else {
            self.y
        };
        let clip = |v: i64, max: u32| v.clamp(0, max as i64) as u32;
        let r = Rect {
            x0: clip(x, columns),
            y0: clip(y, rows),
            x1: clip(x + self.w.max(-1) + 1, columns),
            y1: clip(y + self.h.max(-1) + 1, rows),
        };
        (!r.is_empty()).then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctp_regions_are_inclusive_clipped_and_count_negative_origins_from_the_far_edge() {
        let r = |x, y, w, h| Region { x, y, w, h };
        assert_eq!(
            r(0, 0, 800, 59).to_rect(800, 600),
            Some(Rect {
                x0: 0,
                y0: 0,
                x1: 800,
                y1: 60
            })
        );
        assert_eq!(
            r(10, 20, 5, 0).to_rect(100, 100),
            Some(Rect {
                x0: 10,
                y0: 20,
                x1: 16,
                y1: 21
            })
        );
        assert_eq!(
            r(-30, -10, 10, 100).to_rect(100, 50),
            Some(Rect {
                x0: 70,
                y0: 40,
                x1: 81,
                y1: 50
            })
        );
        assert_eq!(
            r(200, 0, 10, 10).to_rect(100, 100),
            None,
            "outside the image"
        );
        assert!(
            Rect {
                x0: 0,
                y0: 0,
                x1: 8,
                y1: 8
            }
            .meets(7, 7, 8, 8)
        );
        assert!(
            !Rect {
                x0: 0,
                y0: 0,
                x1: 8,
                y1: 8
            }
            .meets(8, 0, 8, 8)
        );
    }
}
