//! The large-file path of the library run on a file held here: split around its Pixel Data,
//! the stub de-identified, the output written in chunks — and written again as the page writes
//! it (an unchanged value left out and put back from the input), which must give the same.

use dicom_deid::Deidentifier;
use dicom_deid::dicom::bulk;
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
        assert_eq!(
            by_reference(prepared, input),
            (out.clone(), result.clone()),
            "the page's assembly gives the same output"
        );
        (out, result)
    }))
}

/// The output as the page assembles it: the head written, the unchanged value only hashed (read
/// from the input in the library's copy chunks) and put back from the input between the head
/// and the tail; an output that cannot be referenced is written whole.
fn by_reference(prepared: streamed::Prepared, input: &[u8]) -> (Vec<u8>, FileResult) {
    let mut src: &[u8] = input;
    let mut stored = Vec::new();
    let mut store = |b: &[u8]| {
        stored.extend_from_slice(b);
        Ok(())
    };
    let mut pending = match prepared.by_reference(&mut store).unwrap() {
        Ok(pending) => pending,
        Err(prepared) => {
            let result = prepared.write(&mut src, &mut store).unwrap();
            return (stored, result);
        }
    };
    let range = pending.value.clone();
    bulk::copy(&mut src, range.clone(), &mut |b| {
        pending.update(b);
        Ok(())
    })
    .unwrap();
    let head = pending.head_len();
    let result = pending.finish(&mut store).unwrap();
    let (head, tail) = stored.split_at(head);
    let value = &input[range.start as usize..range.end as usize];
    ([head, value, tail].concat(), result)
}
