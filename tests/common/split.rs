//! The large-file path of the library run on a file held here: split around its Pixel Data,
//! the stub de-identified, the output written in chunks.

use dicom_deid::Deidentifier;
use dicom_deid::output::{FileResult, streamed};

/// The output and the ledger's result the split path gives: `Err(reason)` when the file is
/// read whole instead, `Ok(Err(e))` when its de-identification fails.
pub fn split_output(
    d: &Deidentifier,
    input: &[u8],
) -> Result<dicom_deid::Result<(Vec<u8>, FileResult)>, String> {
    let mut src: &[u8] = input;
    let (prepared, _) = streamed::prepare(d, &mut src, None).map_err(|e| e.0)?;
    Ok(prepared.map(|prepared| {
        let mut out = Vec::new();
        let result = prepared
            .write(&mut src, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        (out, result)
    }))
}
