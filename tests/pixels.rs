//! Clean Pixel Data end to end: images built in code with dicom-rs (an independent writer), with
//! bright "text" bars inside a known rectangle, masked by the library, and decoded again with
//! dicom-rs (dicom-object and dicom-pixeldata): inside the rectangle every sample is the darkest
//! value, outside it every sample is what the original decodes to. With `PIXEL_OUT=<dir>` the
//! inputs and outputs are also written there for the pydicom and dcmtk checks
//! (`scripts/pixel_check.py`).

use std::collections::HashMap;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_deid::output::FileResult;
use dicom_deid::pixels::{ExplicitMasks, PixelSettings, Rect};
use dicom_deid::{Deidentified, Deidentifier, Error, Options, ProjectKey};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use dicom_pixeldata::{PixelDecoder, Transcode};

mod common;

use common::dcm::{open, part10};
use common::split::split_output;

const US_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.6.1";
const SOP_UID: &str = "1.2.826.0.1.3680043.8.498.1";
/// The rectangle the test masks: it holds the "text", and is not aligned to JPEG blocks.
const MASK: Rect = Rect {
    x0: 5,
    y0: 3,
    x1: 27,
    y1: 12,
};
const ROWS: u16 = 32;
const COLS: u16 = 48;

/// What an image is made of.
#[derive(Clone, Copy)]
struct Kind {
    pi: &'static str,
    spp: u16,
    bits: u16,
    stored: u16,
    signed: bool,
    planar: bool,
    frames: u32,
}

const fn kind(pi: &'static str, spp: u16, bits: u16, stored: u16) -> Kind {
    Kind {
        pi,
        spp,
        bits,
        stored,
        signed: false,
        planar: false,
        frames: 2,
    }
}

/// Sample `s` of pixel (x, y) of frame `f`: a gradient, with bright bars inside MASK.
fn sample(k: &Kind, f: u32, x: u32, y: u32, s: u32) -> u32 {
    let max = (1u32 << k.stored) - 1;
    if MASK.meets(x, y, 1, 1) && !y.is_multiple_of(3) {
        return max - s;
    }
    ((x * 5 + y * 3 + f * 7 + s * 11) * max / 400) & max
}

/// Native little-endian interleaved (or planar) samples of every frame.
fn pixels(k: &Kind) -> Vec<u8> {
    let bytes = (k.bits / 8) as usize;
    let mut out = Vec::new();
    for f in 0..k.frames {
        let mut put = |v: u32| out.extend_from_slice(&v.to_le_bytes()[..bytes]);
        if k.pi == "YBR_FULL_422" {
            for y in 0..ROWS as u32 {
                for x in (0..COLS as u32).step_by(2) {
                    for v in [sample(k, f, x, y, 0), sample(k, f, x + 1, y, 0), 100, 150] {
                        put(v);
                    }
                }
            }
        } else if k.planar {
            for s in 0..k.spp as u32 {
                for y in 0..ROWS as u32 {
                    for x in 0..COLS as u32 {
                        put(sample(k, f, x, y, s));
                    }
                }
            }
        } else {
            for y in 0..ROWS as u32 {
                for x in 0..COLS as u32 {
                    for s in 0..k.spp as u32 {
                        put(sample(k, f, x, y, s));
                    }
                }
            }
        }
    }
    out
}

/// A complete file in transfer syntax `ts` with native Pixel Data (dicom-object writes it).
fn native_file(k: &Kind, ts: &str) -> Vec<u8> {
    let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    let mut o = InMemDicomObject::new_empty();
    o.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, US_IMAGE));
    o.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, SOP_UID));
    o.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.8.498.2",
    ));
    o.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.8.498.3",
    ));
    o.put(DataElement::new(tags::MODALITY, VR::CS, "US"));
    o.put(DataElement::new(tags::PATIENT_NAME, VR::PN, "Doe^Jane"));
    o.put(DataElement::new(tags::PATIENT_ID, VR::LO, "ID12345"));
    o.put(us(tags::SAMPLES_PER_PIXEL, k.spp));
    o.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        k.pi,
    ));
    if k.spp > 1 {
        o.put(us(tags::PLANAR_CONFIGURATION, k.planar as u16));
    }
    o.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        k.frames.to_string(),
    ));
    o.put(us(tags::ROWS, ROWS));
    o.put(us(tags::COLUMNS, COLS));
    o.put(us(tags::BITS_ALLOCATED, k.bits));
    o.put(us(tags::BITS_STORED, k.stored));
    o.put(us(tags::HIGH_BIT, k.stored - 1));
    o.put(us(tags::PIXEL_REPRESENTATION, k.signed as u16));
    if k.pi == "PALETTE COLOR" {
        // 256 entries from index 0; the darkest is index 77.
        let lut = |c: u16| -> Vec<u16> {
            (0..256u16)
                .map(|i| if i == 77 { 0 } else { 0x1000 + i * 200 + c })
                .collect()
        };
        let desc = PrimitiveValue::U16(vec![256u16, 0, 16].into());
        for (d, t, c) in [
            (
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                1,
            ),
            (
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                2,
            ),
            (
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                3,
            ),
        ] {
            o.put(DataElement::new(d, VR::US, desc.clone()));
            o.put(DataElement::new(
                t,
                VR::OW,
                PrimitiveValue::U16(lut(c).into()),
            ));
        }
    }
    let data = pixels(k);
    let value = if k.bits > 8 {
        let words: Vec<u16> = data
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into()))
    } else {
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(data))
    };
    o.put(value);
    part10(o, ts, US_IMAGE, SOP_UID)
}

/// The same image re-encoded by dicom-rs (its own encoders).
fn transcoded(k: &Kind, ts: &dicom_encoding::TransferSyntax) -> Vec<u8> {
    let mut obj = open(&native_file(k, uids::EXPLICIT_VR_LITTLE_ENDIAN));
    obj.transcode(ts).unwrap();
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

fn deidentifier(regions: Option<Vec<Rect>>, release: bool) -> Deidentifier {
    let options = Options {
        clean_pixel_data: true,
        ..Options::basic()
    };
    let settings = PixelSettings {
        release_unmasked: release,
        regions: regions.map(|r| ExplicitMasks {
            images: HashMap::from([(SOP_UID.to_string(), r)]),
            ..Default::default()
        }),
        ..Default::default()
    };
    Deidentifier::new(options, ProjectKey::from_bytes([3; 32]))
        .unwrap()
        .with_pixels(settings.policy().unwrap())
}

/// Every frame decoded by dicom-pixeldata, as native little-endian bytes.
fn decoded(bytes: &[u8]) -> (Vec<u8>, DefaultDicomObject) {
    let obj = open(bytes);
    let d = obj.decode_pixel_data().unwrap();
    (d.data().to_vec(), obj)
}

fn dump(name: &str, input: &[u8], output: &[u8]) {
    if let Ok(dir) = std::env::var("PIXEL_OUT") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir.join("in")).unwrap();
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("in").join(name), input).unwrap();
        std::fs::write(dir.join("out").join(name), output).unwrap();
    }
}

/// Masks `input` and checks, pixel by pixel on the independent decode, that only MASK changed
/// and that it holds `fill` (per sample). Returns the output.
fn check_masked(name: &str, k: &Kind, input: &[u8], fill: &[u32]) -> Vec<u8> {
    let d = deidentifier(Some(vec![MASK]), false);
    let out = d
        .deidentify(input)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    dump(name, input, &out.bytes);
    split_gives_the_same(name, &d, input, &out);
    let (before, _) = decoded(input);
    let (after, obj) = decoded(&out.bytes);
    assert_eq!(before.len(), after.len(), "{name}: same decoded size");
    let bytes = (k.bits / 8) as usize;
    let value = |d: &[u8], i: usize| {
        let mut le = [0u8; 4];
        le[..bytes].copy_from_slice(&d[i * bytes..(i + 1) * bytes]);
        u32::from_le_bytes(le) & ((1u64 << k.stored) - 1) as u32
    };
    let spp = k.spp as usize;
    let per_frame = ROWS as usize * COLS as usize;
    let mut inside = 0;
    for f in 0..k.frames as usize {
        for y in 0..ROWS as u32 {
            for x in 0..COLS as u32 {
                #[allow(clippy::needless_range_loop)] // s indexes the decode and the fill
                for s in 0..spp {
                    let i = if k.planar {
                        (f * spp + s) * per_frame + (y * COLS as u32 + x) as usize
                    } else {
                        (f * per_frame + (y * COLS as u32 + x) as usize) * spp + s
                    };
                    let (b, a) = (value(&before, i), value(&after, i));
                    if MASK.meets(x, y, 1, 1) {
                        inside += 1;
                        assert_eq!(a, fill[s], "{name}: frame {f} ({x},{y}) sample {s} inside");
                    } else {
                        assert_eq!(a, b, "{name}: frame {f} ({x},{y}) sample {s} outside");
                    }
                }
            }
        }
    }
    assert!(inside > 0);
    let burned = obj
        .element(tags::BURNED_IN_ANNOTATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(burned.trim(), "NO", "{name}");
    let codes: Vec<String> = obj
        .element(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .map(|it| {
            it.element(tags::CODE_VALUE)
                .unwrap()
                .to_str()
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    assert!(codes.contains(&"113101".to_string()), "{name}: {codes:?}");
    assert!(out.record.pixels.masked.is_some());
    out.bytes
}

/// A large file's path (split around its Pixel Data, frames masked as they are copied) gives
/// the output and the ledger's result that masking the whole file gives.
fn split_gives_the_same(name: &str, d: &Deidentifier, input: &[u8], whole: &Deidentified) {
    let (out, result) = match split_output(d, input) {
        Ok(r) => r.unwrap_or_else(|e| panic!("{name}: split path: {e}")),
        Err(why) => panic!("{name}: not split ({why})"),
    };
    assert!(out == whole.bytes, "{name}: split output differs");
    assert_eq!(result, FileResult::of(&Ok(whole.clone())), "{name}");
}

#[test]
fn native_images_are_masked_in_place_in_every_frame_and_syntax() {
    let cases: Vec<(&str, Kind, &str, Vec<u32>)> = vec![
        (
            "grey8-le",
            kind("MONOCHROME2", 1, 8, 8),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            vec![0],
        ),
        (
            "grey16-signed-implicit",
            Kind {
                signed: true,
                ..kind("MONOCHROME2", 1, 16, 12)
            },
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            vec![0x800],
        ),
        (
            "mono1-16-be",
            kind("MONOCHROME1", 1, 16, 16),
            "1.2.840.10008.1.2.2",
            vec![0xFFFF],
        ),
        (
            "rgb-planar-deflated",
            Kind {
                planar: true,
                ..kind("RGB", 3, 8, 8)
            },
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
            vec![0, 0, 0],
        ),
        (
            "palette",
            kind("PALETTE COLOR", 1, 8, 8),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            vec![77],
        ),
    ];
    for (name, k, ts, fill) in cases {
        let input = native_file(&k, ts);
        let out = check_masked(name, &k, &input, &fill);
        let obj = open(&out);
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            ts,
            "{name}: same syntax"
        );
    }
}

#[test]
fn native_ybr_full_422_masks_whole_pixel_pairs() {
    let k = kind("YBR_FULL_422", 3, 8, 8);
    let input = native_file(&k, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let out = deidentifier(Some(vec![MASK]), false)
        .deidentify(&input)
        .unwrap();
    dump("ybr422", &input, &out.bytes);
    let raw = |b: &[u8]| {
        open(b)
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec()
    };
    let (before, after) = (raw(&input), raw(&out.bytes));
    for (p, (b, a)) in before.chunks(4).zip(after.chunks(4)).enumerate() {
        let p = p % (ROWS as usize * COLS as usize / 2);
        let (x, y) = (
            (p % (COLS as usize / 2)) as u32 * 2,
            (p / (COLS as usize / 2)) as u32,
        );
        if MASK.meets(x, y, 2, 1) {
            assert_eq!(a, [0, 0, 128, 128], "pair at ({x},{y})");
        } else {
            assert_eq!(a, b, "pair at ({x},{y})");
        }
    }
}

#[test]
fn rle_is_decoded_masked_and_re_encoded_as_rle() {
    let k = kind("RGB", 3, 8, 8);
    let input = rle_file(&k);
    let out = check_masked("rgb-rle", &k, &input, &[0, 0, 0]);
    assert_eq!(
        open(&out).meta().transfer_syntax().trim_end_matches('\0'),
        uids::RLE_LOSSLESS
    );
    let k16 = kind("MONOCHROME2", 1, 16, 16);
    check_masked("grey16-rle", &k16, &rle_file(&k16), &[0]);
}

/// An RLE file: pydicom's and dcmtk's decoders check our encoder in `scripts/pixel_check.py`;
/// here dicom-pixeldata decodes it.
fn rle_file(k: &Kind) -> Vec<u8> {
    let mut obj = open(&native_file(k, uids::EXPLICIT_VR_LITTLE_ENDIAN));
    let data = pixels(k);
    let frame = data.len() / k.frames as usize;
    let fragments: Vec<Vec<u8>> = data
        .chunks(frame)
        .map(|f| {
            dicom_deid::pixels::rle_encode(
                f,
                ROWS as usize,
                COLS as usize,
                k.spp as usize,
                (k.bits / 8) as usize,
            )
        })
        .collect();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            Vec::<u32>::new(),
            fragments,
        )),
    ));
    obj.update_meta(|m| {
        m.set_transfer_syntax(&dicom_transfer_syntax_registry::entries::RLE_LOSSLESS.erased())
    });
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

#[test]
fn jpeg_baseline_is_masked_in_the_dct_domain_and_keeps_its_syntax() {
    let k = kind("MONOCHROME2", 1, 8, 8);
    let input = transcoded(
        &k,
        &dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased(),
    );
    let d = deidentifier(Some(vec![MASK]), false);
    let out = d.deidentify(&input).unwrap();
    dump("grey8-jpeg", &input, &out.bytes);
    split_gives_the_same("grey8-jpeg", &d, &input, &out);
    assert_eq!(
        open(&out.bytes)
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0'),
        uids::JPEG_BASELINE8_BIT
    );
    let (before, _) = decoded(&input);
    let (after, _) = decoded(&out.bytes);
    let per_frame = ROWS as usize * COLS as usize;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let p = i % per_frame;
        let (x, y) = ((p % COLS as usize) as u32, (p / COLS as usize) as u32);
        // The 8×8 block of the pixel: blocks that meet the mask are dark, the others identical.
        let (bx, by) = (x / 8 * 8, y / 8 * 8);
        if MASK.meets(bx, by, 8, 8) {
            assert!(*a <= 2, "({x},{y}) in a masked block is {a}");
        } else {
            assert_eq!(a, b, "({x},{y}) outside every masked block");
        }
    }
}

#[test]
fn images_at_risk_without_masks_are_held_back_or_released_on_request() {
    let k = kind("MONOCHROME2", 1, 8, 8);
    let input = native_file(&k, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let held = deidentifier(None, false).deidentify(&input);
    assert!(
        matches!(&held, Err(Error::Quarantined(r)) if r.contains("Ultrasound")),
        "{held:?}"
    );
    let released = deidentifier(None, true).deidentify(&input).unwrap();
    assert!(released.record.pixels.released_unmasked);
    assert!(released.record.pixels.masked.is_none());
    let obj = open(&released.bytes);
    assert!(
        obj.element(tags::BURNED_IN_ANNOTATION).is_err(),
        "never claimed clean"
    );
    // Clean Pixel Data off: written as before, the risk recorded.
    let off = Deidentifier::new(Options::basic(), ProjectKey::from_bytes([3; 32]))
        .unwrap()
        .deidentify(&input)
        .unwrap();
    assert!(off.record.pixels.at_risk.is_some());
    assert_eq!(
        open(&off.bytes)
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap(),
        open(&input)
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
    );
}

/// 8-bit samples in OW of a big-endian data set come as 16-bit words, their bytes swapped in
/// pairs (a real Philips palette ultrasound, two frames): the rectangle, from an odd column, is
/// painted on the samples themselves (dicom-object reads the words back in sample order), and
/// every sample outside it is kept; the large-file path does the same.
#[test]
fn big_endian_ow_8_bit_samples_are_masked_where_they_are() {
    let Some(input) = corpus_file("gh-dicom-test-files/pydicom/OBXXXX1A_expb_2frame.dcm") else {
        return;
    };
    let obj = open(&input);
    let rect = Rect {
        x0: 11,
        y0: 5,
        x1: 40,
        y1: 20,
    };
    let d = masking_image(&obj, rect);
    let out = d.deidentify(&input).unwrap();
    split_gives_the_same("OBXXXX1A_expb_2frame", &d, &input, &out);
    let samples = |o: &DefaultDicomObject| {
        o.element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec()
    };
    let (before, after) = (samples(&obj), samples(&open(&out.bytes)));
    let cols = obj.element(tags::COLUMNS).unwrap().to_int::<u32>().unwrap();
    let per_frame = (cols * obj.element(tags::ROWS).unwrap().to_int::<u32>().unwrap()) as usize;
    let fill = after[(rect.y0 * cols + rect.x0) as usize];
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let p = (i % per_frame) as u32;
        let (x, y) = (p % cols, p / cols);
        if rect.meets(x, y, 1, 1) {
            assert_eq!(*a, fill, "({x},{y}) inside");
        } else {
            assert_eq!(a, b, "({x},{y}) outside");
        }
    }
    assert!(
        before[(rect.y0 * cols + rect.x0) as usize..][..29]
            .iter()
            .any(|&v| v != fill)
    );
}

/// A file of the shared corpus, or None (and a note) when the corpus is not beside the project.
fn corpus_file(rel: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(rel);
    let bytes = std::fs::read(path).ok();
    if bytes.is_none() {
        eprintln!("no ../shared/corpus/{rel}: skipped");
    }
    bytes
}

/// A de-identifier under Clean Pixel Data that masks `rect` on the image `obj` (by its SOP
/// Instance UID).
fn masking_image(obj: &DefaultDicomObject, rect: Rect) -> Deidentifier {
    let uid = obj
        .element(tags::SOP_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap();
    let settings = PixelSettings {
        regions: Some(ExplicitMasks {
            images: HashMap::from([(uid.trim_end_matches('\0').to_string(), vec![rect])]),
            ..Default::default()
        }),
        ..Default::default()
    };
    Deidentifier::new(
        Options {
            clean_pixel_data: true,
            ..Options::basic()
        },
        ProjectKey::from_bytes([3; 32]),
    )
    .unwrap()
    .with_pixels(settings.policy().unwrap())
}

/// JPEG XL lossless files written by dicom-rs's own encoder (the registry's zune-jpegxl adapter,
/// called here through `transcode`, not through the library): masked, written as JPEG XL
/// lossless again, and only the rectangle changed in every frame. 12 bits stored in 16 check
/// that the 16-bit path (jxl-oxide renders through floating point) gives every value back.
#[test]
fn jpeg_xl_is_decoded_masked_and_re_encoded_as_jpeg_xl_lossless() {
    let xl = dicom_transfer_syntax_registry::entries::JPEG_XL_LOSSLESS.erased();
    for (name, k, fill) in [
        ("grey8-jxl", kind("MONOCHROME2", 1, 8, 8), vec![0]),
        ("grey12-jxl", kind("MONOCHROME2", 1, 16, 12), vec![0]),
        ("mono1-16-jxl", kind("MONOCHROME1", 1, 16, 16), vec![65535]),
        ("rgb8-jxl", kind("RGB", 3, 8, 8), vec![0, 0, 0]),
    ] {
        let input = transcoded(&k, &xl);
        assert!(
            decoded(&input).0 == pixels(&k),
            "{name}: the input decodes exactly"
        );
        let out = check_masked(name, &k, &input, &fill);
        let obj = open(&out);
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            uids::JPEGXL_LOSSLESS,
            "{name}"
        );
        let pi = obj.element(tags::PHOTOMETRIC_INTERPRETATION).unwrap();
        assert_eq!(pi.to_str().unwrap().trim(), k.pi, "{name}");
    }
}

/// A 12-bit JPEG XL codestream from libjxl (`tests/codestreams`, the two frames of the 12-bit
/// grey image these tests build): jxl-oxide scales its samples to 16 bits (dicom-pixeldata shows
/// it: the input does not decode to its stored values there); the library reads the header's
/// depth and masks the stored values, and the output (JPEG XL lossless, 16-bit header) decodes
/// anywhere to the image with only the rectangle dark.
#[test]
fn a_12_bit_jpeg_xl_codestream_is_masked_on_its_stored_values() {
    let k = kind("MONOCHROME2", 1, 16, 12);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codestreams");
    let frames: Vec<Vec<u8>> = (0..2)
        .map(|f| std::fs::read(dir.join(format!("grey12-frame{f}.jxl"))).unwrap())
        .collect();
    let mut obj = open(&native_file(&k, uids::EXPLICIT_VR_LITTLE_ENDIAN));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            Vec::<u32>::new(),
            frames,
        )),
    ));
    obj.update_meta(|m| {
        m.set_transfer_syntax(&dicom_transfer_syntax_registry::entries::JPEG_XL_LOSSLESS.erased())
    });
    let mut input = Vec::new();
    obj.write_all(&mut input).unwrap();
    let original = pixels(&k);
    assert!(
        decoded(&input).0 != original,
        "jxl-oxide scales 12-bit samples"
    );
    let out = deidentifier(Some(vec![MASK]), false)
        .deidentify(&input)
        .unwrap();
    dump("grey12-libjxl", &input, &out.bytes);
    let (after, _) = decoded(&out.bytes);
    assert_eq!(after.len(), original.len());
    for (i, (a, o)) in after
        .chunks_exact(2)
        .zip(original.chunks_exact(2))
        .enumerate()
    {
        let p = i % (ROWS as usize * COLS as usize);
        let (x, y) = ((p % COLS as usize) as u32, (p / COLS as usize) as u32);
        let want = if MASK.meets(x, y, 1, 1) {
            [0, 0]
        } else {
            [o[0], o[1]]
        };
        assert_eq!(a, want, "sample {i} at ({x},{y})");
    }
}

/// A real JPEG XL file (dcm4che's `will-jxl.dcm`: a GE ultrasound cine, 27 frames of 1016×708, a
/// baseline JPEG recompressed losslessly into JPEG XL, 4.111, labelled YBR_FULL_422): masked and
/// written as JPEG XL lossless in RGB, the colours its decoder gives, every frame; outside the
/// band every sample is what the input decodes to. The decode is RGB indeed: on an ultrasound
/// frame, mostly black and grey, the three samples of most pixels agree (89 % here; in YCbCr
/// black is 0, 128, 128).
#[test]
fn a_real_jpeg_xl_recompressed_cine_is_masked_into_jpeg_xl_lossless() {
    let Some(input) = corpus_file("gh-dcm4che/will-jxl.dcm") else {
        return;
    };
    let obj = open(&input);
    let band = Rect {
        x0: 0,
        y0: 0,
        x1: 1016,
        y1: 60,
    };
    let d = masking_image(&obj, band);
    let out = d.deidentify(&input).unwrap();
    dump("will-jxl", &input, &out.bytes);
    split_gives_the_same("will-jxl", &d, &input, &out);
    let masked = open(&out.bytes);
    let text =
        |o: &DefaultDicomObject, t| o.element(t).unwrap().to_str().unwrap().trim().to_string();
    assert_eq!(
        masked.meta().transfer_syntax().trim_end_matches('\0'),
        uids::JPEGXL_LOSSLESS
    );
    assert_eq!(text(&masked, tags::PHOTOMETRIC_INTERPRETATION), "RGB");
    assert_eq!(
        text(&masked, tags::LOSSY_IMAGE_COMPRESSION),
        "01",
        "still once lossy"
    );
    let (before, _) = decoded(&input);
    let (after, _) = decoded(&out.bytes);
    assert_eq!(before.len(), 27 * 708 * 1016 * 3);
    assert_eq!(before.len(), after.len());
    let grey = before
        .chunks_exact(3)
        .filter(|p| p[0].abs_diff(p[1]) <= 8 && p[1].abs_diff(p[2]) <= 8)
        .count();
    assert!(
        grey * 4 > before.len() / 3 * 3,
        "{grey} grey pixels: not RGB"
    );
    let mut changed = 0;
    for (i, (b, a)) in before
        .chunks_exact(3)
        .zip(after.chunks_exact(3))
        .enumerate()
    {
        let p = (i % (708 * 1016)) as u32;
        if band.meets(p % 1016, p / 1016, 1, 1) {
            assert_eq!(a, [0, 0, 0], "pixel {i} inside");
            changed += usize::from(a != b);
        } else {
            assert_eq!(a, b, "pixel {i} outside");
        }
    }
    assert!(changed > 0, "the band held something to mask");
}
