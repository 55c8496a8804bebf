//! The page side of a batch: the library's [`Ledger`] and the zip writer, in one object. The page
//! hands it each worker's [`FileResult`] in input order and appends what it returns — a zip
//! local header, then the output's OPFS file — to the zip; the bytes of the files never enter
//! this instance's memory.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{configure, js_error, to_js};
use crate::Error;
use crate::output::audit::{CSV_HEADER, Checksummed};
use crate::output::zip::ZipWriter;
use crate::output::{Committed, FileResult, Ledger, Outcome, Summary};

/// One batch on the page.
#[wasm_bindgen]
pub struct Batch {
    ledger: Ledger,
    zip: Option<ZipWriter<Vec<u8>>>,
    jsonl: Checksummed,
    csv: Checksummed,
}

/// What the page does with one committed input.
#[derive(Serialize)]
struct PageCommit {
    #[serde(flatten)]
    committed: Committed,
    /// The zip local header to write before the output's bytes (written outputs only).
    #[serde(with = "serde_bytes_opt")]
    header: Option<Vec<u8>>,
}

/// The end of the zip: the audit entries and the central directory, in writing order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Finished<'a> {
    summary: &'a Summary,
    /// Append to audit.jsonl after its lines.
    summary_line: String,
    #[serde(with = "serde_bytes_opt")]
    jsonl_header: Option<Vec<u8>>,
    #[serde(with = "serde_bytes_opt")]
    csv_header: Option<Vec<u8>>,
    #[serde(with = "serde_bytes_opt")]
    end: Option<Vec<u8>>,
}

/// Byte buffers as `Uint8Array`s rather than arrays of numbers.
mod serde_bytes_opt {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_bytes(b),
            None => s.serialize_none(),
        }
    }
}

#[wasm_bindgen]
impl Batch {
    /// A batch with the same settings as the workers' deidentifiers (checked here first, so a
    /// bad option or lookup table stops the run before anything is written); `keep_linkage`
    /// keeps the PHI linkage tables for [`Batch::linkage_zip`].
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        key: &[u8],
        lookup_csv: Option<String>,
        keep_linkage: bool,
    ) -> Result<Batch, JsValue> {
        let d = configure(options, key, lookup_csv)?;
        let mut csv = Checksummed::default();
        csv.update(CSV_HEADER.as_bytes());
        Ok(Batch {
            ledger: Ledger::new(&d.profile().edition, *d.options(), keep_linkage),
            zip: Some(ZipWriter::new(Vec::new())),
            jsonl: Checksummed::default(),
            csv,
        })
    }

    /// The first line of audit.csv.
    #[wasm_bindgen(js_name = auditCsvHeader)]
    pub fn audit_csv_header() -> String {
        CSV_HEADER.to_string()
    }

    /// Commits the next input (`input`: its relative path, for the linkage table only; `result`:
    /// the worker's [`FileResult`]). Returns `{outcome: {status, detail}, audit?: {jsonl, csv},
    /// header?}`: for a written output, append `header` then the output's bytes to the zip.
    pub fn commit(&mut self, input: &str, result: JsValue) -> Result<JsValue, JsValue> {
        let result: FileResult = serde_wasm_bindgen::from_value(result)
            .map_err(|e| js_error(&Error::Unsupported(e.to_string())))?;
        let size_crc = match &result {
            FileResult::Processed(p) => Some((p.size, p.crc32)),
            _ => None,
        };
        let zip = self.zip.as_mut().ok_or_else(finished)?;
        let committed = self.ledger.commit(input, result, |name| {
            let (size, crc) = size_crc.unwrap_or_default();
            zip.add_stored_header(name, size, crc)
                .map_err(|e| Error::Write(e.to_string()))
        });
        let header =
            matches!(committed.outcome, Outcome::Written(_)).then(|| std::mem::take(zip.get_mut()));
        if let Some(lines) = &committed.audit {
            self.jsonl.update(lines.jsonl.as_bytes());
            self.csv.update(lines.csv.as_bytes());
        }
        to_js(&PageCommit { committed, header })
    }

    /// Ends the zip: `{summary, summaryLine, jsonlHeader, csvHeader, end}`. Write
    /// `jsonlHeader`, the audit.jsonl lines and `summaryLine`, `csvHeader`, the CSV header and
    /// rows, then `end`.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let mut zip = self.zip.take().ok_or_else(finished)?;
        let summary_line = self.ledger.summary_jsonl();
        self.jsonl.update(summary_line.as_bytes());
        let mut header = |name: &str, sum: &Checksummed| {
            zip.add_stored_header(name, sum.size(), sum.crc32())
                .map_err(|e| js_error(&Error::Write(e.to_string())))?;
            Ok::<_, JsValue>(Some(std::mem::take(zip.get_mut())))
        };
        let jsonl_header = header("audit.jsonl", &self.jsonl)?;
        let csv_header = header("audit.csv", &self.csv)?;
        let end = zip
            .finish()
            .map_err(|e| js_error(&Error::Write(e.to_string())))?;
        to_js(&Finished {
            summary: self.ledger.summary(),
            summary_line,
            jsonl_header,
            csv_header,
            end: Some(end),
        })
    }

    /// The totals so far.
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(self.ledger.summary())
    }

    /// The linkage files (PHI) as a zip, for a separate download; throws when the batch was made
    /// without `keep_linkage`.
    #[wasm_bindgen(js_name = linkageZip)]
    pub fn linkage_zip(&self) -> Result<Vec<u8>, JsValue> {
        let tables = self
            .ledger
            .linkage()
            .ok_or_else(|| js_error(&Error::Options("linkage was not kept".into())))?;
        let mut zip = ZipWriter::new(Vec::new());
        for (name, text) in tables.files() {
            zip.add(name, text.as_bytes(), true)
                .map_err(|e| js_error(&Error::Write(e.to_string())))?;
        }
        zip.finish()
            .map_err(|e| js_error(&Error::Write(e.to_string())))
    }
}

fn finished() -> JsValue {
    js_error(&Error::Unsupported("the batch is already finished".into()))
}
