//! One large input de-identified without holding it: split around its Pixel Data
//! ([`crate::dicom::bulk`]), the stub de-identified by the same engine (and checked by the same
//! residual-PHI verifier), and the output written in chunks with its CRC and digest computed as
//! the bytes pass. The output is byte for byte the one [`Deidentifier::deidentify`] would make.

use std::io;

use crate::deid::PixelFate;
use crate::dicom::bulk::{self, Joined, NotSplit, Source, Split};
use crate::dicom::model::tags;
use crate::dicom::read;
use crate::output::{FileResult, Processed};
use crate::review::final_review;
use crate::review::{FileCheck, VerifyConfig, deidentify_and_check};
use crate::{Deidentified, Deidentifier, Result};

/// Inputs at least this large go through the split path natively.
pub const SPLIT_FROM: u64 = 64 << 20;

/// A de-identified large input, ready to be written: the parts and what the ledger needs.
#[derive(Debug)]
pub struct Prepared {
    pub joined: Joined,
    /// The de-identification of the stub (its `bytes` are the stub's output, for the review).
    pub deidentified: Deidentified,
}

/// Splits `src` and de-identifies it, with the residual-PHI check when `verify` gives the
/// config and the input's name. `Err(NotSplit)` when the file must be read whole instead: no
/// Pixel Data to carry, or Clean Pixel Data would paint it (masking needs the frames), or the
/// data set has no SOP Instance UID (the engine then derives one from the whole file's bytes).
#[allow(clippy::type_complexity)]
pub fn prepare(
    d: &Deidentifier,
    src: &mut dyn Source,
    verify: Option<(&VerifyConfig, &str)>,
) -> std::result::Result<(Result<Prepared>, Option<FileCheck>), NotSplit> {
    let split = bulk::split(src)?;
    check_splittable(d, &split)?;
    let (result, check) = match verify {
        Some((cfg, name)) => deidentify_and_check(d, cfg, &split.stub, name),
        None => (d.deidentify(&split.stub), None),
    };
    let prepared = result.and_then(|mut deidentified| {
        let joined = split.join(std::mem::take(&mut deidentified.bytes))?;
        // The stub's output, for the final review: the head and tail around an empty value.
        deidentified.bytes = stub_output(&joined, &split);
        Ok(Prepared {
            joined,
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
    if let Some((_, PixelFate::Mask(..))) = d.pixel_fate(&obj) {
        return Err(NotSplit("Clean Pixel Data paints it".into()));
    }
    Ok(())
}

/// The stub's output again (head with an empty value, tail).
fn stub_output(j: &Joined, split: &Split) -> Vec<u8> {
    let mut out = j.head.clone();
    if split.encapsulated {
        out.extend_from_slice(&bulk::EMPTY_FRAGMENTS);
    } else {
        let n = out.len();
        out[n - 4..].fill(0);
    }
    out.extend_from_slice(&j.tail);
    out
}

/// Checksums of an output as it is written.
#[derive(Default)]
pub struct Sums {
    crc: crc32fast::Hasher,
    digest: xxhash_rust::xxh3::Xxh3,
}

impl Sums {
    pub fn update(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
        self.digest.update(bytes);
    }
}

impl Prepared {
    /// Writes the output to `sink`, and gives the ledger's result (its CRC and digest made
    /// from the bytes as they passed).
    pub fn write(
        &self,
        src: &mut dyn Source,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<FileResult> {
        let mut sums = Sums::default();
        self.joined.copy(src, &mut |b| {
            sums.update(b);
            sink(b)
        })?;
        Ok(self.result(sums))
    }

    /// The ledger's result for the output the sums were made over.
    pub fn result(&self, sums: Sums) -> FileResult {
        let d = &self.deidentified;
        let size = self.joined.size();
        let mut review =
            final_review::examine(&d.bytes, &d.record.report.actions).unwrap_or_default();
        let value_len = self.joined.value.end - self.joined.value.start;
        final_review::set_pixel_data_length(&mut review, value_len);
        FileResult::Processed(Box::new(Processed {
            name: d.name.clone(),
            digest: format!("{:032x}", sums.digest.digest128()),
            crc32: sums.crc.finalize(),
            size,
            record: d.record.clone(),
            linkage: d.linkage.clone(),
            review,
        }))
    }
}
