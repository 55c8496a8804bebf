//! The codec: PS3.10 files in, PS3.10 files out, every untouched byte kept.
//!
//! # Why its own codec
//! dicom-rs (`dicom-object`, used in the tests as an independent reader) decodes values and
//! re-encodes them on write; a de-identifier must instead write back every element it does not
//! touch exactly as it was read (sequence length forms, padding, private bytes), bound its
//! allocations by the input (values are borrowed, lengths checked before slicing), recover from
//! the deviations real devices produce in a way that never hides an attribute from the profile,
//! and name an offset and a tag in its errors, never a value.

pub mod bulk;
pub mod charset;
pub mod inflate;
pub mod model;
pub mod path;
pub(crate) mod read;
pub(crate) mod write;

pub use read::read_file;
pub use write::write_file;
