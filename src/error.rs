//! Errors. Every message names a place (a tag, an offset, a line) and a reason, never a value
//! read from a patient's file, so errors can be logged and shown without leaking PHI.

/// Why an input could not be de-identified, or a profile or lookup table could not be loaded.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a DICOM file (no `DICM` marker and no recognisable data set).
    #[error("not a DICOM file: {0}")]
    NotDicom(&'static str),
    /// The input looks like DICOM but its encoding is broken at the given byte offset.
    #[error("malformed DICOM at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    /// The input is valid DICOM that this engine cannot process safely.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The input is a DICOMDIR (media directory), which holds original identifiers and paths.
    #[error(
        "DICOMDIR media directory files are not de-identified (they list original identifiers and paths)"
    )]
    DicomDir,
    /// A profile table (built-in or the user's) could not be parsed.
    #[error("profile {source_name}, line {line}: {reason}")]
    Profile {
        source_name: String,
        line: usize,
        reason: String,
    },
    /// The options given cannot be combined.
    #[error("invalid options: {0}")]
    Options(String),
    /// The pseudonym lookup table could not be parsed or lacks a patient.
    #[error("lookup table: {0}")]
    Lookup(String),
    /// An input file could not be read from its disk or from the browser.
    #[error("cannot read the file{0}")]
    Read(String),
    /// An output could not be written.
    #[error("cannot write the output ({0})")]
    Write(String),
    /// The engine stopped on this input (a bug); the batch goes on.
    #[error("internal error: the engine stopped on this file")]
    Internal,
    /// An image that may show identifying text in its pixels and that no mask covered (or whose
    /// masks could not be applied): held back, never written as if clean.
    #[error("{0}")]
    Quarantined(String),
    /// A project key file has the wrong size or format.
    #[error("key: {0}")]
    Key(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn malformed(offset: usize, reason: impl Into<String>) -> Error {
        Error::Malformed {
            offset,
            reason: reason.into(),
        }
    }

    /// A short, stable category for summaries ("not-dicom", "malformed", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotDicom(_) => "not-dicom",
            Error::Malformed { .. } => "malformed",
            Error::Unsupported(_) => "unsupported",
            Error::DicomDir => "dicomdir",
            Error::Profile { .. } => "profile",
            Error::Options(_) => "options",
            Error::Lookup(_) => "lookup",
            Error::Read(_) => "read",
            Error::Write(_) => "write",
            Error::Internal => "internal",
            Error::Key(_) => "key",
            Error::Quarantined(_) => "quarantined",
        }
    }
}

/// What a batch does with an input that gave an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Not an input to de-identify (not DICOM, a DICOMDIR): skipped, not an error of the batch.
    Skip,
    /// An input that should have been de-identified and was not: the batch reports a failure.
    Fail,
    /// An image held back for review (pixels at risk): not written, listed apart.
    Quarantine,
}

impl Error {
    /// Skip or fail: decided here, once, for the CLI and the page.
    pub fn disposition(&self) -> Disposition {
        match self {
            Error::NotDicom(_) | Error::DicomDir => Disposition::Skip,
            Error::Quarantined(_) => Disposition::Quarantine,
            _ => Disposition::Fail,
        }
    }

    /// A read error from the operating system, by kind (never the path, which may name a
    /// patient).
    pub fn read(kind: std::io::ErrorKind) -> Error {
        Error::Read(format!(" ({kind})"))
    }
}
