//! The page side of a batch: the library's [`Ledger`] and the zip writer, in one object. The page
//! hands it each worker's [`FileResult`] in input order and appends what it returns — a zip
//! local header, then the output's OPFS file — to the zip; the bytes of the files never enter
//! this instance's memory.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::{configure, js_error, to_js};
use crate::Error;
use crate::output::audit::{CSV_HEADER, Checksummed};
use crate::output::quarantine;
use crate::output::zip::ZipWriter;
use crate::output::{Committed, FileResult, Ledger, Outcome, Summary};
use crate::review::log::RunLog;
use crate::review::verify::NO_PHI_CSV;
use crate::review::{FileCheck, Report, Verifier, VerifyConfig};

/// One batch on the page.
#[wasm_bindgen]
pub struct Batch {
    ledger: Ledger,
    /// The residual-PHI verification of the run's outputs.
    verifier: Option<Verifier>,
    /// After `finish`: the verification detail (PHI), for its separate download.
    detail: Option<String>,
    /// The log row's settings part (tool, profile, options, key fingerprint).
    log: RunLog,
    zip: Option<ZipWriter<Vec<u8>>>,
    jsonl: Checksummed,
    csv: Checksummed,
}

/// The end of the zip, with the audit entries' headers and the central directory as bytes
/// added beside it (see [`Batch::finish`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Finished<'a> {
    summary: &'a Summary,
    /// [`Summary::warnings`], for the page to show as they are.
    warnings: Vec<String>,
    /// Append to audit.jsonl after its lines.
    summary_line: String,
    /// The run's row of deid_log-noPHI.csv (sample size and seed for the page to show).
    log: &'a RunLog,
    /// What the residual-PHI verification found: a critical finding must stop the save.
    verification: Option<Verification>,
}

/// The residual-PHI verification's summary for the page (no identifying text).
#[derive(Serialize)]
struct Verification {
    critical: u64,
    high: u64,
    review: u64,
    /// One line per finding (place, class, keyed hash), the most severe first.
    lines: Vec<String>,
}

/// What the page tells the log about its run.
#[derive(Deserialize)]
struct RunStamp {
    run_id: String,
    started_utc: String,
    finished_utc: String,
    sample_seed: u64,
    #[serde(default)]
    reviewer: String,
    /// When the reviewer signed the review off in the studio (UTC), if they did.
    #[serde(default)]
    sign_off_utc: String,
    /// The studio's review in numbers (images looked at, marked for a mask, excluded).
    #[serde(default)]
    notes: String,
    /// The sample files the reviewer passed and failed in the studio.
    #[serde(default)]
    sample_ok: Option<usize>,
    #[serde(default)]
    sample_fail: Option<usize>,
}

/// `value` with each byte buffer set on it as a `Uint8Array` (serde would give arrays of
/// numbers).
fn with_bytes(value: JsValue, buffers: &[(&str, &[u8])]) -> Result<JsValue, JsValue> {
    for (name, bytes) in buffers {
        js_sys::Reflect::set(&value, &(*name).into(), &js_sys::Uint8Array::from(*bytes))?;
    }
    Ok(value)
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
        pixels: JsValue,
        overrides_csv: Option<String>,
    ) -> Result<Batch, JsValue> {
        let d = configure(options, key, lookup_csv, pixels, overrides_csv)?;
        let mut csv = Checksummed::default();
        csv.update(CSV_HEADER.as_bytes());
        Ok(Batch {
            verifier: Some(Verifier::new(&VerifyConfig::of(&d))),
            detail: None,
            ledger: Ledger::new(&d.profile().edition, *d.options(), keep_linkage),
            log: RunLog {
                tool: crate::review::log::TOOL.into(),
                profile: d.profile().edition.clone(),
                options: *d.options(),
                private_dictionaries: d
                    .safe_private()
                    .sources()
                    .into_iter()
                    .map(String::from)
                    .collect(),
                key_fingerprint: d.key_fingerprint(),
                ..RunLog::default()
            },
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
    /// the worker's [`FileResult`]). Returns `{outcome: {status, detail}, audit?: {jsonl, csv,
    /// remarks}, listed, header?}`: for a written output, append `header` then the output's
    /// bytes to the zip; `listed` says whether the results table shows the input.
    pub fn commit(&mut self, input: &str, result: JsValue) -> Result<JsValue, JsValue> {
        let result_js = result.clone();
        // A fixed message: serde's would quote the value it rejected, which may be PHI.
        let result: FileResult = serde_wasm_bindgen::from_value(result).map_err(|_| {
            js_error(&Error::Unsupported(
                "a worker's result could not be read".into(),
            ))
        })?;
        // The verifier's part of this file, which the worker added beside the result.
        let check: Option<FileCheck> = js_sys::Reflect::get(&result_js, &"check".into())
            .ok()
            .and_then(|c| c.as_string())
            .and_then(|c| serde_json::from_str(&c).ok());
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
        count_audit(&mut self.jsonl, &mut self.csv, &committed);
        if let (Some(v), Some(check)) = (self.verifier.as_mut(), check) {
            let name = match &committed.outcome {
                Outcome::Written(n) => Some(n.as_str()),
                _ => None,
            };
            v.commit(name, check);
        }
        let value = to_js(&committed)?;
        if matches!(committed.outcome, Outcome::Written(_)) {
            let header = std::mem::take(zip.get_mut());
            return with_bytes(value, &[("header", &header)]);
        }
        Ok(value)
    }

    /// Records an input the reviewer excluded in the studio, at its place in input order (the
    /// page commits it between the results around it). Returns what [`Batch::commit`] does,
    /// without a header: nothing is written.
    pub fn exclude(&mut self, input: &str) -> Result<JsValue, JsValue> {
        self.zip.as_ref().ok_or_else(finished)?;
        let committed = self.ledger.exclude(input);
        count_audit(&mut self.jsonl, &mut self.csv, &committed);
        to_js(&committed)
    }

    /// Ends the zip: `{summary, warnings, summaryLine, log, jsonlHeader, csvHeader, reports,
    /// end}`. Write `jsonlHeader`, the audit.jsonl lines and `summaryLine`, `csvHeader`, the CSV
    /// header and rows, `reports` (the review files, whole entries), then `end`. `run` gives
    /// the log what only the page knows: `{run_id, started_utc, finished_utc, sample_seed,
    /// reviewer}`.
    pub fn finish(&mut self, run: JsValue) -> Result<JsValue, JsValue> {
        let run: RunStamp = serde_wasm_bindgen::from_value(run).map_err(|_| {
            js_error(&Error::Options(
                "the run's log details are not valid".into(),
            ))
        })?;
        let mut zip = self.zip.take().ok_or_else(finished)?;
        let summary_line = self.ledger.summary_jsonl();
        self.jsonl.update(summary_line.as_bytes());
        let mut header = |name: &str, sum: &Checksummed| {
            zip.add_stored_header(name, sum.size(), sum.crc32())
                .map_err(|e| js_error(&Error::Write(e.to_string())))?;
            Ok::<_, JsValue>(std::mem::take(zip.get_mut()))
        };
        let jsonl_header = header("audit.jsonl", &self.jsonl)?;
        let csv_header = header("audit.csv", &self.csv)?;
        let report = self.verifier.take().map(Verifier::finish);
        let residual = report.as_ref().map(|r| {
            let s = &r.summary;
            [s.critical, s.high, s.review].map(|n| n as usize)
        });
        if let Some(r) = &report {
            zip.add(NO_PHI_CSV, r.no_phi_csv().as_bytes(), true)
                .map_err(|e| js_error(&Error::Write(e.to_string())))?;
            self.detail = Some(r.detail_phi_csv());
        }
        let (log, files) = self.ledger.review_files(
            RunLog {
                residual: residual.unwrap_or_default(),
                run_id: run.run_id,
                started_utc: run.started_utc,
                finished_utc: run.finished_utc,
                sample_seed: run.sample_seed,
                reviewer: run.reviewer,
                sign_off_utc: run.sign_off_utc,
                notes: run.notes,
                sample_ok: run.sample_ok,
                sample_fail: run.sample_fail,
                ..self.log.clone()
            },
            &report.as_ref().map(Report::marks).unwrap_or_default(),
        );
        for (name, text) in files {
            zip.add(name, text.as_bytes(), true)
                .map_err(|e| js_error(&Error::Write(e.to_string())))?;
        }
        let reports = std::mem::take(zip.get_mut());
        let verification = report.as_ref().map(|r| Verification {
            critical: r.summary.critical,
            high: r.summary.high,
            review: r.summary.review,
            lines: r.summary_lines(12),
        });
        let end = zip
            .finish()
            .map_err(|e| js_error(&Error::Write(e.to_string())))?;
        let value = to_js(&Finished {
            summary: self.ledger.summary(),
            warnings: self.ledger.summary().warnings(),
            summary_line,
            log: &log,
            verification,
        })?;
        with_bytes(
            value,
            &[
                ("jsonlHeader", &jsonl_header),
                ("csvHeader", &csv_header),
                ("reports", &reports),
                ("end", &end),
            ],
        )
    }

    /// The residual-PHI verification's detail (PHI: the matched text of each finding) as
    /// `residual_phi-detail-PHI.csv`, for a separate download once the batch is finished.
    #[wasm_bindgen(js_name = residualDetail)]
    pub fn residual_detail(&self) -> Option<String> {
        self.detail.clone()
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

#[wasm_bindgen]
impl Batch {
    /// The inputs held back so far: `[{input_number, input, reason}]` (PHI: input paths), in
    /// input order; `input_number` is 1-based in the order the batch committed them.
    pub fn quarantined(&self) -> Result<JsValue, JsValue> {
        to_js(self.ledger.quarantined())
    }

    /// The held-back originals (PHI) as a zip for a separate download: `originals` are the
    /// files' bytes in the order of [`Batch::quarantined`], named as the CLI's quarantine
    /// folder names them, with its index and README.
    #[wasm_bindgen(js_name = quarantineZip)]
    pub fn quarantine_zip(&self, originals: Vec<js_sys::Uint8Array>) -> Result<Vec<u8>, JsValue> {
        let held = self.ledger.quarantined();
        if originals.len() != held.len() {
            return Err(js_error(&Error::Options(
                "one original is needed for each held-back input".into(),
            )));
        }
        let write = |e: std::io::Error| js_error(&Error::Write(e.to_string()));
        let mut zip = ZipWriter::new(Vec::new());
        for (h, bytes) in held.iter().zip(originals) {
            zip.add(&h.file_name(), &bytes.to_vec(), true)
                .map_err(write)?;
        }
        for (name, text) in quarantine::files(held) {
            zip.add(name, text.as_bytes(), true).map_err(write)?;
        }
        zip.finish().map_err(write)
    }
}

/// Counts a committed input's audit lines, which the page writes, into the sizes and checksums
/// of their zip entries.
fn count_audit(jsonl: &mut Checksummed, csv: &mut Checksummed, committed: &Committed) {
    if let Some(lines) = &committed.audit {
        jsonl.update(lines.jsonl.as_bytes());
        csv.update(lines.csv.as_bytes());
    }
}

fn finished() -> JsValue {
    js_error(&Error::Unsupported("the batch is already finished".into()))
}
