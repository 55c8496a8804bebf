//! One large input de-identified without holding it: split around its Pixel Data
//! ([`crate::dicom::bulk`]), the stub de-identified by the same engine (and checked by the same
//! residual-PHI verifier), and the output written in chunks with its CRC and digest computed as
//! the bytes pass. The output is byte for byte the one [`Deidentifier::deidentify`] would make.

use std::io;

use std::ops::Range;

use crate::dicom::bulk::{self, NotSplit, Source, Split};
use crate::dicom::inflate::{Deflated, Deflater, View};
use crate::dicom::model::tags;
use crate::dicom::read;
use crate::output::{FileResult, Processed};
use crate::pixels::ImageInfo;
use crate::pixels::streamed::{self, Bulk, MaskedValue};
use crate::review::final_review;
use crate::review::{FileCheck, VerifyConfig, check_with};
use crate::{Deidentified, Deidentifier, Result};

/// Inputs at least this large go through the split path natively.
pub const SPLIT_FROM: u64 = 64 << 20;

/// A de-identified large input, ready to be written: the parts and what the ledger needs.
#[derive(Debug)]
pub struct Prepared {
    /// The output up to the Pixel Data value.
    pub head: Vec<u8>,
    pub body: Body,
    /// The output after the value.
    pub tail: Vec<u8>,
    /// For a deflated data set: where the input's is (read through its inflated view), and
    /// where the output's starts in `head` (the head and tail are held inflated and deflated
    /// again, with the value, as they are written).
    pub deflated: Option<(Deflated, usize)>,
    /// The de-identification of the stub (its `bytes` are the stub's output, for the review).
    pub deidentified: Deidentified,
}

/// The Pixel Data value of the output.
#[derive(Debug)]
pub enum Body {
    /// The input's value, copied as it is.
    Copy(Range<u64>),
    /// The input's frames, masked as they are copied (Clean Pixel Data).
    Masked(Box<MaskedValue>),
}

/// Splits `src` and de-identifies it, with the residual-PHI check when `verify` gives the
/// config and the input's name. `Err(NotSplit)` when the file must be read whole instead: no
/// Pixel Data to carry, frames Clean Pixel Data cannot mask one batch at a time, or a data set
/// without SOP Instance UID (the engine then derives one from the whole file's bytes).
#[allow(clippy::type_complexity)]
pub fn prepare(
    d: &Deidentifier,
    src: &mut dyn Source,
    verify: Option<(&VerifyConfig, &str)>,
) -> std::result::Result<(Result<Prepared>, Option<FileCheck>), NotSplit> {
    let split = bulk::split(src)?;
    check_splittable(d, &split)?;
    let mut view = split.view(src);
    let mut bulk = Bulk {
        src: &mut view,
        split: &split,
        masked: None,
    };
    let (result, check) = match verify {
        Some((cfg, name)) => check_with(d, cfg, &split.stub, name, Some(&mut bulk)),
        None => (
            d.deidentify_witnessed(&split.stub, None, Some(&mut bulk)),
            None,
        ),
    };
    let masked = bulk.masked.take();
    let prepared = result.and_then(|deidentified| {
        // The stub's output stays whole for the final review; the parts are cut from a copy.
        let out = deidentified.bytes.clone();
        let (head, body, tail) = match masked {
            Some(m) => {
                let (head, tail) = bulk::cut(out, m.gap())?;
                (head, Body::Masked(Box::new(m)), tail)
            }
            None => {
                let j = split.join(out)?;
                (j.head, Body::Copy(j.value), j.tail)
            }
        };
        let deflated = match split.deflated {
            Some(d) => Some((d, read::read_preamble(&head)?.body_offset)),
            None => None,
        };
        Ok(Prepared {
            head,
            body,
            tail,
            deflated,
            deidentified,
        })
    });
    Ok((prepared, check))
}

fn check_splittable(d: &Deidentifier, split: &Split) -> std::result::Result<(), NotSplit> {
    let mut scratch = Vec::new();
    let Ok(obj) = read::read_file(&split.stub, &mut scratch) else {
        return Err(NotSplit("read whole for its error".into()));
    };
    if obj
        .dataset
        .ascii(tags::SOP_INSTANCE_UID)
        .is_none_or(|u| u.trim().is_empty())
    {
        return Err(NotSplit("no SOP Instance UID".into()));
    }
    if d.options().clean_pixel_data
        && let Ok(Some(info)) = ImageInfo::of(&obj.dataset, obj.encoding)
    {
        streamed::streamable(&info, split).map_err(NotSplit)?;
    }
    Ok(())
}

/// Checksums of an output as it is written.
#[derive(Default)]
pub struct Sums {
    crc: crc32fast::Hasher,
    digest: xxhash_rust::xxh3::Xxh3,
    len: u64,
}

impl Sums {
    pub fn update(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
        self.digest.update(bytes);
        self.len += bytes.len() as u64;
    }
}

/// An `io::Write` over a sink function (what the deflater writes to).
struct SinkWriter<'a>(&'a mut dyn FnMut(&[u8]) -> io::Result<()>);

impl io::Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (self.0)(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Prepared {
    /// The length of the Pixel Data value of the output.
    fn value_len(&self) -> u64 {
        match &self.body {
            Body::Copy(r) => r.end - r.start,
            Body::Masked(m) => m.value_len(),
        }
    }

    /// Writes the output to `sink`, and gives the ledger's result (its CRC and digest made
    /// from the bytes as they passed).
    pub fn write(
        &self,
        src: &mut dyn Source,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<FileResult> {
        let mut sums = Sums::default();
        let mut out = |b: &[u8]| {
            sums.update(b);
            sink(b)
        };
        match self.deflated {
            None => {
                out(&self.head)?;
                self.write_value(src, &mut out)?;
                out(&self.tail)?;
            }
            Some((input, plain)) => {
                let mut view = View::new(src, Some(input));
                out(&self.head[..plain])?;
                let mut enc = Deflater::new(SinkWriter(&mut out));
                enc.write(&self.head[plain..])?;
                self.write_value(&mut view, &mut |b| enc.write(b))?;
                enc.write(&self.tail)?;
                enc.finish()?;
            }
        }
        Ok(self.result(sums))
    }

    /// When the body is the input's value unchanged and the data set is not deflated: writes
    /// the head to `sink` and gives back the output's value as a [`Referenced`] for the caller
    /// to hash and place. Otherwise gives `self` back, nothing written. The page takes this
    /// path so that a large value goes into the zip as a slice of the input `File` (instead of
    /// being written to scratch storage and read back, which costs more than reading it), and
    /// reads the value asynchronously, the next chunk while this one is hashed.
    pub fn by_reference(
        self,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<std::result::Result<Referenced, Prepared>> {
        let value = match (&self.body, &self.deflated) {
            (Body::Copy(r), None) => r.clone(),
            _ => return Ok(Err(self)),
        };
        let mut sums = Sums::default();
        sums.update(&self.head);
        sink(&self.head)?;
        Ok(Ok(Referenced {
            prepared: self,
            sums,
            value,
        }))
    }

    /// The Pixel Data value: the input's, copied, or its frames masked.
    fn write_value(
        &self,
        src: &mut dyn Source,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        match &self.body {
            Body::Copy(r) => bulk::copy(src, r.clone(), sink),
            Body::Masked(m) => m.write(src, sink),
        }
    }

    /// The ledger's result for the output the sums were made over.
    fn result(&self, sums: Sums) -> FileResult {
        let d = &self.deidentified;
        let mut review =
            final_review::examine(&d.bytes, &d.record.report.actions).unwrap_or_default();
        final_review::set_pixel_data_length(&mut review, self.value_len());
        FileResult::Processed(Box::new(Processed {
            name: d.name.clone(),
            digest: format!("{:032x}", sums.digest.digest128()),
            crc32: sums.crc.finalize(),
            size: sums.len,
            record: d.record.clone(),
            linkage: d.linkage.clone(),
            review,
        }))
    }
}

/// An output whose head is written and whose Pixel Data value is the input's bytes at `value`,
/// unchanged, placed by the caller: it gives those bytes to [`update`](Self::update), in order
/// and in chunks of any size, and then [`finish`](Self::finish) writes the tail.
pub struct Referenced {
    prepared: Prepared,
    sums: Sums,
    /// Where the value is in the input.
    pub value: Range<u64>,
}

impl Referenced {
    /// How many bytes of the output come before the value (the head written).
    pub fn head_len(&self) -> usize {
        self.prepared.head.len()
    }

    /// The value's next bytes, for the CRC and digest.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sums.update(bytes);
    }

    /// Writes the tail to `sink` and gives the ledger's result. An error when the bytes given
    /// to [`update`](Self::update) were not as many as the value holds (the checksums would
    /// describe another file).
    pub fn finish(
        mut self,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<FileResult> {
        let hashed = self.sums.len - self.head_len() as u64;
        if hashed != self.value.end - self.value.start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the input ended before its Pixel Data value did",
            ));
        }
        let tail = &self.prepared.tail;
        self.sums.update(tail);
        sink(tail)?;
        Ok(self.prepared.result(self.sums))
    }
}
