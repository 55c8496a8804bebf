//! What the header says about turning one frame's stored values into grey levels: the Modality
//! LUT (rescale or table) and the VOI (window or table), per frame. Enhanced multi-frame images
//! put them in functional groups (PS3.3 C.7.6.16): a frame's own item wins over the shared item,
//! which wins over the top-level attributes.

use std::sync::Arc;

use super::Window;
use super::lut::Lut;
use crate::dicom::model::{Encoding, Item, Tag, Value, Vr, split_values, tags};
use crate::pixels::ImageInfo;

/// VOI LUT Function (0028,1056), PS3.3 C.11.2.1.2-3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Function {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

/// The display parameters of one frame.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameParams {
    /// Rescale Slope and Intercept.
    pub rescale: Option<(f64, f64)>,
    pub window: Option<Window>,
    pub function: Function,
    pub voi_lut: Option<Arc<Lut>>,
}

/// The numbers of a DS, IS, FD, FL or US element (text VRs parsed, binary ones decoded).
pub(crate) fn numbers(item: &Item<'_>, tag: Tag, enc: Encoding) -> Vec<f64> {
    let Some(e) = item.get(tag) else {
        return Vec::new();
    };
    let Some(raw) = e.raw() else {
        return Vec::new();
    };
    match e.vr {
        Vr::FD => raw
            .chunks_exact(8)
            .map(|c| enc.f64(c.try_into().unwrap_or_default()))
            .collect(),
        Vr::FL => raw
            .chunks_exact(4)
            .map(|c| enc.u32(c.try_into().unwrap_or_default()))
            .map(|u| f32::from_bits(u) as f64)
            .collect(),
        Vr::US => raw
            .chunks_exact(2)
            .map(|c| enc.u16([c[0], c[1]]) as f64)
            .collect(),
        _ => split_values(Vr::DS, raw)
            .into_iter()
            .filter_map(|v| std::str::from_utf8(v).ok()?.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .collect(),
    }
}

/// The items of a sequence (none when absent or not a sequence).
pub(crate) fn items<'i, 'a>(item: &'i Item<'a>, tag: Tag) -> &'i [Item<'a>] {
    match item.get(tag).map(|e| &e.value) {
        Some(Value::Items(v)) => v,
        _ => &[],
    }
}

/// The first item of a sequence.
pub(crate) fn first_item<'i, 'a>(item: &'i Item<'a>, tag: Tag) -> Option<&'i Item<'a>> {
    items(item, tag).first()
}

/// The parameters of every frame; one entry when no frame has its own functional group, so a
/// 2,000-frame image without per-frame values costs one.
pub(crate) fn per_frame(
    d: &Item<'_>,
    enc: Encoding,
    frames: u32,
    info: &ImageInfo,
) -> Vec<FrameParams> {
    let shared = first_item(d, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per = items(d, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let top = top_level(d, enc, info);
    let shared_p = shared.map_or(top.clone(), |s| from_group(s, enc, info, &top));
    if per.is_empty() {
        return vec![shared_p];
    }
    (0..frames as usize)
        .map(|k| {
            per.get(k)
                .map_or(shared_p.clone(), |g| from_group(g, enc, info, &shared_p))
        })
        .collect()
}

/// The top-level Modality and VOI attributes (C.11.1, C.11.2).
fn top_level(d: &Item<'_>, enc: Encoding, info: &ImageInfo) -> FrameParams {
    let rescale = rescale_of(d, enc);
    let signed = voi_signed(info, rescale);
    FrameParams {
        rescale,
        window: window_of(d, enc),
        function: function_of(d),
        voi_lut: first_item(d, tags::VOILUT_SEQUENCE)
            .and_then(|it| Lut::read(it, enc, signed))
            .map(Arc::new),
    }
}

/// A functional group item's Pixel Value Transformation and Frame VOI LUT, over `base`.
fn from_group(g: &Item<'_>, enc: Encoding, info: &ImageInfo, base: &FrameParams) -> FrameParams {
    let mut p = base.clone();
    if let Some(t) = first_item(g, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
        p.rescale = rescale_of(t, enc).or(p.rescale);
    }
    if let Some(v) = first_item(g, tags::FRAME_VOILUT_SEQUENCE) {
        if let Some(w) = window_of(v, enc) {
            p.window = Some(w);
            p.function = function_of(v);
        }
        let signed = voi_signed(info, p.rescale);
        if let Some(l) =
            first_item(v, tags::VOILUT_SEQUENCE).and_then(|it| Lut::read(it, enc, signed))
        {
            p.voi_lut = Some(Arc::new(l));
        }
    }
    p
}

/// Whether a VOI LUT's first mapped value may be negative: its input is the Modality LUT's
/// output, which is negative for signed pixels or a negative intercept (CT's -1024).
fn voi_signed(info: &ImageInfo, rescale: Option<(f64, f64)>) -> bool {
    info.signed || rescale.is_some_and(|(_, b)| b < 0.0)
}

/// Rescale Slope and Intercept; one without the other takes the identity's value.
fn rescale_of(item: &Item<'_>, enc: Encoding) -> Option<(f64, f64)> {
    let slope = numbers(item, tags::RESCALE_SLOPE, enc).first().copied();
    let intercept = numbers(item, tags::RESCALE_INTERCEPT, enc).first().copied();
    if slope.is_none() && intercept.is_none() {
        return None;
    }
    Some((
        slope.filter(|&s| s != 0.0).unwrap_or(1.0),
        intercept.unwrap_or(0.0),
    ))
}

/// The first Window Center and Width (PS3.3 C.11.2.1.2: several pairs are alternatives, the
/// first is the default); a width that no function accepts (not above zero) is ignored.
fn window_of(item: &Item<'_>, enc: Encoding) -> Option<Window> {
    let center = *numbers(item, tags::WINDOW_CENTER, enc).first()?;
    let width = *numbers(item, tags::WINDOW_WIDTH, enc).first()?;
    (width > 0.0).then_some(Window { center, width })
}

fn function_of(item: &Item<'_>) -> Function {
    match item.ascii(tags::VOILUT_FUNCTION).as_deref().map(str::trim) {
        Some("LINEAR_EXACT") => Function::LinearExact,
        Some("SIGMOID") => Function::Sigmoid,
        _ => Function::Linear,
    }
}
