//! A sequential Huffman JPEG decoder (ITU T.81, SOF0/SOF1) for one-component frames of 12-bit
//! precision, which jpeg-decoder (behind the registry) refuses ("unsupported JPEG feature:
//! SamplePrecision(12)"): JPEG Extended (1.2.840.10008.1.2.4.51) is how many older MR, CT and
//! XA archives are stored (12 corpus files, the WG04 JPLY set among them). Grey only: colour
//! 12-bit JPEG is rare and stays refused. Float IDCT, so values may differ by one from
//! libjpeg's integer one.

use crate::error::{Error, Result};

/// The natural-order index of each zig-zag position (T.81 Figure A.6).
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

fn bad(why: &str) -> Error {
    Error::Unsupported(format!("a 12-bit JPEG frame could not be decoded ({why})"))
}

/// The sample precision of a JPEG stream's frame header, if it has a sequential Huffman one.
pub(crate) fn precision(stream: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 4 < stream.len() && stream[i] == 0xFF {
        let marker = stream[i + 1];
        if matches!(marker, 0xC0 | 0xC1) {
            return stream.get(i + 4).copied();
        }
        if matches!(marker, 0xD8 | 0x01 | 0xD0..=0xD7 | 0xFF) {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        i += 2 + u16::from_be_bytes([stream[i + 2], stream[i + 3]]) as usize;
    }
    None
}

/// A Huffman table as T.81 F.2.2.3 decodes it: per code length, the largest code and where
/// its values start.
#[derive(Clone, Default)]
struct Huffman {
    mincode: [i32; 17],
    maxcode: [i32; 17],
    valptr: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8], values: &[u8]) -> Huffman {
        let mut h = Huffman {
            values: values.to_vec(),
            ..Huffman::default()
        };
        let (mut code, mut k) = (0i32, 0i32);
        for l in 1..=16 {
            let n = counts[l - 1] as i32;
            h.valptr[l] = k;
            h.mincode[l] = code;
            code += n;
            k += n;
            h.maxcode[l] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        h
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u8> {
        let mut code = 0i32;
        for l in 1..=16 {
            code = (code << 1) | b.bit() as i32;
            if code <= self.maxcode[l] {
                let i = (self.valptr[l] + code - self.mincode[l]) as usize;
                return self
                    .values
                    .get(i)
                    .copied()
                    .ok_or_else(|| bad("a bad Huffman code"));
            }
        }
        Err(bad("a bad Huffman code"))
    }
}

/// Entropy-coded bits, MSB first, with stuffed zero bytes removed; a marker yields zeros.
struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> u32 {
        if self.n == 0 {
            self.acc = match (self.d.get(self.pos), self.d.get(self.pos + 1)) {
                (Some(0xFF), Some(0)) => {
                    self.pos += 2;
                    0xFF
                }
                (Some(0xFF), _) | (None, _) => 0,
                (Some(&b), _) => {
                    self.pos += 1;
                    b as u32
                }
            };
            self.n = 8;
        }
        self.n -= 1;
        (self.acc >> self.n) & 1
    }

    fn bits(&mut self, k: u32) -> u32 {
        (0..k).fold(0, |v, _| (v << 1) | self.bit())
    }

    /// Drops the rest of the byte and the restart marker that follows.
    fn restart(&mut self) {
        self.n = 0;
        while self.d.get(self.pos) == Some(&0xFF) && self.d.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        if self.d.get(self.pos) == Some(&0xFF)
            && matches!(self.d.get(self.pos + 1), Some(0xD0..=0xD7))
        {
            self.pos += 2;
        }
    }
}

/// T.81 F.2.2.1 EXTEND.
fn extend(v: u32, t: u32) -> i32 {
    if t == 0 {
        0
    } else if v < 1 << (t - 1) {
        v as i32 - (1 << t) + 1
    } else {
        v as i32
    }
}

/// The tables and frame header read before the scan.
struct Header {
    quant: [[u16; 64]; 4],
    dc: [Huffman; 4],
    ac: [Huffman; 4],
    restart: usize,
    width: usize,
    height: usize,
    precision: u8,
    tq: usize,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            quant: [[1; 64]; 4],
            dc: Default::default(),
            ac: Default::default(),
            restart: 0,
            width: 0,
            height: 0,
            precision: 0,
            tq: 0,
        }
    }
}

/// Decodes a one-component frame into little-endian 16-bit samples, `width × height`.
pub(crate) fn decode(stream: &[u8]) -> Result<(Vec<u8>, usize, usize)> {
    let mut h = Header::default();
    let mut i = 2;
    while i + 4 <= stream.len() {
        if stream[i] != 0xFF {
            return Err(bad("a marker was expected"));
        }
        let marker = stream[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([stream[i + 2], stream[i + 3]]) as usize;
        let body = stream
            .get(i + 4..i + 2 + len)
            .ok_or_else(|| bad("a segment runs past the end"))?;
        match marker {
            0xDB => dqt(&mut h, body)?,
            0xC4 => dht(&mut h, body)?,
            0xC0 | 0xC1 => sof(&mut h, body)?,
            0xDD => h.restart = u16::from_be_bytes([body[0], body[1]]) as usize,
            0xDA => return scan(&h, body, &stream[i + 2 + len..]),
            0xC2..=0xCF => return Err(bad("not a sequential Huffman frame")),
            _ => {}
        }
        i += 2 + len;
    }
    Err(bad("no scan"))
}

fn dqt(h: &mut Header, mut p: &[u8]) -> Result<()> {
    while !p.is_empty() {
        let (wide, id) = (p[0] >> 4 == 1, (p[0] & 3) as usize);
        let size = if wide { 128 } else { 64 };
        let t = p.get(1..1 + size).ok_or_else(|| bad("a short DQT"))?;
        for k in 0..64 {
            h.quant[id][k] = if wide {
                u16::from_be_bytes([t[2 * k], t[2 * k + 1]])
            } else {
                t[k] as u16
            };
        }
        p = &p[1 + size..];
    }
    Ok(())
}

fn dht(h: &mut Header, mut p: &[u8]) -> Result<()> {
    while p.len() >= 17 {
        let (class, id) = (p[0] >> 4, (p[0] & 3) as usize);
        let counts = &p[1..17];
        let n: usize = counts.iter().map(|&c| c as usize).sum();
        let values = p.get(17..17 + n).ok_or_else(|| bad("a short DHT"))?;
        let t = Huffman::new(counts, values);
        if class == 0 {
            h.dc[id] = t;
        } else {
            h.ac[id] = t;
        }
        p = &p[17 + n..];
    }
    Ok(())
}

fn sof(h: &mut Header, p: &[u8]) -> Result<()> {
    if p.len() < 9 || p[5] != 1 {
        return Err(bad("not a one-component frame"));
    }
    h.precision = p[0];
    h.height = u16::from_be_bytes([p[1], p[2]]) as usize;
    h.width = u16::from_be_bytes([p[3], p[4]]) as usize;
    h.tq = (p[8] & 3) as usize;
    if h.width == 0 || h.height == 0 || !(8..=12).contains(&h.precision) {
        return Err(bad("an unusable frame header"));
    }
    Ok(())
}

/// The one scan: every 8×8 block of the component, in raster order (T.81 A.2.2).
fn scan(h: &Header, sos: &[u8], data: &[u8]) -> Result<(Vec<u8>, usize, usize)> {
    if sos.first() != Some(&1) || sos.len() < 3 {
        return Err(bad("not a one-component scan"));
    }
    let (dc, ac) = (
        &h.dc[(sos[2] >> 4) as usize & 3],
        &h.ac[(sos[2] & 3) as usize],
    );
    let q = &h.quant[h.tq];
    let (bx, by) = (h.width.div_ceil(8), h.height.div_ceil(8));
    let cos = cosines();
    let max = (1i32 << h.precision) - 1;
    let shift = 1i32 << (h.precision - 1);
    let mut out = vec![0u16; h.width * h.height];
    let mut bits = Bits {
        d: data,
        pos: 0,
        acc: 0,
        n: 0,
    };
    let mut pred = 0i32;
    for n in 0..bx * by {
        if h.restart > 0 && n > 0 && n % h.restart == 0 {
            bits.restart();
            pred = 0;
        }
        let mut coef = [0f32; 64];
        let t = dc.decode(&mut bits)? as u32;
        pred += extend(bits.bits(t), t);
        coef[0] = (pred * q[0] as i32) as f32;
        let mut k = 1;
        while k < 64 {
            let rs = ac.decode(&mut bits)?;
            let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
            if s == 0 {
                if r != 15 {
                    break;
                }
                k += 16;
                continue;
            }
            k += r;
            if k > 63 {
                return Err(bad("a coefficient past the block"));
            }
            coef[ZIGZAG[k]] = (extend(bits.bits(s), s) * q[k] as i32) as f32;
            k += 1;
        }
        let block = idct(&coef, &cos);
        let (x0, y0) = ((n % bx) * 8, (n / bx) * 8);
        for (j, row) in block
            .chunks_exact(8)
            .enumerate()
            .filter(|(j, _)| y0 + j < h.height)
        {
            for (i, &v) in row.iter().enumerate().filter(|(i, _)| x0 + i < h.width) {
                let v = (v.round() as i32 + shift).clamp(0, max);
                out[(y0 + j) * h.width + x0 + i] = v as u16;
            }
        }
    }
    let bytes = out.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok((bytes, h.width, h.height))
}

/// `c[x][u] = C(u)/2 · cos((2x+1)uπ/16)`, the 1-D factors of T.81 A.3.3's inverse DCT.
fn cosines() -> [[f32; 8]; 8] {
    let mut c = [[0f32; 8]; 8];
    for (x, row) in c.iter_mut().enumerate() {
        for (u, v) in row.iter_mut().enumerate() {
            let cu = if u == 0 {
                std::f32::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            *v = cu / 2.0 * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
        }
    }
    c
}

/// The separable 8×8 inverse DCT: rows, then columns.
fn idct(f: &[f32; 64], c: &[[f32; 8]; 8]) -> [f32; 64] {
    let mut tmp = [0f32; 64];
    for v in 0..8 {
        for x in 0..8 {
            tmp[v * 8 + x] = (0..8).map(|u| c[x][u] * f[v * 8 + u]).sum();
        }
    }
    let mut out = [0f32; 64];
    for y in 0..8 {
        for x in 0..8 {
            out[y * 8 + x] = (0..8).map(|v| c[y][v] * tmp[v * 8 + x]).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idct_of_a_dc_block_is_flat() {
        let mut f = [0f32; 64];
        f[0] = 80.0;
        for v in idct(&f, &cosines()) {
            assert!((v - 10.0).abs() < 1e-4, "{v}");
        }
    }

    #[test]
    fn extend_matches_t81() {
        assert_eq!(
            [extend(0, 1), extend(1, 1), extend(2, 3), extend(5, 3)],
            [-1, 1, -5, 5]
        );
    }
}
