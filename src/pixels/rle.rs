//! RLE Lossless (PS3.5 Annex G) encoding of one frame. dicom-rs decodes RLE but has no encoder,
//! and no well-kept crate offers one; the format is a header of segment offsets followed by one
//! PackBits-coded byte plane per sample byte.

/// Encodes one frame of interleaved little-endian samples (`samples` per pixel, `bytes` per
/// sample, `rows` × `columns` pixels) as one RLE fragment.
pub fn encode(frame: &[u8], rows: usize, columns: usize, samples: usize, bytes: usize) -> Vec<u8> {
    let segments = samples * bytes;
    debug_assert!(segments <= 15, "PS3.5 G.5 allows 15 segments");
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(&(segments as u32).to_le_bytes());
    let stride = samples * bytes;
    let mut plane = Vec::with_capacity(rows * columns);
    for s in 0..samples {
        // The most significant byte of each sample first (G.2).
        for b in (0..bytes).rev() {
            let seg = s * bytes + (bytes - 1 - b);
            let offset = out.len() as u32;
            out[4 + 4 * seg..8 + 4 * seg].copy_from_slice(&offset.to_le_bytes());
            plane.clear();
            plane.extend(frame.chunks_exact(stride).map(|px| px[s * bytes + b]));
            for row in plane.chunks(columns) {
                pack_bits(row, &mut out);
            }
            if out.len() % 2 == 1 {
                out.push(0);
            }
        }
    }
    out
}

/// PackBits one row (G.3.1: runs never cross a row): a run of 2 or more equal bytes becomes a
/// replicate run, anything else literal runs of at most 128 bytes.
fn pack_bits(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let run = row[i..]
            .iter()
            .take(128)
            .take_while(|&&b| b == row[i])
            .count();
        if run >= 2 {
            out.push((1 - run as i16) as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        let start = i;
        while i < row.len() && i - start < 128 && !(i + 1 < row.len() && row[i] == row[i + 1]) {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&row[start..i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference PackBits decoder, as PS3.5 G.3.1 describes it.
    fn unpack(seg: &[u8]) -> Vec<u8> {
        let (mut out, mut i) = (Vec::new(), 0);
        while i < seg.len() {
            let n = seg[i] as i8;
            i += 1;
            if n >= 0 {
                let end = (i + n as usize + 1).min(seg.len());
                out.extend_from_slice(&seg[i..end]);
                i = end;
            } else if n != -128 && i < seg.len() {
                out.extend(std::iter::repeat_n(seg[i], (1 - n as i16) as usize));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn round_trips_16_bit_rgb_planes_in_segment_order() {
        let (rows, cols) = (3, 300);
        let frame: Vec<u8> = (0..rows * cols * 3)
            .flat_map(|i| (((i / 7) % 5) as u16 * 0x0101 + (i % 300 > 150) as u16).to_le_bytes())
            .collect();
        let enc = encode(&frame, rows, cols, 3, 2);
        let n = u32::from_le_bytes(enc[..4].try_into().unwrap()) as usize;
        assert_eq!(n, 6);
        let off =
            |k: usize| u32::from_le_bytes(enc[4 + 4 * k..8 + 4 * k].try_into().unwrap()) as usize;
        for seg in 0..n {
            let end = if seg + 1 < n { off(seg + 1) } else { enc.len() };
            assert_eq!(off(seg) % 2, 0);
            let plane = unpack(&enc[off(seg)..end]);
            let (s, msb_first) = (seg / 2, seg % 2);
            let b = 1 - msb_first;
            let want: Vec<u8> = frame.chunks(6).map(|px| px[s * 2 + b]).collect();
            assert_eq!(&plane[..want.len()], &want[..], "segment {seg}");
        }
    }
}
