//! Batches of files for the native CLI: walk the inputs, de-identify in parallel, write each output
//! to a folder or a streamed zip, keep the audit log, and account for every input.
//!
//! Each worker holds one input file at a time, so memory is bounded by the largest file times the
//! number of jobs, whatever the size of the batch. Audit lines go to temporary files and are copied
//! into the output at the end.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use dicom_deid::output::audit::{self as report, OutputNames, Summary};
use dicom_deid::output::zip::{Prepared, ZipWriter};
use dicom_deid::{Deidentified, Deidentifier, Error};

/// What happened to one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written under this relative name.
    Done(String),
    /// Not DICOM, a DICOMDIR, or a duplicate: nothing written.
    Skipped(String),
    /// DICOM that could not be de-identified: nothing written.
    Failed(String),
}

/// Where outputs go.
pub enum Output {
    /// A folder; each file is written through a temporary name and renamed.
    Folder(PathBuf),
    /// A zip archive streamed entry by entry; renamed into place when complete.
    Zip { path: PathBuf, writer: SharedZip },
}

impl Output {
    /// A folder output, or a zip when the path ends in `.zip`.
    pub fn open(path: &Path) -> io::Result<Output> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let f = fs::File::create(partial(path))?;
            Ok(Output::Zip {
                path: path.to_path_buf(),
                writer: Mutex::new(Some(ZipWriter::new(BufWriter::new(f)))),
            })
        } else {
            fs::create_dir_all(path)?;
            Ok(Output::Folder(path.to_path_buf()))
        }
    }

    /// The parallel half of writing an output: deflate it, or write it to a temporary file.
    fn stage(&self, index: usize, bytes: &[u8]) -> io::Result<Staged> {
        match self {
            // Native pixel data compresses well; what deflate cannot shrink is stored.
            Output::Zip { .. } => Ok(Staged::Zip(Prepared::new(bytes, true)?)),
            Output::Folder(dir) => {
                let tmp = dir.join(format!(".{index}.partial"));
                fs::write(&tmp, bytes).inspect_err(|_| {
                    let _ = fs::remove_file(&tmp);
                })?;
                Ok(Staged::File(tmp))
            }
        }
    }

    /// The ordered half: the zip entry, or the rename that makes the file appear complete.
    fn put(&self, name: &str, bytes: &[u8], staged: &Staged) -> io::Result<()> {
        match (self, staged) {
            (Output::Zip { writer, .. }, Staged::Zip(p)) => {
                with_zip(writer, |w| w.add_prepared(name, p, bytes))
            }
            (Output::Folder(dir), Staged::File(tmp)) => {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().unwrap_or(dir))?;
                fs::rename(tmp, path)
            }
            _ => Err(io::Error::other("output staged for another kind of output")),
        }
    }

    fn put_file(&self, name: &str, file: &mut fs::File, crc: u32) -> io::Result<()> {
        let size = file.stream_position()?;
        file.rewind()?;
        match self {
            Output::Folder(dir) => {
                let tmp = dir.join(format!(".{name}.partial"));
                io::copy(file, &mut fs::File::create(&tmp)?)?;
                fs::rename(tmp, dir.join(name))
            }
            Output::Zip { writer, .. } => {
                with_zip(writer, |w| w.add_stored_from(name, size, crc, file))
            }
        }
    }

    fn finish(&self) -> io::Result<()> {
        if let Output::Zip { path, writer } = self {
            let w = writer
                .lock()
                .map_err(|_| io::Error::other("zip writer poisoned"))?
                .take();
            if let Some(w) = w {
                let mut f = w.finish()?.into_inner().map_err(|e| e.into_error())?;
                f.flush()?;
                f.sync_all()?;
                fs::rename(partial(path), path)?;
            }
        }
        Ok(())
    }

    /// The folder to exclude from input walking.
    pub fn path(&self) -> &Path {
        match self {
            Output::Folder(p) => p,
            Output::Zip { path, .. } => path,
        }
    }
}

type SharedZip = Mutex<Option<ZipWriter<BufWriter<fs::File>>>>;

/// Runs `f` on the zip writer, which workers share.
fn with_zip(
    writer: &SharedZip,
    f: impl FnOnce(&mut ZipWriter<BufWriter<fs::File>>) -> io::Result<()>,
) -> io::Result<()> {
    let mut guard = writer
        .lock()
        .map_err(|_| io::Error::other("zip writer poisoned"))?;
    let w = guard
        .as_mut()
        .ok_or_else(|| io::Error::other("zip already finished"))?;
    f(w)
}

fn partial(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// Every regular file under the given paths, in a stable order. `exclude` (the output) is never
/// entered.
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
/// or a full disk never leaves a half-written output under the final name. (No fsync per file:
/// the rename is what makes a name appear only complete; the zip output is synced once.)
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.partial",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    drop(f);
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// An audit file being written to a temporary file, with its running CRC.
struct AuditFile {
    file: fs::File,
    crc: crc32fast::Hasher,
}

impl AuditFile {
    fn new(header: &str) -> io::Result<AuditFile> {
        let mut a = AuditFile {
            file: tempfile::tempfile()?,
            crc: crc32fast::Hasher::new(),
        };
        a.write(header)?;
        Ok(a)
    }
    fn write(&mut self, s: &str) -> io::Result<()> {
        self.crc.update(s.as_bytes());
        self.file.write_all(s.as_bytes())
    }
}

/// Linkage data for `--linkage`: PHI, written only where the user asked.
#[derive(Default)]
struct LinkageData {
    rows: Vec<(usize, String, String, String, String)>,
    uids: BTreeMap<String, String>,
    patients: BTreeMap<String, String>,
}

/// The result of a batch.
pub struct BatchResult {
    pub summary: Summary,
    pub outcomes: Vec<Outcome>,
}

/// What the workers share. Inputs are committed (named, written, audited) strictly in input
/// order, so names, zip entry order, audit and linkage are the same whatever the number of jobs;
/// the expensive part (reading, de-identifying, deflating) runs in parallel before that.
struct Shared {
    turn: usize,
    names: OutputNames,
    jsonl: AuditFile,
    csv: AuditFile,
    linkage: LinkageData,
    outcomes: Vec<Option<Outcome>>,
}

/// A file read and de-identified, ready to be committed.
type Ready = Result<Staging, Outcome>;

/// A de-identified file with what the ordered section needs, computed in parallel beforehand.
struct Staging {
    d: Deidentified,
    staged: Staged,
    digest: String,
    alternate: String,
}

/// An output made ready outside the ordered section: deflated for a zip, or already written to a
/// temporary file in the output folder (only renamed into place in order).
enum Staged {
    Zip(Prepared),
    File(PathBuf),
}

/// Runs a batch on `jobs` threads. `progress` is called once per finished input, from the workers.
/// With `linkage_dir`, the PHI linkage files are written there (never into the output).
pub fn run(
    session: &Deidentifier,
    inputs: &[PathBuf],
    output: &Output,
    jobs: usize,
    linkage_dir: Option<&Path>,
    progress: &(dyn Fn(usize) + Sync),
) -> io::Result<BatchResult> {
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(Shared {
        turn: 0,
        names: OutputNames::default(),
        jsonl: AuditFile::new("")?,
        csv: AuditFile::new(report::CSV_HEADER)?,
        linkage: LinkageData::default(),
        outcomes: vec![None; inputs.len()],
    });
    let turn_changed = Condvar::new();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() {
                        break;
                    }
                    let prepared =
                        std::panic::catch_unwind(|| prepare(session, &inputs[i], output, i))
                            .unwrap_or_else(|_| Err(Outcome::Failed("internal error".into())));
                    let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
                    while g.turn != i {
                        g = turn_changed.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                    let outcome = commit(&mut g, output, prepared, i, linkage_dir.is_some());
                    g.outcomes[i] = Some(outcome);
                    g.turn += 1;
                    drop(g);
                    turn_changed.notify_all();
                    progress(i);
                }
            });
        }
    });
    let shared = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    let outcomes: Vec<Outcome> = shared
        .outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Failed("worker stopped".into())))
        .collect();
    let mut summary = Summary::default();
    for o in &outcomes {
        match o {
            Outcome::Done(_) => summary.done(),
            Outcome::Skipped(r) => summary.skip(r),
            Outcome::Failed(r) => summary.fail(r),
        }
    }
    let mut jsonl = shared.jsonl;
    jsonl.write(&report::summary_jsonl(
        &session.profile().edition,
        session.options(),
        &summary,
    ))?;
    for (name, mut a) in [("audit.jsonl", jsonl), ("audit.csv", shared.csv)] {
        let crc = a.crc.clone().finalize();
        output.put_file(name, &mut a.file, crc)?;
    }
    output.finish()?;
    if let Some(dir) = linkage_dir {
        write_linkage(dir, inputs, shared.linkage)?;
    }
    Ok(BatchResult { summary, outcomes })
}

/// Reads, de-identifies and stages one input (the parallel part).
fn prepare(session: &Deidentifier, input: &Path, output: &Output, index: usize) -> Ready {
    let bytes = fs::read(input)
        .map_err(|e| Outcome::Failed(format!("cannot read the file ({})", e.kind())))?;
    let d = session.deidentify(&bytes).map_err(|e| match e {
        Error::NotDicom(_) | Error::DicomDir => Outcome::Skipped(e.to_string()),
        e => Outcome::Failed(e.to_string()),
    })?;
    drop(bytes);
    let staged = output
        .stage(index, &d.bytes)
        .map_err(|e| Outcome::Failed(format!("cannot write the output ({})", e.kind())))?;
    let digest = dicom_deid::content_digest(&d.bytes);
    Ok(Staging {
        alternate: dicom_deid::alternate_name(&d.name, &digest),
        digest,
        d,
        staged,
    })
}

/// Names, writes and audits one prepared input (in input order, under the shared lock).
fn commit(g: &mut Shared, output: &Output, prepared: Ready, i: usize, linkage: bool) -> Outcome {
    let (outcome, d) = match prepared {
        Err(o) => (o, None),
        Ok(Staging {
            mut d,
            staged,
            digest,
            alternate,
        }) => match g.names.claim(&d.name, &alternate, &digest) {
            None => {
                if let Staged::File(tmp) = &staged {
                    let _ = fs::remove_file(tmp);
                }
                (Outcome::Skipped(report::DUPLICATE.into()), None)
            }
            Some(name) => {
                d.name = name;
                d.record.output_name = d.name.clone();
                match output.put(&d.name, &d.bytes, &staged) {
                    Ok(()) => (Outcome::Done(d.name.clone()), Some(d)),
                    Err(e) => {
                        if let Staged::File(tmp) = &staged {
                            let _ = fs::remove_file(tmp);
                        }
                        let reason = format!("cannot write the output ({})", e.kind());
                        (Outcome::Failed(reason), None)
                    }
                }
            }
        },
    };
    if let Some(d) = &d {
        let ok = g
            .jsonl
            .write(&report::file_jsonl(&d.record))
            .and_then(|_| g.csv.write(&report::file_csv(&d.record)));
        if ok.is_err() {
            eprintln!("warning: could not write an audit line");
        }
    }
    if linkage {
        let (status, detail) = match &outcome {
            Outcome::Done(n) => ("deidentified", n.clone()),
            Outcome::Skipped(r) => ("skipped", r.clone()),
            Outcome::Failed(r) => ("failed", r.clone()),
        };
        let (old, new) = d
            .as_ref()
            .map(|d| {
                (
                    d.linkage.original_patient_id.clone(),
                    d.linkage.new_patient_id.clone(),
                )
            })
            .unwrap_or_default();
        if let Some(d) = &d {
            g.linkage.uids.extend(d.linkage.uids.iter().cloned());
            g.linkage.patients.insert(old.clone(), new.clone());
        }
        g.linkage.rows.push((i, status.into(), detail, old, new));
    }
    outcome
}

fn write_linkage(dir: &Path, inputs: &[PathBuf], mut l: LinkageData) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    write_atomically(
        &dir.join("README_CONTAINS_PHI.txt"),
        b"These files link de-identified outputs back to the original patients and files.\n\
          They contain protected health information (PHI). Keep them apart from the \
          de-identified data, share them with no one who should not re-identify patients.\n",
    )?;
    l.rows.sort_by_key(|r| r.0);
    let mut s = String::from(
        "input_path,status,output_name_or_reason,original_patient_id,new_patient_id\n",
    );
    for (i, status, detail, old, new) in &l.rows {
        let p = inputs[*i].to_string_lossy();
        s.push_str(&report::csv_row(&[&p, status, detail, old, new]));
    }
    write_atomically(&dir.join("linkage.csv"), s.as_bytes())?;
    for (name, map) in [
        ("uid_mapping.csv", &l.uids),
        ("patid_mapping.csv", &l.patients),
    ] {
        let mut s = String::from("id_old,id_new\n");
        for (old, new) in map {
            s.push_str(&report::csv_row(&[old, new]));
        }
        write_atomically(&dir.join(name), s.as_bytes())?;
    }
    Ok(())
}
