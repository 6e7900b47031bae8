//! Reading jute records from the front of a file held in memory, with the
//! offset of every failure, and ZooKeeper's Adler-32 seals.

use std::path::Path;

use jute::Decode;

use super::ImportError;

/// A position in one file's bytes.
pub struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    pub file: &'a Path,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], file: &'a Path) -> Self {
        Cursor { buf, pos: 0, file }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Runs the nom parser `parse` at the position and moves past what it
    /// read, or names the offset where it failed.
    fn step<T>(
        &mut self,
        what: &str,
        parse: impl FnOnce(&'a [u8]) -> jute::JResult<'a, T>,
    ) -> Result<T, ImportError> {
        let rest = self.rest();
        match parse(rest) {
            Ok((after, v)) => {
                self.pos += rest.len() - after.len();
                Ok(v)
            }
            Err(e) => Err(ImportError::corrupt(
                self.file,
                self.pos as u64,
                format!("{what}: {}", jute::DecodeError::from(e)),
            )),
        }
    }

    /// One `T` (a jute record or primitive), or the offset where it fails.
    pub fn read<T: Decode>(&mut self, what: &str) -> Result<T, ImportError> {
        self.step(what, T::decode)
    }

    /// A `buffer` as a slice of the file (no copy), `None` for null.
    pub fn buffer(&mut self, what: &str) -> Result<Option<&'a [u8]>, ImportError> {
        self.step(what, jute::buffer_ref)
    }

    /// A `ustring` as a slice of the file.
    pub fn str(&mut self, what: &str) -> Result<&'a str, ImportError> {
        let at = self.pos as u64;
        let bytes = self.buffer(what)?.unwrap_or_default();
        std::str::from_utf8(bytes)
            .map_err(|e| ImportError::corrupt(self.file, at, format!("{what}: {e}")))
    }

    /// `SnapStream.checkSealIntegrity`: the Adler-32 of every byte before
    /// the seal, as a `long`, then the string "/". `adler` carries the
    /// checksum of `self.buf[..*upto]` between seals.
    pub fn seal(
        &mut self,
        adler: &mut adler2::Adler32,
        upto: &mut usize,
    ) -> Result<(), ImportError> {
        adler.write_slice(self.buf.get(*upto..self.pos).unwrap_or_default());
        let want = u64::from(adler.checksum());
        let at = self.pos as u64;
        let got: i64 = self.read("checksum")?;
        if got as u64 != want {
            return Err(ImportError::corrupt(
                self.file,
                at,
                format!("Adler-32 is {want:#x}, the file says {:#x}", got as u64),
            ));
        }
        if self.str("seal")? != "/" {
            return Err(ImportError::corrupt(
                self.file,
                at,
                "no \"/\" after the checksum",
            ));
        }
        adler.write_slice(self.buf.get(at as usize..self.pos).unwrap_or_default());
        *upto = self.pos;
        Ok(())
    }
}
