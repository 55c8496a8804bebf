//! What the review studio shows of one file before anything is written: where it belongs
//! (patient, study, series), what it is (modality, device, geometry) and what Clean Pixel Data
//! would do to its pixels under the options in force, with the flags a curator sorts by.
//!
//! The pixel decision is the engine's own ([`Deidentifier::pixel_fate`]), so a tile can never
//! promise what the run then does differently. The card holds PHI (names, IDs, UIDs): the page
//! shows it locally and never writes it anywhere.

use serde::Serialize;

use crate::Deidentifier;
use crate::deid::PixelFate;
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Encoding, Item, Tag, Value, tags};
use crate::dicom::read;
use crate::error::Result;
use crate::pixels::{self, Rect};
use crate::review::elements;

/// One file as the studio's grid sees it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Card {
    pub patient_name: String,
    pub patient_id: String,
    pub study_uid: String,
    pub study_date: String,
    pub study_description: String,
    pub series_uid: String,
    pub series_number: String,
    pub series_description: String,
    pub modality: String,
    pub instance_number: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    /// The device signature masks can be given for (with rows and columns).
    pub manufacturer: String,
    pub model: String,
    pub rows: u32,
    pub columns: u32,
    pub frames: u32,
    pub photometric: String,
    pub transfer_syntax: String,
    /// Burned In Annotation as written (`YES`, `NO`, or empty).
    pub burned_in: String,
    /// Why the pixels may show text, if they may.
    pub at_risk: Option<String>,
    /// The mask rule that matches the original header (script and line, or explicit regions)
    /// and its regions in pixels, whether or not Clean Pixel Data is on.
    pub mask_source: Option<String>,
    pub mask: Vec<Rect>,
    /// Text the detector found outside every matched region (with Clean Pixel Data and text
    /// detection on): the studio offers these boxes as proposed masks.
    pub text_boxes: Vec<Rect>,
    /// Why detection could not run, when it could not.
    pub text_error: Option<String>,
    /// What the run will do to the pixels: `untouched`, `masked`, `released` or `held`.
    pub fate: &'static str,
    /// Why an image is held back.
    pub held_because: Option<String>,
    /// Flags for the tile (stable names the page filters by): `burned-in`, `text-found`,
    /// `at-risk`, `mask-rule`, `held`, `no-pixels`, `no-decoder`.
    pub flags: Vec<&'static str>,
}

/// Surveys one original file under the de-identifier's options and pixel settings.
pub fn survey(d: &Deidentifier, input: &[u8]) -> Result<Card> {
    let mut scratch = Vec::new();
    let obj = read::read_file(input, &mut scratch)?;
    let ds = &obj.dataset;
    let cs = CharacterSet::from_item(ds, &CharacterSet::default());
    let text = |t: Tag| text_of(ds, obj.encoding, &cs, t);
    let mut card = Card {
        patient_name: text(tags::PATIENT_NAME),
        patient_id: text(tags::PATIENT_ID),
        study_uid: text(tags::STUDY_INSTANCE_UID),
        study_date: text(tags::STUDY_DATE),
        study_description: text(tags::STUDY_DESCRIPTION),
        series_uid: text(tags::SERIES_INSTANCE_UID),
        series_number: text(tags::SERIES_NUMBER),
        series_description: text(tags::SERIES_DESCRIPTION),
        modality: text(tags::MODALITY),
        instance_number: text(tags::INSTANCE_NUMBER),
        sop_instance_uid: text(tags::SOP_INSTANCE_UID),
        sop_class_uid: text(tags::SOP_CLASS_UID),
        manufacturer: text(tags::MANUFACTURER),
        model: text(tags::MANUFACTURER_MODEL_NAME),
        burned_in: text(tags::BURNED_IN_ANNOTATION).to_ascii_uppercase(),
        transfer_syntax: obj.transfer_syntax.clone(),
        fate: "untouched",
        ..Card::default()
    };
    if card.burned_in == "YES" {
        card.flags.push("burned-in");
    }
    let Some((plan, fate)) = d.pixel_fate(&obj) else {
        card.flags.push("no-pixels");
        return Ok(card);
    };
    if let Ok(Some(info)) = &plan.info {
        card.rows = info.rows;
        card.columns = info.columns;
        card.frames = info.frames;
        card.photometric = info.photometric.clone();
    }
    match &plan.text {
        Some(Ok(boxes)) if !boxes.is_empty() => {
            card.flags.push("text-found");
            card.text_boxes = boxes.clone();
        }
        Some(Err(why)) => card.text_error = Some(why.clone()),
        _ => {}
    }
    if plan.at_risk.is_some() {
        card.flags.push("at-risk");
    }
    card.at_risk = plan.at_risk;
    if let Some(choice) = plan.choice.filter(|c| !c.rects.is_empty()) {
        card.flags.push("mask-rule");
        card.mask_source = Some(choice.source);
        card.mask = choice.rects;
    }
    card.fate = match fate {
        PixelFate::Untouched => "untouched",
        PixelFate::Mask(..) => "masked",
        PixelFate::Release => "released",
        PixelFate::Hold(why) => {
            card.flags.push("held");
            card.held_because = Some(why);
            "held"
        }
    };
    if is_encapsulated(ds) && !pixels::can_decode(&card.transfer_syntax) {
        card.flags.push("no-decoder");
    }
    Ok(card)
}

/// An attribute of the top level as a reviewer reads it; empty when absent.
fn text_of(ds: &Item<'_>, enc: Encoding, cs: &CharacterSet, t: Tag) -> String {
    ds.get(t)
        .and_then(|e| elements::render(t, e.vr, e.raw()?, enc, cs))
        .unwrap_or_default()
}

fn is_encapsulated(ds: &Item<'_>) -> bool {
    matches!(
        ds.get(tags::PIXEL_DATA).map(|e| &e.value),
        Some(Value::Fragments(_))
    )
}
