//! The worker side: one [`Deidentifier`] per worker, which takes a file's bytes as the worker
//! read them, appends the output straight from wasm memory to the worker's OPFS file, and returns the [`FileResult`] the page's
//! [`Batch`](super::Batch) commits. No byte of a file passes through the page's main thread.

use wasm_bindgen::prelude::*;
use web_sys::{FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::{configure, js_error, to_js};
use crate::dicom::bulk::{self, NotSplit, Source};
use crate::output::{FileResult, streamed};
use crate::review::FileCheck;
use crate::review::{VerifyConfig, deidentify_and_check};
use crate::{Deidentifier, Error};

/// A configured de-identifier (JS class `Deidentifier`).
#[wasm_bindgen(js_name = Deidentifier)]
pub struct JsDeidentifier {
    inner: Deidentifier,
    verify: VerifyConfig,
}

#[wasm_bindgen(js_class = Deidentifier)]
impl JsDeidentifier {
    /// `options`: `{retain_uids: true, ...}`; `key`: 32 bytes; `lookup_csv`: optional table of
    /// `original_id,new_id[,new_name[,issuer]]`; `pixels`: optional pixel settings (scripts, regions,
    /// `release_unmasked`); `overrides_csv`: an edited pre-review whose decisions override the
    /// profile. Throws an `Error` named `options`, `key`, `lookup` or `profile`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        key: &[u8],
        lookup_csv: Option<String>,
        pixels: JsValue,
        overrides_csv: Option<String>,
    ) -> Result<JsDeidentifier, JsValue> {
        let inner = configure(options, key, lookup_csv, pixels, overrides_csv)?;
        Ok(JsDeidentifier {
            verify: VerifyConfig::of(&inner),
            inner,
        })
    }

    /// Examines one file for the element inventory (and, with `with_values`, the pre-review):
    /// `{part}` to hand to an [`Inventory`](super::JsInventory), or `{reason}` when the file
    /// cannot be read.
    pub fn examine(&self, input: &[u8], with_values: bool) -> Result<JsValue, JsValue> {
        let out = js_sys::Object::new();
        match crate::review::inventory::examine(&self.inner, input, with_values) {
            Ok(part) => js_sys::Reflect::set(&out, &"part".into(), &to_js(&part)?)?,
            Err(e) => js_sys::Reflect::set(&out, &"reason".into(), &e.to_string().into())?,
        };
        Ok(out.into())
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

    /// De-identifies `input` (a file's bytes, read by the worker while the previous file was
    /// processed) and writes the output to `output` (an OPFS sync access handle) at byte `at`.
    /// Returns the [`FileResult`], whose `size` is the number of bytes written; an output that
    /// cannot be written is a failed result. With `name` (the input's relative path), the
    /// result also carries `check`: the residual-PHI verifier's part for this file (JSON text,
    /// PHI, for the page's [`Batch`](super::Batch) only).
    #[wasm_bindgen(js_name = deidentifyInto)]
    pub fn deidentify_into(
        &self,
        input: &[u8],
        output: &FileSystemSyncAccessHandle,
        at: f64,
        name: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let (result, mut check) = match &name {
            Some(n) => deidentify_and_check(&self.inner, &self.verify, input, n),
            None => (self.inner.deidentify(input), None),
        };
        let mut file_result = FileResult::of(&result);
        if let Ok(d) = &result
            && let Err(e) = write(output, &d.bytes, at)
        {
            file_result = FileResult::rejected(&e);
            check = None;
        }
        with_check(to_js(&file_result)?, check)
    }
}

impl JsDeidentifier {
    /// The configured engine, for the studio's calls on the same worker.
    pub(super) fn inner(&self) -> &Deidentifier {
        &self.inner
    }
}

#[wasm_bindgen(js_class = Deidentifier)]
impl JsDeidentifier {
    /// De-identifies a large file without holding it: `read_at(offset, length)` returns that
    /// many bytes of the input (the worker reads them with `FileReaderSync`), the header is
    /// de-identified, and the output is written to `output` at byte `at`. When its Pixel Data
    /// is the input's, unchanged, only the head is written and a [`PendingValue`] comes back,
    /// for the worker to hash the value with (read asynchronously, the next chunk while this
    /// one is hashed) and finish; otherwise the value is copied (or masked) in chunks here and
    /// the [`FileResult`] comes back (with `check`, as [`deidentifyInto`](Self::deidentify_into)),
    /// or `{notSplit: reason}` when the file must be read whole.
    #[wasm_bindgen(js_name = deidentifySplit)]
    pub fn deidentify_split(
        &self,
        read_at: js_sys::Function,
        size: f64,
        output: &FileSystemSyncAccessHandle,
        at: f64,
        name: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let mut src = JsSource {
            read_at,
            size: size as u64,
        };
        let verify = name.as_deref().map(|n| (&self.verify, n));
        let (result, check) = match streamed::prepare(&self.inner, &mut src, verify) {
            Ok(r) => r,
            Err(NotSplit(reason)) => return not_split(&reason),
        };
        let prepared = match result {
            Ok(p) => p,
            Err(e) => return with_check(to_js(&FileResult::rejected(&e))?, check),
        };
        let mut sink = Sink { output, at };
        let write_failed =
            |e: std::io::Error| to_js(&FileResult::rejected(&Error::Write(e.to_string())));
        match prepared.by_reference(&mut |b| sink.write(b)) {
            Ok(Ok(referenced)) => Ok(PendingValue {
                referenced,
                check,
                at: sink.at,
            }
            .into()),
            Ok(Err(prepared)) => match prepared.write(&mut src, &mut |b| sink.write(b)) {
                Ok(file_result) => with_check(to_js(&file_result)?, check),
                Err(e) => write_failed(e),
            },
            Err(e) => write_failed(e),
        }
    }

    /// The file with its Pixel Data value left out, for the inventory and the studio's card of
    /// a file too large to read whole; `undefined` when it cannot be split.
    #[wasm_bindgen(js_name = stubOf)]
    pub fn stub_of(&self, read_at: js_sys::Function, size: f64) -> Option<Vec<u8>> {
        let mut src = JsSource {
            read_at,
            size: size as u64,
        };
        bulk::split(&mut src).ok().map(|s| s.stub)
    }
}

/// The size from which the worker takes the split path (see [`streamed::SPLIT_FROM`]).
#[wasm_bindgen(js_name = splitFrom)]
pub fn split_from() -> f64 {
    streamed::SPLIT_FROM as f64
}

/// The result for a file too large to read whole in the page, in plain words.
#[wasm_bindgen(js_name = tooLargeResult)]
pub fn too_large_result(size: f64, why: &str) -> Result<JsValue, JsValue> {
    let gb = size / 1e9;
    to_js(&FileResult::rejected(&Error::Unsupported(format!(
        "this file is {gb:.1} GB and has to be read whole here ({why}), more than a browser \
         tab can hold; de-identify it with the command-line tool (dcm-deid)"
    ))))
}

fn not_split(reason: &str) -> Result<JsValue, JsValue> {
    let out = js_sys::Object::new();
    js_sys::Reflect::set(&out, &"notSplit".into(), &reason.into())?;
    Ok(out.into())
}

/// A large file's output whose head is written and whose Pixel Data value is the input's bytes
/// at `[start, end)`, unchanged: the worker gives them to [`update`](Self::update) in order,
/// then [`finish`](Self::finish) writes the tail. The value itself is never written here: it
/// goes into the zip as a slice of the input `File`, between the output's first bytes and the
/// rest (the result's `reference`: `{after, at, size}`).
#[wasm_bindgen]
pub struct PendingValue {
    referenced: streamed::Referenced,
    check: Option<FileCheck>,
    /// Where the tail goes in the worker's output file.
    at: f64,
}

#[wasm_bindgen]
impl PendingValue {
    /// Where the value starts in the input.
    #[wasm_bindgen(getter)]
    pub fn start(&self) -> f64 {
        self.referenced.value.start as f64
    }

    /// Where the value ends in the input.
    #[wasm_bindgen(getter)]
    pub fn end(&self) -> f64 {
        self.referenced.value.end as f64
    }

    /// The value's next bytes, for the output's CRC and digest.
    pub fn update(&mut self, bytes: &[u8]) {
        self.referenced.update(bytes);
    }

    /// Writes the tail and gives the [`FileResult`] with `check` and `reference`.
    pub fn finish(self, output: &FileSystemSyncAccessHandle) -> Result<JsValue, JsValue> {
        let reference = Reference {
            after: self.referenced.head_len() as f64,
            at: self.start(),
            size: self.end() - self.start(),
        };
        let mut sink = Sink {
            output,
            at: self.at,
        };
        let result = match self.referenced.finish(&mut |b| sink.write(b)) {
            Ok(r) => r,
            Err(e) => return to_js(&FileResult::rejected(&Error::Write(e.to_string()))),
        };
        let value = with_check(to_js(&result)?, self.check)?;
        js_sys::Reflect::set(&value, &"reference".into(), &to_js(&reference)?)?;
        Ok(value)
    }
}

/// The input's bytes an output holds unchanged and the worker did not write: they go into the
/// zip as a slice of the input `File` (`at`, `size`), between the first `after` bytes the worker
/// wrote and the rest.
#[derive(serde::Serialize)]
struct Reference {
    after: f64,
    at: f64,
    size: f64,
}

/// Appends to the worker's output file from byte `at` on.
struct Sink<'a> {
    output: &'a FileSystemSyncAccessHandle,
    at: f64,
}

impl Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write(self.output, bytes, self.at).map_err(std::io::Error::other)?;
        self.at += bytes.len() as f64;
        Ok(())
    }
}

/// Sets `check` (the verifier's part, JSON) on a result.
fn with_check(value: JsValue, check: Option<FileCheck>) -> Result<JsValue, JsValue> {
    if let Some(c) = check {
        let json = serde_json::to_string(&c).map_err(|_| js_error(&Error::Internal))?;
        js_sys::Reflect::set(&value, &"check".into(), &json.into())?;
    }
    Ok(value)
}

/// A `File` read through a synchronous JS function `(offset, length) => Uint8Array`.
struct JsSource {
    read_at: js_sys::Function,
    size: u64,
}

impl Source for JsSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let failed = |_| std::io::Error::other("the file could not be read");
        let bytes = self
            .read_at
            .call2(
                &JsValue::NULL,
                &(offset as f64).into(),
                &(buf.len() as f64).into(),
            )
            .map_err(failed)?;
        let bytes = js_sys::Uint8Array::new(&bytes);
        if bytes.length() as usize != buf.len() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        bytes.copy_to(buf);
        Ok(())
    }
}

/// The result for a file the browser could not read.
#[wasm_bindgen(js_name = unreadableResult)]
pub fn unreadable_result() -> Result<JsValue, JsValue> {
    to_js(&FileResult::rejected(&Error::Read(String::new())))
}

/// Writes `bytes` from wasm memory (no copy on the JS side) to `output` at byte `at`.
fn write(output: &FileSystemSyncAccessHandle, bytes: &[u8], at: f64) -> Result<(), Error> {
    let failed = |e: JsValue| {
        let name = js_sys::Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "storage error".into());
        Error::Write(name)
    };
    let mut done = 0usize;
    while done < bytes.len() {
        let options = FileSystemReadWriteOptions::new();
        options.set_at(at + done as f64);
        let written = output
            .write_with_u8_array_and_options(&bytes[done..], &options)
            .map_err(failed)? as usize;
        if written == 0 {
            return Err(Error::Write("the disk is full".into()));
        }
        done += written;
    }
    // No flush(): it syncs to the device, and the page only needs the bytes visible once the
    // worker closes the handle (a scratch file does not have to survive a power cut).
    Ok(())
}
