//! The WebAssembly boundary, kept thin: a [`Session`] built from the options form and a key,
//! `deidentify(bytes)` per file, and the two stateful helpers the page needs to assemble its
//! output — a streaming [`ZipStream`] and the running [`Audit`]. Errors are `JsError`s whose
//! message starts with the error kind in brackets (`[not-dicom] ...`) and names no patient value.

use wasm_bindgen::prelude::*;

use crate::output::audit::{self as report, OutputNames, Summary};
use crate::output::zip::{self as archive, ZipWriter};
use crate::{Deidentifier, Error, Lookup, Options, ProjectKey};

fn js_error(e: Error) -> JsError {
    JsError::new(&format!("[{}] {e}", e.kind()))
}

fn key_from(bytes: &[u8]) -> Result<ProjectKey, JsError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| JsError::new("[key] a project key is 32 bytes"))?;
    Ok(ProjectKey::from_bytes(arr))
}

/// A fresh 32-byte project key from the browser's random source.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key() -> Result<Vec<u8>, JsError> {
    Ok(ProjectKey::generate()
        .map_err(js_error)?
        .as_bytes()
        .to_vec())
}

/// Parses a key file (64 hex digits) into its 32 bytes.
#[wasm_bindgen(js_name = keyFromHex)]
pub fn key_from_hex(text: &str) -> Result<Vec<u8>, JsError> {
    Ok(ProjectKey::from_hex(text)
        .map_err(js_error)?
        .as_bytes()
        .to_vec())
}

/// Renders 32 key bytes as the key file format.
#[wasm_bindgen(js_name = keyToHex)]
pub fn key_to_hex(bytes: &[u8]) -> Result<String, JsError> {
    Ok(key_from(bytes)?.to_hex())
}

/// The options of a preset (`basic` or `tcia`), as the object the options form uses.
#[wasm_bindgen(js_name = presetOptions)]
pub fn preset_options(name: &str) -> Result<JsValue, JsError> {
    let o = Options::preset(name).map_err(js_error)?;
    serde_wasm_bindgen::to_value(&o).map_err(|e| JsError::new(&e.to_string()))
}

/// One configured de-identification session (one per worker).
#[wasm_bindgen]
pub struct Session {
    inner: Deidentifier,
}

#[wasm_bindgen]
impl Session {
    /// `options`: `{retain_uids: true, ...}`; `key`: 32 bytes; `lookup_csv`: optional table of
    /// `original_id,new_id[,new_name]`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        key: &[u8],
        lookup_csv: Option<String>,
    ) -> Result<Session, JsError> {
        let options: Options = serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("[options] {e}")))?;
        let mut inner = Deidentifier::new(options, key_from(key)?).map_err(js_error)?;
        if let Some(csv) = lookup_csv.filter(|c| !c.trim().is_empty()) {
            inner = inner.with_lookup(Lookup::from_csv(&csv).map_err(js_error)?);
        }
        Ok(Session { inner })
    }

    /// De-identifies one file.
    pub fn deidentify(&self, bytes: &[u8]) -> Result<Output, JsError> {
        let d = self.inner.deidentify(bytes).map_err(js_error)?;
        let digest = crate::content_digest(&d.bytes);
        Ok(Output {
            crc32: archive::crc32(&d.bytes),
            alternate_name: crate::alternate_name(&d.name, &digest),
            digest,
            warnings: d.record.report.warnings.join("; "),
            record: d.record,
            uids: d
                .linkage
                .uids
                .iter()
                .map(|(a, b)| report::csv_row(&[a, b]))
                .collect(),
            original_patient_id: d.linkage.original_patient_id,
            new_patient_id: d.linkage.new_patient_id,
            name: d.name,
            bytes: Some(d.bytes),
        })
    }

    /// The profile edition and options, as written in the audit summary.
    #[wasm_bindgen(js_name = methodDescription)]
    pub fn method_description(&self) -> String {
        let names: Vec<&str> = self
            .inner
            .options()
            .enabled()
            .iter()
            .map(|o| o.standard_name())
            .collect();
        format!("{}; {}", self.inner.profile().edition, names.join(", "))
    }
}

/// The result of one file. `takeBytes` moves the output out (call it once).
#[wasm_bindgen]
pub struct Output {
    bytes: Option<Vec<u8>>,
    name: String,
    crc32: u32,
    digest: String,
    alternate_name: String,
    record: crate::FileRecord,
    warnings: String,
    original_patient_id: String,
    new_patient_id: String,
    uids: String,
}

#[wasm_bindgen]
impl Output {
    /// The de-identified file.
    #[wasm_bindgen(js_name = takeBytes)]
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.bytes.take().unwrap_or_default()
    }
    /// The PHI-free relative path for the file in the zip.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }
    /// CRC-32 of the bytes, for the zip entry.
    #[wasm_bindgen(getter)]
    pub fn crc32(&self) -> u32 {
        self.crc32
    }
    /// SHA-256 of the bytes (hex): same name and digest = duplicate input.
    #[wasm_bindgen(getter)]
    pub fn digest(&self) -> String {
        self.digest.clone()
    }
    /// The name to use when `name` is taken by a different output.
    #[wasm_bindgen(getter, js_name = alternateName)]
    pub fn alternate_name(&self) -> String {
        self.alternate_name.clone()
    }
    /// Switches to the alternate name (the name was taken by a different output).
    #[wasm_bindgen(js_name = useAlternateName)]
    pub fn use_alternate_name(&mut self) {
        self.name = self.alternate_name.clone();
        self.record.output_name = self.name.clone();
    }
    /// The audit.jsonl line.
    #[wasm_bindgen(getter, js_name = auditJsonl)]
    pub fn audit_jsonl(&self) -> String {
        report::file_jsonl(&self.record)
    }
    /// The audit.csv row.
    #[wasm_bindgen(getter, js_name = auditCsv)]
    pub fn audit_csv(&self) -> String {
        report::file_csv(&self.record)
    }
    /// Warnings for the reviewer, `; `-separated.
    #[wasm_bindgen(getter)]
    pub fn warnings(&self) -> String {
        self.warnings.clone()
    }
    /// Linkage (PHI): the original patient ID.
    #[wasm_bindgen(getter, js_name = originalPatientId)]
    pub fn original_patient_id(&self) -> String {
        self.original_patient_id.clone()
    }
    /// Linkage: the pseudonymous patient ID.
    #[wasm_bindgen(getter, js_name = newPatientId)]
    pub fn new_patient_id(&self) -> String {
        self.new_patient_id.clone()
    }
    /// Linkage (PHI): `id_old,id_new` CSV rows of the UIDs replaced.
    #[wasm_bindgen(getter)]
    pub fn uids(&self) -> String {
        self.uids.clone()
    }
}

/// A zip archive produced as a stream of chunks: each call returns the bytes to append.
#[wasm_bindgen]
pub struct ZipStream {
    w: Option<ZipWriter<Vec<u8>>>,
}

impl Default for ZipStream {
    fn default() -> Self {
        ZipStream::new()
    }
}

#[wasm_bindgen]
impl ZipStream {
    #[wasm_bindgen(constructor)]
    pub fn new() -> ZipStream {
        ZipStream {
            w: Some(ZipWriter::new(Vec::new())),
        }
    }

    fn writer(&mut self) -> Result<&mut ZipWriter<Vec<u8>>, JsError> {
        self.w
            .as_mut()
            .ok_or_else(|| JsError::new("[zip] already finished"))
    }

    /// The local header for a stored entry; append the entry's `size` bytes right after it.
    pub fn header(&mut self, name: &str, size: f64, crc32: u32) -> Result<Vec<u8>, JsError> {
        let w = self.writer()?;
        w.add_stored_header(name, size as u64, crc32)
            .map_err(|e| JsError::new(&format!("[zip] {e}")))?;
        Ok(std::mem::take(w.get_mut()))
    }

    /// A whole entry held in memory (small files: the audit, the linkage tables).
    pub fn entry(&mut self, name: &str, data: &[u8]) -> Result<Vec<u8>, JsError> {
        let w = self.writer()?;
        w.add(name, data, true)
            .map_err(|e| JsError::new(&format!("[zip] {e}")))?;
        Ok(std::mem::take(w.get_mut()))
    }

    /// The central directory and end records.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsError> {
        let w = self
            .w
            .take()
            .ok_or_else(|| JsError::new("[zip] already finished"))?;
        w.finish().map_err(|e| JsError::new(&format!("[zip] {e}")))
    }
}

/// The audit log of a browser batch: counts every input and keeps the running size and CRC of
/// audit.jsonl and audit.csv, whose lines the page stores (as Blobs) until the end.
#[wasm_bindgen]
pub struct Audit {
    summary: Summary,
    jsonl: (crc32fast::Hasher, u64),
    csv: (crc32fast::Hasher, u64),
}

impl Default for Audit {
    fn default() -> Self {
        Audit::new()
    }
}

#[wasm_bindgen]
impl Audit {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Audit {
        let mut csv = (crc32fast::Hasher::new(), 0);
        csv.0.update(report::CSV_HEADER.as_bytes());
        csv.1 = report::CSV_HEADER.len() as u64;
        Audit {
            summary: Summary::default(),
            jsonl: (crc32fast::Hasher::new(), 0),
            csv,
        }
    }

    /// The header line of audit.csv.
    #[wasm_bindgen(js_name = csvHeader)]
    pub fn csv_header() -> String {
        report::CSV_HEADER.to_string()
    }

    /// Counts a de-identified file whose audit lines the page stores.
    pub fn done(&mut self, jsonl_line: &str, csv_line: &str) {
        self.summary.done();
        self.jsonl.0.update(jsonl_line.as_bytes());
        self.jsonl.1 += jsonl_line.len() as u64;
        self.csv.0.update(csv_line.as_bytes());
        self.csv.1 += csv_line.len() as u64;
    }

    /// Counts a skipped input.
    pub fn skip(&mut self, reason: &str) {
        self.summary.skip(reason);
    }

    /// Counts a failed input.
    pub fn fail(&mut self, reason: &str) {
        self.summary.fail(reason);
    }

    /// The summary line that ends audit.jsonl (call once, after every input is counted).
    #[wasm_bindgen(js_name = summaryLine)]
    pub fn summary_line(&mut self, session: &Session) -> String {
        let line = report::summary_jsonl(
            &session.inner.profile().edition,
            session.inner.options(),
            &self.summary,
        );
        self.jsonl.0.update(line.as_bytes());
        self.jsonl.1 += line.len() as u64;
        line
    }

    /// The summary as an object, for the results view.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        use serde::Serialize;
        self.summary
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| JsError::new(&e.to_string()))
    }

    #[wasm_bindgen(getter, js_name = jsonlSize)]
    pub fn jsonl_size(&self) -> f64 {
        self.jsonl.1 as f64
    }
    #[wasm_bindgen(getter, js_name = jsonlCrc)]
    pub fn jsonl_crc(&self) -> u32 {
        self.jsonl.0.clone().finalize()
    }
    #[wasm_bindgen(getter, js_name = csvSize)]
    pub fn csv_size(&self) -> f64 {
        self.csv.1 as f64
    }
    #[wasm_bindgen(getter, js_name = csvCrc)]
    pub fn csv_crc(&self) -> u32 {
        self.csv.0.clone().finalize()
    }
}

/// The output names used in the page's batch (the same policy as the CLI's).
#[wasm_bindgen]
#[derive(Default)]
pub struct Names(OutputNames);

#[wasm_bindgen]
impl Names {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Names {
        Names::default()
    }

    /// The name to write under (`name` or `alternate`), or `undefined` for a duplicate.
    pub fn claim(&mut self, name: &str, alternate: &str, digest: &str) -> Option<String> {
        self.0.claim(name, alternate, digest)
    }

    /// The reason given for duplicates.
    #[wasm_bindgen(js_name = duplicateReason)]
    pub fn duplicate_reason() -> String {
        report::DUPLICATE.to_string()
    }
}
