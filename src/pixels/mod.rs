//! Clean Pixel Data (PS3.15 E.3.1): burned-in text masked on every transfer syntax, lossless
//! outside the mask, and images at risk never passed as clean.
//!
//! For one file: [`Masks::choose`] picks the regions from the original header (explicit regions
//! for the image, its series or its device, then the user's CTP scripts, then CTP's built-in
//! library, first match wins); [`risk::at_risk`] says whether an image without regions may still
//! show text; [`apply`] paints the regions on every frame, by the cheapest lossless path the
//! transfer syntax allows:
//!
//! | input | path | output |
//! |---|---|---|
//! | native (LE, BE, deflated data set) | samples painted in place | same syntax |
//! | encapsulated uncompressed, deflated frames | the same, per frame | same syntax |
//! | JPEG baseline / extended (8, 12 bit) | DCT blocks that meet a region blanked ([`jpeg`]) | same syntax |
//! | RLE | decoded, painted, re-encoded ([`rle`]) | RLE |
//! | JPEG lossless, JPEG 2000, HTJ2K | decoded (in the page JPEG 2000 by OpenJPEG from npm, [`j2k`]), painted | Explicit VR Little Endian |
//! | JPEG-LS lossless, near-lossless | decoded, painted, re-encoded by CharLS ([`jpegls`]) | JPEG-LS lossless |
//! | JPEG XL (lossless, recompressed JPEG, lossy) | decoded by jxl-oxide, painted, re-encoded by zune-jpegxl ([`codec::encode_jpeg_xl_lossless`]) | JPEG XL lossless |
//! | anything else | not decodable here | quarantined |
//!
//! Encapsulated frames take their path frame by frame ([`masker`]), which also serves a large
//! file whose frames stay in the input and are masked as they are copied ([`streamed`]).

pub(crate) mod codec;
pub(crate) mod frames;
#[cfg(target_arch = "wasm32")]
mod hook;
pub mod image;
pub(crate) mod j2k;
pub(crate) mod jpeg;
pub(crate) mod jpegls;
pub(crate) mod masker;
pub(crate) mod native;
pub mod regions;
pub(crate) mod risk;
pub(crate) mod rle;
pub mod script;
pub mod streamed;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use dicom_dictionary_std::uids;
use serde::{Deserialize, Serialize};

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{Element, FileObject, Item, Tag, Value, Vr, tags};
use crate::error::{Error, Result};
pub use codec::can_decode;
pub use image::ImageInfo;
use masker::{FrameMasker, Output};
pub use regions::{Rect, Region};
pub use rle::encode as rle_encode;
pub use script::{Header, PixelScript};

/// Regions a reviewer gave for particular images (PHI-free keys: UIDs and device signatures).
/// Rectangles are half-open pixel boxes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExplicitMasks {
    /// SOP Instance UID → regions.
    pub images: HashMap<String, Vec<Rect>>,
    /// Series Instance UID → regions.
    pub series: HashMap<String, Vec<Rect>>,
    /// Regions for every image of a device and size.
    pub devices: Vec<DeviceMask>,
}

/// Regions for every image with this manufacturer, model, rows and columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceMask {
    pub manufacturer: String,
    pub model: String,
    pub rows: u32,
    pub columns: u32,
    pub regions: Vec<Rect>,
}

/// Where masks come from, in order of precedence.
#[derive(Debug, Clone)]
pub struct Masks {
    pub explicit: ExplicitMasks,
    /// The user's scripts, in the order given, then the built-in library.
    pub scripts: Vec<PixelScript>,
}

impl Default for Masks {
    fn default() -> Masks {
        Masks::builtin()
    }
}

/// The regions chosen for one image and what chose them (for the audit: a script and line, or
/// the kind of explicit mask; never a value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub source: String,
    pub rects: Vec<Rect>,
    /// How many of `rects` (the last ones) are boxes from text detection.
    #[serde(default)]
    pub detected: usize,
}

impl Masks {
    /// CTP's library alone, shared.
    pub fn builtin() -> Masks {
        static BUILTIN: std::sync::LazyLock<PixelScript> =
            std::sync::LazyLock::new(PixelScript::builtin);
        Masks {
            explicit: ExplicitMasks::default(),
            scripts: vec![BUILTIN.clone()],
        }
    }

    /// Adds a user's script after those added before it and ahead of the built-in library.
    pub fn with_script(mut self, script: PixelScript) -> Masks {
        let at = self.scripts.len().saturating_sub(1);
        self.scripts.insert(at, script);
        self
    }

    /// Uses explicit regions from a reviewer.
    pub fn with_explicit(mut self, explicit: ExplicitMasks) -> Masks {
        self.explicit = explicit;
        self
    }

    /// The regions for an image, from the original header (before de-identification).
    pub fn choose(&self, header: &Header<'_, '_>, info: &ImageInfo) -> Option<Choice> {
        let d = header.dataset;
        let uid = |t: Tag| d.ascii(t).unwrap_or_default();
        let clip = |rs: &[Rect]| -> Vec<Rect> {
            rs.iter()
                .map(|r| Rect {
                    x0: r.x0.min(info.columns),
                    y0: r.y0.min(info.rows),
                    x1: r.x1.min(info.columns),
                    y1: r.y1.min(info.rows),
                })
                .filter(|r| !r.is_empty())
                .collect()
        };
        let explicit = |source: &str, rs: &[Rect]| Choice {
            source: source.into(),
            rects: clip(rs),
            detected: 0,
        };
        if let Some(rs) = self.explicit.images.get(&uid(tags::SOP_INSTANCE_UID)) {
            return Some(explicit("explicit regions for the image", rs));
        }
        if let Some(rs) = self.explicit.series.get(&uid(tags::SERIES_INSTANCE_UID)) {
            return Some(explicit("explicit regions for the series", rs));
        }
        let (make, model) = (uid(tags::MANUFACTURER), uid(tags::MANUFACTURER_MODEL_NAME));
        if let Some(dm) = self.explicit.devices.iter().find(|m| {
            m.manufacturer == make
                && m.model == model
                && m.rows == info.rows
                && m.columns == info.columns
        }) {
            return Some(explicit("explicit regions for the device", &dm.regions));
        }
        let m = self.scripts.iter().find_map(|s| s.first_match(header))?;
        Some(Choice {
            source: format!("{} line {}", m.script, m.line),
            rects: m
                .regions
                .iter()
                .filter_map(|r| r.to_rect(info.columns, info.rows))
                .collect(),
            detected: 0,
        })
    }
}

/// What the pixel stage did to one file, for the audit (never a value from the image). Crosses
/// from a page worker to the page's ledger, so every field may be absent when read back.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PixelRecord {
    /// Why the image may show burned-in text, if it may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<String>,
    /// Set when regions were painted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<Masked>,
    /// The image was at risk, had no mask, and was written because the user accepted the risk.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub released_unmasked: bool,
}

impl PixelRecord {
    /// Whether there is nothing to say (no risk, nothing masked).
    pub fn is_empty(&self) -> bool {
        self.at_risk.is_none() && self.masked.is_none()
    }
}

/// How an image was masked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Masked {
    /// The rule or region set (`ctp-builtin line 120`, `explicit regions for the series`).
    pub source: String,
    pub regions: usize,
    pub frames: u32,
    /// `in place`, `dct blocks` or `re-encoded`.
    pub method: String,
    pub transfer_syntax_in: String,
    pub transfer_syntax_out: String,
    /// Size of Pixel Data after minus before, in bytes.
    pub size_change: i64,
    /// How many of the regions came from text detection (`--mask-detected-text`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub detected: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Extended Offset Table, its Lengths, and the Encapsulated Pixel Data Value Total Length: they
/// describe the fragments and go when the fragments change.
pub(crate) const ENCAPSULATION_TAGS: [Tag; 3] = [
    Tag(0x7FE0, 0x0001),
    Tag(0x7FE0, 0x0002),
    Tag(0x7FE0, 0x0003),
];

/// Paints `choice` on every frame of the image in `obj`, by the path its transfer syntax allows.
/// On error nothing is promised about `obj`: the caller quarantines the file.
pub fn apply(obj: &mut FileObject<'_>, info: &ImageInfo, choice: &Choice) -> Result<Masked> {
    let ts_in = obj.transfer_syntax.clone();
    let big_endian = obj.encoding.big_endian;
    let element = obj
        .dataset
        .get_mut(tags::PIXEL_DATA)
        .ok_or_else(|| Error::Unsupported("pixel masking: no Pixel Data".into()))?;
    let before = value_len(&element.value) as i64;
    let method = match &mut element.value {
        Value::Bytes(bytes) => {
            let order = (big_endian, element.vr);
            native::mask_stored(bytes.to_mut(), info, &choice.rects, order)?;
            "in place"
        }
        Value::Fragments(_) => encapsulated(obj, info, choice)?,
        Value::Items(_) => {
            return Err(Error::Unsupported(
                "pixel masking: Pixel Data is a sequence".into(),
            ));
        }
    };
    let after = obj
        .dataset
        .get(tags::PIXEL_DATA)
        .map_or(0, |e| value_len(&e.value)) as i64;
    Ok(Masked {
        source: choice.source.clone(),
        regions: choice.rects.len(),
        frames: info.frames,
        method: method.into(),
        transfer_syntax_in: ts_in,
        transfer_syntax_out: obj.transfer_syntax.clone(),
        size_change: after - before,
        detected: 0,
    })
}

fn value_len(v: &Value<'_>) -> usize {
    match v {
        Value::Bytes(b) => b.len(),
        Value::Fragments(f) => f.iter().map(|x| x.len() + 8).sum(),
        Value::Items(_) => 0,
    }
}

/// Encapsulated Pixel Data: split into frames, each masked by the path its transfer syntax
/// takes ([`masker`]).
fn encapsulated(
    obj: &mut FileObject<'_>,
    info: &ImageInfo,
    choice: &Choice,
) -> Result<&'static str> {
    let eot = obj
        .dataset
        .get(ENCAPSULATION_TAGS[0])
        .and_then(|e| e.raw())
        .map(<[u8]>::to_vec);
    let eot = eot.as_deref();
    let Some(Value::Fragments(all)) = obj.dataset.get(tags::PIXEL_DATA).map(|e| &e.value) else {
        unreachable!("checked by the caller")
    };
    let (bot, fragments) = all
        .split_first()
        .ok_or_else(|| Error::Unsupported("pixel masking: no offset table item".into()))?;
    let fragments: Vec<&[u8]> = fragments.iter().map(|f| f.as_ref()).collect();
    let ranges = frames::split(bot, &fragments, info.frames, eot)?;
    let joined = |r: &std::ops::Range<usize>| -> Cow<'_, [u8]> {
        if r.len() == 1 {
            Cow::Borrowed(fragments[r.start])
        } else {
            Cow::Owned(fragments[r.clone()].concat())
        }
    };
    let first = ranges.first().map(&joined).unwrap_or_default();
    let masker = FrameMasker::new(&obj.transfer_syntax, info, &choice.rects, &first)?;
    let out = ranges
        .iter()
        .map(|r| masker.frame(&joined(r)))
        .collect::<Result<Vec<_>>>()?;
    let had_bot = !bot.is_empty();
    match masker.output() {
        Output::Native => {
            let mut data = out.concat();
            if data.len() % 2 == 1 {
                data.push(0);
            }
            write_native(obj, info, data);
        }
        Output::Fragments => {
            let lengths: Vec<u64> = out.iter().map(|f| padded(f.len())).collect();
            let mut items = vec![Cow::Owned(Vec::new())];
            items.extend(out.into_iter().map(|mut f| {
                if f.len() % 2 == 1 {
                    f.push(0);
                }
                Cow::Owned(f)
            }));
            write_fragments(obj, items, &lengths, had_bot, eot.is_some());
            masker.label(obj);
        }
    }
    Ok(masker.method())
}

/// A value's length once padded to even (PS3.5 7.1.1).
pub(crate) fn padded(n: usize) -> u64 {
    (n as u64 + 1) & !1
}

/// The image as a decoder of `ts` hands it over: interleaved, every sample of every pixel, in
/// the photometric interpretation [`codec::decoded_photometric`] names.
fn decoded_info(ts: &str, info: &ImageInfo) -> ImageInfo {
    let mut d = info.clone();
    d.planar = false;
    d.photometric = codec::decoded_photometric(ts, info).into();
    d
}

/// Replaces encapsulated Pixel Data with native samples (`data`, even length) in Explicit VR
/// Little Endian.
fn write_native(obj: &mut FileObject<'_>, info: &ImageInfo, data: Vec<u8>) {
    let decoded = decoded_info(&obj.transfer_syntax, info);
    let vr = if info.bits_allocated > 8 {
        Vr::OW
    } else {
        Vr::OB
    };
    obj.dataset.put(Element::bytes(tags::PIXEL_DATA, vr, data));
    for t in ENCAPSULATION_TAGS {
        obj.dataset.remove(t);
    }
    relabel(obj, info, &decoded, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    obj.encoding = crate::dicom::model::Encoding::EXPLICIT_LE;
}

/// Labels re-encoded Pixel Data: transfer syntax `ts`, and the photometric interpretation and
/// planar configuration of the decoded samples (`decoded`) where they differ from the input's.
fn relabel(obj: &mut FileObject<'_>, info: &ImageInfo, decoded: &ImageInfo, ts: &str) {
    if decoded.photometric != info.photometric {
        obj.dataset.put(Element::text(
            tags::PHOTOMETRIC_INTERPRETATION,
            Vr::CS,
            &decoded.photometric,
        ));
    }
    if info.samples_per_pixel > 1 {
        obj.dataset.put(Element::bytes(
            tags::PLANAR_CONFIGURATION,
            Vr::US,
            0u16.to_le_bytes().to_vec(),
        ));
    }
    obj.transfer_syntax = ts.into();
}

/// Replaces the fragments with `items`: an offset table item, then one fragment per frame
/// (none when a large file's frames are written later), whose padded lengths are `lengths`. The
/// offset table item is filled when the input had a Basic Offset Table, and an Extended Offset
/// Table is written when the input had one.
fn write_fragments(
    obj: &mut FileObject<'_>,
    mut items: Vec<Cow<'static, [u8]>>,
    lengths: &[u64],
    bot: bool,
    eot: bool,
) {
    let offsets: Vec<u64> = lengths
        .iter()
        .scan(0u64, |pos, len| {
            let at = *pos;
            *pos += 8 + len;
            Some(at)
        })
        .collect();
    let end = offsets
        .last()
        .zip(lengths.last())
        .map_or(0, |(o, l)| o + 8 + l);
    if bot && end <= u32::MAX as u64 {
        items[0] = Cow::Owned(
            offsets
                .iter()
                .flat_map(|&o| (o as u32).to_le_bytes())
                .collect(),
        );
    }
    if let Some(e) = obj.dataset.get_mut(tags::PIXEL_DATA) {
        e.value = Value::Fragments(items);
    }
    obj.dataset.remove(ENCAPSULATION_TAGS[2]);
    if eot {
        let ov = |v: &[u64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        obj.dataset
            .put(Element::bytes(ENCAPSULATION_TAGS[0], Vr::OV, ov(&offsets)));
        obj.dataset
            .put(Element::bytes(ENCAPSULATION_TAGS[1], Vr::OV, ov(lengths)));
    }
}

/// A deflated frame inflated (raw deflate, or zlib as some writers wrap it).
pub(crate) fn inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut out)
        .or_else(|_| {
            out.clear();
            flate2::read::ZlibDecoder::new(data).read_to_end(&mut out)
        })
        .map_err(|_| {
            Error::Unsupported("pixel masking: a deflated frame could not be inflated".into())
        })?;
    Ok(out)
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = w.write_all(data);
    w.finish().unwrap_or_default()
}

/// The pixel settings of a de-identifier: where masks come from and whether unmasked images at
/// risk may be written anyway.
#[derive(Debug, Clone, Default)]
pub struct PixelPolicy {
    pub masks: Arc<Masks>,
    /// Writes at-risk images no mask covers instead of quarantining them (the audit says so).
    pub release_unmasked: bool,
    /// Looks for burned-in text on every frame ([`crate::detect`]); text outside every mask
    /// puts the image at risk.
    pub detect_text: bool,
    /// Masks the text boxes found outside every mask instead of holding the image back.
    pub mask_detected_text: bool,
}

/// The user's pixel settings as the page and the CLI gather them: scripts by name and text,
/// explicit regions, and whether unmasked images at risk may be written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PixelSettings {
    pub release_unmasked: bool,
    pub scripts: Vec<ScriptText>,
    pub regions: Option<ExplicitMasks>,
    /// Burned-in text detection on every frame (with Clean Pixel Data).
    pub detect_text: bool,
    /// Masks detected text that no other mask covers (with `detect_text`).
    pub mask_detected_text: bool,
}

/// A pixel script file's name and text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScriptText {
    pub name: String,
    pub text: String,
}

impl PixelSettings {
    /// The policy: the user's scripts in the order given, then CTP's library; explicit regions
    /// before both. A script without any signature is refused (it is not a pixel script).
    pub fn policy(&self) -> Result<PixelPolicy> {
        let mut masks = Masks::builtin();
        for s in &self.scripts {
            let script = PixelScript::parse(&s.name, &s.text);
            if script.signatures.is_empty() {
                return Err(Error::Options(format!(
                    "the pixel script {} has no signature ({{ ... }} followed by regions)",
                    s.name
                )));
            }
            masks = masks.with_script(script);
        }
        if let Some(r) = &self.regions {
            masks = masks.with_explicit(r.clone());
        }
        Ok(PixelPolicy {
            masks: Arc::new(masks),
            release_unmasked: self.release_unmasked,
            detect_text: self.detect_text || self.mask_detected_text,
            mask_detected_text: self.mask_detected_text,
        })
    }
}

/// The original header of a file, for scripts.
pub fn header<'h, 'a>(obj: &'h FileObject<'a>, charset: &'h CharacterSet) -> Header<'h, 'a> {
    Header {
        dataset: &obj.dataset,
        meta: &obj.meta,
        encoding: obj.encoding,
        charset,
    }
}

/// Burned In Annotation after masking: NO, since the regions were chosen for this image.
pub(crate) fn mark_clean(d: &mut Item<'_>) {
    d.put(Element::text(tags::BURNED_IN_ANNOTATION, Vr::CS, "NO"));
}
