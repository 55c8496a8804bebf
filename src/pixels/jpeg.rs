//! Masking burned-in text in one baseline (SOF0) or extended-Huffman (SOF1, 8 or 12 bit) JPEG
//! frame in the DCT domain, lossless outside the mask (the approach of PixelMed's DicomCleaner,
//! with a true black fill: `notes/pixels.md` §4.2).
//!
//! Every 8×8 block that meets a mask rectangle loses its AC coefficients and gets the DC of the
//! darkest level (neutral chrominance for YCbCr chroma). DC is coded as a difference from the
//! previous block of the same component, so the first unmasked block after a masked run gets its
//! difference re-coded too; the bits of every other block are copied as read, and restart
//! intervals without a changed block are copied byte for byte. When a table lacks a code the
//! new values need, that scan gets optimal Huffman tables built from its own statistics (ITU
//! T.81 K.2) and every block is re-coded with them, coefficients unchanged.
//!
//! Segments that are not image data and may hold text (COM, APPn other than JFIF APP0 and Adobe
//! APP14, a JFIF thumbnail) are dropped; so is anything after EOI.

use crate::error::{Error, Result};
use crate::pixels::image::ImageInfo;
use crate::pixels::regions::Rect;

/// Masks the blocks of one JPEG frame (SOI … EOI) that meet any of `rects` (pixel boxes of the
/// image) and returns the new frame. Frames with nothing to mask come back byte for byte, less
/// the segments that may hold text. Refuses (so that the caller can quarantine) progressive,
/// lossless, hierarchical and arithmetic-coded JPEG, and frames whose size or component count
/// differ from the image's.
pub fn mask_frame(frame: &[u8], info: &ImageInfo, rects: &[Rect]) -> Result<Vec<u8>> {
    mask_with(frame, info, rects, Options::default()).map(|(out, _)| out)
}

/// Knobs the tests turn to drive the slower paths on every frame.
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    /// Decode and re-emit every scan even when no block is masked.
    decode_all: bool,
    /// Re-emit unchanged restart intervals through the bit writer instead of copying them.
    no_verbatim: bool,
    /// Rebuild the Huffman tables of every re-emitted scan.
    force_rebuild: bool,
}

/// What masking one frame did (for tests and measurements).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Report {
    masked_blocks: usize,
    rebuilt_tables: usize,
}

fn mask_with(
    frame: &[u8],
    info: &ImageInfo,
    rects: &[Rect],
    opts: Options,
) -> Result<(Vec<u8>, Report)> {
    Masker {
        input: frame,
        info,
        rects,
        opts,
        out: Vec::with_capacity(frame.len() + 1024),
        quant: [None; 4],
        tables_in: Default::default(),
        tables_out: Default::default(),
        restart: 0,
        frame: None,
        jfif: false,
        adobe_transform: None,
        any_masked: false,
        scans: 0,
        report: Report::default(),
    }
    .run()
}

fn bad(why: &str) -> Error {
    Error::Unsupported(format!("pixel masking: JPEG {why}"))
}

/// Largest DC value accepted (valid streams stay within ±2^15).
const DC_LIMIT: i32 = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u32,
    v: u32,
    tq: usize,
}

#[derive(Debug, Clone)]
struct FrameHeader {
    precision: u32,
    width: u32,
    /// From the frame header, or Rows when the frame header leaves it to a DNL segment.
    height: u32,
    comps: Vec<Component>,
    hmax: u32,
    vmax: u32,
}

impl FrameHeader {
    fn mcus_x(&self) -> u32 {
        self.width.div_ceil(8 * self.hmax)
    }

    fn mcus_y(&self) -> u32 {
        self.height.div_ceil(8 * self.vmax)
    }

    /// Blocks per line and block rows of a component in a scan of its own (T.81 A.2.2).
    fn comp_blocks(&self, c: &Component) -> (u32, u32) {
        let w = (self.width as u64 * c.h as u64).div_ceil(self.hmax as u64);
        let h = (self.height as u64 * c.v as u64).div_ceil(self.vmax as u64);
        (w.div_ceil(8) as u32, h.div_ceil(8) as u32)
    }

    /// Whether block (bx, by) of a component covers a pixel of any rectangle.
    fn block_meets(&self, c: &Component, bx: u32, by: u32, rects: &[Rect]) -> bool {
        let span = |b: u32, max: u32, s: u32| {
            let lo = b as u64 * 8 * max as u64 / s as u64;
            let hi = ((b as u64 + 1) * 8 * max as u64).div_ceil(s as u64);
            let lo = lo.min(u32::MAX as u64) as u32;
            (lo, (hi.min(u32::MAX as u64) as u32) - lo)
        };
        let (x, w) = span(bx, self.hmax, c.h);
        let (y, h) = span(by, self.vmax, c.v);
        rects.iter().any(|r| r.meets(x, y, w, h))
    }
}

/// A Huffman table as DHT gives it: code counts per length 1..=16 and the symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    counts: [u8; 16],
    values: Vec<u8>,
}

/// A Huffman table ready to decode and encode.
#[derive(Debug, Clone)]
struct Huffman {
    spec: Spec,
    /// By the next 9 bits: code length << 8 | symbol, or 0 for a longer code.
    lut: Vec<u16>,
    maxcode: [i32; 17],
    valoff: [i32; 17],
    code: [u16; 256],
    len: [u8; 256],
}

const LUT_BITS: u32 = 9;

impl Huffman {
    fn new(spec: Spec, dc: bool) -> Result<Huffman> {
        let total: usize = spec.counts.iter().map(|&n| n as usize).sum();
        if total != spec.values.len() || total > 256 || (dc && spec.values.iter().any(|&v| v > 15))
        {
            return Err(bad("has an invalid Huffman table"));
        }
        let mut h = Huffman {
            lut: vec![0; 1 << LUT_BITS],
            maxcode: [-1; 17],
            valoff: [0; 17],
            code: [0; 256],
            len: [0; 256],
            spec,
        };
        let mut code = 0u32;
        let mut k = 0usize;
        for l in 1..=16u32 {
            let n = h.spec.counts[l as usize - 1] as u32;
            h.valoff[l as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= 1 << l {
                    return Err(bad("has an invalid Huffman table"));
                }
                let sym = h.spec.values[k];
                if l <= LUT_BITS {
                    let first = (code << (LUT_BITS - l)) as usize;
                    let entry = (l as u16) << 8 | sym as u16;
                    h.lut[first..first + (1 << (LUT_BITS - l))].fill(entry);
                }
                if h.len[sym as usize] == 0 {
                    h.code[sym as usize] = code as u16;
                    h.len[sym as usize] = l as u8;
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                h.maxcode[l as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(h)
    }

    fn has(&self, sym: u8) -> bool {
        self.len[sym as usize] != 0
    }

    fn decode(&self, r: &mut BitReader<'_>) -> Result<u8> {
        let w = r.peek32();
        let e = self.lut[(w >> (32 - LUT_BITS)) as usize];
        if e != 0 {
            r.pos += (e >> 8) as usize;
            return Ok(e as u8);
        }
        for l in LUT_BITS + 1..=16 {
            let code = (w >> (32 - l)) as i32;
            if code <= self.maxcode[l as usize] {
                r.pos += l as usize;
                return Ok(self.spec.values[(code + self.valoff[l as usize]) as usize]);
            }
        }
        Err(bad(
            "entropy data holds a code that its Huffman table lacks",
        ))
    }
}

/// Optimal code lengths for symbol frequencies, limited to 16 bits (ITU T.81 K.2, Figures K.1
/// to K.4, with one code point reserved so that no code is all 1-bits).
fn optimal_spec(freq: &[u64; 256]) -> Result<Spec> {
    const NONE: usize = usize::MAX;
    let mut f = [0u64; 257];
    f[..256].copy_from_slice(freq);
    f[256] = 1;
    if freq.iter().all(|&n| n == 0) {
        return Err(bad("scan has no symbols to build a Huffman table from"));
    }
    let mut size = [0usize; 257];
    let mut others = [NONE; 257];
    loop {
        // The least frequency, the largest symbol on ties; then the next least.
        let mut c1 = NONE;
        for (i, &n) in f.iter().enumerate() {
            if n > 0 && (c1 == NONE || n <= f[c1]) {
                c1 = i;
            }
        }
        let mut c2 = NONE;
        for (i, &n) in f.iter().enumerate() {
            if i != c1 && n > 0 && (c2 == NONE || n <= f[c2]) {
                c2 = i;
            }
        }
        if c2 == NONE {
            break;
        }
        f[c1] += f[c2];
        f[c2] = 0;
        let mut v = c1;
        size[v] += 1;
        while others[v] != NONE {
            v = others[v];
            size[v] += 1;
        }
        others[v] = c2;
        let mut v = c2;
        size[v] += 1;
        while others[v] != NONE {
            v = others[v];
            size[v] += 1;
        }
    }
    let mut bits = vec![0u32; 260];
    for &s in &size {
        if s > 0 {
            bits[s] += 1;
        }
    }
    let mut i = bits.len() - 1;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    let mut counts = [0u8; 16];
    for (l, c) in counts.iter_mut().enumerate() {
        *c = bits[l + 1] as u8;
    }
    let mut values = Vec::new();
    for l in 1..=256usize {
        for (sym, &s) in size[..256].iter().enumerate() {
            if s == l {
                values.push(sym as u8);
            }
        }
    }
    Ok(Spec { counts, values })
}

/// Reads bits, most significant first, from entropy-coded data with the stuffing removed.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> BitReader<'a> {
        BitReader { data, pos }
    }

    fn bits(&self) -> usize {
        self.data.len() * 8
    }

    /// The next 32 bits (zeros past the end).
    fn peek32(&self) -> u32 {
        let i = self.pos >> 3;
        let w = match self.data.get(i..i + 8) {
            Some(s) => u64::from_be_bytes(s.try_into().unwrap_or_default()),
            None => {
                let mut w = 0u64;
                for k in 0..8 {
                    w = w << 8 | *self.data.get(i + k).unwrap_or(&0) as u64;
                }
                w
            }
        };
        ((w << (self.pos & 7)) >> 32) as u32
    }

    /// `n` (1..=16) bits as a signed value of category `n` (T.81 F.2.2.1 EXTEND).
    fn receive_extend(&mut self, n: u32) -> i32 {
        let v = (self.peek32() >> (32 - n)) as i32;
        self.pos += n as usize;
        if v < 1 << (n - 1) {
            v - (1 << n) + 1
        } else {
            v
        }
    }
}

/// Decodes a DC difference.
fn decode_dc(r: &mut BitReader<'_>, t: &Huffman) -> Result<i32> {
    match t.decode(r)? {
        0 => Ok(0),
        s @ 1..=15 => Ok(r.receive_extend(s as u32)),
        _ => Err(bad("entropy data has an invalid DC category")),
    }
}

/// Decodes the AC coefficients of a block the way libjpeg does (a run past the end of the block
/// ends it), counting symbols into `stats` and storing coefficients (zig-zag order) into `coefs`.
fn decode_ac(
    r: &mut BitReader<'_>,
    t: &Huffman,
    mut stats: Option<&mut [u64; 256]>,
    mut coefs: Option<&mut [i32; 64]>,
) -> Result<()> {
    let mut k = 1;
    while k < 64 {
        let s = t.decode(r)?;
        if let Some(st) = stats.as_deref_mut() {
            st[s as usize] += 1;
        }
        let (run, size) = ((s >> 4) as usize, (s & 15) as u32);
        if size != 0 {
            k += run;
            let v = r.receive_extend(size);
            if let Some(c) = coefs.as_deref_mut()
                && k < 64
            {
                c[k] = v;
            }
        } else if run == 15 {
            k += 15;
        } else {
            break;
        }
        k += 1;
    }
    Ok(())
}

/// The category (bit length of the magnitude) of a coefficient value.
fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

/// Writes entropy-coded data: bits most significant first, a 0x00 after every 0xFF, and runs of
/// bits copied from the input gathered so that they are copied in long pieces.
struct BitWriter<'o, 's> {
    out: &'o mut Vec<u8>,
    acc: u64,
    n: u32,
    src: &'s [u8],
    pending: (usize, usize),
}

impl<'o, 's> BitWriter<'o, 's> {
    fn new(out: &'o mut Vec<u8>, src: &'s [u8]) -> BitWriter<'o, 's> {
        BitWriter {
            out,
            acc: 0,
            n: 0,
            src,
            pending: (0, 0),
        }
    }

    fn put(&mut self, bits: u32, len: u32) {
        if len == 0 {
            return;
        }
        self.acc = self.acc << len | (bits as u64 & ((1u64 << len) - 1));
        self.n += len;
        while self.n >= 8 {
            self.n -= 8;
            let byte = (self.acc >> self.n) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Queues input bits `from..to` for copying.
    fn copy(&mut self, from: usize, to: usize) {
        if self.pending.1 == from && self.pending.0 < self.pending.1 {
            self.pending.1 = to;
        } else {
            self.flush_copy();
            self.pending = (from, to);
        }
    }

    fn flush_copy(&mut self) {
        let (mut p, to) = self.pending;
        self.pending = (0, 0);
        let mut r = BitReader::new(self.src, p);
        while p < to {
            let n = (to - p).min(24) as u32;
            r.pos = p;
            self.put(r.peek32() >> (32 - n), n);
            p += n as usize;
        }
    }

    fn symbol(&mut self, t: &Huffman, sym: u8) -> Result<()> {
        let len = t.len[sym as usize];
        if len == 0 {
            return Err(bad("Huffman table lacks a code the masked frame needs"));
        }
        self.flush_copy();
        self.put(t.code[sym as usize] as u32, len as u32);
        Ok(())
    }

    fn dc(&mut self, t: &Huffman, diff: i32) -> Result<()> {
        let cat = category(diff);
        self.symbol(t, cat as u8)?;
        let bits = if diff < 0 { diff - 1 } else { diff };
        self.put(bits as u32, cat);
        Ok(())
    }

    /// Re-codes the AC symbols of a block read with `from` into `to`, extra bits unchanged.
    fn transcode_ac(&mut self, r: &mut BitReader<'_>, from: &Huffman, to: &Huffman) -> Result<()> {
        let mut k = 1;
        while k < 64 {
            let s = from.decode(r)?;
            self.symbol(to, s)?;
            let (run, size) = ((s >> 4) as usize, (s & 15) as u32);
            if size != 0 {
                k += run;
                let bits = r.peek32() >> (32 - size);
                r.pos += size as usize;
                self.put(bits, size);
            } else if run == 15 {
                k += 15;
            } else {
                break;
            }
            k += 1;
        }
        Ok(())
    }

    /// Pads the last byte with 1-bits.
    fn finish(mut self) {
        self.flush_copy();
        if self.n % 8 != 0 {
            let pad = 8 - self.n % 8;
            self.put((1 << pad) - 1, pad);
        }
    }
}

/// One entropy-coded segment of a scan (between SOS or RSTn and the next marker).
struct Segment {
    /// The bytes in the frame (stuffing included, RSTn excluded).
    raw: std::ops::Range<usize>,
    /// The bytes with the stuffing removed (empty when not asked for).
    data: Vec<u8>,
}

/// Splits the entropy-coded data starting at `start` at its RSTn markers; returns the segments
/// and where the next marker (its first 0xFF) begins.
fn scan_segments(b: &[u8], start: usize, unstuff: bool) -> (Vec<Segment>, usize) {
    let mut segs = Vec::new();
    let mut seg_start = start;
    let mut data = Vec::new();
    let mut i = start;
    loop {
        let Some(off) = b[i..].iter().position(|&x| x == 0xFF) else {
            if unstuff {
                data.extend_from_slice(&b[i..]);
            }
            segs.push(Segment {
                raw: seg_start..b.len(),
                data,
            });
            return (segs, b.len());
        };
        if unstuff {
            data.extend_from_slice(&b[i..i + off]);
        }
        let ff = i + off;
        let mut j = ff + 1;
        while j < b.len() && b[j] == 0xFF {
            j += 1;
        }
        match b.get(j) {
            Some(0x00) => {
                if unstuff {
                    data.push(0xFF);
                }
                i = j + 1;
            }
            Some(0xD0..=0xD7) => {
                segs.push(Segment {
                    raw: seg_start..j - 1,
                    data: std::mem::take(&mut data),
                });
                i = j + 1;
                seg_start = i;
            }
            Some(_) => {
                segs.push(Segment {
                    raw: seg_start..j - 1,
                    data,
                });
                return (segs, j - 1);
            }
            None => {
                segs.push(Segment {
                    raw: seg_start..b.len(),
                    data,
                });
                return (segs, b.len());
            }
        }
    }
}

/// A component of the scan being coded.
struct ScanComp {
    comp: Component,
    td: usize,
    ta: usize,
    /// DC of the fill, before clamping.
    fill: i32,
}

/// One block of a scan, as read.
#[derive(Debug, Clone, Copy)]
struct Block {
    sc: u8,
    masked: bool,
    copy_dc: bool,
    dc: i32,
    new_diff: i32,
    /// Bit positions in its segment's data: DC code, first AC code, end.
    dc_pos: u32,
    ac_pos: u32,
    end: u32,
}

struct Masker<'a> {
    input: &'a [u8],
    info: &'a ImageInfo,
    rects: &'a [Rect],
    opts: Options,
    out: Vec<u8>,
    quant: [Option<[u16; 64]>; 4],
    /// The tables the input defines, by class (DC, AC) and slot.
    tables_in: [[Option<Huffman>; 4]; 2],
    /// The tables a decoder of the output holds at this point.
    tables_out: [[Option<Spec>; 4]; 2],
    restart: u32,
    frame: Option<FrameHeader>,
    jfif: bool,
    adobe_transform: Option<u8>,
    any_masked: bool,
    scans: usize,
    report: Report,
}

impl Masker<'_> {
    fn run(mut self) -> Result<(Vec<u8>, Report)> {
        let b = self.input;
        if !b.starts_with(&[0xFF, 0xD8]) {
            return Err(bad("frame does not start with SOI"));
        }
        self.out.extend_from_slice(&[0xFF, 0xD8]);
        let mut pos = 2;
        loop {
            if pos >= b.len() {
                if self.scans == 0 {
                    return Err(bad("frame ends before its first scan"));
                }
                self.out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            if b[pos] != 0xFF {
                return Err(bad("frame has bytes outside any marker segment"));
            }
            while pos < b.len() && b[pos] == 0xFF {
                pos += 1;
            }
            let Some(&marker) = b.get(pos) else {
                return Err(bad("frame ends inside a marker"));
            };
            pos += 1;
            match marker {
                0xD9 => {
                    if self.scans == 0 {
                        return Err(bad("frame ends before its first scan"));
                    }
                    self.out.extend_from_slice(&[0xFF, 0xD9]);
                    break;
                }
                0x00 | 0x01 | 0xD0..=0xD8 => return Err(bad("frame has a misplaced marker")),
                _ => {}
            }
            let len = match b.get(pos..pos + 2) {
                Some(s) => u16::from_be_bytes([s[0], s[1]]) as usize,
                None => return Err(bad("frame has a truncated marker segment")),
            };
            if len < 2 || pos + len > b.len() {
                return Err(bad("frame has a truncated marker segment"));
            }
            let payload = &b[pos + 2..pos + len];
            let segment = &b[pos - 2..pos + len];
            pos += len;
            match marker {
                0xE0 => self.app0(payload),
                0xEE => self.app14(payload),
                0xE1..=0xEF | 0xFE => {}
                0xDB => {
                    self.dqt(payload)?;
                    self.out.extend_from_slice(segment);
                }
                0xC4 => {
                    self.dht(payload)?;
                    self.out.extend_from_slice(segment);
                }
                0xDD => {
                    if payload.len() != 2 {
                        return Err(bad("frame has a malformed DRI segment"));
                    }
                    self.restart = u16::from_be_bytes([payload[0], payload[1]]) as u32;
                    self.out.extend_from_slice(segment);
                }
                0xC0 | 0xC1 => {
                    self.sof(marker, payload)?;
                    self.out.extend_from_slice(segment);
                }
                0xDC => {
                    if self.scans == 0 {
                        return Err(bad("frame has a DNL segment before its first scan"));
                    }
                    self.out.extend_from_slice(segment);
                }
                0xDA => {
                    pos = self.scan(payload, segment, pos)?;
                    self.scans += 1;
                }
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCC | 0xCD..=0xCF => {
                    return Err(bad(
                        "frame is progressive, lossless, hierarchical or arithmetic-coded",
                    ));
                }
                _ => return Err(bad("frame has a marker that sequential JPEG does not use")),
            }
        }
        Ok((self.out, self.report))
    }

    /// Keeps a JFIF APP0 segment, without its thumbnail; drops any other APP0 (JFXX thumbnails).
    fn app0(&mut self, p: &[u8]) {
        if p.len() >= 14 && p.starts_with(b"JFIF\0") {
            self.jfif = true;
            self.out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
            self.out.extend_from_slice(&p[..12]);
            self.out.extend_from_slice(&[0, 0]);
        }
    }

    /// Keeps an Adobe APP14 segment (its colour transform flag); drops any other APP14.
    fn app14(&mut self, p: &[u8]) {
        if p.len() >= 12 && p.starts_with(b"Adobe") {
            self.adobe_transform = Some(p[11]);
            self.out.extend_from_slice(&[0xFF, 0xEE, 0, 14]);
            self.out.extend_from_slice(&p[..12]);
        }
    }

    fn dqt(&mut self, mut p: &[u8]) -> Result<()> {
        while let Some((&pq_tq, rest)) = p.split_first() {
            let (pq, tq) = ((pq_tq >> 4) as usize, (pq_tq & 15) as usize);
            let n = 64 * (pq + 1);
            if pq > 1 || tq > 3 || rest.len() < n {
                return Err(bad("frame has a malformed DQT segment"));
            }
            let mut q = [0u16; 64];
            for (k, v) in q.iter_mut().enumerate() {
                *v = if pq == 0 {
                    rest[k] as u16
                } else {
                    u16::from_be_bytes([rest[2 * k], rest[2 * k + 1]])
                };
            }
            self.quant[tq] = Some(q);
            p = &rest[n..];
        }
        Ok(())
    }

    fn dht(&mut self, mut p: &[u8]) -> Result<()> {
        while let Some((&tc_th, rest)) = p.split_first() {
            let (tc, th) = ((tc_th >> 4) as usize, (tc_th & 15) as usize);
            if tc > 1 || th > 3 || rest.len() < 16 {
                return Err(bad("frame has a malformed DHT segment"));
            }
            let mut counts = [0u8; 16];
            counts.copy_from_slice(&rest[..16]);
            let n: usize = counts.iter().map(|&c| c as usize).sum();
            let Some(values) = rest.get(16..16 + n) else {
                return Err(bad("frame has a malformed DHT segment"));
            };
            let spec = Spec {
                counts,
                values: values.to_vec(),
            };
            self.tables_out[tc][th] = Some(spec.clone());
            self.tables_in[tc][th] = Some(Huffman::new(spec, tc == 0)?);
            p = &rest[16 + n..];
        }
        Ok(())
    }

    fn sof(&mut self, marker: u8, p: &[u8]) -> Result<()> {
        if self.frame.is_some() {
            return Err(bad("frame has more than one frame header"));
        }
        if p.len() < 6 || p.len() != 6 + 3 * p[5] as usize || p[5] == 0 {
            return Err(bad("frame has a malformed frame header"));
        }
        let precision = p[0] as u32;
        if !(precision == 8 || (marker == 0xC1 && precision == 12)) {
            return Err(bad("frame has a sample precision other than 8 or 12 bits"));
        }
        let height = u16::from_be_bytes([p[1], p[2]]) as u32;
        let width = u16::from_be_bytes([p[3], p[4]]) as u32;
        if width != self.info.columns || (height != 0 && height != self.info.rows) {
            return Err(bad("frame size differs from Rows and Columns"));
        }
        let nf = p[5] as usize;
        if nf != self.info.samples_per_pixel as usize || !(nf == 1 || nf == 3) {
            return Err(bad(
                "frame has a component count other than Samples per Pixel, or not 1 or 3",
            ));
        }
        let mut comps = Vec::with_capacity(nf);
        for c in p[6..].chunks_exact(3) {
            let (h, v, tq) = ((c[1] >> 4) as u32, (c[1] & 15) as u32, c[2] as usize);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                return Err(bad("frame has a malformed frame header"));
            }
            if comps.iter().any(|x: &Component| x.id == c[0]) {
                return Err(bad("frame has two components with the same identifier"));
            }
            comps.push(Component { id: c[0], h, v, tq });
        }
        let fh = FrameHeader {
            precision,
            width,
            height: if height == 0 { self.info.rows } else { height },
            hmax: comps.iter().map(|c| c.h).max().unwrap_or(1),
            vmax: comps.iter().map(|c| c.v).max().unwrap_or(1),
            comps,
        };
        self.any_masked = self
            .rects
            .iter()
            .any(|r| !r.is_empty() && r.meets(0, 0, fh.width, fh.height));
        self.frame = Some(fh);
        Ok(())
    }

    /// Whether a three-component frame is coded as RGB rather than YCbCr, decided as libjpeg and
    /// jpeg-decoder decide it: component identifiers, then JFIF, then the Adobe transform flag.
    fn rgb_coded(&self, fh: &FrameHeader) -> bool {
        match (fh.comps[0].id, fh.comps[1].id, fh.comps[2].id) {
            (1, 2, 3) | (1, 34, 35) => false,
            (b'R', b'G', b'B') | (b'r', b'g', b'b') => true,
            _ => !self.jfif && self.adobe_transform == Some(0),
        }
    }

    /// The DC that paints component `index` darkest (neutral for YCbCr chroma), unclamped.
    fn fill_dc(&self, fh: &FrameHeader, index: usize, q0: u16) -> i32 {
        let max = (1i64 << fh.precision) - 1;
        let half = 1i64 << (fh.precision - 1);
        let level = if fh.comps.len() == 1 {
            if self.info.photometric.starts_with("MONOCHROME") {
                (self.info.fill()[0] as i64).min(max)
            } else {
                0
            }
        } else if index == 0 || self.rgb_coded(fh) {
            0
        } else {
            return 0;
        };
        let num = (level - half) * 8;
        let q = q0 as i64;
        let dc = if level == 0 {
            num.div_euclid(q)
        } else if level == max {
            -(-num).div_euclid(q)
        } else {
            (num as f64 / q as f64).round() as i64
        };
        dc as i32
    }

    /// Codes one scan; returns where the marker after its entropy-coded data begins.
    fn scan(&mut self, p: &[u8], segment: &[u8], data_start: usize) -> Result<usize> {
        let Some(fh) = self.frame.clone() else {
            return Err(bad("frame has a scan before its frame header"));
        };
        let ns = p.first().copied().unwrap_or(0) as usize;
        if !(1..=4).contains(&ns) || p.len() != 4 + 2 * ns {
            return Err(bad("frame has a malformed scan header"));
        }
        let mut scomps: Vec<ScanComp> = Vec::with_capacity(ns);
        for i in 0..ns {
            let (cs, t) = (p[1 + 2 * i], p[2 + 2 * i]);
            let Some(index) = fh.comps.iter().position(|c| c.id == cs) else {
                return Err(bad("frame has a scan of an unknown component"));
            };
            let comp = fh.comps[index];
            if scomps.iter().any(|s| s.comp.id == cs) {
                return Err(bad("frame has a scan that names a component twice"));
            }
            let (td, ta) = ((t >> 4) as usize, (t & 15) as usize);
            if td > 3
                || ta > 3
                || self.tables_in[0][td].is_none()
                || self.tables_in[1][ta].is_none()
            {
                return Err(bad("frame has a scan that uses an undefined Huffman table"));
            }
            let q0 = match self.quant[comp.tq] {
                Some(q) if q[0] > 0 => q[0],
                _ => {
                    return Err(bad(
                        "frame has a scan that uses an undefined quantisation table",
                    ));
                }
            };
            scomps.push(ScanComp {
                comp,
                td,
                ta,
                fill: self.fill_dc(&fh, index, q0),
            });
        }
        let coding = self.any_masked || self.opts.decode_all;
        let (mut segs, end) = scan_segments(self.input, data_start, coding);
        if !coding {
            self.out.extend_from_slice(segment);
            self.out.extend_from_slice(&self.input[data_start..end]);
            return Ok(end);
        }

        // Geometry: the blocks of one MCU, in coding order.
        let interleaved = ns > 1;
        let (per_line, mcus) = if interleaved {
            (fh.mcus_x(), fh.mcus_x() as u64 * fh.mcus_y() as u64)
        } else {
            let (w, h) = fh.comp_blocks(&scomps[0].comp);
            (w, w as u64 * h as u64)
        };
        let mut layout: Vec<(usize, u32, u32)> = Vec::new();
        for (sc, s) in scomps.iter().enumerate() {
            let (h, v) = if interleaved {
                (s.comp.h, s.comp.v)
            } else {
                (1, 1)
            };
            for dy in 0..v {
                for dx in 0..h {
                    layout.push((sc, dx, dy));
                }
            }
        }
        if layout.len() > 10 {
            return Err(bad("frame has more than 10 blocks in an MCU"));
        }
        let total_blocks = mcus * layout.len() as u64;
        let data_bits: u64 = segs.iter().map(|s| s.data.len() as u64 * 8).sum();
        if total_blocks * 2 > data_bits + 64 {
            return Err(bad("entropy data is too short for the frame size"));
        }
        let ri = self.restart as u64;
        let intervals = if ri == 0 { 1 } else { mcus.div_ceil(ri) };
        if segs.len() as u64 == intervals + 1 && segs.last().is_some_and(|s| s.data.is_empty()) {
            segs.pop();
        }
        if segs.len() as u64 != intervals {
            return Err(bad("restart markers do not match the restart interval"));
        }

        // Read every block: DC, bit positions, AC symbol counts of the blocks kept.
        let dc_in: Vec<Huffman> = scomps
            .iter()
            .map(|s| self.tables_in[0][s.td].clone())
            .collect::<Option<_>>()
            .ok_or_else(|| bad("frame has a scan that uses an undefined Huffman table"))?;
        let ac_in: Vec<Huffman> = scomps
            .iter()
            .map(|s| self.tables_in[1][s.ta].clone())
            .collect::<Option<_>>()
            .ok_or_else(|| bad("frame has a scan that uses an undefined Huffman table"))?;
        let mut blocks: Vec<Block> = Vec::with_capacity(total_blocks as usize);
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::with_capacity(segs.len());
        let mut ac_stats = vec![[0u64; 256]; ns];
        for (j, seg) in segs.iter().enumerate() {
            if seg.data.len() >= 1 << 28 {
                return Err(bad("frame has an entropy-coded segment too large to mask"));
            }
            let mut r = BitReader::new(&seg.data, 0);
            let mut pred = [0i32; 4];
            let first = blocks.len();
            let m0 = j as u64 * ri;
            let m1 = if ri == 0 { mcus } else { (m0 + ri).min(mcus) };
            for m in m0..m1 {
                let (mx, my) = ((m % per_line as u64) as u32, (m / per_line as u64) as u32);
                for &(sc, dx, dy) in &layout {
                    let c = &scomps[sc].comp;
                    let (bx, by) = if interleaved {
                        (mx * c.h + dx, my * c.v + dy)
                    } else {
                        (mx, my)
                    };
                    let masked = fh.block_meets(c, bx, by, self.rects);
                    let dc_pos = r.pos as u32;
                    let diff = decode_dc(&mut r, &dc_in[sc])?;
                    let ac_pos = r.pos as u32;
                    let stats = (!masked).then_some(&mut ac_stats[sc]);
                    decode_ac(&mut r, &ac_in[sc], stats, None)?;
                    if r.pos > r.bits() {
                        return Err(bad("entropy data ends inside a block"));
                    }
                    pred[sc] += diff;
                    if pred[sc].abs() > DC_LIMIT {
                        return Err(bad("entropy data has a DC value out of range"));
                    }
                    blocks.push(Block {
                        sc: sc as u8,
                        masked,
                        copy_dc: true,
                        dc: pred[sc],
                        new_diff: diff,
                        dc_pos,
                        ac_pos,
                        end: r.pos as u32,
                    });
                }
            }
            ranges.push(first..blocks.len());
        }

        // New DC values and differences (per component, within each restart interval).
        let max_diff: i32 = if fh.precision == 8 { 2047 } else { 32767 };
        let mut next_same = vec![u32::MAX; blocks.len()];
        for range in &ranges {
            let mut last = [u32::MAX; 4];
            for i in range.clone().rev() {
                let sc = blocks[i].sc as usize;
                next_same[i] = last[sc];
                last[sc] = i as u32;
            }
        }
        for range in &ranges {
            let mut pred_in = [0i32; 4];
            let mut pred_out = [0i32; 4];
            for i in range.clone() {
                let b = blocks[i];
                let sc = b.sc as usize;
                let old_diff = b.dc - pred_in[sc];
                pred_in[sc] = b.dc;
                let new_dc = if b.masked {
                    let (mut lo, mut hi) = (pred_out[sc] - max_diff, pred_out[sc] + max_diff);
                    if let Some(n) = blocks.get(next_same[i] as usize)
                        && !n.masked
                    {
                        lo = lo.max(n.dc - max_diff);
                        hi = hi.min(n.dc + max_diff);
                    }
                    if lo > hi {
                        return Err(bad("a masked block's DC cannot be coded"));
                    }
                    scomps[sc].fill.clamp(lo, hi)
                } else {
                    b.dc
                };
                let new_diff = new_dc - pred_out[sc];
                pred_out[sc] = new_dc;
                blocks[i].new_diff = new_diff;
                blocks[i].copy_dc = !b.masked && new_diff == old_diff;
                if category(new_diff) > 15 {
                    return Err(bad("a DC difference cannot be coded"));
                }
            }
        }

        // Which tables lack a code the new values need (or all, when the tests ask).
        let mut rebuild = [[false; 4]; 2];
        for s in &scomps {
            rebuild[0][s.td] |= self.opts.force_rebuild;
            rebuild[1][s.ta] |= self.opts.force_rebuild;
        }
        for b in &blocks {
            let s = &scomps[b.sc as usize];
            if !b.copy_dc && !dc_in[b.sc as usize].has(category(b.new_diff) as u8) {
                rebuild[0][s.td] = true;
            }
            if b.masked && !ac_in[b.sc as usize].has(0x00) {
                rebuild[1][s.ta] = true;
            }
        }
        let mut dc_out = dc_in.clone();
        let mut ac_out = ac_in.clone();
        let rebuilt_any = rebuild.iter().flatten().any(|&x| x);
        if rebuilt_any {
            for (class, slots) in rebuild.iter().enumerate() {
                for (slot, _) in slots.iter().enumerate().filter(|(_, r)| **r) {
                    let mut freq = [0u64; 256];
                    for (sc, s) in scomps.iter().enumerate() {
                        if class == 1 && s.ta == slot {
                            for (f, n) in freq.iter_mut().zip(ac_stats[sc].iter()) {
                                *f += n;
                            }
                        }
                    }
                    for b in &blocks {
                        let s = &scomps[b.sc as usize];
                        if class == 0 && s.td == slot {
                            freq[category(b.new_diff) as usize] += 1;
                        } else if class == 1 && s.ta == slot && b.masked {
                            freq[0] += 1;
                        }
                    }
                    let table = Huffman::new(optimal_spec(&freq)?, class == 0)?;
                    self.report.rebuilt_tables += 1;
                    for (sc, s) in scomps.iter().enumerate() {
                        if class == 0 && s.td == slot {
                            dc_out[sc] = table.clone();
                        } else if class == 1 && s.ta == slot {
                            ac_out[sc] = table.clone();
                        }
                    }
                }
            }
            for b in blocks.iter_mut() {
                if rebuild[0][scomps[b.sc as usize].td] {
                    b.copy_dc = false;
                }
            }
        }
        self.report.masked_blocks += blocks.iter().filter(|b| b.masked).count();

        // The tables a decoder of the output must hold for this scan.
        let mut dht: Vec<u8> = Vec::new();
        for (sc, s) in scomps.iter().enumerate() {
            for (class, slot, t) in [(0, s.td, &dc_out[sc]), (1, s.ta, &ac_out[sc])] {
                if self.tables_out[class][slot].as_ref() != Some(&t.spec) {
                    dht.push((class as u8) << 4 | slot as u8);
                    dht.extend_from_slice(&t.spec.counts);
                    dht.extend_from_slice(&t.spec.values);
                    self.tables_out[class][slot] = Some(t.spec.clone());
                }
            }
        }
        if !dht.is_empty() {
            self.out.extend_from_slice(&[0xFF, 0xC4]);
            self.out
                .extend_from_slice(&((dht.len() + 2) as u16).to_be_bytes());
            self.out.extend_from_slice(&dht);
        }
        self.out.extend_from_slice(segment);

        // Emit: unchanged intervals byte for byte, the others block by block.
        let ac_rebuilt: Vec<bool> = scomps.iter().map(|s| rebuild[1][s.ta]).collect();
        for (j, (seg, range)) in segs.iter().zip(&ranges).enumerate() {
            let blocks = &blocks[range.clone()];
            let changed = self.opts.no_verbatim
                || rebuilt_any
                || blocks.iter().any(|b| b.masked || !b.copy_dc);
            if !changed {
                self.out.extend_from_slice(&self.input[seg.raw.clone()]);
            } else {
                let mut w = BitWriter::new(&mut self.out, &seg.data);
                for b in blocks {
                    let sc = b.sc as usize;
                    if b.copy_dc {
                        w.copy(b.dc_pos as usize, b.ac_pos as usize);
                    } else {
                        w.dc(&dc_out[sc], b.new_diff)?;
                    }
                    if b.masked {
                        w.symbol(&ac_out[sc], 0x00)?;
                    } else if !ac_rebuilt[sc] {
                        w.copy(b.ac_pos as usize, b.end as usize);
                    } else {
                        let mut r = BitReader::new(&seg.data, b.ac_pos as usize);
                        w.transcode_ac(&mut r, &ac_in[sc], &ac_out[sc])?;
                    }
                }
                w.finish();
            }
            if j + 1 < segs.len() {
                self.out.extend_from_slice(&[0xFF, 0xD0 + (j % 8) as u8]);
            }
        }
        Ok(end)
    }
}
