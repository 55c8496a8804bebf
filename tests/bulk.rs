//! Large files in bounded memory: a file split around its Pixel Data, its stub de-identified and
//! the output written in chunks, gives the very output (bytes, CRC, digest, audit record, final
//! review part) that de-identifying it whole gives — on files built here and on every real file
//! of tests/data and the shared corpus that can be split.

mod common;

use std::path::Path;

use common::*;
use dicom_deid::dicom::bulk::{self, Source};
use dicom_deid::output::FileResult;
use dicom_deid::output::streamed;
use dicom_deid::pixels::{Masks, PixelPolicy, PixelScript};
use dicom_deid::review::{VerifyConfig, deidentify_and_check};
use dicom_deid::{Deidentifier, Options, ProjectKey};
use std::sync::Arc;

fn deidentifier(options: Options) -> Deidentifier {
    Deidentifier::new(options, ProjectKey::from_bytes([9; 32])).unwrap()
}

/// An output's bytes and the ledger's result for it.
type Output = (Vec<u8>, FileResult);

/// Both paths for one input: `None` when the file cannot be split (it is then read whole).
fn both(d: &Deidentifier, input: &[u8]) -> Option<(Output, Output)> {
    let whole = d.deidentify(input);
    let whole_result = FileResult::of(&whole);
    match split::split_output(d, input).ok()? {
        Ok(split) => Some(((whole.unwrap().bytes, whole_result), split)),
        Err(e) => {
            assert_eq!(
                FileResult::rejected(&e),
                whole_result,
                "the same error either way"
            );
            None
        }
    }
}

fn multiframe_ct(frames: usize, big_endian: bool) -> Vec<u8> {
    let els = multiframe_elements(frames);
    file(
        &els,
        if big_endian {
            Syntax::ExplicitBe
        } else {
            Syntax::ExplicitLe
        },
    )
}

fn multiframe_elements(frames: usize) -> Vec<El> {
    let mut els = ct_image("PID-88", "Split^Sam", "1.2.826.0.1.3680043.2.1125.9.1");
    let pixels: Vec<u8> = (0..frames * 2 * 2 * 2)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    for e in [
        text(0x0028_0008, "IS", &frames.to_string()),
        text(0x0028_0004, "CS", "MONOCHROME2"),
        bytes(0x7FE0_0010, "OW", pixels),
        // A trailing element after Pixel Data goes through the engine as well.
        bytes(0xFFFC_FFFC, "OB", vec![0; 6]),
    ] {
        els.retain(|x| x.tag != e.tag);
        els.push(e);
    }
    els.sort_by_key(|e| e.tag);
    els
}

#[test]
fn a_split_file_gives_the_output_the_whole_file_gives() {
    let d = deidentifier(Options::tcia());
    for input in [
        multiframe_ct(50, false),
        multiframe_ct(3, true),
        file(&ct_image("P", "A^B", "1.2.3.4"), Syntax::ImplicitLe),
    ] {
        let ((whole, r1), (split, r2)) = both(&d, &input).expect("splits");
        assert!(whole == split, "the same bytes");
        assert_eq!(r1, r2, "the same result");
    }
}

#[test]
fn a_deflated_data_set_is_split_as_it_inflates() {
    let d = deidentifier(Options::tcia());
    // 1.2 M frames: a value of 9.6 MB, more than a copy chunk (8 MB) and many inflate chunks.
    for frames in [50, 1_200_000] {
        let input = deflated_file(&multiframe_elements(frames));
        let mut src: &[u8] = &input;
        let split = bulk::split(&mut src).expect("a deflated file splits");
        assert!(split.deflated.is_some());
        assert_eq!(split.value.end - split.value.start, frames as u64 * 8);
        assert!(
            split.stub.len() < 4096,
            "the stub is deflated again, without the value"
        );
        let ((whole, r1), (split, r2)) = both(&d, &input).expect("splits");
        assert!(whole == split, "{frames} frames: the same bytes");
        assert_eq!(r1, r2, "{frames} frames: the same result");
    }
    // A stream that ends early is not split: reading it whole gives the error.
    let input = deflated_file(&multiframe_elements(5000));
    let cut = &input[..input.len() - 40];
    let mut src: &[u8] = cut;
    assert!(bulk::split(&mut src).unwrap_err().0.contains("deflated"));
}

#[test]
fn the_stub_holds_no_pixel_value_and_the_copy_is_chunked() {
    let input = multiframe_ct(50, false);
    let mut src: &[u8] = &input;
    let split = bulk::split(&mut src).unwrap();
    let value = (split.value.end - split.value.start) as usize;
    assert_eq!(value, 50 * 8);
    assert_eq!(split.stub.len(), input.len() - value);
    assert!(!split.encapsulated);
}

/// The page's steps: the head written, the value hashed in whatever pieces the browser's reads
/// give, the tail written; the same result as the output written at once, and an error (not
/// checksums of another file) when fewer bytes than the value holds were given.
#[test]
fn a_value_hashed_in_pieces_gives_the_result_of_the_whole_output() {
    let d = deidentifier(Options::tcia());
    let input = multiframe_ct(500, false);
    let prepare = || {
        let mut src: &[u8] = &input;
        streamed::prepare(&d, &mut src, None).unwrap().0.unwrap()
    };
    let mut src: &[u8] = &input;
    let mut whole = Vec::new();
    let expected = prepare()
        .write(&mut src, &mut |b| {
            whole.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    let mut parts = Vec::new();
    let Ok(mut pending) = prepare()
        .by_reference(&mut |b| {
            parts.extend_from_slice(b);
            Ok(())
        })
        .unwrap()
    else {
        panic!("an unchanged value is left to the caller");
    };
    let head = pending.head_len();
    assert_eq!(parts.len(), head);
    let value = &input[pending.value.start as usize..pending.value.end as usize];
    for piece in value.chunks(333) {
        pending.update(piece);
    }
    let result = pending
        .finish(&mut |b| {
            parts.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    assert_eq!(result, expected);
    assert!(whole == [&parts[..head], value, &parts[head..]].concat());

    let Ok(mut short) = prepare().by_reference(&mut |_| Ok(())).unwrap() else {
        unreachable!()
    };
    short.update(&value[1..]);
    assert!(
        short.finish(&mut |_| Ok(())).is_err(),
        "a byte short is an error"
    );
}

#[test]
fn files_that_cannot_be_split_say_why() {
    let d = deidentifier(Options::tcia());
    let mut no_pixels = ct_image("P", "A^B", "1.2.3.4");
    no_pixels.retain(|e| e.tag != 0x7FE0_0010);
    let f = file(&no_pixels, Syntax::ExplicitLe);
    let mut src: &[u8] = &f;
    let e = streamed::prepare(&d, &mut src, None).unwrap_err();
    assert!(e.0.contains("no Pixel Data"), "{e:?}");
    // Clean Pixel Data that would paint the image needs its frames: read whole.
    let mut src: &[u8] = b"\0\0not dicom";
    assert!(bulk::split(&mut src).is_err());
}

#[test]
fn the_residual_phi_check_sees_the_split_file_as_the_whole_one() {
    let d = deidentifier(Options::basic());
    let cfg = VerifyConfig::of(&d);
    let input = multiframe_ct(5, false);
    let (_, whole) = deidentify_and_check(&d, &cfg, &input, "in/a.dcm");
    let mut src: &[u8] = &input;
    let (_, split) = streamed::prepare(&d, &mut src, Some((&cfg, "in/a.dcm"))).unwrap();
    assert!(whole.is_some());
    assert_eq!(whole, split);
}

/// Every real file that can be split, under Basic and TCIA.
#[test]
fn real_files_split_give_the_same_output() {
    let files = real_files();
    let (mut split, mut whole_only) = (0, 0);
    for options in [Options::basic(), Options::tcia()] {
        let (s, w) = split_and_compare(&deidentifier(options), &files);
        split += s;
        whole_only += w;
    }
    eprintln!("{split} split, {whole_only} read whole");
    assert!(split > whole_only, "most image files split");
}

/// Every real file with Clean Pixel Data and a rectangle on every image: the frames masked as
/// they are copied give the output masking the whole file gives (every transfer syntax of the
/// corpus: native, RLE, JPEG baseline/extended/lossless, JPEG 2000, multi-frame with and
/// without offset tables), and an image that cannot be masked is held back either way.
#[test]
fn real_files_masked_frame_by_frame_give_the_same_output() {
    let files = real_files();
    let script = PixelScript::parse("all", "{ true }\n(10,10,40,30)");
    let d = deidentifier(Options {
        clean_pixel_data: true,
        ..Options::tcia()
    })
    .with_pixels(PixelPolicy {
        masks: Arc::new(Masks::builtin().with_script(script)),
        ..PixelPolicy::default()
    });
    let (split, whole_only) = split_and_compare(&d, &files);
    eprintln!("masked: {split} split, {whole_only} read whole or held back");
    assert!(split > whole_only, "most image files split");
}

fn real_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("tests/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dcm"))
        .collect();
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        files.extend(walk(&corpus));
    } else {
        eprintln!("no ../shared/corpus: tests/data only");
    }
    files
}

/// Both paths on every file: (split, read whole) counts.
fn split_and_compare(d: &Deidentifier, files: &[std::path::PathBuf]) -> (usize, usize) {
    let (mut split, mut whole_only) = (0, 0);
    {
        for f in files {
            let input = std::fs::read(f).unwrap();
            match both(d, &input) {
                Some(((a, r1), (b, r2))) => {
                    let at = a.iter().zip(&b).position(|(x, y)| x != y);
                    assert!(
                        a == b,
                        "{}: the same bytes ({} and {} long, first difference at {at:?}: {:?} / {:?})",
                        f.display(),
                        a.len(),
                        b.len(),
                        at.map(|i| &a[i.saturating_sub(8)..(i + 24).min(a.len())]),
                        at.map(|i| &b[i.saturating_sub(8)..(i + 24).min(b.len())]),
                    );
                    assert_eq!(r1, r2, "{}", f.display());
                    split += 1;
                }
                None => whole_only += 1,
            }
        }
    }
    (split, whole_only)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !p.extension().is_some_and(|x| x == "csv" || x == "md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn a_source_reads_exactly_what_is_asked() {
    let data: Vec<u8> = (0..100).collect();
    let mut src: &[u8] = &data;
    let mut buf = [0; 4];
    src.read_at(10, &mut buf).unwrap();
    assert_eq!(buf, [10, 11, 12, 13]);
    assert!(src.read_at(98, &mut buf).is_err());
}

/// A native multi-frame CT of `frames` 512×512 16-bit frames (0.5 MB each).
fn big_ct(frames: usize) -> Vec<u8> {
    let mut els = ct_image("PID-BIG", "Large^Lucy", "1.2.826.0.1.3680043.2.1125.9.7");
    let frame: Vec<u8> = (0..512 * 512 * 2).map(|i| (i % 253) as u8).collect();
    for e in [
        text(0x0028_0008, "IS", &frames.to_string()),
        text(0x0028_0004, "CS", "MONOCHROME2"),
        bytes(0x0028_0010, "US", 512u16.to_le_bytes().to_vec()),
        bytes(0x0028_0011, "US", 512u16.to_le_bytes().to_vec()),
        bytes(0x7FE0_0010, "OW", frame.repeat(frames)),
    ] {
        els.retain(|x| x.tag != e.tag);
        els.push(e);
    }
    els.sort_by_key(|e| e.tag);
    file(&els, Syntax::ExplicitLe)
}

/// The CLI takes the split path for a file past the threshold, into a folder and into a zip, and
/// writes what the library writes for the whole file.
#[test]
fn the_cli_writes_a_large_file_as_the_whole_file_would_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let big = big_ct(140); // 73 MB: past streamed::SPLIT_FROM
    assert!(big.len() as u64 > streamed::SPLIT_FROM);
    std::fs::write(input.join("big.dcm"), &big).unwrap();
    let key = tmp.path().join("k");
    std::fs::write(&key, "3c".repeat(32)).unwrap();
    let expected = Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([0x3c; 32]))
        .unwrap()
        .deidentify(&big)
        .unwrap();
    for out in ["out", "out.zip"] {
        let out = tmp.path().join(out);
        let res = std::process::Command::new(env!("CARGO_BIN_EXE_dcm-deid"))
            .args([
                "deidentify",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .args(["--key", key.to_str().unwrap(), "--preset", "tcia"])
            .output()
            .unwrap();
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        let written = if out.extension().is_some() {
            let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
            let mut f = z.by_name(&expected.name).unwrap();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut v).unwrap();
            v
        } else {
            std::fs::read(out.join(&expected.name)).unwrap()
        };
        assert!(
            written == expected.bytes,
            "{}: the same bytes",
            out.display()
        );
        // Nothing temporary is left beside the output.
        let stray: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }
}

/// Text detection reads a split file's frames one at a time and finds what it finds in the
/// whole file: the same boxes masked (or the same image held back) either way, on real
/// ultrasound (RLE palette cine, native RGB, big-endian two-frame).
#[test]
fn text_detection_on_a_split_file_finds_what_it_finds_in_the_whole_file() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let names = [
        "gh-dcm4che/US-PAL-8-10x-echo",
        "gh-dicom-test-files/pydicom/US1_UNCI.dcm",
        "gh-dicom-test-files/pydicom/OBXXXX1A_expb_2frame.dcm",
    ];
    let files: Vec<_> = names
        .iter()
        .map(|n| corpus.join(n))
        .filter(|p| p.is_file())
        .collect();
    if files.is_empty() {
        eprintln!("no ../shared/corpus: skipped");
        return;
    }
    for mask_detected_text in [true, false] {
        let d = deidentifier(Options {
            clean_pixel_data: true,
            ..Options::tcia()
        })
        .with_pixels(PixelPolicy {
            detect_text: true,
            mask_detected_text,
            ..PixelPolicy::default()
        });
        for f in &files {
            let input = std::fs::read(f).unwrap();
            match both(&d, &input) {
                Some(((a, r1), (b, r2))) => {
                    assert!(a == b, "{}: the same bytes", f.display());
                    assert_eq!(r1, r2, "{}", f.display());
                    let FileResult::Processed(p) = r2 else {
                        panic!("processed")
                    };
                    let masked = p.record.pixels.masked.as_ref().expect("masked");
                    assert!(masked.detected > 0, "{}: text found", f.display());
                }
                // Held back (text found, not masked): the same error either way, checked in
                // `both`.
                None => assert!(!mask_detected_text, "{}: split", f.display()),
            }
        }
    }
}
