//! Masking burned-in text in one baseline (SOF0) or extended-Huffman (SOF1, 8 or 12 bit) JPEG
//! frame in the DCT domain, lossless outside the mask (the approach of PixelMed's DicomCleaner,
//! with a true black fill instead of each block's own mean).
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
/// lossless, hierarchical and arithmetic-coded JPEG, frames larger than the image, and frames
/// whose component count is not Samples per Pixel. A frame smaller than Rows × Columns (the
/// edge tiles of some whole-slide images) is masked in its own pixel grid, top-left aligned.
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
    /// Rebuild the Huffman tables of the re-emitted scans whose bit is set (bit i: scan i).
    force_rebuild: u32,
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
    Masker::new(frame, info, rects, opts).run()
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
                let at = (code + self.valoff[l as usize]) as usize;
                if let Some(&sym) = self.spec.values.get(at) {
                    return Ok(sym);
                }
                break;
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
        if !self.n.is_multiple_of(8) {
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

impl<'a> Masker<'a> {
    /// A masker for one frame, before its markers are read.
    fn new(input: &'a [u8], info: &'a ImageInfo, rects: &'a [Rect], opts: Options) -> Masker<'a> {
        Masker {
            input,
            info,
            rects,
            opts,
            out: Vec::with_capacity(input.len() + 1024),
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
    }

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
        // A smaller frame is taken to sit at the top left of the image, as the edge tiles of
        // whole-slide images are coded; a larger one is refused.
        if width == 0 || width > self.info.columns || height > self.info.rows {
            return Err(bad("frame is larger than Rows and Columns"));
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
            // The darkest stored value: 0, the maximum for MONOCHROME1, the most negative
            // for signed data, the darkest palette index.
            if (1..=32).contains(&self.info.bits_stored) {
                (self.info.fill()[0] as i64).min(max)
            } else {
                0
            }
        } else if index == 0 || self.rgb_coded(fh) {
            0
        } else {
            return 0;
        };
        // A DC-only block decodes to DC × Q / 8 + 2^(P-1), so the level is met to within Q/8;
        // the error goes where it cannot change the picture: past 0 or the maximum (decoders
        // clamp), above the most negative signed value, below any other level (MONOCHROME1
        // with fewer bits stored than the JPEG precision), never across into the bits above
        // Bits Stored.
        let num = (level - half) * 8;
        let q = q0 as i64;
        let signed_min = fh.comps.len() == 1
            && self.info.signed
            && self.info.photometric != "MONOCHROME1"
            && self.info.photometric != "PALETTE COLOR";
        let up = level == max || (level != 0 && signed_min);
        let dc = if up {
            -(-num).div_euclid(q)
        } else {
            num.div_euclid(q)
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
            let forced = self.opts.force_rebuild >> self.scans.min(31) & 1 == 1;
            rebuild[0][s.td] |= forced;
            rebuild[1][s.ta] |= forced;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::codec;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    const BASELINE: &str = "1.2.840.10008.1.2.4.50";

    fn image_info(w: u32, h: u32, spp: u16, pi: &str, bits: u16) -> ImageInfo {
        ImageInfo {
            rows: h,
            columns: w,
            samples_per_pixel: spp,
            bits_allocated: if bits > 8 { 16 } else { 8 },
            bits_stored: bits,
            high_bit: bits - 1,
            signed: false,
            photometric: pi.into(),
            planar: false,
            frames: 1,
            darkest_index: None,
        }
    }

    fn rect(x0: u32, y0: u32, x1: u32, y1: u32) -> Rect {
        Rect { x0, y0, x1, y1 }
    }

    /// xorshift32.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> u32 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }

    /// Gradients, noise and high-contrast strokes (as burned-in text would be).
    fn picture(w: u32, h: u32, channels: u32, seed: u32) -> Vec<u8> {
        let mut rng = Rng(seed | 1);
        let mut px = Vec::with_capacity((w * h * channels) as usize);
        for y in 0..h {
            for x in 0..w {
                let stroke = (x / 3 + y / 5) % 7 == 0 && y % 24 < 12;
                for c in 0..channels {
                    let base = (x * 200 / w + y * 40 / h + c * 50) % 230;
                    let v = if stroke { 255 } else { base + rng.below(25) };
                    px.push(v.min(255) as u8);
                }
            }
        }
        px
    }

    fn encode(
        px: &[u8],
        w: u32,
        h: u32,
        color: ColorType,
        sampling: SamplingFactor,
        restart: u16,
        optimized: bool,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, 88);
        e.set_sampling_factor(sampling);
        if restart > 0 {
            e.set_restart_interval(restart);
        }
        e.set_optimized_huffman_tables(optimized);
        e.add_app_segment(1, b"Exif\0\0SECRET-NAME".to_vec())
            .unwrap();
        e.encode(px, w as u16, h as u16, color).unwrap();
        out
    }

    /// The frame through its EOI (some frames carry bytes after it).
    fn through_eoi(b: &[u8]) -> &[u8] {
        let mut pos = 2;
        loop {
            while b[pos + 1] == 0xFF {
                pos += 1;
            }
            let marker = b[pos + 1];
            if marker == 0xD9 {
                return &b[..pos + 2];
            }
            let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
            pos += 2 + len;
            if marker == 0xDA {
                pos = scan_segments(b, pos, false).1;
            }
        }
    }

    /// The frame without fill bytes (0xFF before a marker).
    fn without_fill(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(b.len());
        for (i, &x) in b.iter().enumerate() {
            if !(x == 0xFF && b.get(i + 1) == Some(&0xFF)) {
                out.push(x);
            }
        }
        out
    }

    /// The frame without the segments masking drops (APPn other than JFIF and Adobe, COM).
    fn without_dropped(b: &[u8]) -> Vec<u8> {
        let mut out = b[..2].to_vec();
        let mut pos = 2;
        loop {
            let marker = b[pos + 1];
            if marker == 0xDA {
                out.extend_from_slice(&b[pos..]);
                return out;
            }
            let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
            let seg = &b[pos..pos + 2 + len];
            let keep = match marker {
                0xE0 => seg[4..].starts_with(b"JFIF\0"),
                0xEE => seg[4..].starts_with(b"Adobe"),
                0xE1..=0xEF | 0xFE => false,
                _ => true,
            };
            if keep {
                out.extend_from_slice(seg);
            }
            pos += 2 + len;
        }
    }

    /// Every block's coefficients (zig-zag order, DC absolute) per frame component, on the
    /// MCU-padded grid, read with this module's parser (an independent-enough check of the
    /// coefficient domain; pixels are checked with jpeg-decoder where it can).
    struct Coefs {
        frame: FrameHeader,
        q0: Vec<u16>,
        blocks: Vec<Vec<Option<[i32; 64]>>>,
    }

    impl Coefs {
        fn grid_w(&self, c: usize) -> u32 {
            self.frame.mcus_x() * self.frame.comps[c].h
        }

        fn get(&self, c: usize, bx: u32, by: u32) -> Option<&[i32; 64]> {
            self.blocks[c][(by * self.grid_w(c) + bx) as usize].as_ref()
        }
    }

    fn coefficients(jpeg: &[u8], info: &ImageInfo) -> Coefs {
        let mut m = Masker::new(jpeg, info, &[], Options::default());
        let mut blocks: Vec<Vec<Option<[i32; 64]>>> = Vec::new();
        let mut q0 = Vec::new();
        let mut pos = 2;
        loop {
            while jpeg[pos] == 0xFF {
                pos += 1;
            }
            let marker = jpeg[pos];
            pos += 1;
            if marker == 0xD9 {
                break;
            }
            let len = u16::from_be_bytes([jpeg[pos], jpeg[pos + 1]]) as usize;
            let p = &jpeg[pos + 2..pos + len];
            pos += len;
            match marker {
                0xDB => m.dqt(p).unwrap(),
                0xC4 => m.dht(p).unwrap(),
                0xDD => m.restart = u16::from_be_bytes([p[0], p[1]]) as u32,
                0xC0 | 0xC1 => {
                    m.sof(marker, p).unwrap();
                    let fh = m.frame.as_ref().unwrap();
                    for c in &fh.comps {
                        let n = fh.mcus_x() * c.h * fh.mcus_y() * c.v;
                        blocks.push(vec![None; n as usize]);
                    }
                }
                0xDA => {
                    let fh = m.frame.clone().unwrap();
                    let ns = p[0] as usize;
                    let sc: Vec<(usize, usize, usize)> = (0..ns)
                        .map(|i| {
                            let idx = fh.comps.iter().position(|c| c.id == p[1 + 2 * i]).unwrap();
                            let t = p[2 + 2 * i];
                            (idx, (t >> 4) as usize, (t & 15) as usize)
                        })
                        .collect();
                    if q0.is_empty() {
                        q0 = fh.comps.iter().map(|c| m.quant[c.tq].unwrap()[0]).collect();
                    }
                    let (segs, end) = scan_segments(jpeg, pos, true);
                    pos = end;
                    let interleaved = ns > 1;
                    let (per_line, mcus) = if interleaved {
                        (fh.mcus_x(), fh.mcus_x() * fh.mcus_y())
                    } else {
                        let (w, h) = fh.comp_blocks(&fh.comps[sc[0].0]);
                        (w, w * h)
                    };
                    let ri = if m.restart == 0 { mcus } else { m.restart };
                    let mut m_idx = 0;
                    for seg in &segs {
                        let mut r = BitReader::new(&seg.data, 0);
                        let mut pred = [0i32; 4];
                        for _ in 0..ri.min(mcus - m_idx) {
                            let (mx, my) = (m_idx % per_line, m_idx / per_line);
                            for (k, &(idx, td, ta)) in sc.iter().enumerate() {
                                let c = fh.comps[idx];
                                let (h, v) = if interleaved { (c.h, c.v) } else { (1, 1) };
                                for dy in 0..v {
                                    for dx in 0..h {
                                        let (bx, by) = if interleaved {
                                            (mx * c.h + dx, my * c.v + dy)
                                        } else {
                                            (mx, my)
                                        };
                                        let dct = m.tables_in[0][td].as_ref().unwrap();
                                        let act = m.tables_in[1][ta].as_ref().unwrap();
                                        pred[k] += decode_dc(&mut r, dct).unwrap();
                                        let mut co = [0i32; 64];
                                        decode_ac(&mut r, act, None, Some(&mut co)).unwrap();
                                        co[0] = pred[k];
                                        let gw = fh.mcus_x() * c.h;
                                        blocks[idx][(by * gw + bx) as usize] = Some(co);
                                    }
                                }
                            }
                            m_idx += 1;
                        }
                        assert!(r.pos <= r.bits(), "entropy data ran out");
                    }
                    assert_eq!(m_idx, mcus, "scan holds every MCU");
                }
                _ => {}
            }
        }
        Coefs {
            frame: m.frame.unwrap(),
            q0,
            blocks,
        }
    }

    /// What a masked block must hold: `Some(level)` for a component painted at a level (0 or
    /// the maximum), `None` for neutral chroma.
    type Fill = Vec<Option<i64>>;

    /// Checks the coefficients of `out` against `input`: blocks that meet no rectangle are
    /// unchanged; the others have no AC and the DC of the fill.
    fn check_coefficients(
        input: &[u8],
        out: &[u8],
        info: &ImageInfo,
        rects: &[Rect],
        fill: &Fill,
    ) -> usize {
        let a = coefficients(input, info);
        let b = coefficients(out, info);
        let fh = &a.frame;
        let half = 1i64 << (fh.precision - 1);
        let max = (1i64 << fh.precision) - 1;
        let mut masked = 0;
        for (c, comp) in fh.comps.iter().enumerate() {
            let gw = a.grid_w(c);
            let gh = fh.mcus_y() * comp.v;
            for by in 0..gh {
                for bx in 0..gw {
                    let (Some(x), Some(y)) = (a.get(c, bx, by), b.get(c, bx, by)) else {
                        assert!(a.get(c, bx, by).is_none() && b.get(c, bx, by).is_none());
                        continue;
                    };
                    if !fh.block_meets(comp, bx, by, rects) {
                        assert_eq!(x, y, "unmasked block {c} {bx} {by} changed");
                        continue;
                    }
                    masked += 1;
                    assert!(y[1..].iter().all(|&v| v == 0), "masked block keeps AC");
                    let q = a.q0[c] as i64;
                    let dc = y[0] as i64;
                    match fill[c] {
                        None => assert_eq!(dc, 0, "chroma not neutral"),
                        Some(0) => {
                            let t = dc * q + half * 8;
                            assert!(t <= 0 && t > -q, "fill not black: {dc} q {q}");
                        }
                        Some(l) if l == max => {
                            let t = dc * q - (max - half) * 8;
                            assert!(t >= 0 && t < q, "fill not darkest");
                        }
                        Some(l) => {
                            let t = dc * q - (l - half) * 8;
                            assert!(t <= 0 && t > -q, "fill not at or below the level");
                        }
                    }
                }
            }
        }
        masked
    }

    /// Checks decoded pixels: unchanged where no block of any component meets a rectangle (one
    /// pixel further out when chroma is subsampled: upsampling blends neighbours), darkest where
    /// blocks of every component are masked and the luma block meets a rectangle.
    fn check_pixels(input: &[u8], out: &[u8], info: &ImageInfo, rects: &[Rect], dark: u8) {
        // The decoder hands over three samples per pixel, 4:2:2 or not.
        let mut info = info.clone();
        if info.is_422() {
            info.photometric = "YBR_FULL".into();
        }
        let info = &info;
        let a = codec::decode(BASELINE, info, input).unwrap();
        let b = codec::decode(BASELINE, info, out).unwrap();
        let co = coefficients(input, info);
        let fh = &co.frame;
        let (w, h) = (info.columns as usize, info.rows as usize);
        let n = info.samples_per_pixel as usize;
        let subsampled = fh.comps.iter().any(|c| c.h != fh.hmax || c.v != fh.vmax);
        let r = if subsampled { 1 } else { 0 };
        let mut any = vec![false; w * h];
        let mut all = vec![true; w * h];
        let mut luma = vec![false; w * h];
        for (ci, c) in fh.comps.iter().enumerate() {
            for y in 0..h {
                for x in 0..w {
                    let bx = x as u32 * c.h / (8 * fh.hmax);
                    let by = y as u32 * c.v / (8 * fh.vmax);
                    let m = fh.block_meets(c, bx, by, rects);
                    any[y * w + x] |= m;
                    all[y * w + x] &= m;
                    if ci == 0 {
                        luma[y * w + x] = m;
                    }
                }
            }
        }
        let near = |map: &[bool], x: usize, y: usize, want: bool| {
            (y.saturating_sub(r)..(y + r + 1).min(h)).all(|yy| {
                (x.saturating_sub(r)..(x + r + 1).min(w)).all(|xx| map[yy * w + xx] == want)
            })
        };
        let (mut same, mut darkened) = (0, 0);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * n;
                if near(&any, x, y, false) {
                    assert_eq!(
                        a[i..i + n],
                        b[i..i + n],
                        "pixel {x},{y} outside the mask changed"
                    );
                    same += 1;
                } else if luma[y * w + x] && near(&all, x, y, true) {
                    for &v in &b[i..i + n] {
                        assert!(v.abs_diff(dark) <= 3, "pixel {x},{y} not dark: {v}");
                    }
                    darkened += 1;
                }
            }
        }
        assert!(same > 0 || rects.iter().all(|r| r.meets(0, 0, 1, 1)));
        assert!(darkened > 0 || rects.is_empty());
    }

    /// No mask: byte-identical through every path (verbatim, bit-copied, decoded).
    fn check_no_mask(jpeg: &[u8], info: &ImageInfo) {
        let expect = without_dropped(through_eoi(jpeg));
        assert_eq!(mask_frame(jpeg, info, &[]).unwrap(), expect);
        let slow = Options {
            decode_all: true,
            no_verbatim: true,
            force_rebuild: 0,
        };
        let (out, rep) = mask_with(jpeg, info, &[], slow).unwrap();
        assert_eq!(out, expect, "bit copy differs from the input");
        assert_eq!(rep, Report::default());
    }

    /// Forced table rebuild: coefficients (and pixels) unchanged.
    fn check_rebuild_lossless(jpeg: &[u8], info: &ImageInfo, pixels: bool) {
        let opts = Options {
            decode_all: true,
            no_verbatim: false,
            force_rebuild: u32::MAX,
        };
        let (out, rep) = mask_with(jpeg, info, &[], opts).unwrap();
        assert!(rep.rebuilt_tables > 0);
        check_coefficients(jpeg, &out, info, &[], &vec![Some(0); 3]);
        if pixels {
            assert_eq!(
                codec::decode(BASELINE, info, jpeg).unwrap(),
                codec::decode(BASELINE, info, &out).unwrap()
            );
        }
    }

    #[test]
    fn encoder_made_frames_round_trip_and_mask() {
        let (w, h) = (203u32, 157u32);
        let rects = [
            rect(0, 0, w, 21),
            rect(60, 70, 131, 99),
            rect(w - 9, h - 3, w, h),
        ];
        let grey = picture(w, h, 1, 7);
        let rgb = picture(w, h, 3, 11);
        for restart in [0u16, 1, 3] {
            for optimized in [false, true] {
                // grey
                let info = image_info(w, h, 1, "MONOCHROME2", 8);
                let j = encode(
                    &grey,
                    w,
                    h,
                    ColorType::Luma,
                    SamplingFactor::F_1_1,
                    restart,
                    optimized,
                );
                check_no_mask(&j, &info);
                check_rebuild_lossless(&j, &info, true);
                let out = mask_frame(&j, &info, &rects).unwrap();
                assert!(!out.windows(6).any(|x| x == b"SECRET"));
                let n = check_coefficients(&j, &out, &info, &rects, &vec![Some(0)]);
                assert!(n > 0);
                check_pixels(&j, &out, &info, &rects, 0);
                // colour, 4:4:4 and 4:2:0 (YCbCr, JFIF)
                for sampling in [
                    SamplingFactor::F_1_1,
                    SamplingFactor::F_2_2,
                    SamplingFactor::F_2_1,
                ] {
                    let info = image_info(w, h, 3, "YBR_FULL", 8);
                    let j = encode(&rgb, w, h, ColorType::Rgb, sampling, restart, optimized);
                    check_no_mask(&j, &info);
                    check_rebuild_lossless(&j, &info, true);
                    let out = mask_frame(&j, &info, &rects).unwrap();
                    check_coefficients(&j, &out, &info, &rects, &vec![Some(0), None, None]);
                    check_pixels(&j, &out, &info, &rects, 0);
                }
            }
        }
    }

    #[test]
    fn missing_huffman_codes_get_rebuilt_tables() {
        // A flat bright image with optimised tables: its DC table has no category for black.
        let (w, h) = (64u32, 48u32);
        let flat = vec![230u8; (w * h) as usize];
        let info = image_info(w, h, 1, "MONOCHROME2", 8);
        let j = encode(&flat, w, h, ColorType::Luma, SamplingFactor::F_1_1, 0, true);
        let rects = [rect(20, 20, 30, 30)];
        let (out, rep) = mask_with(&j, &info, &rects, Options::default()).unwrap();
        assert!(rep.rebuilt_tables > 0, "the fallback was not needed");
        assert_eq!(rep.masked_blocks, 4);
        check_coefficients(&j, &out, &info, &rects, &vec![Some(0)]);
        check_pixels(&j, &out, &info, &rects, 0);
        // The same in colour, 4:2:0, with restart intervals.
        let flat = vec![220u8; (w * h * 3) as usize];
        let info = image_info(w, h, 3, "YBR_FULL", 8);
        let j = encode(&flat, w, h, ColorType::Rgb, SamplingFactor::F_2_2, 2, true);
        let (out, rep) = mask_with(&j, &info, &rects, Options::default()).unwrap();
        assert!(rep.rebuilt_tables > 0);
        check_coefficients(&j, &out, &info, &rects, &vec![Some(0), None, None]);
        check_pixels(&j, &out, &info, &rects, 0);
    }

    #[test]
    fn refuses_other_processes_and_mismatched_frames() {
        let (w, h) = (32u32, 32u32);
        let info = image_info(w, h, 1, "MONOCHROME2", 8);
        let px = picture(w, h, 1, 3);
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, 80);
        e.set_progressive(true);
        e.encode(&px, w as u16, h as u16, ColorType::Luma).unwrap();
        let err = mask_frame(&out, &info, &[rect(0, 0, 4, 4)]).unwrap_err();
        assert!(matches!(&err, Error::Unsupported(m) if m.starts_with("pixel masking: ")));
        let mut j = encode(&px, w, h, ColorType::Luma, SamplingFactor::F_1_1, 0, false);
        let sof = j.windows(2).position(|x| x == [0xFF, 0xC0]).unwrap();
        for m in [0xC3u8, 0xC9, 0xC5] {
            j[sof + 1] = m;
            assert!(mask_frame(&j, &info, &[]).is_err());
        }
        j[sof + 1] = 0xC0;
        assert!(mask_frame(&j, &image_info(w - 1, h, 1, "MONOCHROME2", 8), &[]).is_err());
        assert!(mask_frame(&j, &image_info(w, h - 1, 1, "MONOCHROME2", 8), &[]).is_err());
        assert!(mask_frame(&j, &image_info(w, h, 3, "RGB", 8), &[]).is_err());
        assert!(mask_frame(&j[..j.len() / 2], &info, &[rect(0, 0, w, h)]).is_err());
        assert!(mask_frame(b"not a jpeg", &info, &[]).is_err());
    }

    /// A frame built in the coefficient domain, for what jpeg-encoder does not write: 12-bit
    /// samples, scans of one component, tables redefined between scans, RGB-coded colour,
    /// segments that carry text.
    struct Synth {
        precision: u32,
        w: u32,
        h: u32,
        /// (identifier, H, V)
        comps: Vec<(u8, u32, u32)>,
        interleaved: bool,
        restart: u16,
        redefine: bool,
        jfif: bool,
        full_tables: bool,
        /// Every component codes with table slot 0.
        one_slot: bool,
        seed: u32,
    }

    fn block_symbols(diff: i32, co: &[i32; 64], mut f: impl FnMut(usize, u8, i32, u32)) {
        let cat = category(diff);
        f(0, cat as u8, diff, cat);
        let mut run = 0u32;
        for &v in &co[1..] {
            if v == 0 {
                run += 1;
                continue;
            }
            while run > 15 {
                f(1, 0xF0, 0, 0);
                run -= 16;
            }
            let s = category(v);
            f(1, (run << 4 | s) as u8, v, s);
            run = 0;
        }
        if run > 0 {
            f(1, 0x00, 0, 0);
        }
    }

    fn synth(s: &Synth) -> Vec<u8> {
        let mut rng = Rng(s.seed | 1);
        let comps: Vec<Component> = s
            .comps
            .iter()
            .enumerate()
            .map(|(i, &(id, h, v))| Component {
                id,
                h,
                v,
                tq: i.min(1),
            })
            .collect();
        let fh = FrameHeader {
            precision: s.precision,
            width: s.w,
            height: s.h,
            hmax: comps.iter().map(|c| c.h).max().unwrap(),
            vmax: comps.iter().map(|c| c.v).max().unwrap(),
            comps: comps.clone(),
        };
        let q: [[u16; 64]; 2] = [
            std::array::from_fn(|k| 3 + k as u16 / 3),
            std::array::from_fn(|k| 5 + k as u16 / 2),
        ];
        let half = 1i32 << (s.precision - 1);
        // Coefficients on the MCU-padded grid of each component.
        let grids: Vec<Vec<[i32; 64]>> = comps
            .iter()
            .map(|c| {
                let (gw, gh) = (fh.mcus_x() * c.h, fh.mcus_y() * c.v);
                let lim = half * 8 / q[c.tq][0] as i32 - 1;
                (0..gw * gh)
                    .map(|i| {
                        let (bx, by) = (i % gw, i / gw);
                        let mut co = [0i32; 64];
                        let base = ((bx * 37 + by * 23) % 200) as i32 * lim / 100 - lim;
                        co[0] = (base + rng.below(9) as i32 - 4).clamp(-lim, lim);
                        for v in co.iter_mut().take(40).skip(1) {
                            if rng.below(3) == 0 {
                                let mag = 1 + rng.below(1 << (s.precision - 5)) as i32;
                                *v = if rng.below(2) == 0 { mag } else { -mag };
                            }
                        }
                        if rng.below(4) == 0 {
                            co[63] = 1; // no EOB for this block
                        }
                        co
                    })
                    .collect()
            })
            .collect();
        // Scans: the blocks of each, in coding order, per restart interval.
        let scans: Vec<Vec<usize>> = if s.interleaved {
            vec![(0..comps.len()).collect()]
        } else {
            (0..comps.len()).map(|c| vec![c]).collect()
        };
        let order = |scan: &[usize]| -> Vec<Vec<(usize, usize)>> {
            let interleaved = scan.len() > 1;
            let (per_line, mcus) = if interleaved {
                (fh.mcus_x(), fh.mcus_x() * fh.mcus_y())
            } else {
                let (w, h) = fh.comp_blocks(&comps[scan[0]]);
                (w, w * h)
            };
            let ri = if s.restart == 0 {
                mcus
            } else {
                s.restart as u32
            };
            let mut intervals = Vec::new();
            let mut m = 0;
            while m < mcus {
                let mut blocks = Vec::new();
                for mm in m..(m + ri).min(mcus) {
                    let (mx, my) = (mm % per_line, mm / per_line);
                    for &c in scan {
                        let cc = &comps[c];
                        let gw = fh.mcus_x() * cc.h;
                        if interleaved {
                            for dy in 0..cc.v {
                                for dx in 0..cc.h {
                                    blocks.push((
                                        c,
                                        ((my * cc.v + dy) * gw + mx * cc.h + dx) as usize,
                                    ));
                                }
                            }
                        } else {
                            blocks.push((c, (my * gw + mx) as usize));
                        }
                    }
                }
                intervals.push(blocks);
                m += ri;
            }
            intervals
        };
        let slot = |c: usize| if s.one_slot { 0 } else { c.min(1) };
        let stats_of = |scans: &[Vec<usize>]| {
            let mut freq = [[[0u64; 256]; 2]; 2];
            for scan in scans {
                for interval in order(scan) {
                    let mut pred = [0i32; 4];
                    for (c, i) in interval {
                        let co = &grids[c][i];
                        let diff = co[0] - pred[c];
                        pred[c] = co[0];
                        block_symbols(diff, co, |class, sym, _, _| {
                            freq[class][slot(c)][sym as usize] += 1
                        });
                    }
                }
            }
            freq
        };
        let dht = |out: &mut Vec<u8>, freq: &[[[u64; 256]; 2]; 2]| -> Vec<Vec<Huffman>> {
            let mut body = Vec::new();
            let mut tables = vec![Vec::new(), Vec::new()];
            let mut freq = *freq;
            if s.full_tables {
                // Every DC category, so that masking needs no new table.
                for f in &mut freq[0] {
                    for n in &mut f[..=if s.precision == 8 { 11 } else { 15 }] {
                        *n += 1;
                    }
                }
            }
            for (class, (freqs, tabs)) in freq.iter().zip(tables.iter_mut()).enumerate() {
                for (sl, f) in freqs.iter().enumerate() {
                    if f.iter().all(|&n| n == 0) {
                        tabs.push(None);
                        continue;
                    }
                    let spec = optimal_spec(f).unwrap();
                    body.push((class as u8) << 4 | sl as u8);
                    body.extend_from_slice(&spec.counts);
                    body.extend_from_slice(&spec.values);
                    tabs.push(Some(Huffman::new(spec, class == 0).unwrap()));
                }
            }
            out.extend_from_slice(&[0xFF, 0xC4]);
            out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(&body);
            tables
                .into_iter()
                .map(|v| {
                    v.into_iter()
                        .map(|t| {
                            t.unwrap_or_else(|| {
                                Huffman::new(
                                    Spec {
                                        counts: [0; 16],
                                        values: vec![],
                                    },
                                    false,
                                )
                                .unwrap()
                            })
                        })
                        .collect()
                })
                .collect()
        };
        let mut out = vec![0xFF, 0xD8];
        if s.jfif {
            out.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
            out.extend_from_slice(b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0");
        }
        // Text-bearing segments, which must go.
        for (marker, text) in [
            (0xFE, &b"SECRET-NAME"[..]),
            (0xE1, b"Exif\0\0SECRET"),
            (0xE0, b"JFXX\0\x10SECRET"),
        ] {
            out.extend_from_slice(&[0xFF, marker]);
            out.extend_from_slice(&(text.len() as u16 + 2).to_be_bytes());
            out.extend_from_slice(text);
        }
        for (t, qt) in q.iter().enumerate() {
            if s.precision == 8 {
                out.extend_from_slice(&[0xFF, 0xDB, 0, 67, t as u8]);
                out.extend(qt.iter().map(|&v| v as u8));
            } else {
                out.extend_from_slice(&[0xFF, 0xDB, 0, 131, 0x10 | t as u8]);
                out.extend(qt.iter().flat_map(|v| v.to_be_bytes()));
            }
        }
        out.extend_from_slice(&[0xFF, if s.precision == 8 { 0xC0 } else { 0xC1 }]);
        out.extend_from_slice(&((8 + 3 * comps.len()) as u16).to_be_bytes());
        out.push(s.precision as u8);
        out.extend_from_slice(&(s.h as u16).to_be_bytes());
        out.extend_from_slice(&(s.w as u16).to_be_bytes());
        out.push(comps.len() as u8);
        for c in &comps {
            out.extend_from_slice(&[c.id, (c.h << 4 | c.v) as u8, c.tq as u8]);
        }
        if s.restart > 0 {
            out.extend_from_slice(&[0xFF, 0xDD, 0, 4]);
            out.extend_from_slice(&s.restart.to_be_bytes());
        }
        let mut tables = if s.redefine {
            None
        } else {
            Some(dht(&mut out, &stats_of(&scans)))
        };
        for scan in &scans {
            if s.redefine {
                tables = Some(dht(&mut out, &stats_of(std::slice::from_ref(scan))));
            }
            let t = tables.as_ref().unwrap();
            out.extend_from_slice(&[0xFF, 0xDA]);
            out.extend_from_slice(&((6 + 2 * scan.len()) as u16).to_be_bytes());
            out.push(scan.len() as u8);
            for &c in scan {
                out.extend_from_slice(&[comps[c].id, (slot(c) << 4 | slot(c)) as u8]);
            }
            out.extend_from_slice(&[0, 63, 0]);
            let intervals = order(scan);
            let n = intervals.len();
            for (j, interval) in intervals.into_iter().enumerate() {
                let mut w = BitWriter::new(&mut out, &[]);
                let mut pred = [0i32; 4];
                for (c, i) in interval {
                    let co = &grids[c][i];
                    let diff = co[0] - pred[c];
                    pred[c] = co[0];
                    block_symbols(diff, co, |class, sym, v, bits| {
                        w.symbol(&t[class][slot(c)], sym).unwrap();
                        let v = if v < 0 { v - 1 } else { v };
                        w.put(v as u32, bits);
                    });
                }
                w.finish();
                if j + 1 < n {
                    out.extend_from_slice(&[0xFF, 0xD0 + (j % 8) as u8]);
                }
            }
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn fill_levels_stay_on_the_dark_side_of_bits_stored() {
        let grey = |precision: u32| FrameHeader {
            precision,
            width: 8,
            height: 8,
            comps: vec![Component {
                id: 1,
                h: 1,
                v: 1,
                tq: 0,
            }],
            hmax: 1,
            vmax: 1,
        };
        // (PI, signed, bits stored, precision, the stored value that must come out, whether
        // the decoded value may lie above it)
        let cases = [
            ("MONOCHROME2", false, 8, 8, 0, false),
            ("MONOCHROME1", false, 8, 8, 255, true),
            ("MONOCHROME2", false, 12, 12, 0, false),
            ("MONOCHROME1", false, 12, 12, 4095, true),
            ("MONOCHROME1", false, 10, 12, 1023, false),
            ("MONOCHROME2", true, 12, 12, 2048, true),
            ("MONOCHROME2", true, 10, 12, 512, true),
            ("MONOCHROME1", true, 10, 12, 511, false),
        ];
        for (pi, signed, bs, p, level, above) in cases {
            let mut info = image_info(8, 8, 1, pi, bs);
            info.signed = signed;
            let m = Masker::new(&[], &info, &[], Options::default());
            for q in [1u16, 3, 7, 10, 16, 23, 64, 99] {
                let dc = m.fill_dc(&grey(p), 0, q) as f64;
                let v = dc * q as f64 / 8.0 + (1u32 << (p - 1)) as f64;
                let (lo, hi) = if above {
                    (level as f64, level as f64 + q as f64 / 8.0)
                } else {
                    (level as f64 - q as f64 / 8.0, level as f64)
                };
                assert!(
                    v >= lo && v <= hi,
                    "{pi} signed {signed} bs {bs} P {p} q {q}: {v}"
                );
            }
        }
    }

    #[test]
    fn damaged_frames_never_panic() {
        let (w, h) = (48u32, 40u32);
        let rects = [rect(0, 0, 20, 12), rect(30, 30, 48, 40)];
        let grey = image_info(w, h, 1, "MONOCHROME2", 8);
        let colour = image_info(w, h, 3, "YBR_FULL", 8);
        let frames = [
            (
                encode(
                    &picture(w, h, 1, 1),
                    w,
                    h,
                    ColorType::Luma,
                    SamplingFactor::F_1_1,
                    2,
                    false, // jpeg-encoder 0.7.1 panics with optimised tables here
                ),
                &grey,
            ),
            (
                encode(
                    &picture(w, h, 3, 2),
                    w,
                    h,
                    ColorType::Rgb,
                    SamplingFactor::F_2_2,
                    0,
                    false,
                ),
                &colour,
            ),
            (
                synth(&Synth {
                    precision: 12,
                    w,
                    h,
                    comps: vec![(1, 1, 2), (2, 1, 1), (3, 1, 1)],
                    interleaved: false,
                    restart: 1,
                    redefine: true,
                    jfif: true,
                    full_tables: false,
                    one_slot: false,
                    seed: 3,
                }),
                &colour,
            ),
        ];
        let mut rng = Rng(12345);
        let mut ok = 0;
        for _ in 0..400 {
            for (j, info) in &frames {
                let mut d = j.clone();
                match rng.below(3) {
                    0 => d.truncate(rng.below(d.len() as u32) as usize),
                    1 => {
                        for _ in 0..1 + rng.below(3) {
                            let at = rng.below(d.len() as u32) as usize;
                            d[at] = rng.next() as u8;
                        }
                    }
                    _ => {
                        let at = rng.below(d.len() as u32) as usize;
                        d.insert(at, [0xFF, 0x00, 0xD0, 0xD9][rng.below(4) as usize]);
                    }
                }
                let opts = Options {
                    force_rebuild: rng.below(2),
                    ..Options::default()
                };
                ok += mask_with(&d, info, &rects, opts).is_ok() as u32;
                let _ = mask_frame(&d, info, &[]);
            }
        }
        assert!(ok > 0);
    }

    #[test]
    fn a_table_rebuilt_for_one_scan_is_restored_for_the_next() {
        let (w, h) = (61u32, 38u32);
        let s = Synth {
            precision: 8,
            w,
            h,
            comps: vec![(1, 2, 2), (2, 1, 1), (3, 1, 1)],
            interleaved: false,
            restart: 3,
            redefine: false,
            jfif: true,
            full_tables: true,
            one_slot: true,
            seed: 21,
        };
        let j = synth(&s);
        let info = image_info(w, h, 3, "YBR_FULL", 8);
        let rects = [rect(5, 5, 20, 20)];
        for (force, dht) in [(0b001, 2), (0b010, 2), (0b101, 3)] {
            let opts = Options {
                force_rebuild: force,
                ..Options::default()
            };
            for rects in [&[][..], &rects[..]] {
                let (out, rep) = mask_with(
                    &j,
                    &info,
                    rects,
                    Options {
                        decode_all: true,
                        ..opts
                    },
                )
                .unwrap();
                assert!(rep.rebuilt_tables >= 2);
                // One DHT in the input; one before each rebuilt scan and one restoring the
                // input's tables before the scan after it.
                let count = |b: &[u8]| b.windows(2).filter(|x| x == &[0xFF, 0xC4]).count();
                assert_eq!(count(&out), 1 + dht, "force {force:b}");
                let fill = vec![Some(0), None, None];
                check_coefficients(&j, &out, &info, rects, &fill);
                check_pixels(&j, &out, &info, rects, 0);
            }
        }
    }

    #[test]
    fn synthetic_frames_12_bit_single_component_scans_and_rgb() {
        let (w, h) = (77u32, 45u32);
        let rects = [rect(0, 0, 30, 9), rect(40, 20, 41, 21)];
        let mut cases = Vec::new();
        for restart in [0u16, 2, 7] {
            for (precision, pi) in [(8, "MONOCHROME2"), (12, "MONOCHROME2"), (12, "MONOCHROME1")] {
                cases.push((
                    Synth {
                        precision,
                        w,
                        h,
                        comps: vec![(1, 1, 1)],
                        interleaved: true,
                        restart,
                        redefine: false,
                        jfif: false,
                        full_tables: restart != 2,
                        one_slot: false,
                        seed: 5 + restart as u32,
                    },
                    pi,
                ));
            }
            for interleaved in [true, false] {
                for redefine in [false, true] {
                    for ids in [[1u8, 2, 3], *b"RGB"] {
                        for precision in [8, 12] {
                            cases.push((
                                Synth {
                                    precision,
                                    w,
                                    h,
                                    comps: vec![(ids[0], 2, 2), (ids[1], 1, 1), (ids[2], 1, 2)],
                                    interleaved,
                                    restart,
                                    redefine,
                                    jfif: ids[0] == 1,
                                    full_tables: !redefine || restart == 0,
                                    one_slot: false,
                                    seed: 9,
                                },
                                if ids[0] == 1 { "YBR_FULL" } else { "RGB" },
                            ));
                        }
                    }
                }
            }
        }
        for (s, pi) in &cases {
            let j = synth(s);
            let spp = s.comps.len() as u16;
            let info = image_info(w, h, spp, pi, s.precision as u16);
            check_no_mask(&j, &info);
            check_rebuild_lossless(&j, &info, false);
            let (out, rep) = mask_with(&j, &info, &rects, Options::default()).unwrap();
            assert!(rep.masked_blocks > 0);
            assert_eq!(rep.rebuilt_tables > 0, !s.full_tables);
            assert!(!out.windows(6).any(|x| x == b"SECRET"));
            let fill: Fill = match (spp, *pi) {
                (1, "MONOCHROME1") => vec![Some((1 << s.precision) - 1)],
                (1, _) => vec![Some(0)],
                (_, "RGB") => vec![Some(0); 3],
                _ => vec![Some(0), None, None],
            };
            check_coefficients(&j, &out, &info, &rects, &fill);
            if s.precision == 8 {
                // jpeg-decoder reads both (8-bit only) and sees the same pixels outside.
                check_pixels(&j, &out, &info, &rects, 0);
            }
        }
    }

    /// The JPEG baseline and extended frames of the shared corpus (skipped when it is absent):
    /// unmasked round trip, a mask (a top band and a box), timings.
    #[test]
    fn corpus_frames() {
        let root = std::path::Path::new("/work/shared/corpus");
        let Ok(manifest) = std::fs::read(root.join("MANIFEST.csv")) else {
            eprintln!("corpus absent, skipped");
            return;
        };
        let mut rdr = csv::Reader::from_reader(&manifest[..]);
        let (mut frames, mut identical, mut masked_ok, mut rebuilt, mut not_jpeg) = (0, 0, 0, 0, 0);
        let mut failures = Vec::new();
        for row in rdr.records() {
            let row = row.unwrap();
            let (path, ts) = (&row[0], &row[8]);
            if !(ts.contains("JPEG Baseline") || ts.contains("JPEG Extended")) {
                continue;
            }
            let Ok(bytes) = std::fs::read(root.join(path)) else {
                continue;
            };
            let mut scratch = Vec::new();
            let (mut info, frame_list): (ImageInfo, Vec<Vec<u8>>) = match crate::dicom::read_file(
                &bytes,
                &mut scratch,
            ) {
                Ok(obj) => {
                    let Ok(Some(info)) = ImageInfo::of(&obj.dataset, obj.encoding) else {
                        failures.push(format!("{path}: no image"));
                        continue;
                    };
                    let Some(crate::dicom::model::Value::Fragments(all)) = obj
                        .dataset
                        .get(crate::dicom::model::tags::PIXEL_DATA)
                        .map(|e| &e.value)
                    else {
                        eprintln!("{path}: not encapsulated, skipped");
                        continue;
                    };
                    let frags: Vec<&[u8]> = all[1..].iter().map(|f| f.as_ref()).collect();
                    let ranges =
                        crate::pixels::frames::split(&all[0], &frags, info.frames, None).unwrap();
                    (
                        info,
                        ranges.iter().map(|r| frags[r.clone()].concat()).collect(),
                    )
                }
                Err(_) => {
                    // The reader refuses the file: take the JPEG streams as they lie in it
                    // (each in one fragment), and the image description from their headers.
                    let mut streams = Vec::new();
                    let mut i = 0;
                    while let Some(off) =
                        bytes[i..].windows(3).position(|x| x == [0xFF, 0xD8, 0xFF])
                    {
                        let one = through_eoi(&bytes[i + off..]).to_vec();
                        i += off + one.len();
                        streams.push(one);
                    }
                    let Some(first) = streams.first() else {
                        eprintln!("{path}: unreadable, skipped");
                        continue;
                    };
                    let sof = first
                        .windows(2)
                        .position(|x| x == [0xFF, 0xC0] || x == [0xFF, 0xC1])
                        .unwrap();
                    let p = &first[sof + 4..];
                    let nf = p[5] as u16;
                    let pi = if nf == 3 { "YBR_FULL" } else { "MONOCHROME2" };
                    let info = image_info(
                        u16::from_be_bytes([p[3], p[4]]) as u32,
                        u16::from_be_bytes([p[1], p[2]]) as u32,
                        nf,
                        pi,
                        p[0] as u16,
                    );
                    eprintln!(
                        "{path}: the DICOM reader refuses it; {} JPEG streams taken from its bytes",
                        streams.len()
                    );
                    (info, streams)
                }
            };
            info.frames = 1;
            let (w, h) = (info.columns, info.rows);
            let rects = [
                rect(0, 0, w, (h / 10).max(1)),
                rect(w / 3, h / 3, w / 2, h / 2),
            ];
            let (mut t_copy, mut t_mask, mut n_rebuilt) = (0f64, 0f64, 0);
            for (k, frame) in frame_list.iter().enumerate() {
                frames += 1;
                if !frame.starts_with(&[0xFF, 0xD8]) {
                    assert!(mask_frame(frame, &info, &[]).is_err());
                    eprintln!("{path} #{k}: not a JPEG stream, refused");
                    not_jpeg += 1;
                    continue;
                }
                let t = std::time::Instant::now();
                let same = mask_frame(frame, &info, &[]);
                t_copy += t.elapsed().as_secs_f64();
                match same {
                    Ok(out) if out == through_eoi(frame) => identical += 1,
                    Ok(out) if out == without_dropped(through_eoi(frame)) => {
                        identical += 1;
                        eprintln!("{path} #{k}: identical less dropped segments");
                    }
                    Ok(_) => failures.push(format!("{path} #{k}: unmasked output differs")),
                    Err(e) => failures.push(format!("{path} #{k}: {e}")),
                }
                // The slow paths only on the first frames of a cine loop.
                if k < 3 {
                    let slow = Options {
                        decode_all: true,
                        no_verbatim: true,
                        force_rebuild: 0,
                    };
                    match mask_with(frame, &info, &[], slow) {
                        Ok((out, _))
                            if out == without_fill(&without_dropped(through_eoi(frame))) => {}
                        Ok(_) => failures.push(format!("{path} #{k}: bit copy differs")),
                        Err(e) => failures.push(format!("{path} #{k}: decode: {e}")),
                    }
                }
                let t = std::time::Instant::now();
                let masked = mask_with(frame, &info, &rects, Options::default());
                t_mask += t.elapsed().as_secs_f64();
                let (out, rep) = match masked {
                    Ok(x) => x,
                    Err(e) => {
                        failures.push(format!("{path} #{k}: mask: {e}"));
                        continue;
                    }
                };
                if rep.rebuilt_tables > 0 {
                    rebuilt += 1;
                    n_rebuilt += 1;
                }
                {
                    let co = coefficients(frame, &info);
                    let fill: Fill = if co.frame.comps.len() == 1 {
                        let max = (1i64 << co.frame.precision) - 1;
                        vec![Some((info.fill()[0] as i64).min(max))]
                    } else {
                        let m = Masker {
                            jfif: frame.windows(5).any(|x| x == b"JFIF\0"),
                            adobe_transform: frame
                                .windows(5)
                                .position(|x| x == b"Adobe")
                                .map(|i| frame[i + 11]),
                            ..Masker::new(frame, &info, &[], Options::default())
                        };
                        if m.rgb_coded(&co.frame) {
                            vec![Some(0); 3]
                        } else {
                            vec![Some(0), None, None]
                        }
                    };
                    check_coefficients(frame, &out, &info, &rects, &fill);
                    if k < 3
                        && co.frame.precision == 8
                        && codec::decode(BASELINE, &info, frame).is_ok()
                    {
                        let dark = info.fill()[0].min(255) as u8;
                        check_pixels(frame, &out, &info, &rects, dark);
                    }
                }
                masked_ok += 1;
            }
            let n = frame_list.len() as f64;
            eprintln!(
                "{path}: {} frame(s) {}x{} {} spp {} {}; per frame: unmasked {:.1} ms, masked {:.1} ms; rebuilt tables in {n_rebuilt}",
                frame_list.len(),
                w,
                h,
                info.photometric,
                info.samples_per_pixel,
                ts,
                t_copy * 1e3 / n,
                t_mask * 1e3 / n
            );
        }
        eprintln!(
            "frames {frames}: not JPEG {not_jpeg}, identical unmasked {identical}, masked ok {masked_ok}, table rebuilds {rebuilt}"
        );
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
