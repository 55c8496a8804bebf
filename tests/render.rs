//! The display renderer (`dicom_deid::render`): images built in code with the tests' own encoder
//! (`common`), each checked against values computed here from the equations of PS3.3 (not from
//! the library), then the real files of `tests/data` and, when it is beside the repository, the
//! shared corpus.

mod common;

use common::*;
use dicom_deid::Error;
use dicom_deid::render::{Image, Rgba, Window};

const SC: &str = "1.2.840.10008.5.1.4.1.1.7";

fn us(tag: u32, v: u16) -> El {
    bytes(tag, "US", v.to_le_bytes().to_vec())
}

/// The Image Pixel attributes of a `rows` × `cols` image and its native Pixel Data.
struct Pix {
    rows: u16,
    cols: u16,
    spp: u16,
    bits: u16,
    stored: u16,
    high: u16,
    signed: bool,
    pi: &'static str,
    planar: bool,
    frames: u32,
}

fn pix(rows: u16, cols: u16, bits: u16, pi: &'static str) -> Pix {
    let spp = if pi.starts_with("RGB") || pi.starts_with("YBR") {
        3
    } else {
        1
    };
    Pix {
        rows,
        cols,
        spp,
        bits,
        stored: bits,
        high: bits - 1,
        signed: false,
        pi,
        planar: false,
        frames: 1,
    }
}

/// The elements of an image with these pixels (and `extra` elements).
fn elements(p: &Pix, data: Vec<u8>, extra: Vec<El>) -> Vec<El> {
    let mut e = vec![
        text(0x0008_0016, "UI", SC),
        text(0x0008_0018, "UI", "1.2.826.0.1.3680043.8.498.77"),
        text(0x0010_0010, "PN", "Secret^Patient"),
        us(0x0028_0002, p.spp),
        text(0x0028_0004, "CS", p.pi),
        us(0x0028_0010, p.rows),
        us(0x0028_0011, p.cols),
        us(0x0028_0100, p.bits),
        us(0x0028_0101, p.stored),
        us(0x0028_0102, p.high),
        us(0x0028_0103, p.signed as u16),
        bytes(0x7FE0_0010, if p.bits > 8 { "OW" } else { "OB" }, pad(data)),
    ];
    if p.spp > 1 {
        e.push(us(0x0028_0006, p.planar as u16));
    }
    if p.frames > 1 {
        e.push(text(0x0028_0008, "IS", &p.frames.to_string()));
    }
    e.extend(extra);
    e
}

fn pad(mut d: Vec<u8>) -> Vec<u8> {
    if d.len() % 2 == 1 {
        d.push(0);
    }
    d
}

fn open(p: &Pix, data: Vec<u8>, extra: Vec<El>) -> Image {
    Image::open(&file(&elements(p, data, extra), Syntax::ExplicitLe)).expect("opens")
}

fn le16(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x as u16).to_le_bytes()).collect()
}

/// The grey level of pixel `i` (checking that R = G = B and alpha is opaque).
fn grey(img: &Rgba, i: usize) -> u8 {
    let p = &img.data[i * 4..i * 4 + 4];
    assert!(
        p[0] == p[1] && p[1] == p[2] && p[3] == 255,
        "pixel {i} is not grey: {p:?}"
    );
    p[0]
}

fn rgb(img: &Rgba, i: usize) -> [u8; 3] {
    let p = &img.data[i * 4..i * 4 + 4];
    [p[0], p[1], p[2]]
}

/// PS3.3 C.11.2.1.2.1, written out here as the standard states it.
fn linear_window(x: f64, c: f64, w: f64) -> u8 {
    let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        255.0
    } else {
        ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
    };
    y.round() as u8
}

const CT: [i32; 8] = [-2000, -1024, -200, -37, 0, 41, 260, 3000];

fn ct(pi: &'static str) -> (Pix, Vec<u8>, Vec<El>) {
    let mut p = pix(2, 4, 16, pi);
    p.signed = true;
    let extra = vec![
        text(0x0028_1050, "DS", "40\\400"),
        text(0x0028_1051, "DS", "400\\2000"),
        text(0x0028_1052, "DS", "-10"),
        text(0x0028_1053, "DS", "2"),
    ];
    (p, le16(&CT), extra)
}

#[test]
fn monochrome2_signed_with_rescale_and_window() {
    let (p, data, extra) = ct("MONOCHROME2");
    let img = open(&p, data, extra);
    assert_eq!((img.width(), img.height(), img.frames()), (4, 2, 1));
    assert_eq!(img.photometric(), "MONOCHROME2");
    let first = Window {
        center: 40.0,
        width: 400.0,
    };
    assert_eq!(
        img.default_window(),
        Some(first),
        "the first of two windows"
    );
    assert_eq!(img.value_range(0).unwrap(), (-4010.0, 5990.0));
    let out = img.render(0, None, false).unwrap();
    assert_eq!((out.width, out.height, out.data.len()), (4, 2, 32));
    for (i, &v) in CT.iter().enumerate() {
        let m = v as f64 * 2.0 - 10.0;
        assert_eq!(
            grey(&out, i),
            linear_window(m, 40.0, 400.0),
            "pixel {i} (stored {v})"
        );
    }
    // A window given by the page replaces the file's.
    let bone = Window {
        center: 300.0,
        width: 1500.0,
    };
    let out = img.render(0, Some(bone), false).unwrap();
    for (i, &v) in CT.iter().enumerate() {
        let m = v as f64 * 2.0 - 10.0;
        assert_eq!(grey(&out, i), linear_window(m, 300.0, 1500.0), "pixel {i}");
    }
    // Some values fall inside the window, so the test sees the ramp, not only 0 and 255.
    assert!((0..8).any(|i| !matches!(grey(&out, i), 0 | 255)));
}

#[test]
fn monochrome1_is_inverted_after_voi() {
    let (p, data, extra) = ct("MONOCHROME2");
    let mono2 = open(&p, data.clone(), extra.clone())
        .render(0, None, false)
        .unwrap();
    let (p1, ..) = ct("MONOCHROME1");
    let img = open(&p1, data, extra);
    let mono1 = img.render(0, None, false).unwrap();
    for i in 0..8 {
        assert_eq!(grey(&mono1, i), 255 - grey(&mono2, i), "pixel {i}");
    }
    assert_eq!(
        img.render(0, None, true).unwrap().data,
        mono2.data,
        "invert undoes it"
    );
}

#[test]
fn bits_above_high_bit_are_ignored() {
    let values = [0i32, 1, 2047, 2048, 4095, 100];
    let clean = {
        let mut p = pix(1, 6, 16, "MONOCHROME2");
        p.stored = 12;
        p.high = 11;
        open(&p, le16(&values), vec![])
    };
    let dirty = {
        let mut p = pix(1, 6, 16, "MONOCHROME2");
        p.stored = 12;
        p.high = 11;
        let raw: Vec<i32> = values.iter().map(|v| v | 0xA000).collect();
        open(&p, le16(&raw), vec![])
    };
    assert_eq!(dirty.value_range(0).unwrap(), (0.0, 4095.0));
    assert_eq!(
        dirty.render(0, None, false).unwrap(),
        clean.render(0, None, false).unwrap()
    );
    // High Bit 15: the value is the top 12 bits; the low four are noise.
    let mut p = pix(1, 6, 16, "MONOCHROME2");
    p.stored = 12;
    p.high = 15;
    let raw: Vec<i32> = values.iter().map(|v| (v << 4) | 0x5).collect();
    let shifted = open(&p, le16(&raw), vec![]);
    assert_eq!(
        shifted.render(0, None, false).unwrap(),
        clean.render(0, None, false).unwrap()
    );
    // Signed 12-bit: 0xFFF is -1 and 0x800 is -2048, whatever lies above bit 11.
    let mut p = pix(1, 3, 16, "MONOCHROME2");
    p.stored = 12;
    p.high = 11;
    p.signed = true;
    let img = open(&p, le16(&[0xFFFF, 0x7800, 0x07FF]), vec![]);
    assert_eq!(img.value_range(0).unwrap(), (-2048.0, 2047.0));
}

#[test]
fn one_bit_packed_lsb_first() {
    let mut p = pix(2, 8, 1, "MONOCHROME2");
    p.high = 0;
    let img = open(&p, vec![0b0000_0101, 0b1000_0000], vec![]);
    let out = img.render(0, None, false).unwrap();
    let got: Vec<u8> = (0..16).map(|i| grey(&out, i)).collect();
    let mut want = vec![0u8; 16];
    for i in [0, 2, 15] {
        want[i] = 255;
    }
    assert_eq!(got, want);
}

#[test]
fn one_bit_frames_follow_each_other_bit_by_bit() {
    // 3×3 = 9 bits a frame: frame 1 starts at bit 9, inside the second byte.
    let mut p = pix(3, 3, 1, "MONOCHROME2");
    p.high = 0;
    p.frames = 2;
    let bits: u32 = 0b1_0000_0000 | (0b0_0000_0001 << 9) | (1 << 10);
    let img = open(&p, bits.to_le_bytes()[..3].to_vec(), vec![]);
    let f0 = img.render(0, None, false).unwrap();
    let f1 = img.render(1, None, false).unwrap();
    assert_eq!(
        (0..9).map(|i| grey(&f0, i)).collect::<Vec<_>>(),
        [0, 0, 0, 0, 0, 0, 0, 0, 255]
    );
    assert_eq!(
        (0..9).map(|i| grey(&f1, i)).collect::<Vec<_>>(),
        [255, 255, 0, 0, 0, 0, 0, 0, 0]
    );
}

/// A PALETTE COLOR image of 8-bit indices through a 3-entry palette.
fn palette_image(entry_bits: u16, first: u16, data: [[u16; 3]; 3], pixels: Vec<u8>) -> Image {
    let p = pix(1, pixels.len() as u16, 8, "PALETTE COLOR");
    let desc: Vec<u8> = [3u16, first, entry_bits]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut extra = Vec::new();
    for c in 0..3u32 {
        extra.push(bytes(0x0028_1101 + c, "US", desc.clone()));
        let lut: Vec<u8> = if entry_bits == 8 {
            pad(data.iter().map(|e| e[c as usize] as u8).collect())
        } else {
            data.iter()
                .flat_map(|e| e[c as usize].to_le_bytes())
                .collect()
        };
        extra.push(bytes(0x0028_1201 + c, "OW", lut));
    }
    open(&p, pixels, extra)
}

#[test]
fn palette_color_8_and_16_bit_entries() {
    let want = [[255u8, 0, 0], [0, 128, 0], [10, 20, 250]];
    let wide = want.map(|e| e.map(|v| (v as u16) << 8 | 0x7F));
    let narrow = want.map(|e| e.map(|v| v as u16));
    for (bits, table) in [(16, wide), (8, narrow)] {
        let img = palette_image(bits, 0, table, vec![0, 1, 2, 9]);
        let out = img.render(0, None, false).unwrap();
        let got: Vec<[u8; 3]> = (0..4).map(|i| rgb(&out, i)).collect();
        assert_eq!(
            got,
            [want[0], want[1], want[2], want[2]],
            "{bits}-bit entries"
        );
    }
    // The first mapped value shifts the indices; values below it take the first entry.
    let img = palette_image(16, 10, wide, vec![10, 11, 12, 3]);
    let out = img.render(0, None, false).unwrap();
    let got: Vec<[u8; 3]> = (0..4).map(|i| rgb(&out, i)).collect();
    assert_eq!(got, [want[0], want[1], want[2], want[0]]);
}

#[test]
fn segmented_palette() {
    // Red: a discrete 0 then a linear ramp to 0xFF00 over 255 entries; green and blue: 0.
    let p = pix(1, 3, 8, "PALETTE COLOR");
    let desc: Vec<u8> = [256u16, 0, 16]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let words = |w: &[u16]| -> Vec<u8> { w.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let mut extra = Vec::new();
    for c in 0..3u32 {
        extra.push(bytes(0x0028_1101 + c, "US", desc.clone()));
        let seg = if c == 0 {
            words(&[0, 1, 0, 1, 255, 0xFF00])
        } else {
            words(&[0, 1, 0, 1, 255, 0])
        };
        extra.push(bytes(0x0028_1221 + c, "OW", seg));
    }
    let img = open(&p, vec![0, 128, 255], extra);
    let out = img.render(0, None, false).unwrap();
    assert_eq!(
        [rgb(&out, 0), rgb(&out, 1), rgb(&out, 2)],
        [[0, 0, 0], [128, 0, 0], [255, 0, 0]]
    );
}

const COLOURS: [[u8; 3]; 6] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 255],
    [128, 128, 128],
    [12, 200, 90],
];

#[test]
fn rgb_planar_0_and_1_give_the_same_picture() {
    let interleaved: Vec<u8> = COLOURS.iter().flatten().copied().collect();
    let planar: Vec<u8> = (0..3)
        .flat_map(|c| COLOURS.iter().map(move |p| p[c]))
        .collect();
    let mut p = pix(2, 3, 8, "RGB");
    let a = open(&p, interleaved, vec![])
        .render(0, None, false)
        .unwrap();
    p.planar = true;
    let b = open(&p, planar, vec![]).render(0, None, false).unwrap();
    assert_eq!(a, b);
    assert_eq!((0..6).map(|i| rgb(&a, i)).collect::<Vec<_>>(), COLOURS);
    // The window and invert do not touch colour.
    p.planar = false;
    let img = open(&p, COLOURS.iter().flatten().copied().collect(), vec![]);
    let w = Some(Window {
        center: 10.0,
        width: 2.0,
    });
    assert_eq!(img.render(0, w, true).unwrap(), a);
}

/// PS3.3 C.7.6.3.1.2 YBR_FULL from R, G, B.
fn to_ybr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f64, g as f64, b as f64);
    let y = 0.2990 * r + 0.5870 * g + 0.1140 * b;
    let cb = -0.1687 * r - 0.3313 * g + 0.5000 * b + 128.0;
    let cr = 0.5000 * r - 0.4187 * g - 0.0813 * b + 128.0;
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (x as i32 - y as i32).abs() <= tol)
}

#[test]
fn ybr_full_known_colours() {
    let data: Vec<u8> = COLOURS.iter().flat_map(|&c| to_ybr(c)).collect();
    let out = open(&pix(2, 3, 8, "YBR_FULL"), data, vec![])
        .render(0, None, false)
        .unwrap();
    for (i, &c) in COLOURS.iter().enumerate() {
        assert!(
            close(rgb(&out, i), c, 2),
            "pixel {i}: {:?} for {c:?}",
            rgb(&out, i)
        );
    }
}

#[test]
fn ybr_full_422_native_pairs() {
    // Each pair: two pixels of one chroma (red's; then blue's), luminance of their own.
    let red = to_ybr([255, 0, 0]);
    let blue = to_ybr([0, 0, 255]);
    let grey = to_ybr([90, 90, 90]);
    let data = vec![
        red[0], red[0], red[1], red[2], //
        blue[0], grey[0], blue[1], blue[2], //
        grey[0], grey[0], grey[1], grey[2], //
        red[0], red[0], red[1], red[2],
    ];
    let mut p = pix(2, 4, 8, "YBR_FULL_422");
    p.planar = false;
    let out = open(&p, data, vec![]).render(0, None, false).unwrap();
    assert_eq!((out.width, out.height), (4, 2));
    let want = [[255, 0, 0], [255, 0, 0], [0, 0, 255], [90, 90, 90]];
    for (i, &c) in want.iter().enumerate().take(3) {
        assert!(close(rgb(&out, i), c, 2), "pixel {i}: {:?}", rgb(&out, i));
    }
    // Pixel 3 has grey's luminance with blue's chroma: bluer than grey, as a renderer that
    // shares the pair's chroma must show it.
    let p3 = rgb(&out, 3);
    assert!(p3[2] > p3[0] + 100, "{p3:?}");
    assert!(close(rgb(&out, 4), want[3], 2) && close(rgb(&out, 7), want[0], 2));
}

/// Three 8-bit frames; frame 1 (the second) is a different picture.
fn three_frames() -> (Pix, Vec<Vec<u8>>) {
    let mut p = pix(2, 2, 8, "MONOCHROME2");
    p.frames = 3;
    (
        p,
        vec![
            vec![0, 100, 200, 250],
            vec![250, 200, 100, 0],
            vec![0, 100, 200, 250],
        ],
    )
}

#[test]
fn any_frame_of_a_native_multiframe() {
    let (p, frames) = three_frames();
    let img = open(&p, frames.concat(), vec![]);
    assert_eq!(img.frames(), 3);
    let r: Vec<Rgba> = (0..3)
        .map(|k| img.render(k, None, false).unwrap())
        .collect();
    assert_ne!(r[0], r[1]);
    assert_eq!(r[0], r[2]);
    assert_eq!(grey(&r[1], 0), 255);
    assert!(img.render(3, None, false).is_err(), "no fourth frame");
}

/// An RLE Lossless file of `frames`, one fragment each, empty Basic Offset Table.
fn rle_file(p: &Pix, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut els = elements(p, vec![], vec![]);
    els.retain(|e| e.tag != 0x7FE0_0010);
    let mut body = Vec::new();
    encode(&els, Syntax::ExplicitLe, 0, &mut body);
    body.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    let mut item = |b: &[u8]| {
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        body.extend_from_slice(&(b.len() as u32).to_le_bytes());
        body.extend_from_slice(b);
    };
    item(&[]);
    for f in frames {
        let enc = dicom_deid::pixels::rle_encode(f, p.rows as usize, p.cols as usize, 1, 1);
        item(&enc);
    }
    body.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    file_with(&els, "1.2.840.10008.1.2.5", &body)
}

#[test]
fn any_frame_of_an_encapsulated_multiframe() {
    let (p, frames) = three_frames();
    let img = Image::open(&rle_file(&p, &frames)).unwrap();
    let native = open(&p, frames.concat(), vec![]);
    assert_eq!(img.frames(), 3);
    for k in [1, 0, 2, 1] {
        assert_eq!(
            img.render(k, None, false).unwrap(),
            native.render(k, None, false).unwrap(),
            "frame {k}"
        );
    }
}

#[test]
fn voi_lut_sequence_and_sigmoid() {
    let p = pix(1, 4, 16, "MONOCHROME2");
    let desc: Vec<u8> = [4u16, 0, 8].iter().flat_map(|v| v.to_le_bytes()).collect();
    let lut = vec![
        bytes(0x0028_3002, "US", desc),
        bytes(0x0028_3006, "OW", le16(&[0, 100, 200, 255])),
    ];
    let extra = vec![
        seq(0x0028_3010, vec![lut]),
        text(0x0028_1050, "DS", "1"),
        text(0x0028_1051, "DS", "2"),
    ];
    let img = open(&p, le16(&[3, 2, 1, 0]), extra);
    let out = img.render(0, None, false).unwrap();
    assert_eq!(
        (0..4).map(|i| grey(&out, i)).collect::<Vec<_>>(),
        [255, 200, 100, 0],
        "the LUT wins"
    );
    let w = Window {
        center: 1.5,
        width: 4.0,
    };
    let out = img.render(0, Some(w), false).unwrap();
    let want: Vec<u8> = [3.0, 2.0, 1.0, 0.0]
        .iter()
        .map(|&x| linear_window(x, 1.5, 4.0))
        .collect();
    assert_eq!(
        (0..4).map(|i| grey(&out, i)).collect::<Vec<_>>(),
        want,
        "an explicit window"
    );

    // SIGMOID (C.11.2.1.3.2) through the file's window.
    let extra = vec![
        text(0x0028_1050, "DS", "100"),
        text(0x0028_1051, "DS", "50"),
        text(0x0028_1056, "CS", "SIGMOID"),
    ];
    let values = [0, 90, 100, 130];
    let img = open(&p, le16(&values), extra);
    let out = img.render(0, None, false).unwrap();
    for (i, &x) in values.iter().enumerate() {
        let y = 255.0 / (1.0 + (-4.0 * (x as f64 - 100.0) / 50.0).exp());
        assert_eq!(grey(&out, i), y.round() as u8, "pixel {i}");
    }
}

#[test]
fn modality_lut_sequence() {
    let p = pix(1, 3, 16, "MONOCHROME2");
    let desc: Vec<u8> = [3u16, 5, 16].iter().flat_map(|v| v.to_le_bytes()).collect();
    let lut = vec![
        bytes(0x0028_3002, "US", desc),
        bytes(0x0028_3006, "OW", le16(&[1000, 3000, 2000])),
    ];
    let extra = vec![seq(0x0028_3000, vec![lut]), text(0x0028_1053, "DS", "7")];
    let img = open(&p, le16(&[5, 6, 99]), extra);
    assert_eq!(
        img.value_range(0).unwrap(),
        (1000.0, 3000.0),
        "the table, not the slope"
    );
}

#[test]
fn per_frame_functional_groups() {
    let mut p = pix(1, 2, 16, "MONOCHROME2");
    p.frames = 2;
    let group = |slope: &str, c: &str, w: &str| {
        vec![
            seq(
                0x0028_9145,
                vec![vec![
                    text(0x0028_1052, "DS", "0"),
                    text(0x0028_1053, "DS", slope),
                ]],
            ),
            seq(
                0x0028_9132,
                vec![vec![text(0x0028_1050, "DS", c), text(0x0028_1051, "DS", w)]],
            ),
        ]
    };
    let extra = vec![
        seq(0x5200_9229, vec![group("1", "50", "100")]),
        seq(0x5200_9230, vec![vec![], group("10", "500", "1000")]),
    ];
    let img = open(&p, le16(&[0, 100, 0, 100]), extra);
    assert_eq!(
        img.value_range(0).unwrap(),
        (0.0, 100.0),
        "frame 1: the shared group"
    );
    assert_eq!(
        img.value_range(1).unwrap(),
        (0.0, 1000.0),
        "frame 2: its own group"
    );
    assert_eq!(
        img.default_window(),
        Some(Window {
            center: 50.0,
            width: 100.0
        })
    );
    assert_eq!(
        img.frame_window(1),
        Some(Window {
            center: 500.0,
            width: 1000.0
        })
    );
    let (a, b) = (
        img.render(0, None, false).unwrap(),
        img.render(1, None, false).unwrap(),
    );
    assert_eq!(
        (grey(&a, 1), grey(&b, 1)),
        (
            linear_window(100.0, 50.0, 100.0),
            linear_window(1000.0, 500.0, 1000.0)
        )
    );
}

#[test]
fn big_endian_native() {
    let mut p = pix(1, 3, 16, "MONOCHROME2");
    p.stored = 12;
    p.high = 11;
    let els = |data: Vec<u8>| elements(&p, data, vec![]);
    let le = Image::open(&file(&els(le16(&[1, 2000, 4095])), Syntax::ExplicitLe)).unwrap();
    let be_data: Vec<u8> = [1u16, 2000, 4095]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let mut be_els = els(be_data);
    for e in &mut be_els {
        if let V::Bytes(b) = &mut e.v
            && e.vr == *b"US"
        {
            b.reverse();
        }
    }
    let be = Image::open(&file(&be_els, Syntax::ExplicitBe)).unwrap();
    assert_eq!(be.value_range(0).unwrap(), (1.0, 4095.0));
    assert_eq!(
        be.render(0, None, false).unwrap(),
        le.render(0, None, false).unwrap()
    );
}

#[test]
fn thumbnail_size_and_area_average() {
    let (w, h) = (512u16, 256u16);
    let checker: Vec<u8> = (0..h as usize * w as usize)
        .map(|i| {
            if (i % w as usize + i / w as usize).is_multiple_of(2) {
                0
            } else {
                255
            }
        })
        .collect();
    let img = open(&pix(h, w, 8, "MONOCHROME2"), checker, vec![]);
    let t = img.thumbnail(128).unwrap();
    assert_eq!((t.width, t.height, t.data.len()), (128, 64, 128 * 64 * 4));
    for i in 0..128 * 64 {
        assert!(
            matches!(grey(&t, i), 127 | 128),
            "pixel {i}: {}",
            grey(&t, i)
        );
    }
    // A small image is not enlarged; odd ratios keep the aspect.
    assert_eq!(img.thumbnail(1024).unwrap().width, 512);
    let t = img.thumbnail(100).unwrap();
    assert_eq!((t.width, t.height), (100, 50));
}

#[test]
fn thumbnail_takes_the_middle_frame() {
    let (p, frames) = three_frames();
    let img = open(&p, frames.concat(), vec![]);
    assert_eq!(
        img.thumbnail(64).unwrap(),
        img.render(1, None, false).unwrap()
    );
}

#[test]
fn no_pixel_data_is_a_clear_error() {
    let mut els = elements(&pix(2, 2, 8, "MONOCHROME2"), vec![], vec![]);
    els.retain(|e| e.tag != 0x7FE0_0010);
    let err = Image::open(&file(&els, Syntax::ExplicitLe))
        .err()
        .expect("refused");
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no Pixel Data"), "{msg}");
    assert!(!msg.contains("Secret"), "no patient value in an error");
}

// ---------------------------------------------------------------------------------------------
// Real files.

/// Renders frame 0 and a thumbnail; `Ok(None)` when the file has no image.
fn check_real(bytes: &[u8]) -> Result<Option<()>, String> {
    let img = match Image::open(bytes) {
        Ok(img) => img,
        Err(Error::Unsupported(m)) if m.contains("no Pixel Data") => return Ok(None),
        Err(e) => return Err(format!("open: {e}")),
    };
    let out = img
        .render(0, None, false)
        .map_err(|e| format!("render: {e}"))?;
    if (out.width, out.height) != (img.width(), img.height())
        || out.data.len() != (img.width() * img.height() * 4) as usize
    {
        return Err("render: wrong size".into());
    }
    let t = img.thumbnail(256).map_err(|e| format!("thumbnail: {e}"))?;
    let longest = t.width.max(t.height);
    let expect_longest = img.width().max(img.height()).min(256);
    if longest != expect_longest || t.data.len() != (t.width * t.height * 4) as usize {
        return Err(format!(
            "thumbnail: {}×{} for {}×{}",
            t.width,
            t.height,
            img.width(),
            img.height()
        ));
    }
    let (lo, hi) = out
        .data
        .iter()
        .fold((255, 0), |(lo, hi), &v| (v.min(lo), v.max(hi)));
    if lo == hi {
        let (a, b) = img
            .value_range(0)
            .map_err(|e| format!("value_range: {e}"))?;
        let file = if a == b {
            " (so are the file's values)"
        } else {
            ""
        };
        return Err(format!("uniform picture{file}"));
    }
    Ok(Some(()))
}

#[test]
fn real_files_in_tests_data() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut images = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dcm") {
            let bytes = std::fs::read(&path).unwrap();
            match check_real(&bytes) {
                Ok(Some(())) => images += 1,
                Ok(None) => {}
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
    assert!(images >= 3, "only {images} images in tests/data");
}

/// Transfer syntaxes (MANIFEST.csv names) the registry of this build decodes.
const DECODABLE: [&str; 13] = [
    "Explicit VR Little Endian",
    "Implicit VR Little Endian",
    "Explicit VR Big Endian",
    "Deflated Explicit VR Little Endian",
    "(no meta TS) implicit VR little endian",
    "RLE Lossless",
    "JPEG Baseline (Process 1)",
    "JPEG Extended (Process 2 and 4)",
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
    "JPEG Lossless, Non-Hierarchical (Process 14)",
    "JPEG 2000 Image Compression",
    "JPEG 2000 Image Compression (Lossless Only)",
    "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
];

/// Every corpus file in a decodable transfer syntax renders (frame 0 and a thumbnail) to the
/// right size and to a picture that is not uniform, for at least 95% of those with an image.
#[test]
fn corpus_renders() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(format!("{root}/MANIFEST.csv")) else {
        eprintln!("corpus_renders: skipped, no corpus at {root}");
        return;
    };
    let mut reader = csv::Reader::from_reader(manifest.as_bytes());
    let (mut ok, mut failed, mut no_image) = (0, Vec::new(), 0);
    for row in reader.records() {
        let row = row.unwrap();
        let (path, ts) = (&row[0], &row[8]);
        if !DECODABLE.contains(&ts) {
            continue;
        }
        let bytes = std::fs::read(format!("{root}/{path}")).unwrap();
        match check_real(&bytes) {
            Ok(Some(())) => ok += 1,
            Ok(None) => no_image += 1,
            Err(e) => failed.push(format!("{path} ({ts}): {e}")),
        }
    }
    eprintln!(
        "corpus_renders: {ok} rendered, {} failed, {no_image} without an image",
        failed.len()
    );
    for f in &failed {
        eprintln!("  {f}");
    }
    let total = ok + failed.len();
    assert!(total > 100, "only {total} corpus images");
    assert!(ok * 100 >= total * 95, "{} of {total} failed", failed.len());
}

fn corpus_file(path: &str) -> Option<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    let bytes = std::fs::read(format!("{root}/{path}")).ok();
    if bytes.is_none() {
        eprintln!("skipped: no corpus file {path}");
    }
    bytes
}

fn mean_abs_diff(a: &Rgba, b: &Rgba) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let sum: u64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| (x as i64 - y as i64).unsigned_abs())
        .sum();
    sum as f64 / a.data.len() as f64
}

/// What each decoder hands back, checked on real files: JPEG lossy comes back RGB (here a GDCM
/// test pattern labelled RGB whose JFIF stream is YCbCr: red, green and blue bands); JPEG 2000
/// undoes ICT and RCT (the same picture as the RLE RGB original); 12-bit JPEG (our decoder)
/// matches the lossless JPEG 2000 of the same MR slice.
#[test]
fn corpus_decoders_give_the_right_colours_and_values() {
    let Some(pattern) = corpus_file("gh-dicom-test-files/pydicom/SC_rgb_jpeg_lossy_gdcm.dcm")
    else {
        return;
    };
    let out = Image::open(&pattern)
        .unwrap()
        .render(0, None, false)
        .unwrap();
    for (row, want) in [
        (5, [255, 0, 0]),
        (25, [0, 255, 0]),
        (45, [0, 0, 255]),
        (75, [64, 64, 64]),
    ] {
        let got = rgb(&out, row * 100 + 50);
        assert!(close(got, want, 3), "row {row}: {got:?}");
    }
    let wg04 = |p: &str| {
        let b = corpus_file(&format!("gh-dicom-test-files/WG04/{p}")).unwrap();
        Image::open(&b).unwrap()
    };
    let rle = wg04("RLE/VL1_RLE").render(0, None, false).unwrap();
    assert_eq!(
        wg04("J2KR/VL1_J2KR").render(0, None, false).unwrap(),
        rle,
        "RCT undone exactly"
    );
    let ict = mean_abs_diff(&wg04("J2KI/VL1_J2KI").render(0, None, false).unwrap(), &rle);
    assert!(ict < 3.0, "ICT: mean difference {ict}");
    let w = Some(Window {
        center: 600.0,
        width: 1600.0,
    });
    let lossless = wg04("J2KR/MR1_J2KR").render(0, w, false).unwrap();
    let jply = wg04("JPLY/MR1_JPLY").render(0, w, false).unwrap();
    let d = mean_abs_diff(&jply, &lossless);
    assert!(d < 2.0, "12-bit JPEG against lossless: mean difference {d}");
    assert!(d > 0.0, "a lossy image is not bit-identical");
}
