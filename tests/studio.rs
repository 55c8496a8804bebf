//! What the review studio reads from the library: a file's card (grouping, device, the pixel
//! decision and its flags) and its tags before and after, side by side. The card's pixel
//! decision is checked against what the engine then does to the same file.

mod common;

use common::*;
use dicom_deid::pixels::script::write_script;
use dicom_deid::pixels::{DeviceMask, ExplicitMasks, PixelSettings, Rect, ScriptText};
use dicom_deid::review::compare::{self, TagRow};
use dicom_deid::review::survey::{self, Card};
use dicom_deid::{Deidentifier, Error, Options, ProjectKey};

const US_CLASS: &str = "1.2.840.10008.5.1.4.1.1.6.1";
const SERIES: &str = "1.2.826.0.1.3680043.2.1125.1.2";

fn deidentifier(clean_pixels: bool, settings: PixelSettings) -> Deidentifier {
    let options = Options {
        clean_pixel_data: clean_pixels,
        ..Options::basic()
    };
    Deidentifier::new(options, ProjectKey::from_bytes([7; 32]))
        .unwrap()
        .with_pixels(settings.policy().unwrap())
}

/// An ultrasound image (at risk of burned-in text) of 2 × 2 pixels.
fn ultrasound(extra: Vec<El>) -> Vec<u8> {
    let mut els = ct_image("PID-4471", "Quist^Anna", "1.2.826.0.1.3680043.2.1125.1.3");
    for e in [
        text(0x0008_0016, "UI", US_CLASS),
        text(0x0008_0060, "CS", "US"),
        text(0x0008_0070, "LO", "ACME"),
        text(0x0008_1090, "LO", "Sono 9"),
        text(0x0008_103E, "LO", "Abdomen"),
        text(0x0028_0004, "CS", "MONOCHROME2"),
        bytes(0x0028_0101, "US", 16u16.to_le_bytes().to_vec()),
        bytes(0x0028_0102, "US", 15u16.to_le_bytes().to_vec()),
    ]
    .into_iter()
    .chain(extra)
    {
        els.retain(|x| x.tag != e.tag);
        els.push(e);
    }
    els.sort_by_key(|e| e.tag);
    file(&els, Syntax::ExplicitLe)
}

fn series_mask() -> PixelSettings {
    PixelSettings {
        regions: Some(ExplicitMasks {
            series: [(
                SERIES.to_string(),
                vec![Rect {
                    x0: 0,
                    y0: 0,
                    x1: 2,
                    y1: 1,
                }],
            )]
            .into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn card(d: &Deidentifier, bytes: &[u8]) -> Card {
    survey::survey(d, bytes).unwrap()
}

#[test]
fn a_card_groups_the_file_and_describes_its_image() {
    let c = card(
        &deidentifier(false, PixelSettings::default()),
        &ultrasound(vec![]),
    );
    assert_eq!(
        (c.patient_id.as_str(), c.patient_name.as_str()),
        ("PID-4471", "Quist^Anna")
    );
    assert_eq!(c.study_uid, "1.2.826.0.1.3680043.2.1125.1.1");
    assert_eq!(c.series_uid, SERIES);
    assert_eq!(
        (c.modality.as_str(), c.series_description.as_str()),
        ("US", "Abdomen")
    );
    assert_eq!(
        (c.manufacturer.as_str(), c.model.as_str()),
        ("ACME", "Sono 9")
    );
    assert_eq!((c.rows, c.columns, c.frames), (2, 2, 1));
    assert_eq!(c.photometric, "MONOCHROME2");
    assert_eq!(c.flags, ["at-risk"]);
    // Clean Pixel Data is off: the pixels go out untouched, and the card says so.
    assert_eq!(c.fate, "untouched");
}

#[test]
fn the_card_says_what_the_engine_then_does() {
    let with_yes = ultrasound(vec![text(0x0028_0301, "CS", "YES")]);
    let cases = [
        (deidentifier(true, PixelSettings::default()), "held"),
        (deidentifier(true, series_mask()), "masked"),
        (
            deidentifier(
                true,
                PixelSettings {
                    release_unmasked: true,
                    ..Default::default()
                },
            ),
            "released",
        ),
        (deidentifier(false, series_mask()), "untouched"),
    ];
    for (d, fate) in cases {
        let c = card(&d, &with_yes);
        assert_eq!(c.fate, fate);
        assert!(c.flags.contains(&"burned-in") && c.flags.contains(&"at-risk"));
        assert_eq!(c.flags.contains(&"held"), fate == "held");
        // The series mask is a rule that matches, whether or not the option is on.
        assert_eq!(c.flags.contains(&"mask-rule"), c.mask_source.is_some());
        let out = d.deidentify(&with_yes);
        match fate {
            "held" => {
                assert!(matches!(out, Err(Error::Quarantined(_))));
                assert!(c.held_because.unwrap().contains("no mask rule"));
            }
            "masked" => {
                let out = out.unwrap();
                assert!(out.record.pixels.masked.is_some());
                assert_eq!(
                    c.mask,
                    [Rect {
                        x0: 0,
                        y0: 0,
                        x1: 2,
                        y1: 1
                    }]
                );
            }
            "released" => assert!(out.unwrap().record.pixels.released_unmasked),
            _ => assert!(out.unwrap().record.pixels.masked.is_none()),
        }
    }
}

#[test]
fn files_without_pixels_or_a_decoder_are_flagged() {
    let d = deidentifier(true, PixelSettings::default());
    let mut els = ct_image("P1", "A^B", "1.2.3.4");
    els.retain(|e| e.tag != 0x7FE0_0010);
    let c = card(&d, &file(&els, Syntax::ExplicitLe));
    assert_eq!(
        (c.flags.as_slice(), c.fate),
        (&["no-pixels"][..], "untouched")
    );
    assert!(survey::survey(&d, b"not DICOM").is_err());
}

fn row<'r>(rows: &'r [TagRow], path: &str) -> &'r TagRow {
    rows.iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("no row {path}"))
}

#[test]
fn tags_side_by_side_show_each_action_and_its_basis() {
    let mut els = ct_image("PID-4471", "Quist^Anna", "1.2.826.0.1.3680043.2.1125.1.3");
    // A sequence Table E.1-1 does not list is kept; the UIDs in its items are still remapped.
    els.push(seq(
        0x0008_2218,
        vec![vec![
            text(0x0008_0100, "SH", "T-D4000"),
            text(0x0008_1155, "UI", "1.2.826.0.1.3680043.2.1125.1.9"),
        ]],
    ));
    els.push(seq(
        0x0008_1120,
        vec![vec![text(
            0x0008_1155,
            "UI",
            "1.2.826.0.1.3680043.2.1125.1.8",
        )]],
    ));
    els.sort_by_key(|e| e.tag);
    let input = file(&els, Syntax::ExplicitLe);
    let d = deidentifier(false, PixelSettings::default());
    let cmp = compare::compare(&d, &input).unwrap();
    assert_eq!(cmp.no_output, None);
    let rows = &cmp.rows;
    // Paths are in tree order: each sequence before its items.
    let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);

    let name = row(rows, "<(0010,0010)>");
    assert_eq!(name.before.as_deref(), Some("Quist^Anna"));
    assert_ne!(name.after, name.before);
    assert_eq!(
        (name.keyword.as_str(), name.change, name.action.as_str()),
        ("PatientName", "changed", "pseudonym")
    );
    assert_eq!(name.basis.e1_1_code, "Z");

    let institution = row(rows, "<(0008,0080)>");
    assert_eq!(
        (institution.action.as_str(), institution.change),
        ("X", "removed")
    );
    assert_eq!(institution.after, None);

    let accession = row(rows, "<(0008,0050)>");
    assert_eq!(
        (accession.action.as_str(), accession.change),
        ("Z", "emptied")
    );

    let referenced = row(rows, "<(0008,2218)>[<0000>]<(0008,1155)>");
    assert_eq!(
        (referenced.action.as_str(), referenced.change),
        ("U", "changed")
    );
    assert_eq!(referenced.depth, 1);
    let code = row(rows, "<(0008,2218)>[<0000>]<(0008,0100)>");
    assert_eq!(
        (code.before.as_deref(), code.change),
        (Some("T-D4000"), "same")
    );

    // An element inside a removed sequence went with it.
    let inside = row(rows, "<(0008,1120)>[<0000>]<(0008,1155)>");
    assert_eq!((inside.action.as_str(), inside.change), ("X", "removed"));

    // What the engine writes to record the method is there only after.
    let method = row(rows, "<(0012,0063)>");
    assert_eq!(
        (
            method.before.as_deref(),
            method.change,
            method.action.as_str()
        ),
        (None, "added", "method_record")
    );
    let pixels = row(rows, "<(7fe0,0010)>");
    assert_eq!(pixels.before.as_deref(), Some("(binary, 8 bytes)"));
    assert_eq!(pixels.change, "same");
}

#[test]
fn a_held_image_still_shows_its_tags_and_why_nothing_is_written() {
    let d = deidentifier(true, PixelSettings::default());
    let cmp = compare::compare(&d, &ultrasound(vec![])).unwrap();
    let why = cmp.no_output.unwrap();
    assert_eq!(why.kind, "quarantined");
    assert!(why.reason.contains("no mask rule"));
    let name = row(&cmp.rows, "<(0010,0010)>");
    assert_eq!((name.after.as_deref(), name.change), (None, "removed"));
}

#[test]
fn masks_drawn_in_the_studio_become_a_ctp_script_that_masks_the_same_pixels() {
    let rect = Rect {
        x0: 1,
        y0: 0,
        x1: 2,
        y1: 2,
    };
    let us = ultrasound(vec![]);
    let image = ExplicitMasks {
        images: [("1.2.826.0.1.3680043.2.1125.1.3".to_string(), vec![rect])].into(),
        ..Default::default()
    };
    let series = ExplicitMasks {
        series: [(SERIES.to_string(), vec![rect])].into(),
        ..Default::default()
    };
    let device = ExplicitMasks {
        devices: vec![DeviceMask {
            manufacturer: "ACME".into(),
            model: "Sono 9".into(),
            rows: 2,
            columns: 2,
            regions: vec![rect],
        }],
        ..Default::default()
    };
    let other_size = ExplicitMasks {
        devices: vec![DeviceMask {
            rows: 480,
            ..device.devices[0].clone()
        }],
        ..Default::default()
    };
    for (masks, applies) in [
        (image, true),
        (series, true),
        (device, true),
        (other_size, false),
    ] {
        let text = write_script(&masks);
        let settings = PixelSettings {
            scripts: vec![ScriptText {
                name: "studio.script".into(),
                text: text.clone(),
            }],
            ..Default::default()
        };
        let by_script = card(&deidentifier(true, settings), &us);
        let explicit = card(
            &deidentifier(
                true,
                PixelSettings {
                    regions: Some(masks),
                    ..Default::default()
                },
            ),
            &us,
        );
        assert_eq!(by_script.mask, explicit.mask, "{text}");
        assert_eq!(
            by_script.fate,
            if applies { "masked" } else { "held" },
            "{text}"
        );
        if applies {
            assert_eq!(by_script.mask, [rect]);
            assert!(
                by_script
                    .mask_source
                    .unwrap()
                    .starts_with("studio.script line")
            );
        }
    }
}
