//! The project key and the keyed hashes derived from it.
//!
//! Every pseudonym, UID and date shift is an HMAC-SHA256 of the original value under the project
//! key, with a distinct label per purpose, so results depend only on the key and the value: the
//! same on any machine, in any order, in any worker.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// A 32-byte secret shared by everyone who must produce consistent pseudonyms for a project.
#[derive(Clone)]
pub struct ProjectKey {
    bytes: [u8; 32],
    /// HMAC-SHA256 keyed once (its inner and outer pads hashed): each [`ProjectKey::mac`] starts
    /// from a copy, two compressions cheaper than keying anew.
    keyed: Hmac<Sha256>,
}

impl PartialEq for ProjectKey {
    fn eq(&self, other: &ProjectKey) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for ProjectKey {}

impl std::fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectKey(..)")
    }
}

impl ProjectKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ProjectKey {
        ProjectKey {
            bytes,
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes).expect("any key length"),
        }
    }

    /// A fresh key from the operating system's (or browser's) random source.
    pub fn generate() -> Result<ProjectKey> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|_| Error::Key("no random source available".into()))?;
        Ok(ProjectKey::from_bytes(k))
    }

    /// Parses a key file: 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<ProjectKey> {
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Key(
                "a key is 64 hexadecimal digits (32 bytes)".into(),
            ));
        }
        let mut k = [0u8; 32];
        for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| Error::Key("not hex".into()))?;
            k[i] = u8::from_str_radix(s, 16).map_err(|_| Error::Key("not hex".into()))?;
        }
        Ok(ProjectKey::from_bytes(k))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as 64 lowercase hexadecimal digits, the key file format.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A short name for the key that does not reveal it: logs name the key a run used, so that
    /// two runs can be seen to share (or not) their pseudonyms.
    pub fn fingerprint(&self) -> String {
        base32(&self.mac("key-fingerprint", b""), 16)
    }

    /// HMAC-SHA256 of `label || 0x00 || value`.
    pub fn mac(&self, label: &str, value: &[u8]) -> [u8; 32] {
        let mut m = self.keyed.clone();
        m.update(label.as_bytes());
        m.update(&[0]);
        m.update(value);
        m.finalize().into_bytes().into()
    }
}

/// Renders bytes as upper-case Crockford base32 (no I, L, O, U): compact and unambiguous.
pub fn base32(bytes: &[u8], chars: usize) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::with_capacity(chars);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            if out.len() == chars {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let k = ProjectKey::from_bytes([7; 32]);
        assert_eq!(ProjectKey::from_hex(&k.to_hex()).unwrap(), k);
        assert!(ProjectKey::from_hex("abcd").is_err());
        assert!(ProjectKey::from_hex(&"g".repeat(64)).is_err());
    }

    #[test]
    fn labels_separate_purposes() {
        let k = ProjectKey::from_bytes([1; 32]);
        assert_ne!(k.mac("uid", b"1.2.3"), k.mac("patient", b"1.2.3"));
        assert_eq!(k.mac("uid", b"1.2.3"), k.mac("uid", b"1.2.3"));
        assert_ne!(
            k.mac("uid", b"1.2.3"),
            ProjectKey::from_bytes([2; 32]).mac("uid", b"1.2.3")
        );
    }

    #[test]
    fn base32_is_stable() {
        assert_eq!(base32(&[0xff; 10], 16), "ZZZZZZZZZZZZZZZZ");
        assert_eq!(base32(&[0; 10], 4), "0000");
    }
}
