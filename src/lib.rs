//! # dicom_deid
//!
//! De-identification of DICOM files as DICOM PS3.15 Annex E specifies: the Basic Application Level
//! Confidentiality Profile and all of its options, driven by Table E.1-1 held as data.
//!
//! One file at a time, in memory, with no I/O and no clock: the same [`Deidentifier`] (options,
//! project key, profile) gives byte-identical output for the same input on any machine, in any
//! order, in any thread, natively or in WebAssembly. The `dcm-deid` CLI and the browser app are
//! thin layers over [`Deidentifier::deidentify`] and the batch [`output::Ledger`].
//!
//! ```
//! use dicom_deid::{Deidentifier, Options, ProjectKey};
//! let deidentifier = Deidentifier::new(Options::tcia(), ProjectKey::from_bytes([0; 32])).unwrap();
//! let err = deidentifier.deidentify(b"not a DICOM file").unwrap_err();
//! assert_eq!(err.kind(), "not-dicom");
//! ```
//!
//! ## Layout
//! - [`dicom`]: the codec (data set model, reader, writer, character sets).
//! - [`deid`]: PS3.15 — options, Table E.1-1, the walker that applies it, IOD Types, UIDs, dates,
//!   pseudonyms, cleaning, structured content, safe private attributes, the method record.
//! - [`output`]: what lands next to the files — names, audit, linkage, the batch ledger, zip.
//! - [`review`]: the review workflow — element inventory, value reviews before and after, the
//!   residual-PHI verification, the log and the random sample.
//! - [`render`]: the review studio's display renderer — any frame to RGBA (Modality LUT, VOI,
//!   palette and colour models), thumbnails.
//! - [`detect`]: burned-in text found in the pixels (PP-OCRv4 text detector run by `rten`, the
//!   model from npm, loaded on first use; feature `detect`).
//! - `wasm` (wasm32 only): the browser boundary. The CLI lives in `src/bin/dcm-deid/`.
//!
//! ## WebAssembly
//! Built with `--no-default-features` for `wasm32-unknown-unknown`; the page runs one instance
//! per worker for [`Deidentifier`] and one on the main thread for the batch ledger.

pub mod deid;
pub mod detect;
pub mod dicom;
pub mod error;
pub mod output;
pub mod pixels;
pub mod render;
pub mod review;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use deid::{
    Deidentified, Deidentifier, FileRecord, Linkage, Lookup, Options, Overrides, Preset, Profile,
    ProfileOption, ProjectKey, Pseudonym, SafePrivate,
};
pub use error::{Disposition, Error, Result};
