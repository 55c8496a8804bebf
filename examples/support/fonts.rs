//! Real typefaces for the text detector's evaluation: TrueType files of Debian's font packages
//! (`fonts-dejavu-core`, `fonts-liberation`), read where Debian installs them and rasterised
//! with anti-aliasing by the `ab_glyph` crate. Sans, serif, monospace, narrow and bold faces, as
//! scanners and workstations burn them in; the Liberation faces have the metrics of Arial, Times
//! and Courier. A file that is absent is left out (the evaluation says which faces it used).

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};

const FILES: [(&str, &str); 6] = [
    ("DejaVu Sans", "dejavu/DejaVuSans.ttf"),
    ("DejaVu Sans Mono Bold", "dejavu/DejaVuSansMono-Bold.ttf"),
    ("Liberation Sans", "liberation/LiberationSans-Regular.ttf"),
    ("Liberation Serif", "liberation/LiberationSerif-Regular.ttf"),
    ("Liberation Mono", "liberation/LiberationMono-Regular.ttf"),
    (
        "Liberation Sans Narrow Bold",
        "liberation/LiberationSansNarrow-Bold.ttf",
    ),
];

/// One typeface and its cap height per pixel of scale.
pub struct Face {
    pub name: &'static str,
    font: FontVec,
    cap: f32,
}

/// A line rasterised: coverage 0..=1 of each pixel of its ink box, row by row.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub coverage: Vec<f32>,
}

/// The faces whose files are installed.
pub fn load() -> Vec<Face> {
    FILES
        .iter()
        .filter_map(|(name, file)| {
            let bytes = std::fs::read(format!("/usr/share/fonts/truetype/{file}")).ok()?;
            let font = FontVec::try_from_vec(bytes).ok()?;
            let h = font
                .glyph_id('H')
                .with_scale_and_position(1000.0, point(0.0, 0.0));
            let cap = font.outline_glyph(h)?.px_bounds().height() / 1000.0;
            Some(Face { name, font, cap })
        })
        .collect()
}

impl Face {
    /// `text` in one line whose capitals are `cap_height` pixels high, cut to its ink.
    pub fn raster(&self, text: &str, cap_height: u32) -> Raster {
        let scale = PxScale::from(cap_height as f32 / self.cap);
        let scaled = self.font.as_scaled(scale);
        let mut caret = 0.0;
        let mut last = None;
        let mut glyphs = Vec::new();
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(prev) = last {
                caret += scaled.kern(prev, id);
            }
            last = Some(id);
            let glyph = id.with_scale_and_position(scale, point(caret, scaled.ascent()));
            caret += scaled.h_advance(id);
            glyphs.extend(self.font.outline_glyph(glyph));
        }
        let Some(first) = glyphs.first() else {
            return Raster {
                width: 0,
                height: 0,
                coverage: Vec::new(),
            };
        };
        let mut bounds = first.px_bounds();
        for g in &glyphs {
            let b = g.px_bounds();
            bounds.min.x = bounds.min.x.min(b.min.x);
            bounds.min.y = bounds.min.y.min(b.min.y);
            bounds.max.x = bounds.max.x.max(b.max.x);
            bounds.max.y = bounds.max.y.max(b.max.y);
        }
        let (width, height) = (bounds.width() as u32, bounds.height() as u32);
        let mut coverage = vec![0f32; (width * height) as usize];
        for g in &glyphs {
            let b = g.px_bounds();
            let (ox, oy) = (
                (b.min.x - bounds.min.x) as u32,
                (b.min.y - bounds.min.y) as u32,
            );
            g.draw(|x, y, c| {
                let (x, y) = (x + ox, y + oy);
                if x < width && y < height {
                    let i = (y * width + x) as usize;
                    coverage[i] = coverage[i].max(c.min(1.0));
                }
            });
        }
        Raster {
            width,
            height,
            coverage,
        }
    }
}
