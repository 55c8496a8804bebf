//! The evaluation of the burned-in text detector (issue 12), built in code from the real images
//! of `../shared/corpus` (CT, MR, US, CR/DX, SC/OT): each image's middle frame is rendered as
//! the studio shows it, then
//! - **false alarms**: the frame as it is; a CT or MR image with any box counts (US, SC and CR
//!   images often carry real text, so their boxes are only listed);
//! - **recall**: two copies get lines of text at known places, cap heights 8–40 px, each line in
//!   one of the faces drawn in turn: the 5×7 bitmap font of `examples/support/textgen.rs` in a
//!   regular and a bold weight, or a real typeface (`examples/support/fonts.rs`: DejaVu and
//!   Liberation from Debian's font packages, anti-aliased, in capitals or mixed case), light on
//!   dark in one copy and dark on a light plate in the other, half near the borders and half over the
//!   middle (anatomy), one line of each copy vertical. A line is **found** when the boxes, used as
//!   masks, cover at least 99 % of its ink; **hit** when a box overlaps half its box.
//!
//! Then the cost: a 100-frame ultrasound cine (US1's frame repeated) through the detector and
//! through the engine (Clean Pixel Data, detection, `mask_detected_text`).
//!
//! `cargo run --release --example detect_eval [-- CORPUS_DIR]`; `RTEN_NUM_THREADS=1` for one
//! thread; `--cine` for the cine alone, `--no-cine` without it.

#[path = "support/fonts.rs"]
mod fonts;
#[path = "support/png.rs"]
mod png;
#[path = "support/textgen.rs"]
mod textgen;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dicom_deid::detect::{self, TextBox, Tuning};
use dicom_deid::pixels::{PixelSettings, Rect};
use dicom_deid::render::{Image, Rgba};
use dicom_deid::{Deidentifier, Options, ProjectKey};
use textgen::{LINES, Rng, Style};

const HEIGHTS: [u32; 8] = [8, 10, 12, 16, 20, 24, 32, 40];

#[derive(Default)]
struct Tally {
    lines: u32,
    found: u32,
    hit: u32,
}

impl Tally {
    fn add(&mut self, found: bool, hit: bool) {
        self.lines += 1;
        self.found += found as u32;
        self.hit += hit as u32;
    }
    fn row(&self, name: &str) -> String {
        let pct = |n: u32| 100.0 * n as f64 / self.lines.max(1) as f64;
        format!(
            "| {name} | {} | {} ({:.1} %) | {} ({:.1} %) |",
            self.lines,
            self.found,
            pct(self.found),
            self.hit,
            pct(self.hit)
        )
    }
}

fn group(modality: &str) -> Option<&'static str> {
    Some(match modality {
        "CT" => "CT",
        "MR" => "MR",
        "US" => "US",
        "CR" | "DX" => "CR/DX",
        "SC" | "OT" => "SC/OT",
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let corpus = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--dump"))
        .map(|(_, a)| a)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if let Err(e) = detect::ensure_model() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    if !args.iter().any(|a| a == "--cine") {
        let clean_only = args.iter().any(|a| a == "--clean-only");
        evaluate(&corpus, dump.as_deref(), clean_only);
    }
    if !args.iter().any(|a| a == "--no-cine") {
        cine(&corpus);
    }
}

/// The detector's tuning, from `DETECT_TUNING` (`vertical=0,upscale_below=0,max_side=1280`).
fn tuning() -> Tuning {
    let mut t = Tuning::default();
    for kv in std::env::var("DETECT_TUNING")
        .unwrap_or_default()
        .split(',')
    {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let v: u32 = v.trim().parse().expect("a number");
        match k.trim() {
            "vertical" => t.vertical = v != 0,
            "upscale_below" => t.upscale_below = v,
            "max_side" => t.max_side = v,
            "split" => t.split = v != 0,
            "strict_turned" => t.strict_turned = v != 0,
            "strict_upscaled" => t.strict_upscaled = v != 0,
            "ink" => t.ink = v != 0,
            "glyphs" => t.glyphs = v != 0,
            "doubtful" => t.doubtful = v != 0,
            "read" => {
                t.read = [
                    detect::reader::ReadRule::Off,
                    detect::reader::ReadRule::Veto,
                    detect::reader::ReadRule::Confirm,
                ][v as usize]
            }
            _ => panic!("unknown tuning {k}"),
        }
    }
    t
}

fn evaluate(corpus: &Path, dump: Option<&Path>, clean_only: bool) {
    let tuning = tuning();
    println!("tuning: {tuning:?}\n");
    let mut dumped = 0u32;
    let mut faint = 0u32;
    let Ok(mut manifest) = csv::Reader::from_path(corpus.join("MANIFEST.csv")) else {
        eprintln!("no corpus at {}: nothing to evaluate", corpus.display());
        return;
    };
    let headers = manifest.headers().cloned().unwrap_or_default();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap_or(usize::MAX);
    let (c_path, c_mod, c_sha) = (col("path"), col("modality"), col("sha256"));
    let cap: BTreeMap<&str, u32> = [
        ("CT", 30),
        ("MR", 30),
        ("US", 15),
        ("CR/DX", 15),
        ("SC/OT", 20),
    ]
    .into();
    let mut with_text: BTreeMap<&str, u32> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut by_height: BTreeMap<u32, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut clean: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut cost: BTreeMap<&str, (u32, Duration, u64)> = BTreeMap::new();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    // Faces are drawn from their own generator: without the font files, the set is the one the
    // bitmap font alone gave before.
    let faces = fonts::load();
    let mut pick = Rng(0x0F0E_D0C0_B0A0_9080);
    let names: Vec<&str> = faces.iter().map(|f| f.name).collect();
    println!("faces: 5×7 bitmap (regular, bold), {}\n", names.join(", "));
    let mut false_alarm_files = Vec::new();
    for row in manifest.records().flatten() {
        let (Some(path), Some(modality), Some(sha)) =
            (row.get(c_path), row.get(c_mod), row.get(c_sha))
        else {
            continue;
        };
        let Some(g) = group(modality) else { continue };
        if clean_only && g != "CT" && g != "MR" {
            continue;
        }
        if !seen.insert(sha.to_string()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(corpus.join(path)) else {
            continue;
        };
        let Ok(image) = Image::open(&bytes) else {
            continue;
        };
        if image.width() < 64 || image.height() < 64 {
            continue;
        }
        let Ok(frame) = image.render(image.frames() / 2, None, false) else {
            continue;
        };
        // False alarms: the frame as it is.
        let t = Instant::now();
        let Ok(boxes) = detect::detect_frame_tuned(&frame, &tuning) else {
            continue;
        };
        let c = cost.entry(g).or_default();
        c.0 += 1;
        c.1 += t.elapsed();
        c.2 += (frame.width * frame.height) as u64;
        let e = clean.entry(g).or_default();
        e.0 += 1;
        if g == "MR" {
            log_readings("clean-MR", &frame, &boxes);
        }
        if !boxes.is_empty() {
            e.1 += 1;
            if g == "CT" || g == "MR" {
                false_alarm_files.push(format!("{path} ({} boxes)", boxes.len()));
                if let Some(dir) = dump {
                    let name = format!("fa-{}.png", false_alarm_files.len());
                    dump_frame(&dir.join(name), &frame, &boxes);
                }
            }
        }
        // Recall: two copies with text, for the first images of each group.
        let n = with_text.entry(g).or_default();
        if clean_only || *n >= cap[g] {
            continue;
        }
        *n += 1;
        for light in [true, false] {
            let mut f = frame.clone();
            let lines = place_lines(&mut f, light, &mut rng, &faces, &mut pick);
            let Ok(found_boxes) = detect::detect_frame_tuned(&f, &tuning) else {
                continue;
            };
            let on_text: Vec<TextBox> = found_boxes
                .iter()
                .filter(|b| {
                    lines
                        .iter()
                        .any(|l| overlap(&b.rect, &l.rect) * 2 >= area(&b.rect).min(area(&l.rect)))
                })
                .copied()
                .collect();
            log_readings("text", &f, &on_text);
            for l in lines {
                if l.visible < 0.5 {
                    faint += 1;
                    continue;
                }
                let found = covered(&found_boxes, &l.ink);
                if let (Some(dir), false, true) = (dump, found, l.height >= 10) {
                    dumped += 1;
                    let name = format!(
                        "{dumped:03}-{g}-{}px-{}-{}-{}.png",
                        l.height,
                        if l.vertical { "vert" } else { "horiz" },
                        l.place,
                        if light { "light" } else { "dark" }
                    )
                    .replace('/', "");
                    println!(
                        "miss {name}: ink covered {:.2}, visible {:.2}, text {:?}",
                        coverage(&found_boxes, &l.ink),
                        l.visible,
                        l.text
                    );
                    dump_miss(&dir.join(name), &f, &found_boxes, &l);
                }
                let hit = found_boxes
                    .iter()
                    .any(|b| overlap(&b.rect, &l.rect) * 2 >= area(&l.rect));
                by_height.entry(l.height).or_default().add(found, hit);
                if l.height >= 10 {
                    let keys = [
                        format!("modality {g}"),
                        format!(
                            "{} (≥ 10 px)",
                            if light {
                                "light on dark"
                            } else {
                                "dark on light"
                            }
                        ),
                        format!("{} (≥ 10 px)", l.place),
                        format!(
                            "{} (≥ 10 px)",
                            if l.vertical { "vertical" } else { "horizontal" }
                        ),
                        format!("{} (≥ 10 px)", l.face),
                        format!(
                            "{} (≥ 10 px)",
                            if l.mixed { "mixed case" } else { "capitals" }
                        ),
                    ];
                    for k in keys {
                        by_kind.entry(k).or_default().add(found, hit);
                    }
                }
            }
        }
    }
    println!("## Recall of text lines by cap height\n");
    println!(
        "| height | lines | found (≥ 99 % of ink inside boxes) | hit (a box over half the line) |"
    );
    println!("|---|---|---|---|");
    let mut ten = Tally::default();
    for (h, t) in &by_height {
        println!("{}", t.row(&format!("{h} px")));
        if *h >= 10 {
            ten.lines += t.lines;
            ten.found += t.found;
            ten.hit += t.hit;
        }
    }
    println!("{}", ten.row("**≥ 10 px**"));
    println!(
        "\n{faint} lines left out: less than half their ink differs by 32 levels from what it covers (light text on white)."
    );
    println!("\n## Recall (lines ≥ 10 px) by kind\n");
    println!("| kind | lines | found | hit |");
    println!("|---|---|---|---|");
    for (k, t) in &by_kind {
        println!("{}", t.row(k));
    }
    println!("\n## Images without added text: images with at least one box\n");
    println!("| modality | images | with a box | |");
    println!("|---|---|---|---|");
    for (g, (n, b)) in &clean {
        let note = if *g == "CT" || *g == "MR" {
            "false alarms"
        } else {
            "many carry real text"
        };
        println!(
            "| {g} | {n} | {b} ({:.1} %) | {note} |",
            100.0 * *b as f64 / (*n).max(1) as f64
        );
    }
    for f in &false_alarm_files {
        println!("- false alarm: {f}");
    }
    println!("\n## Cost per frame (detection only, this machine)\n");
    println!("| modality | frames | mean pixels | ms per frame |");
    println!("|---|---|---|---|");
    for (g, (n, d, px)) in &cost {
        println!(
            "| {g} | {n} | {:.0} k | {:.0} |",
            *px as f64 / (*n).max(1) as f64 / 1e3,
            d.as_secs_f64() * 1e3 / (*n).max(1) as f64
        );
    }
}

/// With `DETECT_READ_LOG` set: the reader's reading of each box (`kind`: what the boxes are),
/// one line each, for choosing the reader's rule.
fn log_readings(kind: &str, frame: &Rgba, boxes: &[TextBox]) {
    if std::env::var_os("DETECT_READ_LOG").is_none() {
        return;
    }
    for b in boxes {
        let r = &b.rect;
        let (w, h) = (r.x1 - r.x0, r.y1 - r.y0);
        let best = detect::reader::turns_for(r)
            .iter()
            .filter_map(|&t| detect::read_box(frame, r, t).ok())
            .max_by(|a, b| {
                (a.sure, a.confidence)
                    .partial_cmp(&(b.sure, b.confidence))
                    .unwrap()
            })
            .unwrap_or_default();
        println!(
            "reading {kind} w={w} h={h} chars={} sure={} conf={:.3} distinct={}",
            best.chars, best.sure, best.confidence, best.distinct
        );
    }
}

struct Line {
    rect: Rect,
    ink: Vec<(u32, u32)>,
    height: u32,
    place: &'static str,
    vertical: bool,
    /// The face's name (the bitmap font's with its weight).
    face: String,
    mixed: bool,
    text: String,
    /// The part of the ink that differs from what it covers by at least 32 levels (`ink` holds
    /// only those pixels: ink the same as the picture under it is no text to find).
    visible: f32,
}

/// A line laid out: its size and the coverage (0..=1) of each pixel it inks, from its top-left
/// corner.
struct Shape {
    w: u32,
    h: u32,
    ink: Vec<(u32, u32, f32)>,
}

/// `text` in the bitmap font (`face` None) or a real face, horizontal or rotated 90° clockwise
/// (reading top to bottom).
fn shape(text: &str, face: Option<&fonts::Face>, style: Style) -> Shape {
    let flat = Style {
        vertical: false,
        ..style
    };
    let (w, h, ink) = match face {
        None => {
            let (w, h) = textgen::size(text, flat);
            let mut ink = Vec::new();
            textgen::draw(text, 0, 0, flat, |x, y| ink.push((x, y, 1.0)));
            (w, h, ink)
        }
        Some(f) => {
            let r = f.raster(text, style.height);
            let ink = (0..r.height)
                .flat_map(|y| (0..r.width).map(move |x| (x, y)))
                .zip(&r.coverage)
                .filter(|(_, c)| **c > 0.0)
                .map(|((x, y), c)| (x, y, *c))
                .collect();
            (r.width, r.height, ink)
        }
    };
    if !style.vertical {
        return Shape { w, h, ink };
    }
    let ink = ink.into_iter().map(|(x, y, c)| (h - 1 - y, x, c)).collect();
    Shape { w: h, h: w, ink }
}

/// A text in mixed case, as many workstations write it: `ST MARY HOSPITAL` → `St Mary Hospital`.
fn mixed_case(text: &str) -> String {
    let mut out = String::new();
    let mut first = true;
    for c in text.chars() {
        out.push(if first { c } else { c.to_ascii_lowercase() });
        first = !c.is_ascii_alphanumeric();
    }
    out
}

/// Four lines on the frame at free places: two near the borders, two over the middle, the last
/// one vertical; heights and texts drawn in turn from the lists, faces from `pick`.
fn place_lines(
    frame: &mut Rgba,
    light: bool,
    rng: &mut Rng,
    faces: &[fonts::Face],
    pick: &mut Rng,
) -> Vec<Line> {
    let (w, h) = (frame.width, frame.height);
    let mut out: Vec<Line> = Vec::new();
    for i in 0..4 {
        let vertical = i == 3;
        let height = HEIGHTS[rng.below(HEIGHTS.len() as u32) as usize];
        let bold = rng.below(2) == 1;
        let style = Style {
            height,
            bold,
            vertical,
        };
        let face = pick
            .below(faces.len() as u32 + 1)
            .checked_sub(1)
            .map(|f| &faces[f as usize]);
        let mixed = face.is_some() && pick.below(2) == 1;
        let face_name = match face {
            Some(f) => f.name.to_string(),
            None if bold => "5×7 bitmap, bold".into(),
            None => "5×7 bitmap".into(),
        };
        // The longest text of the list that fits in 80 % of the image, cut if none does.
        let limit = if vertical { h } else { w } * 4 / 5;
        let mut text = LINES[rng.below(LINES.len() as u32) as usize].to_string();
        if mixed {
            text = mixed_case(&text);
        }
        while !text.is_empty() && {
            let s = shape(&text, face, style);
            (if vertical { s.h } else { s.w }) > limit
        } {
            text.pop();
        }
        let text = text.trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        let glyphs = shape(&text, face, style);
        let (tw, th) = (glyphs.w, glyphs.h);
        if tw + 8 >= w || th + 8 >= h {
            continue;
        }
        let place = if i % 2 == 0 { "border" } else { "anatomy" };
        for _ in 0..50 {
            let (x, y) = if place == "border" {
                let x = 4 + rng.below(w - tw - 8);
                let band = (h / 6).max(th + 4);
                let y = if rng.below(2) == 0 {
                    4 + rng.below(band.saturating_sub(th + 4).max(1))
                } else {
                    h - th - 4 - rng.below(band.saturating_sub(th + 4).max(1))
                };
                (x, y)
            } else {
                let x = w / 4 + rng.below((w / 2).saturating_sub(tw).max(1));
                let y = h / 4 + rng.below((h / 2).saturating_sub(th).max(1));
                (x.min(w - tw - 4), y.min(h - th - 4))
            };
            // Clear of the others by a line height.
            let m = height;
            let rect = Rect {
                x0: x,
                y0: y,
                x1: x + tw,
                y1: y + th,
            };
            let grown = Rect {
                x0: x.saturating_sub(m),
                y0: y.saturating_sub(m),
                x1: x + tw + m,
                y1: y + th + m,
            };
            if out.iter().any(|l| overlap(&l.rect, &grown) > 0) {
                continue;
            }
            let (ink_v, plate) = if light {
                (255u8, None)
            } else {
                (15u8, Some(225u8))
            };
            if let Some(p) = plate {
                for yy in y.saturating_sub(3)..(y + th + 3).min(h) {
                    for xx in x.saturating_sub(3)..(x + tw + 3).min(w) {
                        let i = ((yy * w + xx) * 4) as usize;
                        frame.data[i..i + 3].fill(p);
                    }
                }
            }
            let mut ink = Vec::new();
            let (mut seen, mut drawn) = (0u32, 0u32);
            for &(dx, dy, c) in &glyphs.ink {
                let (px, py) = (x + dx, y + dy);
                if px >= w || py >= h {
                    continue;
                }
                let i = ((py * w + px) * 4) as usize;
                let old = frame.data[i..i + 3]
                    .iter()
                    .map(|&v| v as i32)
                    .max()
                    .unwrap_or(0);
                for v in &mut frame.data[i..i + 3] {
                    *v = (*v as f32 + (ink_v as f32 - *v as f32) * c).round() as u8;
                }
                // A pixel at least half covered is ink; it is text to find where it shows.
                if c >= 0.5 {
                    let shows = (old - ink_v as i32).abs() >= 32;
                    seen += shows as u32;
                    drawn += 1;
                    if shows {
                        ink.push((px, py));
                    }
                }
            }
            let visible = seen as f32 / drawn.max(1) as f32;
            out.push(Line {
                rect,
                ink,
                height,
                place,
                vertical,
                face: face_name.clone(),
                mixed,
                text: text.clone(),
                visible,
            });
            break;
        }
    }
    out
}

/// A whole frame with its boxes (red), for false alarms.
fn dump_frame(path: &Path, frame: &Rgba, boxes: &[TextBox]) {
    let (w, h) = (frame.width, frame.height);
    let mut rgb: Vec<u8> = frame
        .data
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    for b in boxes {
        let r = b.rect;
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                if x == r.x0 || x + 1 == r.x1 || y == r.y0 || y + 1 == r.y1 {
                    let o = ((y * w + x) * 3) as usize;
                    rgb[o..o + 3].copy_from_slice(&[255, 0, 0]);
                }
            }
        }
    }
    let _ = png::write_rgb(path, w, h, &rgb);
}

/// A crop around a missed line for the eye: the frame with the boxes (red) and the line's box
/// (green) above, the model's probability map below.
fn dump_miss(path: &Path, frame: &Rgba, boxes: &[TextBox], l: &Line) {
    let Ok(map) = detect::probability_map(frame) else {
        return;
    };
    let m = l.height.max(16) * 2;
    let (x0, y0) = (l.rect.x0.saturating_sub(m), l.rect.y0.saturating_sub(m));
    let (x1, y1) = (
        (l.rect.x1 + m).min(frame.width),
        (l.rect.y1 + m).min(frame.height),
    );
    let (cw, ch) = (x1 - x0, y1 - y0);
    let mut rgb = vec![0u8; (cw * ch * 2 * 3) as usize];
    let edge = |r: &Rect, x: u32, y: u32| {
        (x == r.x0 || x + 1 == r.x1) && (r.y0..r.y1).contains(&y)
            || (y == r.y0 || y + 1 == r.y1) && (r.x0..r.x1).contains(&x)
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * frame.width + x) * 4) as usize;
            let o = (((y - y0) * cw + (x - x0)) * 3) as usize;
            rgb[o..o + 3].copy_from_slice(&frame.data[i..i + 3]);
            if edge(&l.rect, x, y) {
                rgb[o..o + 3].copy_from_slice(&[0, 255, 0]);
            }
            if boxes.iter().any(|b| edge(&b.rect, x, y)) {
                rgb[o..o + 3].copy_from_slice(&[255, 0, 0]);
            }
            let (mx, my) = (
                ((x as f32 * map.scale) as usize).min(map.width - 1),
                ((y as f32 * map.scale) as usize).min(map.height - 1),
            );
            let p = map.data[my * map.width + mx];
            let v = (p * 255.0) as u8;
            let o = o + (cw * ch * 3) as usize;
            rgb[o..o + 3].copy_from_slice(&if p > detect::PROB_THRESHOLD {
                [v, v, 0]
            } else {
                [v, v, v]
            });
        }
    }
    let _ = png::write_rgb(path, cw, ch * 2, &rgb);
}

fn area(r: &Rect) -> u64 {
    (r.x1 - r.x0) as u64 * (r.y1 - r.y0) as u64
}

fn overlap(a: &Rect, b: &Rect) -> u64 {
    let ix = a.x1.min(b.x1).saturating_sub(a.x0.max(b.x0)) as u64;
    let iy = a.y1.min(b.y1).saturating_sub(a.y0.max(b.y0)) as u64;
    ix * iy
}

/// How many ink pixels fall inside some box.
fn inside(boxes: &[TextBox], ink: &[(u32, u32)]) -> usize {
    ink.iter()
        .filter(|&&(x, y)| {
            boxes
                .iter()
                .any(|b| b.rect.x0 <= x && x < b.rect.x1 && b.rect.y0 <= y && y < b.rect.y1)
        })
        .count()
}

fn coverage(boxes: &[TextBox], ink: &[(u32, u32)]) -> f32 {
    inside(boxes, ink) as f32 / ink.len().max(1) as f32
}

fn covered(boxes: &[TextBox], ink: &[(u32, u32)]) -> bool {
    !ink.is_empty() && inside(boxes, ink) * 100 >= ink.len() * 99
}

/// A 100-frame cine from US1 (640×480 RGB): the detector frame by frame, then the engine.
fn cine(corpus: &Path) {
    let Ok(bytes) = std::fs::read(corpus.join("gh-dicom-test-files/pydicom/US1_UNCI.dcm")) else {
        eprintln!("US1_UNCI.dcm absent: no cine timing");
        return;
    };
    let mut obj = dicom_object::OpenFileOptions::new()
        .from_reader(std::io::Cursor::new(bytes))
        .or_else(|_| {
            dicom_object::OpenFileOptions::new()
                .read_preamble(dicom_object::file::ReadPreamble::Always)
                .from_reader(std::io::Cursor::new(
                    std::fs::read(corpus.join("gh-dicom-test-files/pydicom/US1_UNCI.dcm"))
                        .unwrap_or_default(),
                ))
        })
        .expect("US1 opens");
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let frame = obj
        .element(tags::PIXEL_DATA)
        .expect("pixel data")
        .to_bytes()
        .expect("native")
        .into_owned();
    let frames = 100;
    obj.put(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, "100"));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(frame.repeat(frames)),
    ));
    let mut file = Vec::new();
    obj.write_all(&mut file).expect("written");
    let t = Instant::now();
    let boxes = detect::detect_file(&file).expect("detected");
    let d = t.elapsed();
    println!(
        "\ncine: {frames} frames 640×480 RGB: detection {:.1} s ({:.0} ms/frame), {} boxes after merging frames",
        d.as_secs_f64(),
        d.as_secs_f64() * 1e3 / frames as f64,
        boxes.len()
    );
    let options = Options {
        clean_pixel_data: true,
        ..Options::basic()
    };
    let settings = PixelSettings {
        detect_text: true,
        mask_detected_text: true,
        ..Default::default()
    };
    let engine = Deidentifier::new(options, ProjectKey::from_bytes([1; 32]))
        .expect("engine")
        .with_pixels(settings.policy().expect("policy"));
    let t = Instant::now();
    let out = engine.deidentify(&file);
    println!(
        "cine through the engine (Clean Pixel Data + detection + mask detected text): {:.1} s, {}",
        t.elapsed().as_secs_f64(),
        match &out {
            Ok(d) => d
                .record
                .pixels
                .masked
                .as_ref()
                .map(|m| m.source.clone())
                .unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    );
}
