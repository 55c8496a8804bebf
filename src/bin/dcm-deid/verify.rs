//! `dcm-deid verify`: residual-PHI verification of outputs made earlier, on demand. The
//! originals are harvested and each output (a folder or a zip) is paired with its input by the
//! SOP Instance UID the input's output has under the key; the library does the rest.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use dicom_deid::review::verify::{
    DETAIL_PHI_CSV, NO_PHI_CSV, expected_sop_instance_uid, sop_instance_uid,
};
use dicom_deid::review::{Report, Verifier, VerifyConfig, check_file};

/// How many files are read and checked between two ordered commits.
const CHUNK: usize = 256;

/// Runs `f` on every item on `jobs` threads; results in item order.
fn par_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items.len() {
                        break;
                    }
                    let r = f(&items[i]);
                    *out[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item mapped")
        })
        .collect()
}

/// The outputs to check: the files of a folder, or the entries of a zip.
pub enum Outputs {
    Folder(PathBuf, Vec<String>),
    Zip(PathBuf, Vec<ZipEntry>),
}

/// Whether a name in the output is a de-identified file (not the audit or a report).
fn is_output_file(name: &str) -> bool {
    name.ends_with(".dcm")
}

impl Outputs {
    pub fn open(path: &Path) -> io::Result<Outputs> {
        if path.is_dir() {
            let mut names: Vec<String> = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .filter_map(|e| {
                    let rel = e.path().strip_prefix(path).ok()?;
                    let name = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    is_output_file(&name).then_some(name)
                })
                .collect();
            names.sort();
            Ok(Outputs::Folder(path.to_path_buf(), names))
        } else {
            let mut entries = zip_entries(&mut fs::File::open(path)?)?;
            entries.retain(|e| is_output_file(&e.name));
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Outputs::Zip(path.to_path_buf(), entries))
        }
    }

    fn len(&self) -> usize {
        match self {
            Outputs::Folder(_, n) => n.len(),
            Outputs::Zip(_, e) => e.len(),
        }
    }

    fn name(&self, i: usize) -> &str {
        match self {
            Outputs::Folder(_, n) => &n[i],
            Outputs::Zip(_, e) => &e[i].name,
        }
    }

    fn read(&self, i: usize) -> io::Result<Vec<u8>> {
        match self {
            Outputs::Folder(dir, n) => fs::read(dir.join(&n[i])),
            Outputs::Zip(path, e) => e[i].read(&mut fs::File::open(path)?),
        }
    }
}

/// Verifies `output` against the `originals` (named for the harvest by `names`). Also returns
/// how many outputs found no original (their values cannot be told kept from written).
pub fn run(
    cfg: &VerifyConfig,
    originals: &[PathBuf],
    names: &[String],
    output: &Path,
    jobs: usize,
    progress: &(dyn Fn() + Sync),
) -> anyhow::Result<(Report, usize)> {
    let outputs = Outputs::open(output)?;
    let mut unpaired = 0;
    // Pass 1: the SOP Instance UID each original's output has.
    let mut by_uid: HashMap<String, Vec<usize>> = HashMap::new();
    let indices: Vec<usize> = (0..originals.len()).collect();
    for chunk in indices.chunks(CHUNK) {
        let uids = par_map(chunk, jobs, |&i| {
            fs::read(&originals[i])
                .ok()
                .and_then(|b| expected_sop_instance_uid(cfg, &b))
        });
        for (&i, uid) in chunk.iter().zip(uids) {
            if let Some(u) = uid {
                by_uid.entry(u).or_default().push(i);
            }
        }
    }
    // Each output's UID, then its original: several originals may share a UID (copies, or
    // files some system gave one UID), and each output takes the next of them, in name order.
    let out_indices: Vec<usize> = (0..outputs.len()).collect();
    let mut out_uids = Vec::with_capacity(outputs.len());
    for chunk in out_indices.chunks(CHUNK) {
        out_uids.extend(par_map(chunk, jobs, |&j| {
            outputs.read(j).ok().and_then(|b| sop_instance_uid(&b))
        }));
    }
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let pairs: Vec<(usize, Option<usize>)> = out_uids
        .iter()
        .enumerate()
        .map(|(j, uid)| {
            let input = uid.as_deref().and_then(|u| {
                let (key, candidates) = by_uid.get_key_value(u)?;
                let n = taken.entry(key.as_str()).or_default();
                let i = candidates.get(*n).or(candidates.last()).copied();
                *n += 1;
                i
            });
            (j, input)
        })
        .collect();
    // Pass 2: each output with its original, committed in name order.
    let mut verifier = Verifier::new(cfg);
    let mut used = vec![false; originals.len()];
    for paired in pairs.chunks(CHUNK) {
        let checks = par_map(paired, jobs, |&(j, input)| {
            let bytes = outputs.read(j).ok()?;
            let input_bytes = input.and_then(|i| fs::read(&originals[i]).ok());
            let name = input.map_or("", |i| names[i].as_str());
            let check = check_file(cfg, input_bytes.as_deref(), name, Some(&bytes));
            progress();
            Some((input, check))
        });
        for (&(j, _), c) in paired.iter().zip(checks) {
            let Some((input, check)) = c else {
                anyhow::bail!("cannot read an output file");
            };
            match input {
                Some(i) => used[i] = true,
                None => unpaired += 1,
            }
            verifier.commit(Some(outputs.name(j)), check);
        }
    }
    // Originals with no output (skipped, held back): their identifiers still count.
    let rest: Vec<usize> = (0..originals.len()).filter(|&i| !used[i]).collect();
    for chunk in rest.chunks(CHUNK) {
        let checks = par_map(chunk, jobs, |&i| {
            let check = fs::read(&originals[i])
                .ok()
                .map(|b| check_file(cfg, Some(&b), &names[i], None));
            progress();
            check
        });
        for check in checks.into_iter().flatten() {
            verifier.commit(None, check);
        }
    }
    Ok((verifier.finish(), unpaired))
}

/// Writes the report into `dir` and the PHI detail into `detail` (when given).
pub fn write(report: &Report, dir: &Path, detail: Option<&Path>) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    crate::batch::write_atomically(&dir.join(NO_PHI_CSV), report.no_phi_csv().as_bytes())?;
    if let Some(d) = detail {
        fs::create_dir_all(d)?;
        crate::batch::write_atomically(
            &d.join(DETAIL_PHI_CSV),
            report.detail_phi_csv().as_bytes(),
        )?;
    }
    Ok(())
}

/// One entry of a zip's central directory.
pub struct ZipEntry {
    name: String,
    method: u16,
    compressed: u64,
    size: u64,
    offset: u64,
}

impl ZipEntry {
    /// The entry's bytes (stored or deflated).
    fn read(&self, f: &mut fs::File) -> io::Result<Vec<u8>> {
        let mut h = [0u8; 30];
        f.seek(SeekFrom::Start(self.offset))?;
        f.read_exact(&mut h)?;
        if le32(&h, 0) != 0x0403_4b50 {
            return Err(io::Error::other("zip: bad local header"));
        }
        let skip = le16(&h, 26) as i64 + le16(&h, 28) as i64;
        f.seek(SeekFrom::Current(skip))?;
        let mut data = Vec::new();
        f.take(self.compressed).read_to_end(&mut data)?;
        match self.method {
            0 => Ok(data),
            8 => {
                let mut out = Vec::with_capacity(self.size.min(1 << 30) as usize);
                flate2::read::DeflateDecoder::new(&data[..]).read_to_end(&mut out)?;
                Ok(out)
            }
            _ => Err(io::Error::other("zip: unsupported compression method")),
        }
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The central directory of a zip (PKWARE APPNOTE 6.3, zip64 included).
fn zip_entries(f: &mut fs::File) -> io::Result<Vec<ZipEntry>> {
    let bad = |what: &str| io::Error::other(format!("zip: {what}"));
    let len = f.seek(SeekFrom::End(0))?;
    let tail_len = len.min(65_557 + 20) as usize;
    let mut tail = vec![0u8; tail_len];
    f.seek(SeekFrom::Start(len - tail_len as u64))?;
    f.read_exact(&mut tail)?;
    let eocd = (0..=tail_len.saturating_sub(22))
        .rev()
        .find(|&i| le32(&tail, i) == 0x0605_4b50)
        .ok_or_else(|| bad("no end of central directory"))?;
    let mut count = le16(&tail, eocd + 10) as u64;
    let mut cd_size = le32(&tail, eocd + 12) as u64;
    let mut cd_offset = le32(&tail, eocd + 16) as u64;
    if eocd >= 20 && le32(&tail, eocd - 20) == 0x0706_4b50 {
        let at = le64(&tail, eocd - 20 + 8);
        let mut z = [0u8; 56];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut z)?;
        if le32(&z, 0) != 0x0606_4b50 {
            return Err(bad("bad zip64 end record"));
        }
        count = le64(&z, 32);
        cd_size = le64(&z, 40);
        cd_offset = le64(&z, 48);
    }
    let mut cd = vec![0u8; usize::try_from(cd_size).map_err(|_| bad("directory too large"))?];
    f.seek(SeekFrom::Start(cd_offset))?;
    f.read_exact(&mut cd)?;
    let mut entries = Vec::new();
    let mut p = 0;
    for _ in 0..count {
        if p + 46 > cd.len() || le32(&cd, p) != 0x0201_4b50 {
            return Err(bad("bad central directory"));
        }
        let method = le16(&cd, p + 10);
        let mut compressed = le32(&cd, p + 20) as u64;
        let mut size = le32(&cd, p + 24) as u64;
        let name_len = le16(&cd, p + 28) as usize;
        let extra_len = le16(&cd, p + 30) as usize;
        let comment_len = le16(&cd, p + 32) as usize;
        let mut offset = le32(&cd, p + 42) as u64;
        let end = p + 46 + name_len + extra_len + comment_len;
        if end > cd.len() {
            return Err(bad("bad central directory"));
        }
        let name = String::from_utf8_lossy(&cd[p + 46..p + 46 + name_len]).into_owned();
        // The zip64 extra field holds, in order, the fields that are 0xFFFFFFFF.
        let mut x = p + 46 + name_len;
        let extra_end = x + extra_len;
        while x + 4 <= extra_end {
            let (id, n) = (le16(&cd, x), le16(&cd, x + 2) as usize);
            if id == 0x0001 {
                let mut q = x + 4;
                for field in [&mut size, &mut compressed, &mut offset] {
                    if *field == u32::MAX as u64 && q + 8 <= x + 4 + n {
                        *field = le64(&cd, q);
                        q += 8;
                    }
                }
            }
            x += 4 + n;
        }
        entries.push(ZipEntry {
            name,
            method,
            compressed,
            size,
            offset,
        });
        p = end;
    }
    Ok(entries)
}
