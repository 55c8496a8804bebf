//! Whole-CLI throughput, peak memory, and the cost beyond a plain copy: generates a folder of CT
//! slices, then runs the release `dcm-deid` binary over it (and over `BENCH_CORPUS`, a folder of
//! real files, when set) with 1 and 2 jobs, to a folder and to a zip, and prints files/s, MB/s,
//! the peak resident set (GNU time) and the ratio of the folder run's wall time to `cp -r` of the
//! same folder, both timed including a final `sync` (median of 3, caches warm). Run with
//! `cargo bench --bench batch` (it builds the release binary first); figures go in BENCHMARKS.md.

#[path = "deidentify.rs"]
#[allow(dead_code)]
mod single;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Wall time of a command followed by `sync`, and what it printed on stderr.
fn timed(cmd: &mut Command) -> (f64, String) {
    let t = Instant::now();
    let r = cmd.output().expect("run");
    Command::new("sync").status().expect("sync");
    (
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_set(name: &str, input: &Path, tmp: &Path, exe: &Path) {
    let files = walk(input);
    let mb = files
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum::<u64>() as f64
        / 1e6;
    println!("{name}: {} files, {mb:.1} MB", files.len());
    let key = tmp.join("key");
    let _ = std::fs::remove_file(&key);
    let copy = tmp.join("copy");
    let cp = median(
        (0..3)
            .map(|_| {
                let _ = std::fs::remove_dir_all(&copy);
                timed(Command::new("cp").arg("-r").arg(input).arg(&copy)).0
            })
            .collect(),
    );
    println!("  cp -r: {cp:.3} s");
    for (jobs, out) in [(1, "o"), (2, "o"), (1, "z.zip"), (2, "z.zip")] {
        let out = tmp.join(out);
        let mut runs = Vec::new();
        let mut peak_kb = f64::NAN;
        for _ in 0..3 {
            let _ = std::fs::remove_dir_all(&out);
            let _ = std::fs::remove_file(&out);
            let (secs, stderr) = timed(
                Command::new("/usr/bin/time")
                    .args(["-f", "%M"])
                    .arg(exe)
                    .arg("deidentify")
                    .arg(input)
                    .arg("-o")
                    .arg(&out)
                    .args(["--preset", "tcia", "--key"])
                    .arg(&key)
                    .args(["--jobs", &jobs.to_string()]),
            );
            peak_kb = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(f64::NAN);
            runs.push(secs);
        }
        let secs = median(runs);
        let kind = if out.extension().is_some() {
            "zip"
        } else {
            "folder"
        };
        println!(
            "  jobs={jobs} output={kind:<6} {:7.1} files/s {:7.1} MB/s  peak RSS {:6.1} MB  {:.2}× cp -r",
            files.len() as f64 / secs,
            mb / secs,
            peak_kb / 1024.0,
            secs / cp
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let files: usize = std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let status = Command::new("cargo")
        .args(["build", "--release", "--bin", "dcm-deid"])
        .status()
        .unwrap();
    assert!(status.success());
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for i in 0..files {
        std::fs::write(input.join(format!("{i:05}.dcm")), single::ct_slice(i)).unwrap();
    }
    let exe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/dcm-deid");
    bench_set(&format!("{files} CT slices"), &input, tmp.path(), &exe);
    if let Ok(corpus) = std::env::var("BENCH_CORPUS") {
        bench_set("corpus", Path::new(&corpus), tmp.path(), &exe);
    }
}
