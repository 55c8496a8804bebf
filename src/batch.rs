//! Batches of files for the native CLI: walk the inputs, de-identify in parallel, write each output
//! atomically under its PHI-free name, and account for every input.
//!
//! Each worker holds one input file at a time, so memory is bounded by the largest file times the
//! number of jobs, whatever the size of the batch.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::{Deidentifier, Error};

/// What happened to one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written under this relative name.
    Done(String),
    /// Not DICOM (or a DICOMDIR): nothing written.
    Skipped(String),
    /// DICOM that could not be de-identified: nothing written.
    Failed(String),
}

/// Totals for a batch; `found == deidentified + skipped + failed` always.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub found: usize,
    pub deidentified: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Reason → count, for skipped and failed inputs.
    pub skipped_reasons: BTreeMap<String, usize>,
    pub failed_reasons: BTreeMap<String, usize>,
}

/// Every regular file under the given paths, in a stable order. `exclude` (the output folder) is
/// never entered.
pub fn collect_inputs(paths: &[PathBuf], exclude: Option<&Path>) -> Vec<PathBuf> {
    let exclude = exclude.and_then(|p| fs::canonicalize(p).ok());
    let mut files = Vec::new();
    for p in paths {
        for entry in walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                exclude
                    .as_ref()
                    .is_none_or(|x| fs::canonicalize(e.path()).map(|c| &c != x).unwrap_or(true))
            })
            .flatten()
        {
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            }
        }
    }
    files
}

/// Writes bytes to `path` through a temporary file in the same folder and a rename, so a crash
/// or a full disk never leaves a half-written output under the final name.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.partial",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// De-identifies one input file into `out_dir`. `claimed` maps the output names already taken
/// in this batch to their content hash, so two inputs that map to the same SOP Instance never
/// overwrite each other: identical outputs are reported as duplicates, different ones both kept.
pub fn process_file(
    session: &Deidentifier,
    input: &Path,
    out_dir: &Path,
    claimed: &Mutex<HashMap<String, [u8; 32]>>,
) -> (Outcome, Option<crate::Deidentified>) {
    let bytes = match fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            return (
                Outcome::Failed(format!("cannot read the file ({})", e.kind())),
                None,
            );
        }
    };
    let result = session.deidentify(&bytes);
    drop(bytes);
    match result {
        Ok(mut d) => {
            let digest: [u8; 32] = Sha256::digest(&d.bytes).into();
            let name = {
                let Ok(mut c) = claimed.lock() else {
                    return (
                        Outcome::Failed("internal error: lock poisoned".into()),
                        None,
                    );
                };
                match c.get(&d.name) {
                    None => {
                        c.insert(d.name.clone(), digest);
                        d.name.clone()
                    }
                    Some(h) if *h == digest => {
                        return (
                            Outcome::Skipped("duplicate: identical to another input".into()),
                            None,
                        );
                    }
                    // Same SOP Instance UID, different content (another transfer syntax, say):
                    // keep both, the second with a content hash in its name.
                    Some(_) => {
                        let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
                        let alt = format!("{}_{hex}.dcm", d.name.trim_end_matches(".dcm"));
                        c.insert(alt.clone(), digest);
                        alt
                    }
                }
            };
            d.name = name;
            d.record.output_name = d.name.clone();
            match write_atomically(&out_dir.join(&d.name), &d.bytes) {
                Ok(()) => (Outcome::Done(d.name.clone()), Some(d)),
                Err(e) => (
                    Outcome::Failed(format!("cannot write the output ({})", e.kind())),
                    None,
                ),
            }
        }
        Err(e @ (Error::NotDicom(_) | Error::DicomDir)) => (Outcome::Skipped(e.to_string()), None),
        Err(e) => (Outcome::Failed(e.to_string()), None),
    }
}

/// Runs a batch on `jobs` threads. `on_done` is called once per input, from the worker threads,
/// with the input's index in `inputs`, its outcome and (when done) the result.
pub fn run(
    session: &Deidentifier,
    inputs: &[PathBuf],
    out_dir: &Path,
    jobs: usize,
    on_done: &(dyn Fn(usize, &Outcome, Option<&crate::Deidentified>) + Sync),
) -> (Summary, Vec<Outcome>) {
    let next = AtomicUsize::new(0);
    let claimed = Mutex::new(HashMap::new());
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; inputs.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() {
                        break;
                    }
                    let (outcome, d) = process_file(session, &inputs[i], out_dir, &claimed);
                    on_done(i, &outcome, d.as_ref());
                    if let Ok(mut o) = outcomes.lock() {
                        o[i] = Some(outcome);
                    }
                }
            });
        }
    });
    let outcomes: Vec<Outcome> = outcomes
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Failed("worker stopped".into())))
        .collect();
    let mut summary = Summary {
        found: inputs.len(),
        ..Summary::default()
    };
    for o in &outcomes {
        match o {
            Outcome::Done(_) => summary.deidentified += 1,
            Outcome::Skipped(r) => {
                summary.skipped += 1;
                *summary.skipped_reasons.entry(r.clone()).or_default() += 1;
            }
            Outcome::Failed(r) => {
                summary.failed += 1;
                *summary.failed_reasons.entry(r.clone()).or_default() += 1;
            }
        }
    }
    (summary, outcomes)
}
