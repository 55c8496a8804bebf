//! Whole-CLI throughput and peak memory: generates a folder of CT slices, then runs the release
//! `dcm-deid` binary over it with 1 and 2 jobs, to a folder and to a zip, and prints files/s,
//! MB/s and the peak resident set of each run (from GNU time). Run with
//! `cargo bench --bench batch` (it builds the release binary first); figures go in BENCHMARKS.md.

#[path = "deidentify.rs"]
#[allow(dead_code)]
mod single;

use std::process::Command;
use std::time::Instant;

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
    let mut total = 0u64;
    for i in 0..files {
        let b = single::ct_slice(i);
        total += b.len() as u64;
        std::fs::write(input.join(format!("{i:05}.dcm")), b).unwrap();
    }
    let mb = total as f64 / 1e6;
    println!("{files} CT slices, {mb:.1} MB");
    let exe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/dcm-deid");
    let key = tmp.path().join("key");
    for (jobs, out) in [(1, "o1"), (2, "o2"), (1, "z1.zip"), (2, "z2.zip")] {
        let out = tmp.path().join(out);
        let t = Instant::now();
        let r = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&exe)
            .args([
                "deidentify",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--preset",
                "tcia",
                "--key",
            ])
            .arg(&key)
            .args(["--jobs", &jobs.to_string()])
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&r.stderr);
        let peak_kb: f64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(f64::NAN);
        println!(
            "jobs={jobs} output={:<6} {:7.1} files/s {:7.1} MB/s  peak RSS {:6.1} MB",
            if out.extension().is_some() {
                "zip"
            } else {
                "folder"
            },
            files as f64 / secs,
            mb / secs,
            peak_kb / 1024.0
        );
    }
}
