//! Large files without holding them: the Pixel Data value is carried from the input to the
//! output as a byte range, and everything else (the header before it and the elements after
//! it) is parsed and rewritten as for any file.
//!
//! [`split`] reads a file's header through a [`Source`] (a growing prefix until the top-level
//! Pixel Data is found, the fragment headers of encapsulated data, and the tail), and gives a
//! *stub* file: the same bytes with the Pixel Data value left out (an empty value, or one empty
//! fragment). The engine de-identifies the stub like any file; [`Split::join`] then finds the
//! stub's Pixel Data in the output and gives the output as head, input range and tail, which the
//! caller copies in bounded chunks ([`Joined::copy`]) with its checksums.

use std::io;
use std::ops::Range;

use crate::dicom::inflate::{self, Deflated, View};
use crate::dicom::model::Encoding;
use crate::dicom::read::{self, PixelDataAt};
use crate::error::{Error, Result};

/// The first prefix read for the header; doubled until the Pixel Data header is in it.
const FIRST_PREFIX: u64 = 1 << 20;
/// The most header (before Pixel Data) or tail (after it) read into memory.
pub const MAX_HEADER: u64 = 64 << 20;
/// Bytes copied at a time.
pub const CHUNK: usize = 8 << 20;

/// Random access to an input's bytes (a file natively, a `File` blob in the page's worker).
pub trait Source {
    /// The input's size in bytes.
    fn size(&self) -> u64;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl Source for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        self.seek(SeekFrom::Start(offset))?;
        self.read_exact(buf)
    }
}

/// Why a file is read whole instead (the caller falls back to the in-memory path, or, where
/// memory is short, reports the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSplit(pub String);

/// A file split around its Pixel Data value.
#[derive(Debug)]
pub struct Split {
    /// The file with the Pixel Data value left out: what the engine de-identifies.
    pub stub: Vec<u8>,
    /// The Pixel Data value in the input (for encapsulated data: every item and the sequence
    /// delimiter).
    pub value: Range<u64>,
    pub encapsulated: bool,
    /// For encapsulated data, the value of each item in the input (the first is the Basic
    /// Offset Table): where each frame's fragments are when Clean Pixel Data masks them.
    pub items: Vec<Range<u64>>,
    /// The byte order of the data set (native samples of 16 bits and more are stored in it).
    pub big_endian: bool,
    /// For a deflated data set, the ranges above are offsets in the input with its data set
    /// inflated: read them through [`Split::view`].
    pub deflated: Option<Deflated>,
}

/// An output as the parts to write in order.
#[derive(Debug)]
pub struct Joined {
    pub head: Vec<u8>,
    pub value: Range<u64>,
    pub tail: Vec<u8>,
}

/// An empty item and a sequence delimiter (explicit VR little endian, as every encapsulated
/// transfer syntax is): the stub of encapsulated Pixel Data.
pub const EMPTY_FRAGMENTS: [u8; 16] = [
    0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
];

fn io_err(e: io::Error) -> NotSplit {
    NotSplit(format!("the file could not be read ({})", e.kind()))
}

/// Splits a file around its top-level Pixel Data. `NotSplit` when the file has no such value to
/// carry (none, a header or tail larger than [`MAX_HEADER`], fragments that do not end, a
/// deflated data set that does not inflate), in which case the caller reads it whole. A deflated
/// data set is split as it inflates: the stub is deflated again, the ranges are in the inflated
/// view of the file.
pub fn split(src: &mut dyn Source) -> std::result::Result<Split, NotSplit> {
    let deflated = Deflated::of(src)?;
    let mut view = View::new(src, deflated);
    let src = &mut view;
    let len = src.size();
    let (prefix, at) = header(src, len, deflated.is_some())?;
    let encapsulated = at.value_len.is_none();
    // The writer pads an odd value to even length (PS3.5 7.1.1); such rare files are read whole
    // so that their output stays the one the whole file gives.
    if at.value_len.is_some_and(|n| !n.is_multiple_of(2)) {
        return Err(NotSplit("the Pixel Data has an odd length".into()));
    }
    let value_start = at.value_start() as u64;
    let (value_end, items) = match at.value_len {
        Some(n) => (value_start + n as u64, Vec::new()),
        None => items(src, value_start, len)?,
    };
    if value_end > len {
        return Err(NotSplit(
            "the Pixel Data runs past the end of the file".into(),
        ));
    }
    if len - value_end > MAX_HEADER {
        return Err(NotSplit("more than 64 MB follow the Pixel Data".into()));
    }
    let mut tail = vec![0; (len - value_end) as usize];
    src.read_at(value_end, &mut tail).map_err(io_err)?;
    if !long_form(&at) {
        return Err(NotSplit(
            "the Pixel Data header has no 32-bit length".into(),
        ));
    }
    let mut stub = prefix;
    stub.truncate(at.value_start());
    if encapsulated {
        stub.extend_from_slice(&EMPTY_FRAGMENTS);
    } else {
        // A long-form header ends in its 32-bit length: the stub's value is empty.
        let n = stub.len();
        stub[n - 4..].fill(0);
    }
    stub.extend_from_slice(&tail);
    if let Some(d) = deflated {
        stub = inflate::deflate_from(&stub, d.plain as usize).map_err(io_err)?;
    }
    Ok(Split {
        stub,
        value: value_start..value_end,
        encapsulated,
        items,
        big_endian: at.encoding.big_endian,
        deflated,
    })
}

/// Reads a growing prefix until it holds the Pixel Data header.
fn header(
    src: &mut dyn Source,
    len: u64,
    inflated: bool,
) -> std::result::Result<(Vec<u8>, PixelDataAt), NotSplit> {
    let mut size = FIRST_PREFIX.min(len);
    loop {
        let mut prefix = vec![0; size as usize];
        src.read_at(0, &mut prefix).map_err(io_err)?;
        match read::find_pixel_data(&prefix, inflated) {
            Ok(Some(at)) if at.value_start() <= prefix.len() => return Ok((prefix, at)),
            Err(e) => return Err(NotSplit(e.to_string())),
            _ if size >= len || size >= MAX_HEADER => {
                return Err(NotSplit("no Pixel Data within the first 64 MB".into()));
            }
            _ => size = (size * 2).min(len).min(MAX_HEADER),
        }
    }
}

/// The items of encapsulated Pixel Data (each item's value) and where they end, after the
/// sequence delimiter: found by reading each item header in turn (8 bytes per fragment).
fn items(
    src: &mut dyn Source,
    mut pos: u64,
    len: u64,
) -> std::result::Result<(u64, Vec<Range<u64>>), NotSplit> {
    let mut h = [0u8; 8];
    let mut items = Vec::new();
    loop {
        if pos + 8 > len {
            return Err(NotSplit(
                "the encapsulated Pixel Data has no delimiter".into(),
            ));
        }
        src.read_at(pos, &mut h).map_err(io_err)?;
        let tag = (
            u16::from_le_bytes([h[0], h[1]]),
            u16::from_le_bytes([h[2], h[3]]),
        );
        let n = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as u64;
        pos += 8;
        match tag {
            (0xFFFE, 0xE0DD) => return Ok((pos, items)),
            (0xFFFE, 0xE000) if n.is_multiple_of(2) => {
                items.push(pos..pos + n);
                pos += n;
            }
            _ => {
                return Err(NotSplit(
                    "the encapsulated Pixel Data is not a list of items".into(),
                ));
            }
        }
    }
}

/// Where the large value goes in the output of the stub's de-identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Native Pixel Data of this length, in place of the stub's empty value.
    Native(u64),
    /// Encapsulated: items and delimiter, in place of the stub's empty offset table and
    /// delimiter (the input's own items are copied).
    Items,
    /// Encapsulated: the frames' items, between the output's offset table item and its
    /// delimiter (masked frames, whose offset table the engine wrote).
    AfterOffsetTable,
}

impl Split {
    /// The input as the ranges of this split address it: `src` itself, or for a deflated data
    /// set `src` with its data set inflated as it is read.
    pub fn view<'s>(&self, src: &'s mut dyn Source) -> View<'s> {
        View::new(src, self.deflated)
    }

    /// The output of the stub's de-identification, `out`, as the parts to write: its bytes up
    /// to the Pixel Data value (the length set back to the value's), the input's value, and its
    /// bytes after. For a deflated data set the head and tail are given inflated.
    pub fn join(&self, out: Vec<u8>) -> Result<Joined> {
        let gap = if self.encapsulated {
            Gap::Items
        } else {
            Gap::Native(self.value.end - self.value.start)
        };
        let (head, tail) = cut(out, gap)?;
        Ok(Joined {
            head,
            value: self.value.clone(),
            tail,
        })
    }
}

/// Cuts the output of a stub's de-identification where its large value goes: the bytes before
/// (a native length set to the value's) and the bytes after; a deflated data set is inflated
/// first (the writer deflates the parts again as it writes them).
pub fn cut(out: Vec<u8>, gap: Gap) -> Result<(Vec<u8>, Vec<u8>)> {
    let deflated = read::read_preamble(&out)?.encoding.deflated;
    let mut out = if deflated {
        inflate::inflated_file(&out)?.0
    } else {
        out
    };
    let lost = || Error::Unsupported("the Pixel Data went missing from a split file".into());
    let at = read::find_pixel_data(&out, deflated)?.ok_or_else(lost)?;
    if !long_form(&at) {
        return Err(lost());
    }
    let value_start = at.value_start();
    let (keep, skip) = match (at.value_len, gap) {
        (Some(0), Gap::Native(_)) => (0, 0),
        (None, Gap::Items) => {
            let empty = out.get(value_start..value_start + EMPTY_FRAGMENTS.len());
            if empty != Some(&EMPTY_FRAGMENTS[..]) {
                return Err(lost());
            }
            (0, EMPTY_FRAGMENTS.len())
        }
        (None, Gap::AfterOffsetTable) => {
            let h = out.get(value_start..value_start + 8).ok_or_else(lost)?;
            if h[..4] != EMPTY_FRAGMENTS[..4] {
                return Err(lost());
            }
            (8 + u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize, 0)
        }
        _ => return Err(lost()),
    };
    let cut_at = value_start + keep;
    let tail = out.get(cut_at + skip..).ok_or_else(lost)?.to_vec();
    out.truncate(cut_at);
    if let Gap::Native(len) = gap {
        let n = u32::try_from(len).map_err(|_| lost())?;
        let bytes = length_bytes(at.encoding, n);
        let h = out.len();
        out[h - 4..].copy_from_slice(&bytes);
    }
    Ok((out, tail))
}

/// Whether the header ends in a 32-bit length: implicit VR (tag, length) or an explicit VR with
/// the long form (tag, VR, reserved, length).
fn long_form(at: &PixelDataAt) -> bool {
    at.header_len == if at.encoding.explicit_vr { 12 } else { 8 }
}

fn length_bytes(enc: Encoding, n: u32) -> [u8; 4] {
    if enc.big_endian {
        n.to_be_bytes()
    } else {
        n.to_le_bytes()
    }
}

impl Joined {
    /// The output's size in bytes.
    pub fn size(&self) -> u64 {
        self.head.len() as u64 + (self.value.end - self.value.start) + self.tail.len() as u64
    }
}

/// Copies `range` of `src` to `sink` in chunks of at most [`CHUNK`] bytes: memory stays at one
/// chunk whatever the value's size.
pub fn copy(
    src: &mut dyn Source,
    range: Range<u64>,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    // Sizes are compared as u64 before narrowing: past 4 GB a usize of wasm32 would wrap.
    let chunk = |left: u64| left.min(CHUNK as u64) as usize;
    let mut buf = vec![0; chunk(range.end - range.start)];
    let mut pos = range.start;
    while pos < range.end {
        let n = chunk(range.end - pos);
        src.read_at(pos, &mut buf[..n])?;
        sink(&buf[..n])?;
        pos += n as u64;
    }
    Ok(())
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = self
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}
