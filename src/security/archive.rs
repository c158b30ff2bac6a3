//! The encrypted, checksummed backup archive.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! header   "ATENDEBK" (8) | version 1 (1) | salt (16) | key check (16)
//! chunks   length u32 | AES-256-GCM ciphertext (plaintext ≤ 1 MiB, 16-byte tag)   …
//! trailer  SHA-256 of every byte before it (32)
//! ```
//!
//! The key of the chunks is HMAC-SHA256(backup key, salt): a fresh key per archive, so the
//! chunk nonces can simply count (11 bytes counter, then 1 byte that is 1 on the last chunk
//! only). A chunk cut off at a chunk boundary therefore fails authentication, as does a
//! reordered or replaced one. The header is the associated data of every chunk.
//!
//! The key check (HMAC-SHA256(backup key, "atende backup key check" ‖ salt), first 16 bytes)
//! tells a wrong key apart from a damaged archive, and the trailer tells a damaged archive
//! apart before any key is used, so each failure gets its own clear error.
//!
//! The plaintext is a sequence of entries: name length u16 | name (UTF-8) | size u64 | bytes,
//! ended by a name length of 0.

use std::io::{self, Read, Write};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"ATENDEBK";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 16 + 16;
const TRAILER_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk: big enough to be fast, small enough to hold in memory.
const CHUNK: usize = 1 << 20;

type HmacSha256 = Hmac<Sha256>;

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not an atende backup archive (or an unknown version)")]
    NotAnArchive,
    #[error("the archive is damaged: {0}")]
    Corrupt(&'static str),
    #[error("wrong backup key: this archive was made with another key")]
    WrongKey,
    #[error("backup key: {0}")]
    BadKey(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A 32-byte backup key, parsed from base64.
#[derive(Clone)]
pub struct BackupKey([u8; 32]);

impl BackupKey {
    pub fn parse(b64: &str) -> Result<Self, ArchiveError> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| ArchiveError::BadKey("not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ArchiveError::BadKey("must be base64 of exactly 32 bytes"))?;
        Ok(Self(bytes))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        #[allow(clippy::expect_used)] // HMAC accepts keys of any length
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("any key length");
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    fn check(&self, salt: &[u8]) -> [u8; 16] {
        let full = self.mac(&[b"atende backup key check", salt]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn cipher(&self, salt: &[u8]) -> Aes256Gcm {
        let derived = self.mac(&[salt]);
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(derived))
    }
}

fn nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// A writer that hashes everything passing through it (for the trailer).
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.inner.write_all(bytes)
    }
}

/// Writes an archive: entries go in with [`ArchiveWriter::entry`], then [`ArchiveWriter::finish`].
pub struct ArchiveWriter<W: Write> {
    out: Hashing<W>,
    cipher: Aes256Gcm,
    header: Vec<u8>,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> ArchiveWriter<W> {
    pub fn new(inner: W, key: &BackupKey) -> io::Result<Self> {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.extend_from_slice(&salt);
        header.extend_from_slice(&key.check(&salt));
        let mut out = Hashing {
            inner,
            hash: Sha256::new(),
        };
        out.put(&header)?;
        Ok(Self {
            out,
            cipher: key.cipher(&salt),
            header,
            buf: Vec::with_capacity(CHUNK),
            counter: 0,
        })
    }

    /// Add one named entry of `size` bytes read from `data`.
    pub fn entry(&mut self, name: &str, size: u64, data: &mut impl Read) -> io::Result<()> {
        let name_len = u16::try_from(name.len())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| io::Error::other(format!("bad entry name {name:?}")))?;
        self.plain(&name_len.to_be_bytes())?;
        self.plain(name.as_bytes())?;
        self.plain(&size.to_be_bytes())?;
        let mut left = size;
        let mut block = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
            let got = data.read(&mut block[..want])?;
            if got == 0 {
                return Err(io::Error::other(format!("{name} shrank while being read")));
            }
            self.plain(&block[..got])?;
            left -= got as u64;
        }
        Ok(())
    }

    fn plain(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = CHUNK - self.buf.len();
            let take = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == CHUNK {
                self.seal(false)?;
            }
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce(self.counter, last)),
                Payload {
                    msg: &self.buf,
                    aad: &self.header,
                },
            )
            .map_err(|_| io::Error::other("encryption failed"))?;
        self.counter += 1;
        self.buf.clear();
        let len = u32::try_from(ct.len()).map_err(io::Error::other)?;
        self.out.put(&len.to_be_bytes())?;
        self.out.put(&ct)
    }

    /// Write the end marker, the last chunk and the trailer; returns the inner writer and
    /// the archive's SHA-256 (the trailer).
    pub fn finish(mut self) -> io::Result<(W, [u8; 32])> {
        self.plain(&0u16.to_be_bytes())?;
        self.seal(true)?;
        let digest: [u8; 32] = self.out.hash.finalize_reset().into();
        self.out.inner.write_all(&digest)?;
        self.out.inner.flush()?;
        Ok((self.out.inner, digest))
    }
}

/// Check an archive's trailer without any key: `Ok` when no byte changed since it was written.
pub fn verify_checksum(mut file: impl Read) -> Result<[u8; 32], ArchiveError> {
    let mut hash = Sha256::new();
    let mut tail: Vec<u8> = Vec::with_capacity(TRAILER_LEN * 2);
    let mut block = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    loop {
        let got = file.read(&mut block)?;
        if got == 0 {
            break;
        }
        total += got;
        // Keep the last 32 bytes out of the hash until the end is known.
        tail.extend_from_slice(&block[..got]);
        if tail.len() > TRAILER_LEN {
            let cut = tail.len() - TRAILER_LEN;
            hash.update(&tail[..cut]);
            tail.drain(..cut);
        }
    }
    if total < HEADER_LEN + TRAILER_LEN {
        return Err(ArchiveError::NotAnArchive);
    }
    let digest: [u8; 32] = hash.finalize().into();
    if tail.as_slice() != digest {
        return Err(ArchiveError::Corrupt("checksum mismatch"));
    }
    Ok(digest)
}

/// Reads an archive's entries. Call [`verify_checksum`] first: this reader authenticates
/// every chunk, but a damaged archive is only named as such by the checksum.
pub struct ArchiveReader<R: Read> {
    inner: R,
    cipher: Aes256Gcm,
    header: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    counter: u64,
    ended: bool,
}

impl<R: Read> ArchiveReader<R> {
    pub fn open(mut inner: R, key: &BackupKey) -> Result<Self, ArchiveError> {
        let mut header = vec![0u8; HEADER_LEN];
        inner
            .read_exact(&mut header)
            .map_err(|_| ArchiveError::NotAnArchive)?;
        if &header[..8] != MAGIC || header[8] != VERSION {
            return Err(ArchiveError::NotAnArchive);
        }
        let salt = &header[9..25];
        if header[25..41] != key.check(salt) {
            return Err(ArchiveError::WrongKey);
        }
        Ok(Self {
            inner,
            cipher: key.cipher(salt),
            header,
            plain: Vec::new(),
            pos: 0,
            counter: 0,
            ended: false,
        })
    }

    fn refill(&mut self) -> Result<bool, ArchiveError> {
        if self.ended {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        self.inner
            .read_exact(&mut len)
            .map_err(|_| ArchiveError::Corrupt("truncated"))?;
        let len = u32::from_be_bytes(len) as usize;
        if !(TAG_LEN..=CHUNK + TAG_LEN).contains(&len) {
            return Err(ArchiveError::Corrupt("bad chunk length"));
        }
        let mut ct = vec![0u8; len];
        self.inner
            .read_exact(&mut ct)
            .map_err(|_| ArchiveError::Corrupt("truncated"))?;
        // The writer seals a chunk as soon as it is full and the last one after the end
        // marker, so the last chunk, and only it, is shorter than a full one.
        let last = len < CHUNK + TAG_LEN;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce(self.counter, last)),
                Payload {
                    msg: &ct,
                    aad: &self.header,
                },
            )
            .map_err(|_| ArchiveError::Corrupt("a chunk failed authentication"))?;
        self.ended = last;
        self.counter += 1;
        self.plain = plain;
        self.pos = 0;
        Ok(true)
    }

    fn read_plain(&mut self, out: &mut [u8]) -> Result<(), ArchiveError> {
        let mut filled = 0;
        while filled < out.len() {
            if self.pos == self.plain.len() && !self.refill()? {
                return Err(ArchiveError::Corrupt("ends in the middle of an entry"));
            }
            let take = (self.plain.len() - self.pos).min(out.len() - filled);
            out[filled..filled + take].copy_from_slice(&self.plain[self.pos..self.pos + take]);
            self.pos += take;
            filled += take;
        }
        Ok(())
    }

    /// The next entry's name and size, or `None` at the end marker. The entry's bytes must
    /// then be taken with [`ArchiveReader::copy_entry`].
    pub fn next_entry(&mut self) -> Result<Option<(String, u64)>, ArchiveError> {
        let mut len = [0u8; 2];
        self.read_plain(&mut len)?;
        let len = u16::from_be_bytes(len) as usize;
        if len == 0 {
            // The marker may end a full chunk; the (empty) last chunk then still follows.
            if self.pos == self.plain.len() && !self.ended {
                self.refill()?;
            }
            if self.pos != self.plain.len() || !self.ended {
                return Err(ArchiveError::Corrupt("data after the end marker"));
            }
            return Ok(None);
        }
        let mut name = vec![0u8; len];
        self.read_plain(&mut name)?;
        let name = String::from_utf8(name).map_err(|_| ArchiveError::Corrupt("entry name"))?;
        let mut size = [0u8; 8];
        self.read_plain(&mut size)?;
        Ok(Some((name, u64::from_be_bytes(size))))
    }

    /// Copy the current entry's `size` bytes to `out`.
    pub fn copy_entry(&mut self, size: u64, out: &mut impl Write) -> Result<(), ArchiveError> {
        let mut left = size;
        while left > 0 {
            if self.pos == self.plain.len() && !self.refill()? {
                return Err(ArchiveError::Corrupt("ends in the middle of an entry"));
            }
            let avail = (self.plain.len() - self.pos) as u64;
            let take = usize::try_from(avail.min(left)).unwrap_or(0);
            out.write_all(&self.plain[self.pos..self.pos + take])?;
            self.pos += take;
            left -= take as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> BackupKey {
        BackupKey([byte; 32])
    }

    fn archive(k: &BackupKey, entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = ArchiveWriter::new(Vec::new(), k).expect("writer");
        for (name, data) in entries {
            w.entry(name, data.len() as u64, &mut data.as_slice())
                .expect("entry");
        }
        w.finish().expect("finish").0
    }

    fn read_all(k: &BackupKey, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
        verify_checksum(bytes)?;
        let mut r = ArchiveReader::open(&bytes[..bytes.len() - TRAILER_LEN], k)?;
        let mut out = Vec::new();
        while let Some((name, size)) = r.next_entry()? {
            let mut data = Vec::new();
            r.copy_entry(size, &mut data)?;
            out.push((name, data));
        }
        Ok(out)
    }

    #[test]
    fn entries_come_back_as_written_across_chunk_boundaries() {
        let big: Vec<u8> = (0..(CHUNK * 2 + 77)).map(|i| (i % 251) as u8).collect();
        for entries in [
            vec![("a", b"hello".to_vec()), ("b/c.pdf", big.clone())],
            vec![("exact", vec![7u8; CHUNK - 2 - 5 - 8 - 2])], // fills one chunk exactly
            vec![],
        ] {
            let bytes = archive(&key(1), &entries);
            let back = read_all(&key(1), &bytes).expect("reads");
            let want: Vec<(String, Vec<u8>)> = entries
                .into_iter()
                .map(|(n, d)| (n.to_string(), d))
                .collect();
            assert_eq!(back, want);
        }
    }

    #[test]
    fn a_wrong_key_and_a_flipped_byte_are_told_apart() {
        let bytes = archive(&key(1), &[("a", vec![1u8; 1000])]);
        assert!(matches!(
            read_all(&key(2), &bytes),
            Err(ArchiveError::WrongKey)
        ));
        let mut bad = bytes.clone();
        bad[HEADER_LEN + 10] ^= 1;
        assert!(matches!(
            read_all(&key(1), &bad),
            Err(ArchiveError::Corrupt("checksum mismatch"))
        ));
        // Damage that also fixes up the trailer is still caught by the chunk's tag.
        let body = &bad[..bad.len() - TRAILER_LEN];
        let mut refixed = body.to_vec();
        refixed.extend_from_slice(&Sha256::digest(body));
        assert!(matches!(
            read_all(&key(1), &refixed),
            Err(ArchiveError::Corrupt(_))
        ));
        assert!(matches!(
            read_all(&key(1), &bytes[..20]),
            Err(ArchiveError::NotAnArchive)
        ));
    }
}
