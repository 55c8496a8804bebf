//! A streaming zip writer (PKWARE APPNOTE 6.3) with zip64, the one writer of the CLI (`-o out.zip`)
//! and the page.
//!
//! Why not the `zip` crate (which reads our archives back in the tests): the page assembles its
//! zip from the workers' OPFS scratch files and needs only each entry's local header from wasm
//! ([`ZipWriter::add_stored_header`]); zip 9 has no header-only entry, so every data byte would
//! have to pass through its writer and the page's wasm memory. Its `add_prepared_file` would serve
//! the CLI, but one writer for both is the point.
//!
//! Each entry is written as soon as it is added, with its size and CRC in the local header, so
//! memory does not grow with the archive; only the central directory (a few dozen bytes per
//! entry) is kept until [`ZipWriter::finish`]. Zip64 records are used when an entry or the archive
//! passes 4 GiB or the archive holds more than 65,535 entries. Timestamps are fixed (1980-01-01),
//! so the same entries in the same order always give the same bytes.

use std::io::{self, Read, Write};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
const UTF8_NAMES: u16 = 1 << 11;

struct CentralEntry {
    name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// An entry ready to be written: its CRC, and its deflated data when deflate made it smaller
/// (otherwise the original bytes are stored).
pub struct Prepared {
    crc: u32,
    size: u64,
    deflated: Option<Vec<u8>>,
}

impl Prepared {
    /// Computes the CRC and, with `compress`, tries deflate (kept only if it saves space).
    pub fn new(data: &[u8], compress: bool) -> io::Result<Prepared> {
        let crc = crc32fast::hash(data);
        let size = data.len() as u64;
        let mut deflated = None;
        if compress {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data)?;
            let d = enc.finish()?;
            if d.len() < data.len() {
                deflated = Some(d);
            }
        }
        Ok(Prepared {
            crc,
            size,
            deflated,
        })
    }
}

/// Writes a zip archive entry by entry into any writer.
pub struct ZipWriter<W: Write> {
    out: W,
    offset: u64,
    entries: Vec<CentralEntry>,
    /// Set by a failed write: the archive's offsets no longer match its bytes, so nothing more
    /// may be added and `finish` refuses, rather than producing a corrupt zip.
    failed: bool,
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn clamp32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl<W: Write> ZipWriter<W> {
    /// Starts an archive.
    pub fn new(out: W) -> Self {
        ZipWriter {
            out,
            offset: 0,
            entries: Vec::new(),
            failed: false,
        }
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write to the zip failed"));
        }
        Ok(())
    }

    /// The writer, e.g. to drain a `Vec<u8>` buffer between entries.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Adds an entry held in memory, deflated when `compress` is set and that makes it smaller.
    pub fn add(&mut self, name: &str, data: &[u8], compress: bool) -> io::Result<()> {
        self.add_prepared(name, &Prepared::new(data, compress)?, data)
    }

    /// Adds an entry prepared beforehand by [`Prepared::new`] from the same `data` (so the CRC
    /// and deflate work can run outside any lock that guards this writer).
    pub fn add_prepared(&mut self, name: &str, p: &Prepared, data: &[u8]) -> io::Result<()> {
        match &p.deflated {
            Some(d) => self.write_entry(name, 8, p.crc, p.size, &mut &d[..], d.len() as u64),
            None => self.write_entry(name, 0, p.crc, p.size, &mut &data[..], p.size),
        }
    }

    /// Writes only the local header of a stored entry whose `size` bytes (with this `crc`) the
    /// caller writes to the same destination right after. The browser app uses this so file
    /// data never has to pass through the writer.
    pub fn add_stored_header(&mut self, name: &str, size: u64, crc: u32) -> io::Result<()> {
        let header = self.write_header(name, 0, crc, size, size)?;
        self.offset += header + size;
        Ok(())
    }

    /// Adds a stored entry whose bytes come from a reader; `size` and `crc` must describe them.
    pub fn add_stored_from(
        &mut self,
        name: &str,
        size: u64,
        crc: u32,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        self.write_entry(name, 0, crc, size, data, size)
    }

    fn write_entry(
        &mut self,
        name: &str,
        method: u16,
        crc: u32,
        size: u64,
        data: &mut dyn Read,
        compressed: u64,
    ) -> io::Result<()> {
        let header = self.write_header(name, method, crc, size, compressed)?;
        let copied = io::copy(&mut data.take(compressed), &mut self.out).inspect_err(|_| {
            self.failed = true;
        })?;
        if copied != compressed {
            self.failed = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "entry data shorter than declared",
            ));
        }
        self.offset += header + compressed;
        Ok(())
    }

    /// Writes a local header, records the central directory entry, returns the header length.
    fn write_header(
        &mut self,
        name: &str,
        method: u16,
        crc: u32,
        size: u64,
        compressed: u64,
    ) -> io::Result<u64> {
        self.check()?;
        let zip64 = size >= u32::MAX as u64 || compressed >= u32::MAX as u64;
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        put32(&mut h, LOCAL);
        put16(&mut h, if zip64 { 45 } else { 20 });
        put16(&mut h, UTF8_NAMES);
        put16(&mut h, method);
        put16(&mut h, 0);
        put16(&mut h, DOS_DATE_1980_01_01);
        put32(&mut h, crc);
        put32(&mut h, if zip64 { u32::MAX } else { compressed as u32 });
        put32(&mut h, if zip64 { u32::MAX } else { size as u32 });
        put16(&mut h, name.len() as u16);
        put16(&mut h, if zip64 { 20 } else { 0 });
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            put16(&mut h, 0x0001);
            put16(&mut h, 16);
            put64(&mut h, size);
            put64(&mut h, compressed);
        }
        self.out.write_all(&h).inspect_err(|_| self.failed = true)?;
        self.entries.push(CentralEntry {
            name: name.to_string(),
            method,
            crc,
            compressed,
            size,
            offset: self.offset,
        });
        Ok(h.len() as u64)
    }

    /// Writes the central directory and end records, and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.check()?;
        let cd_offset = self.offset;
        let mut cd = Vec::new();
        for e in &self.entries {
            let mut extra = Vec::new();
            if e.size >= u32::MAX as u64 {
                put64(&mut extra, e.size);
            }
            if e.compressed >= u32::MAX as u64 {
                put64(&mut extra, e.compressed);
            }
            if e.offset >= u32::MAX as u64 {
                put64(&mut extra, e.offset);
            }
            let zip64 = !extra.is_empty();
            put32(&mut cd, CENTRAL);
            put16(&mut cd, 45);
            put16(&mut cd, if zip64 { 45 } else { 20 });
            put16(&mut cd, UTF8_NAMES);
            put16(&mut cd, e.method);
            put16(&mut cd, 0);
            put16(&mut cd, DOS_DATE_1980_01_01);
            put32(&mut cd, e.crc);
            put32(&mut cd, clamp32(e.compressed));
            put32(&mut cd, clamp32(e.size));
            put16(&mut cd, e.name.len() as u16);
            put16(&mut cd, if zip64 { extra.len() as u16 + 4 } else { 0 });
            put16(&mut cd, 0);
            put16(&mut cd, 0);
            put16(&mut cd, 0);
            put32(&mut cd, 0);
            put32(&mut cd, clamp32(e.offset));
            cd.extend_from_slice(e.name.as_bytes());
            if zip64 {
                put16(&mut cd, 0x0001);
                put16(&mut cd, extra.len() as u16);
                cd.extend_from_slice(&extra);
            }
        }
        let cd_size = cd.len() as u64;
        let n = self.entries.len() as u64;
        let needs64 = n >= 0xFFFF || cd_offset >= u32::MAX as u64 || cd_size >= u32::MAX as u64;
        if needs64 {
            let end64_offset = cd_offset + cd_size;
            put32(&mut cd, END64);
            put64(&mut cd, 44);
            put16(&mut cd, 45);
            put16(&mut cd, 45);
            put32(&mut cd, 0);
            put32(&mut cd, 0);
            put64(&mut cd, n);
            put64(&mut cd, n);
            put64(&mut cd, cd_size);
            put64(&mut cd, cd_offset);
            put32(&mut cd, LOCATOR64);
            put32(&mut cd, 0);
            put64(&mut cd, end64_offset);
            put32(&mut cd, 1);
        }
        put32(&mut cd, END);
        put16(&mut cd, 0);
        put16(&mut cd, 0);
        let n16 = if needs64 { 0xFFFF } else { n as u16 };
        put16(&mut cd, n16);
        put16(&mut cd, n16);
        put32(&mut cd, clamp32(cd_size));
        put32(&mut cd, if needs64 { u32::MAX } else { cd_offset as u32 });
        put16(&mut cd, 0);
        self.out.write_all(&cd)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn entries_read_back_with_another_reader() {
        let mut z = ZipWriter::new(Vec::new());
        let big = vec![7u8; 100_000];
        z.add("a/b/one.dcm", &big, true).unwrap();
        z.add("two.txt", b"hello", false).unwrap();
        let mut audit = Cursor::new(b"{\"record\":\"summary\"}\n".to_vec());
        z.add_stored_header("three.bin", 3, crc32fast::hash(b"abc"))
            .unwrap();
        z.get_mut().extend_from_slice(b"abc");
        z.add_stored_from(
            "audit.jsonl",
            21,
            crc32fast::hash(audit.get_ref()),
            &mut audit,
        )
        .unwrap();
        let bytes = z.finish().unwrap();
        let mut r = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(r.len(), 4);
        let mut out = Vec::new();
        r.by_name("three.bin")
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abc");
        out.clear();
        r.by_name("a/b/one.dcm")
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, big);
        assert!(bytes.len() < 10_000, "compressible entry was deflated");
        let mut s = String::new();
        r.by_name("audit.jsonl")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "{\"record\":\"summary\"}\n");
    }

    #[test]
    fn more_than_65535_entries_use_zip64() {
        let mut z = ZipWriter::new(Vec::new());
        for i in 0..70_000u32 {
            z.add(&format!("{i}"), &i.to_le_bytes(), false).unwrap();
        }
        let bytes = z.finish().unwrap();
        let mut r = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(r.len(), 70_000);
        let mut out = Vec::new();
        r.by_name("69999").unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, 69_999u32.to_le_bytes());
    }

    #[test]
    fn entries_beyond_4_gib_get_zip64_records() {
        // The data of a 5 GiB entry is written by the caller, not here: only headers are checked.
        let size = 5u64 << 30;
        let mut z = ZipWriter::new(Vec::new());
        z.add_stored_header("big.dcm", size, 0x1234_5678).unwrap();
        let header = z.get_mut().clone();
        assert_eq!(
            &header[18..26],
            &[0xFF; 8],
            "sizes deferred to the zip64 extra field"
        );
        assert_eq!(&header[30 + 7..30 + 7 + 4], &[1, 0, 16, 0]);
        assert_eq!(u64::from_le_bytes(header[41..49].try_into().unwrap()), size);
        z.add("after.txt", b"x", false).unwrap();
        let bytes = z.finish().unwrap();
        let find = |sig: u32| bytes.windows(4).position(|w| w == sig.to_le_bytes());
        assert!(
            find(END64).is_some() && find(LOCATOR64).is_some(),
            "zip64 end records"
        );
        // The second entry's offset is past 4 GiB, so its central header carries it in zip64 form.
        let end64 = find(END64).unwrap();
        let cd_offset = u64::from_le_bytes(bytes[end64 + 48..end64 + 56].try_into().unwrap());
        assert!(cd_offset > size);
    }

    #[test]
    fn same_entries_same_bytes() {
        let make = || {
            let mut z = ZipWriter::new(Vec::new());
            z.add("x.dcm", b"abcabcabcabc", true).unwrap();
            z.finish().unwrap()
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn a_failed_write_stops_the_archive() {
        /// Accepts `room` bytes, then fails.
        struct Full {
            room: usize,
        }
        impl Write for Full {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if self.room == 0 {
                    return Err(io::Error::other("disk full"));
                }
                let n = b.len().min(self.room);
                self.room -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut z = ZipWriter::new(Full { room: 100 });
        z.add("a.bin", &[7; 50], false).unwrap();
        assert!(
            z.add("b.bin", &[7; 50], false).is_err(),
            "runs out mid-entry"
        );
        assert!(
            z.add("c.bin", b"x", false).is_err(),
            "nothing more is added"
        );
        assert!(z.finish().is_err(), "and no central directory is written");
    }
}
