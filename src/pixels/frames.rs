//! Which fragments of encapsulated Pixel Data make up each frame (PS3.5 A.4), found once so that
//! a cine loop costs linear time: from the Basic Offset Table, the Extended Offset Table, or by
//! looking for the start of each frame's codestream.

use std::ops::Range;

use crate::error::{Error, Result};

/// The fragments (indices into the fragment list, Basic Offset Table excluded) of each frame.
pub fn split(
    bot: &[u8],
    fragments: &[&[u8]],
    frames: u32,
    extended: Option<&[u8]>,
) -> Result<Vec<Range<usize>>> {
    let lengths: Vec<u64> = fragments.iter().map(|f| f.len() as u64).collect();
    split_by(bot, &lengths, frames, extended, &mut |i| {
        starts_frame(fragments[i])
    })
}

/// [`split`] for fragments known by their lengths (a large file's fragments stay in the file):
/// `starts(i)` says whether fragment `i` begins a codestream, asked only when no offset table
/// can say where the frames are.
pub fn split_by(
    bot: &[u8],
    lengths: &[u64],
    frames: u32,
    extended: Option<&[u8]>,
    starts: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<Range<usize>>> {
    let n = lengths.len();
    let frames = frames as usize;
    if n == 0 {
        return Err(unsplittable("no fragments"));
    }
    if frames == 1 {
        return Ok(std::iter::once(0..n).collect());
    }
    if n == frames {
        return Ok((0..n).map(|i| i..i + 1).collect());
    }
    let offsets: Vec<u64> = match extended {
        Some(eot) if eot.len() >= 8 * frames => eot
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        _ if bot.len() >= 4 * frames => bot
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()) as u64)
            .collect(),
        _ => return by_codestream_starts(n, frames, starts),
    };
    by_offsets(lengths, &offsets[..frames])
}

/// Frames from byte offsets of each frame's first fragment item, counted from the first item.
fn by_offsets(lengths: &[u64], offsets: &[u64]) -> Result<Vec<Range<usize>>> {
    let mut starts = Vec::with_capacity(lengths.len());
    let mut pos = 0u64;
    for len in lengths {
        starts.push(pos);
        pos += 8 + len;
    }
    let index_of = |offset: u64| {
        starts
            .binary_search(&offset)
            .map_err(|_| unsplittable("an offset table entry is not the start of a fragment"))
    };
    let mut firsts = offsets
        .iter()
        .map(|&o| index_of(o))
        .collect::<Result<Vec<_>>>()?;
    if firsts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(unsplittable("the offset table is not increasing"));
    }
    firsts.push(lengths.len());
    Ok(firsts.windows(2).map(|w| w[0]..w[1]).collect())
}

/// Frames from the fragments that begin a codestream (JPEG SOI, JPEG 2000 SOC or a JP2
/// signature box); used only when their number is the number of frames.
fn by_codestream_starts(
    n: usize,
    frames: usize,
    starts: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<Range<usize>>> {
    let mut firsts: Vec<usize> = (0..n).filter(|&i| starts(i)).collect();
    if firsts.len() != frames || firsts.first() != Some(&0) {
        return Err(unsplittable(
            "no offset table, and the fragments do not show where each frame starts",
        ));
    }
    firsts.push(n);
    Ok(firsts.windows(2).map(|w| w[0]..w[1]).collect())
}

/// Whether a fragment begins a codestream: JPEG SOI, a JPEG 2000 SOC and SIZ, a JP2 signature
/// box, a JPEG XL codestream signature or its container's signature box.
pub fn starts_frame(f: &[u8]) -> bool {
    f.starts_with(&[0xFF, 0xD8])
        || f.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
        || f.starts_with(&[0, 0, 0, 0x0C, b'j', b'P', b' ', b' '])
        || f.starts_with(&[0xFF, 0x0A])
        || f.starts_with(&[
            0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ])
}

fn unsplittable(why: &str) -> Error {
    Error::Unsupported(format!("pixel masking: cannot find the frames ({why})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 1, 2];
    const MORE: &[u8] = &[3, 4];

    #[test]
    fn frames_from_each_source() {
        let frags = [JPEG, MORE, JPEG, JPEG, MORE];
        let expect = vec![0..2, 2..3, 3..5];
        assert_eq!(split(&[], &frags, 3, None).unwrap(), expect, "by scanning");
        let bot: Vec<u8> = [0u32, 22, 34]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(split(&bot, &frags, 3, None).unwrap(), expect, "by the BOT");
        let eot: Vec<u8> = [0u64, 22, 34]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            split(&[], &frags, 3, Some(&eot)).unwrap(),
            expect,
            "by the EOT"
        );
        assert_eq!(
            split(&[], &frags[..3], 3, None).unwrap(),
            vec![0..1, 1..2, 2..3]
        );
        assert!(
            split(&[], &frags, 2, None).is_err(),
            "3 starts for 2 frames"
        );
        let bad: Vec<u8> = [0u32, 5, 34].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(split(&bad, &frags, 3, None).is_err());
    }

    #[test]
    fn jpeg_xl_codestreams_and_containers_start_frames() {
        let bare: &[u8] = &[0xFF, 0x0A, 0xFA, 0x7F];
        let boxed: &[u8] = &[
            0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A, 0,
        ];
        let frags = [bare, MORE, boxed, MORE];
        assert_eq!(split(&[], &frags, 2, None).unwrap(), vec![0..2, 2..4]);
        assert!(!starts_frame(&[0xFF, 0x0B]));
    }
}
