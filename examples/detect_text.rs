//! Runs the burned-in text detector on DICOM files and prints the boxes and the time per frame.
//!
//! `cargo run --release --example detect_text -- FILE...` (the model from `npm install`);
//! `-- --json FILE...` prints one line per file, `{"file", "frames", "boxes"}` with the boxes of all frames
//! merged, as the page's `detectText` gives them (`tests/e2e/bench-detect.mjs` compares the two).

use std::time::Instant;

use dicom_deid::detect;
use dicom_deid::render::Image;

fn main() {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    let t = Instant::now();
    if let Err(e) = detect::ensure_model() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    if files.first().is_some_and(|a| a == "--json") {
        files.remove(0);
        json(&files);
        return;
    }
    println!("model loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            println!("{f}: cannot read");
            continue;
        };
        let image = match Image::open(&bytes) {
            Ok(i) => i,
            Err(e) => {
                println!("{f}: {e}");
                continue;
            }
        };
        let frames = image.frames();
        let t = Instant::now();
        let mut boxes = 0;
        let mut first = Vec::new();
        for i in 0..frames {
            let Ok(frame) = image.render(i, None, false) else {
                break;
            };
            if i == 0
                && let Ok(dir) = std::env::var("DUMP_PPM")
            {
                let name = std::path::Path::new(&f).file_name().unwrap_or_default();
                let mut ppm = format!("P6 {} {} 255\n", frame.width, frame.height).into_bytes();
                ppm.extend(frame.data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
                let _ = std::fs::write(
                    std::path::Path::new(&dir).join(name).with_extension("ppm"),
                    ppm,
                );
            }
            match detect::detect_frame(&frame) {
                Ok(b) => {
                    boxes += b.len();
                    if i == 0 {
                        first = b;
                    }
                }
                Err(e) => println!("{f}: {e}"),
            }
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / frames.max(1) as f64;
        println!(
            "{f}: {}x{} x{frames} frames, {ms:.0} ms/frame (decode+render+detect), {boxes} boxes; frame 0:",
            image.width(),
            image.height()
        );
        for b in first {
            let r = b.rect;
            println!(
                "  ({},{})-({},{}) {}x{} score {:.2}",
                r.x0,
                r.y0,
                r.x1,
                r.y1,
                r.x1 - r.x0,
                r.y1 - r.y0,
                b.score
            );
        }
    }
}

/// One JSON line per file: the boxes of `detect_file` (an error as `{"file", "error"}`).
fn json(files: &[String]) {
    for f in files {
        let line = match std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|b| Image::open(&b).map_err(|e| e.to_string()))
            .and_then(|i| {
                Ok((
                    i.frames(),
                    detect::detect_image(&i).map_err(|e| e.to_string())?,
                ))
            }) {
            Ok((frames, boxes)) => {
                serde_json::json!({ "file": f, "frames": frames, "boxes": boxes })
            }
            Err(e) => serde_json::json!({ "file": f, "error": e }),
        };
        println!("{line}");
    }
}
