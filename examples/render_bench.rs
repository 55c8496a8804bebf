//! Times the review studio's renderer on corpus images (native release build):
//! `cargo run --release --example render_bench [corpus dir]` (default `../shared/corpus`).
//! Each figure is the median of 15 runs.

use std::time::Instant;

use dicom_deid::render::{Image, Window};

/// Median wall time of `f` over 15 runs, in milliseconds.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[7]
}

fn bench(name: &str, bytes: &[u8]) {
    let open = median_ms(|| drop(Image::open(bytes).unwrap()));
    let first = median_ms(|| {
        let img = Image::open(bytes).unwrap();
        img.render(0, None, false).unwrap();
    }) - open;
    let img = Image::open(bytes).unwrap();
    img.render(0, None, false).unwrap();
    let mut c = 0.0;
    let again = median_ms(|| {
        c += 7.0;
        let w = Window {
            center: 40.0 + c,
            width: 400.0,
        };
        img.render(0, Some(w), false).unwrap();
    });
    let thumb = median_ms(|| drop(img.thumbnail(256).unwrap()));
    println!(
        "| {name} | {}×{} {} | {open:.2} | {first:.2} | {again:.2} | {thumb:.2} |",
        img.width(),
        img.height(),
        img.photometric()
    );
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus".into());
    println!(
        "| image | size | open ms | first render ms | re-render (new window) ms | thumbnail 256 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, path) in [
        ("CT, native 16-bit", "gh-dicom-test-files/WG04/REF/CT1_UNC"),
        (
            "CT, JPEG 2000 lossless",
            "gh-dicom-test-files/WG04/J2KR/CT1_J2KR",
        ),
        (
            "CT, JPEG lossless",
            "gh-dicom-test-files/WG04/JPLL/CT1_JPLL",
        ),
        (
            "MR, 12-bit JPEG (own decoder)",
            "gh-dicom-test-files/WG04/JPLY/MR1_JPLY",
        ),
        ("US, native RGB", "gh-dicom-test-files/pydicom/US1_UNCI.dcm"),
        ("US, RLE RGB", "gh-dicom-test-files/WG04/RLE/US1_RLE"),
        (
            "US, JPEG YBR_FULL_422 (65 frames)",
            "gh-fo-dicom/FO-DICOM.Tests/Test Data/DIRW0007",
        ),
        (
            "US, PALETTE COLOR, big endian",
            "gh-dicom-test-files/pydicom/OBXXXX1A_expb.dcm",
        ),
    ] {
        match std::fs::read(format!("{root}/{path}")) {
            Ok(bytes) => bench(name, &bytes),
            Err(_) => eprintln!("skipped {path}: not found under {root}"),
        }
    }
}
