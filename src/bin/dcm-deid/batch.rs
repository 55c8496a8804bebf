//! The CLI's batch runner: walk the inputs, de-identify on `jobs` threads, stage each output
//! (deflated for a zip, or written to a temporary file in the output folder), and let the
//! library's [`Ledger`] commit them in input order. Only threads, files and renames live here.
//!
//! Each thread holds one input file at a time, so memory is bounded by the largest file times the
//! number of jobs, whatever the size of the batch. Audit lines go to temporary files and are copied
//! into the output at the end.

use std::fs;
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use dicom_deid::output::audit::{CSV_HEADER, Checksummed};
use dicom_deid::output::quarantine::{self, Held};
use dicom_deid::output::streamed;
use dicom_deid::output::zip::{Prepared, ZipWriter};
use dicom_deid::output::{FileResult, Ledger, Outcome, Summary};
use dicom_deid::review::final_review::ResidualMarks;
use dicom_deid::review::inventory::{self, Inventory};
use dicom_deid::review::log::RunLog;
use dicom_deid::review::verify::deidentify_and_check;
use dicom_deid::review::verify::{DETAIL_PHI_CSV, NO_PHI_CSV};
use dicom_deid::review::{FileCheck, Report, Verifier, VerifyConfig};
use dicom_deid::{Deidentifier, Error};

/// Where outputs go.
pub enum Destination {
    /// A folder; each file is written through a temporary name and renamed.
    Folder(PathBuf),
    /// A zip archive streamed entry by entry; renamed into place when complete.
    Zip { path: PathBuf, writer: SharedZip },
}

impl Destination {
    /// A folder output, or a zip when the path ends in `.zip`.
    pub fn open(path: &Path) -> io::Result<Destination> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let f = fs::File::create(partial(path))?;
            Ok(Destination::Zip {
                path: path.to_path_buf(),
                writer: Mutex::new(Some(ZipWriter::new(BufWriter::new(f)))),
            })
        } else {
            fs::create_dir_all(path)?;
            Ok(Destination::Folder(path.to_path_buf()))
        }
    }

    /// Where a large output is written in chunks before its turn comes: next to the output.
    fn temporary(&self, index: usize) -> PathBuf {
        match self {
            Destination::Folder(dir) => dir.join(format!(".{index}.partial")),
            Destination::Zip { path, .. } => {
                let mut p = path.clone().into_os_string();
                p.push(format!(".{index}.partial"));
                PathBuf::from(p)
            }
        }
    }

    /// The parallel half of writing an output: deflate it, or write it to a temporary file.
    fn stage(&self, index: usize, bytes: &[u8]) -> io::Result<Staged> {
        match self {
            // Native pixel data compresses well; what deflate cannot shrink is stored.
            Destination::Zip { .. } => Ok(Staged::Zip(Prepared::new(bytes, true)?)),
            Destination::Folder(dir) => {
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
            (Destination::Zip { writer, .. }, Staged::Zip(p)) => {
                with_zip(writer, |w| w.add_prepared(name, p, bytes))
            }
            (Destination::Folder(dir), Staged::File(tmp) | Staged::Stored { tmp, .. }) => {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().unwrap_or(dir))?;
                fs::rename(tmp, path)
            }
            (Destination::Zip { writer, .. }, Staged::Stored { tmp, size, crc }) => {
                let mut f = fs::File::open(tmp)?;
                with_zip(writer, |w| w.add_stored_from(name, *size, *crc, &mut f))?;
                drop(f);
                fs::remove_file(tmp)
            }
            _ => Err(io::Error::other("output staged for another kind of output")),
        }
    }

    fn put_file(&self, name: &str, file: &mut fs::File, crc: u32) -> io::Result<()> {
        let size = file.stream_position()?;
        file.rewind()?;
        match self {
            Destination::Folder(dir) => {
                let tmp = dir.join(format!(".{name}.partial"));
                io::copy(file, &mut fs::File::create(&tmp)?)?;
                fs::rename(tmp, dir.join(name))
            }
            Destination::Zip { writer, .. } => {
                with_zip(writer, |w| w.add_stored_from(name, size, crc, file))
            }
        }
    }

    /// Puts a small report file (made in memory) into the output.
    fn put_text(&self, name: &str, text: &str) -> io::Result<()> {
        match self {
            Destination::Folder(dir) => write_atomically(&dir.join(name), text.as_bytes()),
            Destination::Zip { writer, .. } => {
                let p = Prepared::new(text.as_bytes(), true)?;
                with_zip(writer, |w| w.add_prepared(name, &p, text.as_bytes()))
            }
        }
    }

    fn finish(&self) -> io::Result<()> {
        if let Destination::Zip { path, writer } = self {
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
            Destination::Folder(p) => p,
            Destination::Zip { path, .. } => path,
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

/// Each input's path as the verifier harvests it: relative to the argument it was found under,
/// that argument's own name included (`scans/SMITH_J/IM1.dcm` for an argument `…/scans`).
pub fn input_names(roots: &[PathBuf], files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| {
            let root = roots.iter().find(|r| f.starts_with(r));
            let rel = match root {
                Some(r) => {
                    let base = r.file_name().map(PathBuf::from).unwrap_or_default();
                    if f == r {
                        base
                    } else {
                        base.join(f.strip_prefix(r).unwrap_or(f))
                    }
                }
                None => f.file_name().map(PathBuf::from).unwrap_or_default(),
            };
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
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

/// An audit file being written to a temporary file, with its running size and CRC.
struct AuditFile {
    file: fs::File,
    sum: Checksummed,
}

impl AuditFile {
    fn new(header: &str) -> io::Result<AuditFile> {
        let mut a = AuditFile {
            file: tempfile::tempfile()?,
            sum: Checksummed::default(),
        };
        a.write(header)?;
        Ok(a)
    }
    fn write(&mut self, s: &str) -> io::Result<()> {
        self.sum.update(s.as_bytes());
        self.file.write_all(s.as_bytes())
    }
}

/// How a batch runs, and where its PHI-bearing files go (never into the output).
pub struct Run<'a> {
    pub jobs: usize,
    pub linkage_dir: Option<&'a Path>,
    pub quarantine_dir: Option<&'a Path>,
    /// The log row, filled in as the batch ends.
    pub log: RunLog,
    /// Residual-PHI verification, unless it was turned off.
    pub verification: Option<Verification<'a>>,
}

/// The result of a batch.
pub struct BatchResult {
    pub summary: Summary,
    pub outcomes: Vec<Outcome>,
    /// The run's log row as written (sample, counts).
    pub log: RunLog,
    /// The residual-PHI verification, unless it was turned off.
    pub report: Option<Report>,
}

/// Residual-PHI verification of a batch: its configuration, and each input's name as harvested.
pub struct Verification<'a> {
    pub config: VerifyConfig,
    pub names: &'a [String],
}

/// What the threads share: the ledger, whose turn it is, and the audit files.
struct Shared {
    turn: usize,
    ledger: Ledger,
    jsonl: AuditFile,
    csv: AuditFile,
    outcomes: Vec<Option<Outcome>>,
    verifier: Option<Verifier>,
}

/// An input read, de-identified and staged, ready for its turn.
struct Ready {
    result: FileResult,
    /// The output and where it was staged, when there is one.
    output: Option<(Vec<u8>, Staged)>,
    /// The input's identifiers and the output's tokens, when verifying.
    check: Option<FileCheck>,
}

/// An output made ready outside the ordered section: deflated for a zip, or already written to a
/// temporary file in the output folder (only renamed into place in order).
enum Staged {
    Zip(Prepared),
    File(PathBuf),
    /// A large output written in chunks to a temporary file, stored (not deflated) in a zip.
    Stored {
        tmp: PathBuf,
        size: u64,
        crc: u32,
    },
}

/// Runs a batch on `jobs` threads. `progress` is called once per finished input, from the threads.
pub fn run(
    deidentifier: &Deidentifier,
    inputs: &[PathBuf],
    destination: &Destination,
    run: Run<'_>,
    progress: &(dyn Fn(usize) + Sync),
) -> io::Result<BatchResult> {
    let Run {
        jobs,
        linkage_dir,
        quarantine_dir,
        mut log,
        verification,
    } = run;
    let verification = verification.as_ref();
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(Shared {
        turn: 0,
        ledger: Ledger::new(
            &deidentifier.profile().edition,
            *deidentifier.options(),
            linkage_dir.is_some(),
        ),
        jsonl: AuditFile::new("")?,
        csv: AuditFile::new(CSV_HEADER)?,
        outcomes: vec![None; inputs.len()],
        verifier: verification.map(|v| Verifier::new(&v.config)),
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
                    let ready = std::panic::catch_unwind(|| {
                        prepare(deidentifier, &inputs[i], destination, i, verification)
                    })
                    .unwrap_or_else(|_| Ready {
                        result: FileResult::rejected(&Error::Internal),
                        output: None,
                        check: None,
                    });
                    let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
                    while g.turn != i {
                        g = turn_changed.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                    // A panic here must still pass the turn on, or the other threads wait forever.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit(&mut g, destination, &inputs[i], ready)
                    }))
                    .unwrap_or_else(|_| Outcome::Failed(Error::Internal.to_string()));
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
        .map(|o| o.unwrap_or(Outcome::Failed(Error::Internal.to_string())))
        .collect();
    let mut jsonl = shared.jsonl;
    jsonl.write(&shared.ledger.summary_jsonl())?;
    for (name, mut a) in [("audit.jsonl", jsonl), ("audit.csv", shared.csv)] {
        destination.put_file(name, &mut a.file, a.sum.crc32())?;
    }
    let report = shared.verifier.map(Verifier::finish);
    if let Some(r) = &report {
        destination.put_text(NO_PHI_CSV, &r.no_phi_csv())?;
        let s = &r.summary;
        log.residual = [s.critical, s.high, s.review].map(|n| n as usize);
    }
    let marks = report.as_ref().map(Report::marks).unwrap_or_default();
    let log = write_reports(destination, &shared.ledger, log, &marks)?;
    destination.finish()?;
    if let (Some(dir), Some(r)) = (linkage_dir, &report) {
        fs::create_dir_all(dir)?;
        write_atomically(&dir.join(DETAIL_PHI_CSV), r.detail_phi_csv().as_bytes())?;
    }
    if let (Some(dir), Some(tables)) = (linkage_dir, shared.ledger.linkage()) {
        fs::create_dir_all(dir)?;
        for (name, text) in tables.files() {
            write_atomically(&dir.join(name), text.as_bytes())?;
        }
    }
    if let Some(dir) = quarantine_dir {
        write_quarantine(dir, inputs, shared.ledger.quarantined())?;
    }
    Ok(BatchResult {
        summary: shared.ledger.summary().clone(),
        outcomes,
        log,
        report,
    })
}

/// The review files that end the output (see [`Ledger::review_files`]).
fn write_reports(
    destination: &Destination,
    ledger: &Ledger,
    mut log: RunLog,
    residual: &ResidualMarks,
) -> io::Result<RunLog> {
    log.finished_utc = now_utc();
    let (log, files) = ledger.review_files(log, residual);
    for (name, text) in files {
        destination.put_text(name, &text)?;
    }
    Ok(log)
}

/// The time now, as the log writes it (UTC, ISO 8601, seconds).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    use chrono::{Datelike, Timelike};
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// Examines every input for the inventory on all cores, merging in input order (a file that
/// cannot be read is counted, not listed). Returns the inventory and the number not read.
pub fn inventory(
    deidentifier: &Deidentifier,
    inputs: &[PathBuf],
    with_values: bool,
    jobs: usize,
) -> (Inventory, usize) {
    let next = AtomicUsize::new(0);
    // Parts wait here for their turn, so the merge order (and the pre-review's first file) does
    // not depend on the threads.
    let pending = Mutex::new((
        0usize,
        std::collections::BTreeMap::new(),
        Inventory::default(),
        0,
    ));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() {
                        break;
                    }
                    let part = fs::read(&inputs[i])
                        .ok()
                        .and_then(|b| inventory::examine(deidentifier, &b, with_values).ok());
                    let mut g = pending.lock().unwrap_or_else(|e| e.into_inner());
                    let (turn, waiting, inv, failed) = &mut *g;
                    waiting.insert(i, part);
                    while let Some(part) = waiting.remove(turn) {
                        match part {
                            Some(p) => inv.add(&inputs[*turn].to_string_lossy(), p),
                            None => *failed += 1,
                        }
                        *turn += 1;
                    }
                }
            });
        }
    });
    let (_, _, inventory, failed) = pending.into_inner().unwrap_or_else(|e| e.into_inner());
    (inventory, failed)
}

/// Copies the originals of quarantined inputs to `dir` under the names the quarantine gives
/// them, with its index and README. Everything there is PHI.
fn write_quarantine(dir: &Path, inputs: &[PathBuf], held: &[Held]) -> io::Result<()> {
    if held.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    for h in held {
        fs::copy(&inputs[h.input_number - 1], dir.join(h.file_name()))?;
    }
    for (name, text) in quarantine::files(held) {
        write_atomically(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// Reads, de-identifies and stages one input (the parallel part). An input of
/// [`streamed::SPLIT_FROM`] bytes or more is split around its Pixel Data and written in chunks,
/// so that memory holds its header, not its pixels; one that cannot be split is read whole.
fn prepare(
    deidentifier: &Deidentifier,
    input: &Path,
    destination: &Destination,
    index: usize,
    verification: Option<&Verification<'_>>,
) -> Ready {
    let verify = verification.map(|v| (&v.config, v.names[index].as_str()));
    if let Some(ready) = prepare_split(deidentifier, input, destination, index, verify) {
        return ready;
    }
    let bytes = fs::read(input).map_err(|e| Error::read(e.kind()));
    let (result, check) = match (&bytes, verify) {
        (Ok(b), Some((config, name))) => deidentify_and_check(deidentifier, config, b, name),
        (Ok(b), None) => (deidentifier.deidentify(b), None),
        (Err(e), _) => (Err(e.clone()), None),
    };
    drop(bytes);
    let file_result = FileResult::of(&result);
    let d = match result {
        Ok(d) => d,
        Err(_) => {
            return Ready {
                result: file_result,
                output: None,
                check,
            };
        }
    };
    match destination.stage(index, &d.bytes) {
        Ok(staged) => Ready {
            result: file_result,
            output: Some((d.bytes, staged)),
            check,
        },
        Err(e) => write_failed(&e),
    }
}

/// The split path for a large input, or `None` to read it whole (small, or not splittable).
fn prepare_split(
    deidentifier: &Deidentifier,
    input: &Path,
    destination: &Destination,
    index: usize,
    verify: Option<(&VerifyConfig, &str)>,
) -> Option<Ready> {
    let mut file = fs::File::open(input).ok()?;
    if file.metadata().ok()?.len() < streamed::SPLIT_FROM {
        return None;
    }
    let (result, check) = streamed::prepare(deidentifier, &mut file, verify).ok()?;
    let prepared = match result {
        Ok(p) => p,
        Err(e) => {
            return Some(Ready {
                result: FileResult::rejected(&e),
                output: None,
                check,
            });
        }
    };
    let tmp = destination.temporary(index);
    let written = (|| {
        let mut out = BufWriter::new(fs::File::create(&tmp)?);
        let result = prepared.write(&mut file, &mut |b| out.write_all(b))?;
        out.flush()?;
        Ok::<_, io::Error>(result)
    })();
    Some(match written {
        Ok(result) => {
            let (size, crc) = match &result {
                FileResult::Processed(p) => (p.size, p.crc32),
                _ => (0, 0),
            };
            Ready {
                result,
                output: Some((Vec::new(), Staged::Stored { tmp, size, crc })),
                check,
            }
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            write_failed(&e)
        }
    })
}

fn write_failed(e: &io::Error) -> Ready {
    Ready {
        result: FileResult::rejected(&Error::Write(e.kind().to_string())),
        output: None,
        check: None,
    }
}

/// Commits one prepared input through the ledger (in input order, under the shared lock).
fn commit(g: &mut Shared, destination: &Destination, input: &Path, ready: Ready) -> Outcome {
    let Shared {
        ledger,
        jsonl,
        csv,
        verifier,
        ..
    } = g;
    let output = ready.output;
    let committed = ledger.commit(&input.to_string_lossy(), ready.result, |name| {
        let (bytes, staged) = output
            .as_ref()
            .ok_or_else(|| Error::Write("nothing staged".into()))?;
        destination
            .put(name, bytes, staged)
            .map_err(|e| Error::Write(e.kind().to_string()))
    });
    if !matches!(committed.outcome, Outcome::Written(_))
        && let Some((_, Staged::File(tmp) | Staged::Stored { tmp, .. })) = &output
    {
        let _ = fs::remove_file(tmp);
    }
    if let (Some(v), Some(check)) = (verifier.as_mut(), ready.check) {
        let name = match &committed.outcome {
            Outcome::Written(n) => Some(n.as_str()),
            _ => None,
        };
        v.commit(name, check);
    }
    if let Some(lines) = &committed.audit
        && jsonl
            .write(&lines.jsonl)
            .and_then(|_| csv.write(&lines.csv))
            .is_err()
    {
        eprintln!("warning: could not write an audit line");
    }
    committed.outcome
}
