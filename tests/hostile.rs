//! Malformed and hostile inputs, built in code: each gets a clear error that names the problem and
//! never a value, without panicking, overflowing the stack or allocating what a length claims.

mod common;

use common::*;
use dicom_deid::{Deidentifier, Error, Options, ProjectKey};

const SECRET: &str = "SECRETVALUE";

fn session() -> Deidentifier {
    Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([9; 32])).unwrap()
}

fn good_elements() -> Vec<El> {
    let mut els = ct_image("PID", SECRET, "1.2.3.4.5");
    els.push(text(
        0x0008_1030,
        "LO",
        &format!("{SECRET} {SECRET} {SECRET}"),
    ));
    els.push(seq(
        0x0008_1140,
        vec![vec![
            text(0x0008_1155, "UI", "1.2.3.4.6"),
            text(0x0008_0104, "LO", SECRET),
        ]],
    ));
    els
}

fn encapsulated() -> Vec<u8> {
    // A JPEG-baseline file with an encapsulated pixel data element (BOT + one fragment).
    let mut els = good_elements();
    els.retain(|e| e.tag != 0x7FE0_0010);
    let mut f = Vec::new();
    encode(&els, Syntax::ExplicitLe, 0, &mut f);
    f.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
    f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 16, 0, 0, 0]);
    f.extend_from_slice(&[
        0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xFF, 0xD9,
    ]);
    f.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    file_with(&els, "1.2.840.10008.1.2.4.50", &f)
}

fn expect_error(bytes: &[u8], what: &str) -> Error {
    let e = session()
        .deidentify(bytes)
        .err()
        .unwrap_or_else(|| panic!("{what}: accepted"));
    let msg = e.to_string();
    assert!(!msg.contains(SECRET), "{what}: error names a value: {msg}");
    assert!(msg.len() > 10, "{what}: error says too little: {msg}");
    e
}

#[test]
fn the_fixtures_themselves_are_fine() {
    session()
        .deidentify(&file(&good_elements(), Syntax::ExplicitLe))
        .unwrap();
    let out = session().deidentify(&encapsulated()).unwrap();
    assert!(contains(
        &out.bytes,
        &[
            0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xFF, 0xD9
        ]
    ));
}

#[test]
fn empty_and_non_dicom_files() {
    assert!(matches!(expect_error(b"", "empty"), Error::NotDicom(_)));
    assert!(matches!(
        expect_error(b"%PDF-1.7 not an image", "pdf"),
        Error::NotDicom(_)
    ));
    assert!(matches!(
        expect_error(&[0u8; 4096], "zeros"),
        Error::NotDicom(_)
    ));
    let mut html = b"<html>".repeat(40);
    html.truncate(200);
    assert!(matches!(
        expect_error(&html, "html named .dcm"),
        Error::NotDicom(_)
    ));
}

#[test]
fn truncation_anywhere_never_panics_and_mid_structure_cuts_fail() {
    for (name, full) in [
        ("native", file(&good_elements(), Syntax::ExplicitLe)),
        ("encapsulated", encapsulated()),
    ] {
        let s = session();
        for cut in 0..full.len() {
            // Every cut either fails cleanly or, at a top-level element boundary, yields a shorter
            // but valid data set: never a panic, never a value in the message.
            if let Err(e) = s.deidentify(&full[..cut]) {
                assert!(!e.to_string().contains(SECRET), "{name} cut {cut}: {e}");
            }
        }
        for (cut, part) in [(60, "preamble"), (150, "meta"), (full.len() - 10, "end")] {
            expect_error(&full[..cut], &format!("{name} {part}"));
        }
    }
    let f = file(&good_elements(), Syntax::ExplicitLe);
    let secret_at = f
        .windows(SECRET.len())
        .position(|w| w == SECRET.as_bytes())
        .unwrap();
    assert!(matches!(
        expect_error(&f[..secret_at + 3], "mid-element"),
        Error::Malformed { .. }
    ));
    let seq_at = f
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x40, 0x11])
        .unwrap();
    assert!(matches!(
        expect_error(&f[..seq_at + 20], "mid-sequence"),
        Error::Malformed { .. }
    ));
    let enc = encapsulated();
    assert!(matches!(
        expect_error(&enc[..enc.len() - 14], "mid-fragment"),
        Error::Malformed { .. }
    ));
}

#[test]
fn lengths_past_the_end_and_huge_lengths() {
    let f = file(&good_elements(), Syntax::ExplicitLe);
    let pix = f
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .unwrap();
    for len in [0x0000_1000u32, 0x7FFF_FFFF, 0xFFFF_FFF0] {
        let mut g = f.clone();
        g[pix + 8..pix + 12].copy_from_slice(&len.to_le_bytes());
        let e = expect_error(&g, "huge length");
        assert!(e.to_string().contains("(7FE0,0010)"), "{e}");
    }
    // A 3 GB sequence length.
    let sq = f
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x40, 0x11])
        .unwrap();
    let mut g = f.clone();
    g[sq + 8..sq + 12].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    expect_error(&g, "huge sequence length");
}

fn nested(depth: usize, undefined: bool) -> Vec<u8> {
    let mut els = ct_image("PID", SECRET, "1.2.3.4.5");
    els.retain(|e| e.tag != 0x7FE0_0010);
    let mut f = file(&els, Syntax::ExplicitLe);
    if undefined {
        for _ in 0..depth {
            f.extend_from_slice(&[
                0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        for _ in 0..depth {
            f.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            f.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        }
    } else {
        // Defined lengths, built from the inside out.
        let mut body: Vec<u8> = Vec::new();
        for _ in 0..depth {
            let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
            item.extend_from_slice(&(body.len() as u32).to_le_bytes());
            item.extend_from_slice(&body);
            let mut sq = vec![0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0];
            sq.extend_from_slice(&(item.len() as u32).to_le_bytes());
            sq.extend_from_slice(&item);
            body = sq;
        }
        f.extend_from_slice(&body);
    }
    f
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for undefined in [true, false] {
        let e = expect_error(&nested(10_000, undefined), "10,000 deep");
        assert!(e.to_string().contains("nested deeper"), "{e}");
    }
    // Within the limit, the whole pipeline (read, walk, write, re-read) copes.
    for undefined in [true, false] {
        session().deidentify(&nested(100, undefined)).unwrap();
    }
}

#[test]
fn undefined_length_sequence_without_delimiters() {
    let mut f = nested(3, true);
    f.truncate(f.len() - 48);
    let e = expect_error(&f, "no delimiters");
    assert!(e.to_string().contains("delimiter"), "{e}");
}

#[test]
fn bogus_vr_odd_lengths_bad_meta_length_and_missing_meta() {
    let f = file(&good_elements(), Syntax::ExplicitLe);
    let at = f
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x30, 0x10])
        .unwrap();
    let mut g = f.clone();
    g[at + 4..at + 6].copy_from_slice(&[0x01, 0x02]);
    let e = expect_error(&g, "binary VR");
    assert!(e.to_string().contains("invalid VR"), "{e}");

    // An odd-length value is read and kept.
    let mut els = good_elements();
    els.push(bytes(0x0018_1030, "LO", b"ODD".to_vec()));
    session()
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();

    // A wrong meta group length does not matter: the meta is read element by element.
    let mut g = f.clone();
    g[140..144].copy_from_slice(&7u32.to_le_bytes());
    session().deidentify(&g).unwrap();

    // A bare data set without preamble or meta is accepted (implicit and explicit VR).
    for syntax in [Syntax::ImplicitLe, Syntax::ExplicitLe] {
        let mut bare = Vec::new();
        encode(&good_elements(), syntax, 0, &mut bare);
        let out = session().deidentify(&bare).unwrap();
        assert!(!contains(&out.bytes, SECRET.as_bytes()));
    }
    // Meta without a transfer syntax.
    let ts_at = f
        .windows(4)
        .position(|w| w == [0x02, 0x00, 0x10, 0x00])
        .unwrap();
    let mut g = f.clone();
    g[ts_at + 2] = 0x11; // (0002,0011) is not the transfer syntax
    expect_error(&g, "no transfer syntax");
}

#[test]
fn big_endian_and_corrupt_deflate() {
    let out = session()
        .deidentify(&file(&good_elements(), Syntax::ExplicitBe))
        .unwrap();
    assert!(!contains(&out.bytes, SECRET.as_bytes()));
    // A deflated data set whose stream is garbage.
    let f = file_with(
        &good_elements(),
        "1.2.840.10008.1.2.1.99",
        b"\xff\xff this is not a deflate stream \x00\x01\x02",
    );
    let e = expect_error(&f, "corrupt deflate");
    assert!(
        matches!(e, Error::Malformed { .. } | Error::NotDicom(_)),
        "{e}"
    );
}

#[test]
fn non_ascii_bytes_where_ascii_is_expected() {
    // Found by fuzzing: a multi-byte character inside an Age String made a string slice panic.
    let mut els = good_elements();
    els.retain(|e| e.tag != 0x0010_1010 && e.tag != 0x0008_0020);
    els.push(text(0x0010_1010, "AS", "05ʦ"));
    els.push(text(0x0008_0020, "DA", "2021.03.1é"));
    els.push(text(0x0008_0021, "DA", "é"));
    let out = session()
        .deidentify(&file(&els, Syntax::ExplicitLe))
        .unwrap();
    assert!(
        !contains(&out.bytes, "2021.03.1é".as_bytes()),
        "an unreadable date is emptied, not kept"
    );
}

#[test]
fn declared_and_actual_little_endian_syntax_disagree() {
    // The meta says explicit VR, the data set is implicit (and the other way round): the bytes win
    // and the output declares what it really is.
    for (body_syntax, declared) in [
        (Syntax::ImplicitLe, "1.2.840.10008.1.2.1"),
        (Syntax::ExplicitLe, "1.2.840.10008.1.2"),
    ] {
        let mut body = Vec::new();
        encode(&good_elements(), body_syntax, 0, &mut body);
        let out = session()
            .deidentify(&file_with(&good_elements(), declared, &body))
            .unwrap();
        assert!(!contains(&out.bytes, SECRET.as_bytes()));
        let mut scratch = Vec::new();
        let parsed = dicom_deid::dicom::read_file(&out.bytes, &mut scratch).unwrap();
        assert_eq!(parsed.transfer_syntax, body_syntax.uid());
    }
    // A meta group without the 128-byte preamble.
    let f = file(&good_elements(), Syntax::ExplicitLe);
    let out = session().deidentify(&f[132..]).unwrap();
    assert!(!contains(&out.bytes, SECRET.as_bytes()));
}
