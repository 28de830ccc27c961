//! Import inputs: a file or in-memory bytes, transparently gunzipped (by magic number), with a
//! byte counter on the *compressed* side so progress matches the file size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{ByteCounter, ImportError};

/// An input to import.
pub struct Source {
    name: String,
    path: Option<PathBuf>,
    total: Option<u64>,
    counter: ByteCounter,
    inner: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("name", &self.name).field("total", &self.total).finish()
    }
}

struct Counting<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

impl Source {
    /// Opens a file.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let file = File::open(path)
            .map_err(|e| ImportError::io(format!("opening {}", path.display()), e))?;
        let total = file.metadata().ok().map(|m| m.len());
        let mut s = Self::from_reader(path.display().to_string(), total, file);
        s.path = Some(path.to_owned());
        Ok(s)
    }

    /// Wraps in-memory bytes (e.g. the embedded demo catalog).
    pub fn from_bytes(name: impl Into<String>, bytes: &'static [u8]) -> Self {
        Self::from_reader(name.into(), Some(bytes.len() as u64), bytes)
    }

    /// Wraps any reader.
    pub fn from_reader(
        name: String,
        total: Option<u64>,
        reader: impl Read + Send + 'static,
    ) -> Self {
        let counter = ByteCounter::default();
        let inner = Box::new(Counting { inner: reader, counter: counter.clone() });
        Self { name, path: None, total, counter, inner }
    }

    /// Display name (the path for files).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file path, for files.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Input size in bytes, when known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// Bytes consumed so far.
    pub fn counter(&self) -> ByteCounter {
        self.counter.clone()
    }

    /// A buffered reader over the (decompressed) content.
    pub fn into_reader(self) -> Result<Box<dyn BufRead + Send>, ImportError> {
        let mut buffered = BufReader::with_capacity(1 << 16, self.inner);
        let head = buffered
            .fill_buf()
            .map_err(|e| ImportError::io(format!("reading {}", self.name), e))?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(buffered))))
        } else {
            Ok(Box::new(buffered))
        }
    }
}

/// Longest line an importer accepts.
pub(crate) const MAX_LINE_BYTES: usize = 16 << 20;

/// Reads lines (without the line ending), tolerating invalid UTF-8 by replacement and counting
/// from 1. Returns `None` at the end.
pub(crate) struct Lines {
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    pub(crate) number: u64,
    name: String,
}

impl Lines {
    pub(crate) fn new(source: Source) -> Result<Self, ImportError> {
        let name = source.name.clone();
        Ok(Self { reader: source.into_reader()?, buf: Vec::with_capacity(4096), number: 0, name })
    }

    /// The unread rest of the input, and how many lines were read before it.
    pub(crate) fn into_rest(self) -> (Box<dyn BufRead + Send>, u64) {
        (self.reader, self.number)
    }

    /// The first line with something on it (the header, or the first JSON object), or
    /// `None` for an empty input.
    pub(crate) fn first_nonblank(&mut self) -> Result<Option<String>, ImportError> {
        while let Some(line) = self.next_line()? {
            if !line.trim().is_empty() {
                return Ok(Some(line));
            }
        }
        Ok(None)
    }

    /// The next line, or `None` at the end of input. A line longer than [`MAX_LINE_BYTES`] is
    /// an error (no legitimate record is that long; it would exhaust memory).
    pub(crate) fn next_line(&mut self) -> Result<Option<String>, ImportError> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ImportError::io(format!("reading {}", self.name), e))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(ImportError::Format(format!(
                "{}: line {} is longer than {} MiB; is this a text export?",
                self.name,
                self.number,
                MAX_LINE_BYTES >> 20
            )));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        // Strip a UTF-8 byte-order mark on the first line.
        let bytes = if self.number == 1 && self.buf.starts_with(&[0xef, 0xbb, 0xbf]) {
            &self.buf[3..]
        } else {
            &self.buf[..]
        };
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }
}
