//! The worker side: one [`Deidentifier`] per worker, which reads a `File` itself, writes the
//! output straight from wasm memory to an OPFS file, and returns the [`FileResult`] the page's
//! [`Batch`](super::Batch) commits. No byte of a file passes through the page's main thread.

use wasm_bindgen::prelude::*;
use web_sys::{File, FileReaderSync, FileSystemSyncAccessHandle};

use super::{configure, to_js};
use crate::output::FileResult;
use crate::{Deidentifier, Error};

/// A configured de-identifier (JS class `Deidentifier`).
#[wasm_bindgen(js_name = Deidentifier)]
pub struct JsDeidentifier {
    inner: Deidentifier,
}

#[wasm_bindgen(js_class = Deidentifier)]
impl JsDeidentifier {
    /// `options`: `{retain_uids: true, ...}`; `key`: 32 bytes; `lookup_csv`: optional table of
    /// `original_id,new_id[,new_name]`. Throws an `Error` named `options`, `key` or `lookup`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        key: &[u8],
        lookup_csv: Option<String>,
    ) -> Result<JsDeidentifier, JsValue> {
        Ok(JsDeidentifier {
            inner: configure(options, key, lookup_csv)?,
        })
    }

    /// De-identifies one file held in memory: `{result, bytes}`, where `result` is the
    /// [`FileResult`] for the batch and `bytes` the output (absent unless processed).
    pub fn deidentify(&self, input: &[u8]) -> Result<JsValue, JsValue> {
        let result = self.inner.deidentify(input);
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"result".into(), &to_js(&FileResult::of(&result))?)?;
        if let Ok(d) = result {
            let bytes = js_sys::Uint8Array::from(&d.bytes[..]);
            js_sys::Reflect::set(&out, &"bytes".into(), &bytes)?;
        }
        Ok(out.into())
    }

    /// Reads `file` (in a worker, synchronously), de-identifies it and writes the output to
    /// `output` (an OPFS sync access handle, truncated to the output's size and flushed).
    /// Returns the [`FileResult`]; a file that cannot be read or written is a failed result.
    #[wasm_bindgen(js_name = deidentifyFile)]
    pub fn deidentify_file(
        &self,
        file: &File,
        output: &FileSystemSyncAccessHandle,
    ) -> Result<JsValue, JsValue> {
        let result = read(file).and_then(|bytes| self.inner.deidentify(&bytes));
        let mut file_result = FileResult::of(&result);
        if let Ok(d) = &result
            && let Err(e) = write(output, &d.bytes)
        {
            file_result = FileResult::rejected(&e);
        }
        to_js(&file_result)
    }
}

/// The whole file, copied once into wasm memory.
fn read(file: &File) -> Result<Vec<u8>, Error> {
    let unreadable = |_| Error::Read(String::new());
    let reader = FileReaderSync::new().map_err(unreadable)?;
    let buffer = reader.read_as_array_buffer(file).map_err(unreadable)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Writes `bytes` from wasm memory (no copy on the JS side) to a new, empty `output`.
fn write(output: &FileSystemSyncAccessHandle, bytes: &[u8]) -> Result<(), Error> {
    let failed = |e: JsValue| {
        let name = js_sys::Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "storage error".into());
        Error::Write(name)
    };
    let mut at = 0usize;
    while at < bytes.len() {
        let written = output.write_with_u8_array(&bytes[at..]).map_err(failed)? as usize;
        if written == 0 {
            return Err(Error::Write("the disk is full".into()));
        }
        at += written;
    }
    output.flush().map_err(failed)
}
