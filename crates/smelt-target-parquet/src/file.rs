//! One Parquet file being written: a local temporary file that grows one row group at a
//! time, and is either finished (footer written, synced to disk) or discarded.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::buffer::RowGroupBuffer;
use crate::columns::ColumnType;
use crate::convert::Cell;

/// A file being written.
pub struct OpenFile {
    temp: PathBuf,
    /// Where it goes once finished, relative to the destination (`stream/[k=v/]name.parquet`).
    pub relative: String,
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    buffer: RowGroupBuffer,
    rows: u64,
    /// When it was last written to (a counter), to close the least recently used first.
    pub last_used: u64,
}

/// A finished file, synced, waiting to be published.
#[derive(Debug)]
pub struct FinishedFile {
    /// The local file.
    pub temp: PathBuf,
    /// Where it goes, relative to the destination.
    pub relative: String,
    /// Rows it holds.
    pub rows: u64,
}

impl OpenFile {
    /// Creates `temp` (its directory must exist) for a file with `schema`.
    pub fn create(
        temp: PathBuf,
        relative: String,
        schema: Arc<Type>,
        kinds: &[ColumnType],
        properties: Arc<WriterProperties>,
    ) -> Result<OpenFile, String> {
        let file =
            File::create(&temp).map_err(|e| format!("could not create {}: {e}", temp.display()))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(256 * 1024, file),
            schema,
            properties,
        )
        .map_err(|e| format!("could not start {}: {e}", temp.display()))?;
        Ok(OpenFile {
            temp,
            relative,
            writer: Some(writer),
            buffer: RowGroupBuffer::new(kinds),
            rows: 0,
            last_used: 0,
        })
    }

    /// Buffers one row (cells in file column order).
    pub fn push_row(&mut self, cells: impl IntoIterator<Item = Option<Cell>>) {
        self.buffer.push_row(cells);
        self.rows += 1;
    }

    /// Rows waiting in the current row group.
    pub fn buffered_rows(&self) -> usize {
        self.buffer.rows()
    }

    /// Bytes waiting in the current row group (approximate).
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.bytes()
    }

    /// Rows in the file so far, buffered ones included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes written to the file so far.
    pub fn written_bytes(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.bytes_written() as u64)
    }

    /// Writes the buffered rows as one row group.
    pub fn flush_row_group(&mut self) -> Result<(), String> {
        if self.buffer.rows() == 0 {
            return Ok(());
        }
        let temp = &self.temp;
        let Some(writer) = self.writer.as_mut() else {
            return Err(format!("{} was already finished", temp.display()));
        };
        let mut group = writer
            .next_row_group()
            .map_err(|e| format!("could not write to {}: {e}", temp.display()))?;
        self.buffer
            .write(&mut group)
            .map_err(|e| format!("could not write to {}: {e}", temp.display()))?;
        group
            .close()
            .map_err(|e| format!("could not write to {}: {e}", temp.display()))?;
        Ok(())
    }

    /// Writes the last row group and the footer, and syncs the file to disk.
    pub fn finish(mut self) -> Result<FinishedFile, String> {
        self.flush_row_group()?;
        let temp = self.temp.clone();
        let fail = |e: String| format!("could not finish {}: {e}", temp.display());
        let writer = self
            .writer
            .take()
            .ok_or_else(|| fail("it was already finished".to_string()))?;
        let buffered = writer.into_inner().map_err(|e| fail(e.to_string()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| fail(e.error().to_string()))?;
        file.sync_all().map_err(|e| fail(e.to_string()))?;
        Ok(FinishedFile {
            temp: std::mem::take(&mut self.temp),
            relative: std::mem::take(&mut self.relative),
            rows: self.rows,
        })
    }

    /// The temporary file's path.
    pub fn temp(&self) -> &Path {
        &self.temp
    }
}

impl Drop for OpenFile {
    /// A file dropped unfinished (the run failed) leaves nothing behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() && !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
