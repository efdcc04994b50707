//! Rows of `COPY … TO STDOUT (FORMAT binary)`, one at a time in bounded memory.
//!
//! The binary format frames every field with its length, so field bytes arrive exactly as the
//! server sends them (for `text` and `json` columns: UTF-8 text) with no escaping to undo.
//! Layout: an 11-byte signature, a 32-bit flags word, a 32-bit header-extension length and the
//! extension; then per row a 16-bit field count and per field a 32-bit length (-1: NULL) and
//! the bytes; then a trailer, a field count of -1.

use std::ops::Range;

use crate::client::{CopyOut, PgError};

/// The signature that starts every binary COPY stream.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Why rows could not be read.
#[derive(Debug)]
pub enum BinaryCopyError {
    /// Reading a chunk failed (the server, the driver, or our deadline).
    Pg(PgError),
    /// The data is not a well-formed binary COPY stream.
    Malformed(String),
}

impl std::fmt::Display for BinaryCopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BinaryCopyError::Pg(e) => e.fmt(f),
            BinaryCopyError::Malformed(why) => {
                write!(f, "the server's binary COPY data is malformed: {why}")
            }
        }
    }
}

impl std::error::Error for BinaryCopyError {}

impl From<PgError> for BinaryCopyError {
    fn from(e: PgError) -> Self {
        BinaryCopyError::Pg(e)
    }
}

/// Where the bytes come from: a COPY stream, or (in tests) a list of chunks.
pub trait ChunkSource {
    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, PgError>;
}

impl ChunkSource for CopyOut<'_> {
    fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, PgError> {
        CopyOut::next_chunk(self)
    }
}

/// Reads binary COPY rows; holds at most one row plus one chunk.
pub struct BinaryRows<S> {
    source: S,
    buf: Vec<u8>,
    /// Start of the unread data in `buf`.
    pos: usize,
    header_read: bool,
    finished: bool,
}

impl<S: ChunkSource> BinaryRows<S> {
    /// Rows from `source`.
    pub fn new(source: S) -> Self {
        BinaryRows {
            source,
            buf: Vec::new(),
            pos: 0,
            header_read: false,
            finished: false,
        }
    }

    /// Make at least `need` bytes available from `pos`; false if the stream ended first.
    fn fill(&mut self, need: usize) -> Result<bool, BinaryCopyError> {
        while self.buf.len() - self.pos < need {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            match self.source.next_chunk()? {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn truncated(what: &str) -> BinaryCopyError {
        BinaryCopyError::Malformed(format!("the stream ended inside {what}"))
    }

    fn read_header(&mut self) -> Result<(), BinaryCopyError> {
        if !self.fill(19)? {
            return Err(Self::truncated("the header"));
        }
        if &self.buf[self.pos..self.pos + 11] != SIGNATURE {
            return Err(BinaryCopyError::Malformed(
                "it does not start with the PGCOPY signature".to_string(),
            ));
        }
        let ext = be_u32(&self.buf[self.pos + 15..self.pos + 19]) as usize;
        if !self.fill(19 + ext)? {
            return Err(Self::truncated("the header extension"));
        }
        self.pos += 19 + ext;
        self.header_read = true;
        Ok(())
    }

    /// The next row: its bytes, and in `fields` each field's range in them (`None`: NULL).
    /// `None` after the last row.
    pub fn next_row<'r>(
        &'r mut self,
        fields: &mut Vec<Option<Range<usize>>>,
    ) -> Result<Option<&'r [u8]>, BinaryCopyError> {
        fields.clear();
        if self.finished {
            return Ok(None);
        }
        if !self.header_read {
            self.read_header()?;
        }
        if !self.fill(2)? {
            return Err(Self::truncated("the data (no trailer)"));
        }
        let count = i16::from_be_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        if count < 0 {
            self.finished = true;
            self.pos += 2;
            // Read to the end of the stream (the command's completion), so the connection is
            // left ready for the next statement.
            while self.source.next_chunk()?.is_some() {}
            return Ok(None);
        }
        // Offsets are relative to the row's start, which `fill` may move.
        let mut len = 2usize;
        for _ in 0..count {
            if !self.fill(len + 4)? {
                return Err(Self::truncated("a row"));
            }
            let at = self.pos + len;
            let size = i32::from_be_bytes([
                self.buf[at],
                self.buf[at + 1],
                self.buf[at + 2],
                self.buf[at + 3],
            ]);
            len += 4;
            if size < 0 {
                fields.push(None);
                continue;
            }
            let size = size as usize;
            if !self.fill(len + size)? {
                return Err(Self::truncated("a field"));
            }
            fields.push(Some(len..len + size));
            len += size;
        }
        let row = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(Some(row))
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    struct Chunks(Vec<Vec<u8>>);

    impl ChunkSource for Chunks {
        fn next_chunk(&mut self) -> Result<Option<Bytes>, PgError> {
            if self.0.is_empty() {
                Ok(None)
            } else {
                Ok(Some(Bytes::from(self.0.remove(0))))
            }
        }
    }

    fn stream() -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        for row in [vec![Some("1"), None], vec![Some("\"é\""), Some("")]] {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(f) => {
                        out.extend_from_slice(&(f.len() as i32).to_be_bytes());
                        out.extend_from_slice(f.as_bytes());
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn read_all(chunks: Vec<Vec<u8>>) -> Result<Vec<Vec<Option<String>>>, BinaryCopyError> {
        let mut rows = BinaryRows::new(Chunks(chunks));
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while let Some(row) = rows.next_row(&mut fields)? {
            out.push(
                fields
                    .iter()
                    .map(|f| {
                        f.clone()
                            .map(|r| String::from_utf8_lossy(&row[r]).into_owned())
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    #[test]
    fn rows_are_read_whatever_the_chunking() {
        let data = stream();
        let expected = vec![
            vec![Some("1".to_string()), None],
            vec![Some("\"é\"".to_string()), Some(String::new())],
        ];
        for size in [1, 2, 3, 7, 19, data.len()] {
            let chunks = data.chunks(size).map(<[u8]>::to_vec).collect();
            match read_all(chunks) {
                Ok(rows) => assert_eq!(rows, expected, "chunk size {size}"),
                Err(e) => panic!("chunk size {size}: {e}"),
            }
        }
    }

    #[test]
    fn truncated_and_foreign_streams_are_errors() {
        let data = stream();
        let cut = data[..data.len() - 2].to_vec();
        assert!(matches!(
            read_all(vec![cut]),
            Err(BinaryCopyError::Malformed(_))
        ));
        assert!(matches!(
            read_all(vec![b"1\tfoo\n".repeat(4)]),
            Err(BinaryCopyError::Malformed(_))
        ));
    }
}
