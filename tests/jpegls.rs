//! JPEG-LS (4.80 lossless, 4.81 near-lossless) under Clean Pixel Data. Images built in code and
//! encoded by CharLS (the `charls` crate, called here, not through the library) with bright bars
//! inside a known rectangle, and every JPEG-LS file of the shared corpus, are masked by the
//! library; every frame of the output is decoded again: inside the rectangle one value per sample,
//! outside it every sample as the input decodes. With `PIXEL_OUT=<dir>` the inputs and outputs are
//! written there for pydicom (libjpeg), dcmtk's dcmdjpls and dciodvfy (`scripts/pixel_check.py`).

use std::path::{Path, PathBuf};

use charls::{CharLS, FrameInfo, InterleaveMode};
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_deid::pixels::{PixelSettings, ScriptText};
use dicom_deid::{Deidentifier, Options, ProjectKey};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

mod common;

use common::dcm::{open, part10};

/// The region every test paints: CTP's `(x, y, w, h)`, inclusive, so columns 5..27, rows 3..12
/// (as `tests/pixels.rs` and `scripts/pixel_check.py`).
const SCRIPT: &str = "{ true }\n(5,3,21,8)\n";
const MASK: (u32, u32, u32, u32) = (5, 3, 27, 12);
const ROWS: u32 = 32;
const COLS: u32 = 48;
const SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.3.1"; // Ultrasound Multi-frame

fn inside(x: u32, y: u32) -> bool {
    (MASK.0..MASK.2).contains(&x) && (MASK.1..MASK.3).contains(&y)
}

fn deidentifier() -> Deidentifier {
    let settings = PixelSettings {
        scripts: vec![ScriptText {
            name: "all".into(),
            text: SCRIPT.into(),
        }],
        ..Default::default()
    };
    let options = Options {
        clean_pixel_data: true,
        ..Options::basic()
    };
    Deidentifier::new(options, ProjectKey::from_bytes([7; 32]))
        .unwrap()
        .with_pixels(settings.policy().unwrap())
}

/// A synthetic image: its Image Pixel attributes and how its frames are encoded.
#[derive(Clone, Copy)]
struct Kind {
    pi: &'static str,
    spp: u16,
    bits: u16,
    stored: u16,
    ilv: InterleaveMode,
    near: i32,
}

/// Sample `s` of pixel (x, y) of frame `f`: a gradient, with bright bars inside the mask.
fn sample(k: &Kind, f: u32, x: u32, y: u32, s: u32) -> u32 {
    let max = (1u32 << k.stored) - 1;
    if inside(x, y) && !y.is_multiple_of(3) {
        return max - s;
    }
    ((x * 5 + y * 3 + f * 7 + s * 11) * max / 400) & max
}

/// One frame in the layout CharLS takes for `k.ilv`: planes for None, pixels otherwise.
fn frame_samples(k: &Kind, f: u32) -> Vec<u8> {
    let bytes = if k.stored > 8 { 2 } else { 1 };
    let mut out = Vec::new();
    let mut put = |v: u32| out.extend_from_slice(&v.to_le_bytes()[..bytes]);
    let spp = k.spp as u32;
    if k.ilv == InterleaveMode::None {
        for s in 0..spp {
            (0..ROWS * COLS).for_each(|p| put(sample(k, f, p % COLS, p / COLS, s)));
        }
    } else {
        for p in 0..ROWS * COLS {
            (0..spp).for_each(|s| put(sample(k, f, p % COLS, p / COLS, s)));
        }
    }
    out
}

fn charls_encode(k: &Kind, samples: &[u8]) -> Vec<u8> {
    let mut c = CharLS::default();
    c.set_interleave_mode(k.ilv).unwrap();
    let info = FrameInfo {
        width: COLS,
        height: ROWS,
        bits_per_sample: k.stored as i32,
        component_count: k.spp as i32,
    };
    c.encode(info, k.near, samples).unwrap()
}

/// A two-frame JPEG-LS file (dicom-object writes it).
fn jpegls_file(k: &Kind) -> Vec<u8> {
    let ts = if k.near > 0 {
        uids::JPEGLS_NEAR_LOSSLESS
    } else {
        uids::JPEGLS_LOSSLESS
    };
    let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    let sop = "1.2.826.0.1.3680043.8.498.71";
    let mut o = InMemDicomObject::new_empty();
    o.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, SOP_CLASS));
    o.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, sop));
    o.put(DataElement::new(tags::MODALITY, VR::CS, "US"));
    o.put(DataElement::new(tags::PATIENT_NAME, VR::PN, "Doe^Jane"));
    o.put(us(tags::SAMPLES_PER_PIXEL, k.spp));
    o.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        k.pi,
    ));
    if k.spp > 1 {
        o.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    o.put(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, "2"));
    o.put(us(tags::ROWS, ROWS as u16));
    o.put(us(tags::COLUMNS, COLS as u16));
    o.put(us(tags::BITS_ALLOCATED, k.bits));
    o.put(us(tags::BITS_STORED, k.stored));
    o.put(us(tags::HIGH_BIT, k.stored - 1));
    o.put(us(tags::PIXEL_REPRESENTATION, 0));
    if k.near > 0 {
        o.put(DataElement::new(
            tags::LOSSY_IMAGE_COMPRESSION,
            VR::CS,
            "01",
        ));
        o.put(DataElement::new(
            tags::LOSSY_IMAGE_COMPRESSION_RATIO,
            VR::DS,
            "3.5",
        ));
        o.put(DataElement::new(
            tags::LOSSY_IMAGE_COMPRESSION_METHOD,
            VR::CS,
            "ISO_14495_1",
        ));
    }
    let frames: Vec<Vec<u8>> = (0..2)
        .map(|f| charls_encode(k, &frame_samples(k, f)))
        .map(|mut f| {
            if f.len() % 2 == 1 {
                f.push(0);
            }
            f
        })
        .collect();
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), frames)),
    ));
    part10(o, ts, SOP_CLASS, sop)
}

fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

/// Every frame of a JPEG-LS object, decoded by CharLS (its own layout: planes for interleave
/// mode None), with the interleave mode read from the scan header.
fn decode_frames(obj: &DefaultDicomObject) -> Vec<(Vec<u8>, u8)> {
    let pixels = obj.element(tags::PIXEL_DATA).unwrap();
    let fragments = pixels.fragments().expect("encapsulated");
    let frames: u32 = text(obj, tags::NUMBER_OF_FRAMES)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let streams: Vec<Vec<u8>> = if fragments.len() == frames as usize {
        fragments.to_vec()
    } else {
        assert_eq!(frames, 1, "one frame in several fragments");
        vec![fragments.concat()]
    };
    streams
        .iter()
        .map(|s| (charls_decode(s), ilv_of(s)))
        .collect()
}

/// CharLS 2.4.2 refuses a 0x00 byte before EOI (WG04's MR1_JLSL); it decodes without it.
fn charls_decode(stream: &[u8]) -> Vec<u8> {
    CharLS::default().decode(stream).unwrap_or_else(|e| {
        let n = stream.len();
        assert!(stream.ends_with(&[0, 0xFF, 0xD9]), "{e}");
        let trimmed = [&stream[..n - 3], &[0xFF, 0xD9][..]].concat();
        CharLS::default().decode(&trimmed).unwrap()
    })
}

fn ilv_of(stream: &[u8]) -> u8 {
    let sos = stream.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let ns = stream[sos + 4] as usize;
    stream[sos + 5 + 2 * ns + 1]
}

/// Checks that only the mask changed, frame by frame, and that it holds one value per sample.
/// Returns how many samples were inside.
fn check_pixels(name: &str, before: &DefaultDicomObject, after: &DefaultDicomObject) -> usize {
    let us = |o: &DefaultDicomObject, t| o.element(t).unwrap().to_int::<u32>().unwrap();
    let (rows, cols, spp) = (
        us(before, tags::ROWS),
        us(before, tags::COLUMNS),
        us(before, tags::SAMPLES_PER_PIXEL) as usize,
    );
    let (a, b) = (decode_frames(before), decode_frames(after));
    assert_eq!(a.len(), b.len(), "{name}: frames");
    let mut count = 0;
    for (f, ((a, ilv_a), (b, ilv_b))) in a.iter().zip(&b).enumerate() {
        assert_eq!(ilv_a, ilv_b, "{name}: interleave mode kept");
        assert_eq!(a.len(), b.len(), "{name}: frame {f} decoded size");
        let bytes = a.len() / (rows * cols) as usize / spp;
        let at = |x: u32, y: u32, s: usize| {
            let p = (y * cols + x) as usize;
            let i = if *ilv_a == 0 {
                s * (rows * cols) as usize + p
            } else {
                p * spp + s
            };
            i * bytes..(i + 1) * bytes
        };
        let mut fill: Vec<Option<&[u8]>> = vec![None; spp];
        for y in 0..rows {
            for x in 0..cols {
                for (s, fill) in fill.iter_mut().enumerate() {
                    let r = at(x, y, s);
                    if inside(x, y) {
                        count += 1;
                        let v = &b[r];
                        assert_eq!(*fill.get_or_insert(v), v, "{name}: ({x},{y}) not the fill");
                    } else {
                        assert_eq!(a[r.clone()], b[r], "{name}: frame {f} ({x},{y}) changed");
                    }
                }
            }
        }
    }
    count
}

fn dump(name: &str, input: &[u8], output: &[u8]) {
    if let Ok(dir) = std::env::var("PIXEL_OUT") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir.join("in")).unwrap();
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("in").join(name), input).unwrap();
        std::fs::write(dir.join("out").join(name), output).unwrap();
    }
}

#[test]
fn synthetic_jpeg_ls_images_are_masked_and_written_as_lossless_jpeg_ls() {
    let k = |pi, spp, bits, stored, ilv, near| Kind {
        pi,
        spp,
        bits,
        stored,
        ilv,
        near,
    };
    let cases = [
        (
            "jls-grey12",
            k("MONOCHROME2", 1, 16, 12, InterleaveMode::None, 0),
        ),
        (
            "jls-mono1-8",
            k("MONOCHROME1", 1, 8, 8, InterleaveMode::None, 0),
        ),
        (
            "jls-rgb-sample",
            k("RGB", 3, 8, 8, InterleaveMode::Sample, 0),
        ),
        ("jls-rgb-line", k("RGB", 3, 8, 8, InterleaveMode::Line, 0)),
        ("jls-rgb-planes", k("RGB", 3, 8, 8, InterleaveMode::None, 0)),
        (
            "jls-near-grey16",
            k("MONOCHROME2", 1, 16, 16, InterleaveMode::None, 3),
        ),
    ];
    for (name, kind) in cases {
        let input = jpegls_file(&kind);
        let out = deidentifier()
            .deidentify(&input)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        dump(name, &input, &out.bytes);
        let (before, after) = (open(&input), open(&out.bytes));
        assert_eq!(
            after.meta().transfer_syntax().trim_end_matches('\0'),
            uids::JPEGLS_LOSSLESS,
            "{name}: lossless JPEG-LS"
        );
        let masked = out.record.pixels.masked.as_ref().expect("masked");
        assert_eq!(masked.method, "re-encoded");
        assert_eq!(masked.frames, 2);
        let inside = check_pixels(name, &before, &after);
        assert_eq!(inside, 2 * 22 * 9 * kind.spp as usize, "{name}");
        // The paint is the darkest value: 0, or the maximum for MONOCHROME1.
        let (frame, _) = &decode_frames(&after)[1];
        let first = if kind.stored > 8 {
            u16::from_le_bytes([
                frame[(3 * COLS as usize + 5) * 2],
                frame[(3 * COLS as usize + 5) * 2 + 1],
            ]) as u32
        } else {
            frame[(3 * COLS as usize + 5) * kind.spp as usize] as u32
        };
        let darkest = if kind.pi == "MONOCHROME1" {
            (1 << kind.stored) - 1
        } else {
            0
        };
        assert_eq!(first, darkest, "{name}");
        // A near-lossless image stays marked as lossy, with its ratio and method.
        let lossy = text(&after, tags::LOSSY_IMAGE_COMPRESSION);
        if kind.near > 0 {
            assert_eq!(lossy.as_deref(), Some("01"), "{name}");
            assert_eq!(
                text(&after, tags::LOSSY_IMAGE_COMPRESSION_RATIO).as_deref(),
                Some("3.5")
            );
            assert_eq!(
                text(&after, tags::LOSSY_IMAGE_COMPRESSION_METHOD).as_deref(),
                Some("ISO_14495_1")
            );
        } else {
            assert_ne!(lossy.as_deref(), Some("01"), "{name}");
        }
    }
}

/// The shared corpus's JPEG-LS files (when it sits beside the repository), by manifest.
fn corpus_jpegls() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(root.join("MANIFEST.csv")) else {
        return Vec::new();
    };
    manifest
        .lines()
        .filter(|l| l.contains("JPEG-LS"))
        .filter_map(|l| l.split(',').next())
        .map(|p| root.join(p))
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn every_corpus_jpeg_ls_file_is_masked_losslessly() {
    let files = corpus_jpegls();
    if files.is_empty() {
        eprintln!("no ../shared/corpus: skipped");
        return;
    }
    let d = deidentifier();
    let (mut masked, mut frames, mut checked) = (0, 0, 0);
    for path in &files {
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(' ', "_");
        let input = std::fs::read(path).unwrap();
        let t = std::time::Instant::now();
        let out = d
            .deidentify(&input)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let record = out.record.pixels.masked.as_ref().expect("masked");
        eprintln!(
            "{name}: {} frames masked in {:?}, {:+} bytes",
            record.frames,
            t.elapsed(),
            record.size_change
        );
        masked += 1;
        frames += record.frames;
        dump(&format!("corpus-{name}"), &input, &out.bytes);
        let after = open(&out.bytes);
        assert_eq!(
            after.meta().transfer_syntax().trim_end_matches('\0'),
            uids::JPEGLS_LOSSLESS,
            "{name}"
        );
        // Inputs that dicom-object reads are compared pixel by pixel.
        let Ok(before) = OpenFileOptions::new()
            .read_preamble(dicom_object::file::ReadPreamble::Auto)
            .open_file(path)
        else {
            eprintln!("{name}: dicom-object cannot read the input; pixels not compared here");
            continue;
        };
        assert!(check_pixels(&name, &before, &after) > 0, "{name}");
        checked += 1;
    }
    eprintln!(
        "{masked} JPEG-LS corpus files ({frames} frames) masked, {checked} compared pixel by pixel"
    );
    assert_eq!(masked, files.len());
}
