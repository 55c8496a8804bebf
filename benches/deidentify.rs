//! Single-file latency and throughput of `Deidentifier::deidentify` on generated objects:
//! a small CT slice, a large multi-frame object and a deeply nested structured report.
//! Run with `cargo bench --bench deidentify`; figures are recorded in BENCHMARKS.md.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dicom_deid::{Deidentifier, Options, ProjectKey};

/// A 512×512 16-bit CT slice (512 KiB of pixels).
pub fn ct_slice(i: usize) -> Vec<u8> {
    let mut els = ct_image(
        "PID-BENCH",
        "Bench^Patient",
        &format!("1.2.826.0.1.3680043.2.1125.8.{i}"),
    );
    els.retain(|e| e.tag != 0x7FE0_0010 && e.tag != 0x0028_0010 && e.tag != 0x0028_0011);
    els.push(bytes(0x0028_0010, "US", 512u16.to_le_bytes().to_vec()));
    els.push(bytes(0x0028_0011, "US", 512u16.to_le_bytes().to_vec()));
    els.push(bytes(
        0x7FE0_0010,
        "OW",
        (0..512 * 512 * 2).map(|b| (b * 7 % 251) as u8).collect(),
    ));
    els.push(text(0x0009_0010, "LO", "ACME 1.0"));
    for k in 0..40u32 {
        els.push(text(0x0009_1000 + k, "LO", "private value"));
    }
    file(&els, Syntax::ExplicitLe)
}

fn multiframe(frames: usize) -> Vec<u8> {
    let mut els = ct_image(
        "PID-BENCH",
        "Bench^Patient",
        "1.2.826.0.1.3680043.2.1125.8.999",
    );
    els.retain(|e| e.tag != 0x7FE0_0010);
    els.push(text(0x0028_0008, "IS", &frames.to_string()));
    let per_frame: Vec<Vec<El>> = (0..frames)
        .map(|f| {
            vec![seq(
                0x0020_9111,
                vec![vec![
                    text(0x0018_9074, "DT", "20210315101500"),
                    bytes(0x0020_9157, "UL", (f as u32).to_le_bytes().to_vec()),
                ]],
            )]
        })
        .collect();
    els.push(seq(0x5200_9230, per_frame));
    els.push(bytes(0x7FE0_0010, "OW", vec![0x5A; frames * 512 * 512 * 2]));
    file(&els, Syntax::ExplicitLe)
}

fn nested_sr(depth: usize, width: usize) -> Vec<u8> {
    fn level(d: usize, width: usize) -> Vec<Vec<El>> {
        (0..width)
            .map(|i| {
                let mut it = vec![
                    text(0x0040_A010, "CS", "CONTAINS"),
                    text(0x0040_A040, "CS", if d == 0 { "TEXT" } else { "CONTAINER" }),
                    seq(
                        0x0040_A043,
                        vec![vec![
                            text(0x0008_0100, "SH", "121071"),
                            text(0x0008_0102, "SH", "DCM"),
                        ]],
                    ),
                    text(
                        0x0040_A160,
                        "UT",
                        &format!("Finding {i} for Bench Patient, seen 2021-03-15"),
                    ),
                ];
                if d > 0 && i == 0 {
                    it.push(seq(0x0040_A730, level(d - 1, width)));
                }
                it
            })
            .collect()
    }
    let mut els = ct_image(
        "PID-BENCH",
        "Bench^Patient",
        "1.2.826.0.1.3680043.2.1125.8.1000",
    );
    els.retain(|e| e.tag != 0x7FE0_0010 && e.tag != 0x0008_0016);
    els.push(text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.88.22"));
    els.push(seq(0x0040_A730, level(depth, width)));
    file(&els, Syntax::ExplicitLe)
}

fn bench(c: &mut Criterion) {
    let key = ProjectKey::from_bytes([1; 32]);
    let tcia = Deidentifier::new(Options::tcia(), key.clone()).unwrap();
    let sr_opts = Options {
        clean_structured_content: true,
        clean_descriptors: true,
        ..Options::tcia()
    };
    let sr_session = Deidentifier::new(sr_opts, key).unwrap();
    let cases: [(&str, Vec<u8>, &Deidentifier); 3] = [
        ("ct_slice_512k", ct_slice(0), &tcia),
        ("multiframe_50x512k", multiframe(50), &tcia),
        ("sr_depth40_width5", nested_sr(40, 5), &sr_session),
    ];
    let mut g = c.benchmark_group("deidentify");
    for (name, input, s) in &cases {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| s.deidentify(std::hint::black_box(input)).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
