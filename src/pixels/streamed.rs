//! Clean Pixel Data for a large file that is not held in memory ([`crate::dicom::bulk`]): the
//! frames stay in the input, are read one batch at a time, masked by the same per-frame steps as
//! a file in memory ([`native::mask`], [`FrameMasker`]) and written as the output is copied.
//!
//! Masked fragments come after the offset tables that give their lengths, so they are made
//! twice: once when the engine plans the value (which also proves every frame masks before a
//! byte is written), and again as they are written. Native samples keep their length and are
//! made once.

use std::borrow::Cow;
use std::io;
use std::ops::Range;

use crate::dicom::bulk::{self, CHUNK, Gap, Source, Split};
use crate::dicom::model::{FileObject, Value, Vr, tags};
use crate::error::{Error, Result};
use crate::pixels::masker::{FrameMasker, Output};
use crate::pixels::{Choice, ENCAPSULATION_TAGS, ImageInfo, Masked, Rect, frames, native, padded};
use crate::render::Image;

/// The largest frame read into memory at once: wasm32 addresses 4 GB in all, and a frame is
/// held with its masked copy.
const MAX_FRAME: u64 = 1 << 30;

/// A large input's Pixel Data as the engine sees it: still in the file.
pub struct Bulk<'s> {
    pub src: &'s mut dyn Source,
    pub split: &'s Split,
    /// Set when the pixel stage masks the frames: how to write the new value.
    pub masked: Option<MaskedValue>,
}

/// Whether the frames of a large image can be masked one batch at a time; `Err` says why the
/// file is read whole instead.
pub fn streamable(info: &ImageInfo, split: &Split) -> std::result::Result<(), String> {
    let frame_bits = info.frame_bits();
    let unit = if split.big_endian { 16 } else { 8 };
    if !split.encapsulated && !frame_bits.is_multiple_of(unit) {
        // Bit-packed frames do not start on a byte, nor frames of odd length on a word of a
        // big-endian OW value.
        return Err("its frames do not start on a byte boundary".into());
    }
    if frame_bits / 8 > MAX_FRAME {
        return Err(format!(
            "one frame is {:.1} GB",
            (frame_bits / 8) as f64 / 1e9
        ));
    }
    Ok(())
}

/// Where one frame's bytes are in the input: its fragments' values, or its native samples.
type FrameAt = Vec<Range<u64>>;

/// The masked Pixel Data value of a large file.
#[derive(Debug)]
pub struct MaskedValue {
    step: Step,
    /// The output value's length in bytes.
    len: u64,
}

#[derive(Debug)]
enum Step {
    /// Native samples, masked in place a batch of frames at a time; bytes after the last frame
    /// are copied.
    Native {
        one: ImageInfo,
        rects: Vec<Rect>,
        /// The data set's byte order and the value's VR (see [`native::mask_stored`]).
        order: (bool, Vr),
        frames: u32,
        value: Range<u64>,
    },
    /// Encapsulated frames (each the input ranges of its fragments), masked one at a time and
    /// written as items or as native samples; `lengths` are the masked frames' lengths found when
    /// planning.
    Frames {
        masker: FrameMasker,
        frames: Vec<FrameAt>,
        lengths: Vec<u64>,
    },
}

/// Plans the masking of a large file's frames: checks that every frame masks, and sets the
/// stub's Pixel Data (and the elements that describe it) to what the output will have, with an
/// empty value or an offset table alone in place of the frames.
pub(crate) fn plan(
    obj: &mut FileObject<'_>,
    info: &ImageInfo,
    choice: &Choice,
    bulk: &mut Bulk<'_>,
) -> Result<Masked> {
    let split = bulk.split;
    streamable(info, split).map_err(|why| Error::Unsupported(format!("pixel masking: {why}")))?;
    let ts_in = obj.transfer_syntax.clone();
    let before = input_len(split);
    let value = if split.encapsulated {
        plan_frames(obj, info, choice, bulk)?
    } else {
        let mut one = info.clone();
        one.frames = 1;
        if (split.value.end - split.value.start) * 8 < info.frame_bits() * info.frames as u64 {
            return Err(Error::Unsupported(
                "pixel masking: Pixel Data is shorter than its frames".into(),
            ));
        }
        MaskedValue {
            step: Step::Native {
                one,
                rects: choice.rects.clone(),
                order: (split.big_endian, pixel_vr(obj)),
                frames: info.frames,
                value: split.value.clone(),
            },
            len: before,
        }
    };
    let masked = Masked {
        source: choice.source.clone(),
        regions: choice.rects.len(),
        frames: info.frames,
        method: value.method().into(),
        transfer_syntax_in: ts_in,
        transfer_syntax_out: obj.transfer_syntax.clone(),
        size_change: value.written_len(obj) as i64 - before as i64,
        detected: 0,
    };
    bulk.masked = Some(value);
    Ok(masked)
}

/// The input value's length as the audit counts it (fragments with their item headers, without
/// the delimiter).
fn input_len(split: &Split) -> u64 {
    let n = split.value.end - split.value.start;
    if split.encapsulated { n - 8 } else { n }
}

/// Encapsulated frames: found from the offset tables or the fragments' first bytes, each
/// masked once to learn its length.
fn plan_frames(
    obj: &mut FileObject<'_>,
    info: &ImageInfo,
    choice: &Choice,
    bulk: &mut Bulk<'_>,
) -> Result<MaskedValue> {
    let (bot, frames) = bulk.frames(obj, info)?;
    let eot = obj.dataset.get(ENCAPSULATION_TAGS[0]).is_some();
    let first = frames.first().map(|f| read(bulk.src, f)).transpose()?;
    let masker = FrameMasker::new(
        &obj.transfer_syntax,
        info,
        &choice.rects,
        first.as_deref().unwrap_or_default(),
    )?;
    let mut out_lengths = Vec::with_capacity(frames.len());
    for f in &frames {
        out_lengths.push(masker.frame(&read(bulk.src, f)?)?.len() as u64);
    }
    let len = match masker.output() {
        Output::Native => {
            super::write_native(obj, info, Vec::new());
            (out_lengths.iter().sum::<u64>() + 1) & !1
        }
        Output::Fragments => {
            let items = vec![Cow::Owned(Vec::new())];
            let padded: Vec<u64> = out_lengths.iter().map(|&l| padded(l as usize)).collect();
            super::write_fragments(obj, items, &padded, !bot.is_empty(), eot);
            masker.label(obj);
            padded.iter().map(|l| 8 + l).sum()
        }
    };
    Ok(MaskedValue {
        step: Step::Frames {
            masker,
            frames,
            lengths: out_lengths,
        },
        len,
    })
}

impl Bulk<'_> {
    /// The input's Basic Offset Table and where each frame is: the ranges of its fragments
    /// (found from the offset tables or the fragments' first bytes), or its native samples.
    pub(crate) fn frames(
        &mut self,
        obj: &FileObject<'_>,
        info: &ImageInfo,
    ) -> Result<(Vec<u8>, Vec<FrameAt>)> {
        let split = self.split;
        if !split.encapsulated {
            let len = info.frame_bits() / 8;
            let frames = (0..info.frames as u64)
                .map(|k| split.value.start + k * len)
                .take_while(|&at| at + len <= split.value.end)
                .map(|at| std::iter::once(at..at + len).collect())
                .collect();
            return Ok((Vec::new(), frames));
        }
        let (bot_range, fragments) = split
            .items
            .split_first()
            .ok_or_else(|| Error::Unsupported("pixel masking: no offset table item".into()))?;
        let bot = read(self.src, std::slice::from_ref(bot_range))?;
        let eot = obj.dataset.get(ENCAPSULATION_TAGS[0]).and_then(|e| e.raw());
        let lengths: Vec<u64> = fragments.iter().map(|r| r.end - r.start).collect();
        let src = &mut *self.src;
        let mut starts = |i: usize| {
            let r = &fragments[i];
            let mut head = vec![0; (r.end - r.start).min(8) as usize];
            src.read_at(r.start, &mut head).is_ok() && frames::starts_frame(&head)
        };
        let groups = frames::split_by(&bot, &lengths, info.frames, eot, &mut starts)?;
        let frames = groups.into_iter().map(|g| fragments[g].to_vec()).collect();
        Ok((bot, frames))
    }

    /// One frame's stored bytes (its fragments joined).
    pub(crate) fn read(&mut self, frame: &[Range<u64>]) -> Result<Vec<u8>> {
        read(self.src, frame)
    }
}

/// Burned-in text on every frame of a large file, its frames read one at a time (as
/// [`crate::detect`] does for a file in memory).
pub(crate) fn detect_text(obj: &FileObject<'_>, bulk: &mut Bulk<'_>) -> Result<Vec<Rect>> {
    let mut image = Image::of_header(obj)?;
    let info = ImageInfo::of(&obj.dataset, obj.encoding)?
        .ok_or_else(|| Error::Unsupported("the file has no Pixel Data to display".into()))?;
    let (_, frames) = bulk.frames(obj, &info)?;
    let ts = bulk
        .split
        .encapsulated
        .then_some(obj.transfer_syntax.as_str());
    let order = (bulk.split.big_endian, pixel_vr(obj));
    let boxes = crate::detect::detect_each(frames.len() as u32, &mut |k| {
        let bytes = bulk.read(&frames[k as usize])?;
        image.set_frame(k, bytes, ts, order);
        image.render(k, None, false)
    })?;
    Ok(boxes.into_iter().map(|b| b.rect).collect())
}

/// The VR of the stub's Pixel Data (that of the value left in the file).
fn pixel_vr(obj: &FileObject<'_>) -> Vr {
    obj.dataset.get(tags::PIXEL_DATA).map_or(Vr::OW, |e| e.vr)
}

/// The bytes of `ranges` of the input, end to end.
fn read(src: &mut dyn Source, ranges: &[Range<u64>]) -> Result<Vec<u8>> {
    let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    if total > MAX_FRAME {
        return Err(Error::Unsupported(format!(
            "pixel masking: one frame is {:.1} GB",
            total as f64 / 1e9
        )));
    }
    let mut out = vec![0; total as usize];
    let mut at = 0;
    for r in ranges {
        let n = (r.end - r.start) as usize;
        src.read_at(r.start, &mut out[at..at + n]).map_err(|e| {
            Error::Unsupported(format!("the file could not be read ({})", e.kind()))
        })?;
        at += n;
    }
    Ok(out)
}

impl MaskedValue {
    fn method(&self) -> &'static str {
        match &self.step {
            Step::Native { .. } => "in place",
            Step::Frames { masker, .. } => masker.method(),
        }
    }

    /// Where the value goes in the stub's output.
    pub fn gap(&self) -> Gap {
        match &self.step {
            Step::Frames { masker, .. } if masker.output() == Output::Fragments => {
                Gap::AfterOffsetTable
            }
            _ => Gap::Native(self.len),
        }
    }

    /// The value's length in the output: the frames, and for fragments the offset table item
    /// the stub holds.
    fn written_len(&self, obj: &FileObject<'_>) -> u64 {
        let table = match (
            self.gap(),
            obj.dataset.get(tags::PIXEL_DATA).map(|e| &e.value),
        ) {
            (Gap::AfterOffsetTable, Some(Value::Fragments(f))) => {
                f.iter().map(|x| 8 + x.len() as u64).sum()
            }
            _ => 0,
        };
        table + self.len
    }

    /// The bytes that go in the gap (without the offset table item the head ends with).
    pub fn value_len(&self) -> u64 {
        self.len
    }

    /// Writes the value to `sink`: frames read from `src`, masked, and passed on one at a time
    /// (native frames a chunk's worth at a time).
    pub fn write(
        &self,
        src: &mut dyn Source,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        match &self.step {
            Step::Native {
                one,
                rects,
                order,
                frames,
                value,
            } => write_native(src, sink, one, rects, *order, *frames, value),
            Step::Frames {
                masker,
                frames,
                lengths,
            } => {
                let items = masker.output() == Output::Fragments;
                for (f, &len) in frames.iter().zip(lengths) {
                    let mut out = read(src, f)
                        .and_then(|b| masker.frame(&b))
                        .map_err(io::Error::other)?;
                    if out.len() as u64 != len {
                        return Err(io::Error::other(
                            "a frame masked differently the second time",
                        ));
                    }
                    if items {
                        if out.len() % 2 == 1 {
                            out.push(0);
                        }
                        let mut h = [0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0];
                        h[4..].copy_from_slice(&(out.len() as u32).to_le_bytes());
                        sink(&h)?;
                    }
                    sink(&out)?;
                }
                if !items && lengths.iter().sum::<u64>() % 2 == 1 {
                    sink(&[0])?;
                }
                Ok(())
            }
        }
    }
}

/// Native frames masked a chunk's worth at a time; what follows the last frame is copied.
fn write_native(
    src: &mut dyn Source,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    one: &ImageInfo,
    rects: &[Rect],
    order: (bool, Vr),
    frames: u32,
    value: &Range<u64>,
) -> io::Result<()> {
    let frame_len = one.frame_bits() / 8;
    let per_batch = (CHUNK as u64 / frame_len.max(1)).max(1);
    let mut batch = one.clone();
    let mut pos = value.start;
    let mut left = frames as u64;
    while left > 0 {
        let n = left.min(per_batch);
        let mut buf = vec![0; (n * frame_len) as usize];
        src.read_at(pos, &mut buf)?;
        batch.frames = n as u32;
        native::mask_stored(&mut buf, &batch, rects, order).map_err(io::Error::other)?;
        sink(&buf)?;
        pos += n * frame_len;
        left -= n;
    }
    bulk::copy(src, pos..value.end, sink)
}
