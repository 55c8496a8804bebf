//! Writes the benchmark set: N generated 512×512 CT slices (as in `benches/deidentify.rs`) into a
//! folder. Usage: `cargo run --release --example gen_bench_set -- DIR [N]`.

#[path = "../benches/deidentify.rs"]
#[allow(dead_code)]
mod single;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: gen_bench_set DIR [N]"));
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(200);
    std::fs::create_dir_all(&dir).expect("create the folder");
    for i in 0..n {
        std::fs::write(dir.join(format!("{i:05}.dcm")), single::ct_slice(i)).expect("write");
    }
    println!("{n} files in {}", dir.display());
}
