//! The random sample a curator inspects by eye (TCIA's practical guide: 5-10 % of the files, at
//! least 30): chosen from the written outputs by a seed, so the same seed over the same outputs
//! always gives the same files, and the log can say which.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The smallest sample, unless there are fewer files.
pub const MIN_SAMPLE: usize = 30;
/// The share of the files sampled, in percent.
pub const SAMPLE_PERCENT: usize = 5;

/// How many of `n` files the sample holds.
pub fn size(n: usize) -> usize {
    (n * SAMPLE_PERCENT).div_ceil(100).max(MIN_SAMPLE).min(n)
}

/// The sample of `names` for `seed`: the indices of the chosen names, in the names' order. The
/// choice depends on each name and the seed only, not on the order the names came in.
pub fn choose(names: &[String], seed: u64) -> Vec<usize> {
    let mut ranked: Vec<(u64, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (xxh3_64_with_seed(n.as_bytes(), seed), i))
        .collect();
    ranked.sort_unstable();
    let mut chosen: Vec<usize> = ranked
        .into_iter()
        .take(size(names.len()))
        .map(|(_, i)| i)
        .collect();
    chosen.sort_unstable();
    chosen
}

/// `review_sample-noPHI.csv`: the sampled outputs with empty columns for the reviewer.
pub fn csv(seed: u64, names: &[String], chosen: &[usize]) -> String {
    let mut out = String::from(HEADER);
    for &i in chosen {
        out.push_str(&crate::output::audit::csv_row(&[
            &seed.to_string(),
            &names[i],
            "",
            "",
            "",
            "",
        ]));
    }
    out
}

/// Columns of `review_sample-noPHI.csv`; `decision` is ok, needs_mask or exclude.
pub const HEADER: &str = "sample_seed,output_file,decision,reviewer,reviewed_at_utc,note\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_reproducible_and_sized() {
        let names: Vec<String> = (0..1000).map(|i| format!("P/{i}.dcm")).collect();
        let a = choose(&names, 7);
        assert_eq!(a.len(), 50);
        assert_eq!(a, choose(&names, 7));
        assert_ne!(a, choose(&names, 8));
        let mut reversed = names.clone();
        reversed.reverse();
        let b: Vec<&String> = choose(&reversed, 7).iter().map(|&i| &reversed[i]).collect();
        let mut b: Vec<&String> = b;
        b.sort();
        let mut a2: Vec<&String> = a.iter().map(|&i| &names[i]).collect();
        a2.sort();
        assert_eq!(a2, b, "the choice does not depend on the order");
        assert_eq!(size(10), 10);
        assert_eq!(size(100), 30);
    }
}
