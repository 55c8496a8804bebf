//! Masking baseline and extended JPEG in the DCT domain (placeholder until the block path lands).

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::regions::Rect;

/// Masks one JPEG frame.
pub fn mask_frame(_frame: &[u8], _info: &ImageInfo, _rects: &[Rect]) -> Result<Vec<u8>> {
    Err(Error::Unsupported(
        "pixel masking: JPEG block masking is not built yet".into(),
    ))
}
