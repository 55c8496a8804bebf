//! Fixture builder for the integration tests: a tiny DICOM encoder written independently of the
//! library's writer, so tests do not check the library against itself.
#![allow(dead_code)]

pub mod dcm;
pub mod split;

/// One element of a fixture.
#[derive(Clone, Debug)]
pub struct El {
    pub tag: u32,
    pub vr: [u8; 2],
    pub v: V,
}

/// A fixture value.
#[derive(Clone, Debug)]
pub enum V {
    Bytes(Vec<u8>),
    Seq(Vec<Vec<El>>),
}

pub fn text(tag: u32, vr: &str, s: &str) -> El {
    let mut b = s.as_bytes().to_vec();
    if b.len() % 2 == 1 {
        b.push(if vr == "UI" { 0 } else { b' ' });
    }
    El {
        tag,
        vr: vr_bytes(vr),
        v: V::Bytes(b),
    }
}

pub fn bytes(tag: u32, vr: &str, b: Vec<u8>) -> El {
    El {
        tag,
        vr: vr_bytes(vr),
        v: V::Bytes(b),
    }
}

pub fn seq(tag: u32, items: Vec<Vec<El>>) -> El {
    El {
        tag,
        vr: *b"SQ",
        v: V::Seq(items),
    }
}

fn vr_bytes(vr: &str) -> [u8; 2] {
    let b = vr.as_bytes();
    [b[0], b[1]]
}

fn long_header(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

/// How to encode the data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Syntax {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

impl Syntax {
    pub fn uid(self) -> &'static str {
        match self {
            Syntax::ExplicitLe => "1.2.840.10008.1.2.1",
            Syntax::ImplicitLe => "1.2.840.10008.1.2",
            Syntax::ExplicitBe => "1.2.840.10008.1.2.2",
        }
    }
}

fn u16b(s: Syntax, v: u16) -> [u8; 2] {
    if s == Syntax::ExplicitBe {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u32b(s: Syntax, v: u32) -> [u8; 4] {
    if s == Syntax::ExplicitBe {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// Encodes elements (sorted by tag here). Sequences alternate defined and undefined lengths by
/// depth so both forms are exercised.
pub fn encode(elements: &[El], s: Syntax, depth: usize, out: &mut Vec<u8>) {
    let mut els = elements.to_vec();
    els.sort_by_key(|e| e.tag);
    for e in &els {
        out.extend_from_slice(&u16b(s, (e.tag >> 16) as u16));
        out.extend_from_slice(&u16b(s, e.tag as u16));
        let body = match &e.v {
            V::Bytes(b) => b.clone(),
            V::Seq(items) => {
                let mut b = Vec::new();
                for it in items {
                    let mut ib = Vec::new();
                    encode(it, s, depth + 1, &mut ib);
                    b.extend_from_slice(&u16b(s, 0xFFFE));
                    b.extend_from_slice(&u16b(s, 0xE000));
                    if depth.is_multiple_of(2) {
                        b.extend_from_slice(&u32b(s, 0xFFFF_FFFF));
                        b.extend_from_slice(&ib);
                        b.extend_from_slice(&u16b(s, 0xFFFE));
                        b.extend_from_slice(&u16b(s, 0xE00D));
                        b.extend_from_slice(&u32b(s, 0));
                    } else {
                        b.extend_from_slice(&u32b(s, ib.len() as u32));
                        b.extend_from_slice(&ib);
                    }
                }
                b
            }
        };
        let undefined = matches!(e.v, V::Seq(_)) && depth.is_multiple_of(2);
        let len = if undefined {
            0xFFFF_FFFF
        } else {
            body.len() as u32
        };
        if s != Syntax::ImplicitLe {
            out.extend_from_slice(&e.vr);
            if long_header(e.vr) {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&u32b(s, len));
            } else {
                out.extend_from_slice(&u16b(s, len as u16));
            }
        } else {
            out.extend_from_slice(&u32b(s, len));
        }
        out.extend_from_slice(&body);
        if undefined {
            out.extend_from_slice(&u16b(s, 0xFFFE));
            out.extend_from_slice(&u16b(s, 0xE0DD));
            out.extend_from_slice(&u32b(s, 0));
        }
    }
}

/// A complete Part 10 file: preamble, meta (explicit LE) and the data set.
pub fn file(elements: &[El], s: Syntax) -> Vec<u8> {
    let mut body = Vec::new();
    encode(elements, s, 0, &mut body);
    file_with(elements, s.uid(), &body)
}

/// A Part 10 file with the given transfer syntax UID in the meta and `body` as the data set bytes.
pub fn file_with(elements: &[El], ts_uid: &str, body: &[u8]) -> Vec<u8> {
    let sop_class = find_text(elements, 0x0008_0016).unwrap_or("1.2.840.10008.5.1.4.1.1.2".into());
    let sop_inst = find_text(elements, 0x0008_0018).unwrap_or("1.2.3.4".into());
    let meta = vec![
        bytes(0x0002_0001, "OB", vec![0, 1]),
        text(0x0002_0002, "UI", &sop_class),
        text(0x0002_0003, "UI", &sop_inst),
        text(0x0002_0010, "UI", ts_uid),
        text(0x0002_0012, "UI", "1.2.3.999"),
        text(0x0002_0016, "AE", "SENDERAE"),
    ];
    let mut mb = Vec::new();
    encode(&meta, Syntax::ExplicitLe, 1, &mut mb);
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&(mb.len() as u32).to_le_bytes());
    out.extend_from_slice(&mb);
    out.extend_from_slice(body);
    out
}

/// A Part 10 file in Deflated Explicit VR Little Endian.
pub fn deflated_file(elements: &[El]) -> Vec<u8> {
    use std::io::Write;
    let mut body = Vec::new();
    encode(elements, Syntax::ExplicitLe, 0, &mut body);
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&body).unwrap();
    file_with(elements, "1.2.840.10008.1.2.1.99", &enc.finish().unwrap())
}

fn find_text(elements: &[El], tag: u32) -> Option<String> {
    elements
        .iter()
        .find(|e| e.tag == tag)
        .and_then(|e| match &e.v {
            V::Bytes(b) => Some(
                String::from_utf8_lossy(b)
                    .trim_end_matches(['\0', ' '])
                    .to_string(),
            ),
            _ => None,
        })
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A minimal CT image data set with a patient, study, series and pixel data.
pub fn ct_image(patient_id: &str, patient_name: &str, sop_uid: &str) -> Vec<El> {
    vec![
        text(0x0008_0005, "CS", "ISO_IR 100"),
        text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
        text(0x0008_0018, "UI", sop_uid),
        text(0x0008_0020, "DA", "20210315"),
        text(0x0008_0030, "TM", "101500"),
        text(0x0008_0050, "SH", "ACC12345"),
        text(0x0008_0060, "CS", "CT"),
        text(0x0008_0080, "LO", "Mercy General Hospital"),
        text(0x0008_0090, "PN", "Welby^Marcus"),
        text(0x0008_1030, "LO", "CT CHEST for Doe"),
        text(0x0010_0010, "PN", patient_name),
        text(0x0010_0020, "LO", patient_id),
        text(0x0010_0030, "DA", "19600704"),
        text(0x0010_0040, "CS", "F"),
        text(0x0010_1010, "AS", "061Y"),
        text(0x0020_000D, "UI", "1.2.826.0.1.3680043.2.1125.1.1"),
        text(0x0020_000E, "UI", "1.2.826.0.1.3680043.2.1125.1.2"),
        text(0x0020_0010, "SH", "STUDY77"),
        bytes(0x0028_0010, "US", 2u16.to_le_bytes().to_vec()),
        bytes(0x0028_0011, "US", 2u16.to_le_bytes().to_vec()),
        bytes(0x0028_0100, "US", 16u16.to_le_bytes().to_vec()),
        bytes(0x7FE0_0010, "OW", vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ]
}
