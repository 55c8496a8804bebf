//! Deflated data sets (Deflated Explicit VR Little Endian) without holding them: a large file's
//! data set is inflated as it is read and deflated again as it is written, so that the split
//! path ([`crate::dicom::bulk`]) works on the inflated bytes as it does on any file.
//!
//! The split sees a *view* of the input: the preamble and meta group as they are, followed by
//! the inflated data set. The view is read forward by a streaming inflater; reading backwards
//! starts it again from the beginning of the stream (the split reads the header, then the tail,
//! then the value in order, so a copy costs a few passes of inflation and no memory).

use std::io::{self, Write};

use flate2::{Decompress, FlushDecompress, Status};

use crate::dicom::bulk::{MAX_HEADER, NotSplit, Source};
use crate::dicom::read;

/// The largest inflated data set streamed. Deflate cannot expand more than about 1032 times,
/// so this only bounds the time a crafted file can take; past it the file is read whole, where
/// [`read::MAX_INFLATED`] refuses it.
pub const MAX_STREAMED: u64 = 64 << 30;

/// Compressed bytes read from the input at a time.
const INPUT_CHUNK: usize = 1 << 20;

/// Where a deflated data set is in a file and how large the view of the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflated {
    /// The bytes before the deflated stream (preamble and meta group), read as they are.
    pub plain: u64,
    /// The view's size: `plain` and the inflated data set.
    pub size: u64,
}

impl Deflated {
    /// `Some` when `src`'s data set is deflated: its meta group is read and the stream inflated
    /// once to learn its size. `NotSplit` when it cannot be streamed (corrupt, or inflating past
    /// [`MAX_STREAMED`]): the file is then read whole, which reports the error.
    pub fn of(src: &mut dyn Source) -> Result<Option<Deflated>, NotSplit> {
        let Some(plain) = deflated_body(src)? else {
            return Ok(None);
        };
        let mut view = View::new(
            src,
            Some(Deflated {
                plain,
                size: u64::MAX,
            }),
        );
        let mut scratch = vec![0; 64 << 10];
        let mut inflated = 0u64;
        loop {
            let n = view.inflate(&mut scratch).map_err(|_| corrupt())?;
            if n == 0 {
                break;
            }
            inflated += n as u64;
            if inflated > MAX_STREAMED {
                return Err(NotSplit(
                    "the deflated data set inflates beyond 64 GB".into(),
                ));
            }
        }
        Ok(Some(Deflated {
            plain,
            size: plain + inflated,
        }))
    }
}

fn corrupt() -> NotSplit {
    NotSplit("the deflated data set is corrupt or truncated".into())
}

/// Where a deflated data set starts, when the file's meta group declares one (read from a
/// growing prefix, as the split reads the header).
fn deflated_body(src: &mut dyn Source) -> Result<Option<u64>, NotSplit> {
    let len = src.size();
    let mut size = (1u64 << 16).min(len);
    loop {
        let mut prefix = vec![0; size as usize];
        src.read_at(0, &mut prefix)
            .map_err(|e| NotSplit(format!("the file could not be read ({})", e.kind())))?;
        match read::read_preamble(&prefix) {
            Ok(pre) if pre.encoding.deflated => return Ok(Some(pre.body_offset as u64)),
            Ok(_) => return Ok(None),
            Err(_) if size >= len || size >= MAX_HEADER => return Ok(None),
            Err(_) => size = (size * 4).min(len).min(MAX_HEADER),
        }
    }
}

/// The input as the split reads it: the file itself, or for a deflated data set the file with
/// its data set inflated.
pub struct View<'s> {
    src: &'s mut dyn Source,
    deflated: Option<Deflated>,
    inflater: Option<Inflater>,
}

/// A streaming inflater at some point of the stream.
struct Inflater {
    z: Decompress,
    input: Vec<u8>,
    /// The unread part of `input`.
    unread: std::ops::Range<usize>,
    /// The input offset of the next compressed byte to read.
    next_in: u64,
    /// The view offset of the next inflated byte.
    pos: u64,
    ended: bool,
}

impl<'s> View<'s> {
    pub fn new(src: &'s mut dyn Source, deflated: Option<Deflated>) -> View<'s> {
        View {
            src,
            deflated,
            inflater: None,
        }
    }

    /// Starts the inflater again from the beginning of the stream unless it is at or before
    /// `offset` (there is no going back in a deflate stream).
    fn rewind_past(&mut self, plain: u64, offset: u64) {
        if self.inflater.as_ref().is_none_or(|i| i.pos > offset) {
            self.inflater = Some(Inflater {
                z: Decompress::new(false),
                input: Vec::new(),
                unread: 0..0,
                next_in: plain,
                pos: plain,
                ended: false,
            });
        }
    }

    /// Inflates the next bytes of the stream into `out`; 0 at its end.
    fn inflate(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let plain = self.deflated.map_or(0, |d| d.plain);
        self.rewind_past(plain, u64::MAX);
        let i = self.inflater.as_mut().expect("started");
        let len = self.src.size();
        loop {
            if i.ended || out.is_empty() {
                return Ok(0);
            }
            if i.unread.is_empty() && i.next_in < len {
                let n = (len - i.next_in).min(INPUT_CHUNK as u64) as usize;
                i.input.resize(n, 0);
                self.src.read_at(i.next_in, &mut i.input)?;
                i.next_in += n as u64;
                i.unread = 0..n;
            }
            let (before_in, before_out) = (i.z.total_in(), i.z.total_out());
            let status =
                i.z.decompress(&i.input[i.unread.clone()], out, FlushDecompress::None)
                    .map_err(io::Error::other)?;
            let used = (i.z.total_in() - before_in) as usize;
            let made = (i.z.total_out() - before_out) as usize;
            i.unread.start += used;
            i.pos += made as u64;
            i.ended = status == Status::StreamEnd;
            if made > 0 {
                return Ok(made);
            }
            if used == 0 && i.unread.is_empty() && i.next_in >= len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads the inflated data set at view offset `offset` (at or after `plain`).
    fn read_inflated(&mut self, plain: u64, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.rewind_past(plain, offset);
        // Only a read that jumps ahead inflates bytes to throw away; in-order reads skip none.
        let mut skip = Vec::new();
        loop {
            let pos = self.inflater.as_ref().expect("started").pos;
            if pos >= offset {
                break;
            }
            skip.resize(64 << 10, 0);
            let n = ((offset - pos) as usize).min(skip.len());
            if self.inflate(&mut skip[..n])? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let mut done = 0;
        while done < buf.len() {
            match self.inflate(&mut buf[done..])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
}

impl Source for View<'_> {
    fn size(&self) -> u64 {
        match self.deflated {
            Some(d) => d.size,
            None => self.src.size(),
        }
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let Some(d) = self.deflated else {
            return self.src.read_at(offset, buf);
        };
        let end = offset + buf.len() as u64;
        if end > d.size {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // The meta group, as it is in the file.
        let plain = (d.plain.saturating_sub(offset) as usize).min(buf.len());
        let (head, rest) = buf.split_at_mut(plain);
        if !head.is_empty() {
            self.src.read_at(offset, head)?;
        }
        if !rest.is_empty() {
            self.read_inflated(d.plain, offset.max(d.plain), rest)?;
        }
        Ok(())
    }
}

/// The deflater of data sets. A compressor's output may depend on how its input was cut into
/// calls (zlib-rs's does: a 9.6 MB data set deflated at once and in the split path's pieces
/// differed by 8 bytes), so the input is handed to it in blocks of [`Deflater::BLOCK`] bytes at
/// fixed offsets, however it arrives: a data set written whole and one streamed in pieces give
/// the same bytes, in every build.
pub struct Deflater<W: Write> {
    enc: flate2::write::DeflateEncoder<W>,
    block: Vec<u8>,
}

impl<W: Write> Deflater<W> {
    const BLOCK: usize = 64 << 10;

    pub fn new(w: W) -> Self {
        Deflater {
            enc: flate2::write::DeflateEncoder::new(w, flate2::Compression::default()),
            block: Vec::with_capacity(Self::BLOCK),
        }
    }

    pub fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = (Self::BLOCK - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.block.len() == Self::BLOCK {
                self.enc.write_all(&self.block)?;
                self.block.clear();
            }
        }
        Ok(())
    }

    /// Deflates what is left and ends the stream.
    pub fn finish(mut self) -> io::Result<W> {
        self.enc.write_all(&self.block)?;
        self.enc.finish()
    }
}

/// A file whose data set after `plain` bytes is given inflated, deflated again.
pub fn deflate_from(bytes: &[u8], plain: usize) -> io::Result<Vec<u8>> {
    let mut enc = Deflater::new(bytes[..plain].to_vec());
    enc.write(&bytes[plain..])?;
    enc.finish()
}

/// A file with a deflated data set, with its data set inflated; and where it starts.
pub fn inflated_file(bytes: &[u8]) -> crate::Result<(Vec<u8>, usize)> {
    let pre = read::read_preamble(bytes)?;
    let plain = pre.body_offset;
    let mut out = bytes[..plain].to_vec();
    let mut scratch = Vec::new();
    read::inflate(&bytes[plain..], &mut scratch, plain)?;
    out.extend_from_slice(&scratch);
    Ok((out, plain))
}
