//! The output files: one append-only JSONL file per (sanitized) stream name.
//!
//! Files are opened on a stream's first record and written through large buffers; `flush_all`
//! runs before every state acknowledgement and `sync_all` (fsync) once at the end.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use smelt_plugin_sdk::names::stream_file_name;

use super::error::TargetError;

const BUFFER: usize = 256 * 1024;

struct SinkFile {
    path: PathBuf,
    writer: BufWriter<File>,
    dirty: bool,
}

/// Every output file of one run.
pub(crate) struct Sinks {
    dir: PathBuf,
    timestamp: Option<String>,
    files: Vec<SinkFile>,
    by_name: HashMap<String, usize>,
}

impl Sinks {
    /// Output goes to `dir`; with `timestamp`, file names get `-<timestamp>` before `.jsonl`.
    pub(crate) fn new(dir: PathBuf, timestamp: Option<String>) -> Self {
        Sinks {
            dir,
            timestamp,
            files: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    /// The file a stream's records go to.
    pub(crate) fn path_for(&self, stream: &str) -> PathBuf {
        let base = stream_file_name(stream);
        let name = match &self.timestamp {
            Some(ts) => format!("{base}-{ts}.jsonl"),
            None => format!("{base}.jsonl"),
        };
        self.dir.join(name)
    }

    /// Opens (once) the file of `stream` and returns its handle. Streams whose names sanitize
    /// alike share one file.
    pub(crate) fn open(&mut self, stream: &str) -> Result<usize, TargetError> {
        let path = self.path_for(stream);
        let key = path.to_string_lossy().into_owned();
        if let Some(&index) = self.by_name.get(&key) {
            return Ok(index);
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| write_error(&self.dir, source))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| write_error(&path, source))?;
        self.files.push(SinkFile {
            path,
            writer: BufWriter::with_capacity(BUFFER, file),
            dirty: false,
        });
        let index = self.files.len() - 1;
        self.by_name.insert(key, index);
        Ok(index)
    }

    /// Appends one line (`json` plus a newline) to file `index`.
    pub(crate) fn append_line(&mut self, index: usize, json: &[u8]) -> Result<(), TargetError> {
        let Some(sink) = self.files.get_mut(index) else {
            return Err(TargetError::Config(format!(
                "internal: no output file #{index}"
            )));
        };
        sink.dirty = true;
        let result = sink
            .writer
            .write_all(json)
            .and_then(|()| sink.writer.write_all(b"\n"));
        result.map_err(|source| write_error(&sink.path, source))
    }

    /// Hands every buffered line to the OS.
    pub(crate) fn flush_all(&mut self) -> Result<(), TargetError> {
        for sink in self.files.iter_mut().filter(|s| s.dirty) {
            sink.writer
                .flush()
                .map_err(|source| write_error(&sink.path, source))?;
            sink.dirty = false;
        }
        Ok(())
    }

    /// Flushes and fsyncs every file.
    pub(crate) fn sync_all(&mut self) -> Result<(), TargetError> {
        self.flush_all()?;
        for sink in &mut self.files {
            sink.writer
                .get_ref()
                .sync_all()
                .map_err(|source| write_error(&sink.path, source))?;
        }
        Ok(())
    }
}

fn write_error(path: &Path, source: std::io::Error) -> TargetError {
    TargetError::Write {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_shares_files_of_alike_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/out");
        let mut sinks = Sinks::new(out.clone(), None);
        let a = sinks.open("a:b").unwrap();
        let b = sinks.open("a?b").unwrap();
        assert_eq!(a, b);
        sinks.append_line(a, br#"{"x":1}"#).unwrap();
        sinks.flush_all().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("a_b.jsonl")).unwrap(),
            "{\"x\":1}\n"
        );
        // A second run appends.
        let mut again = Sinks::new(out.clone(), None);
        let c = again.open("a_b").unwrap();
        again.append_line(c, b"{}").unwrap();
        again.sync_all().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("a_b.jsonl")).unwrap(),
            "{\"x\":1}\n{}\n"
        );
        let stamped = Sinks::new(out.clone(), Some("20240101T000000".into()));
        assert_eq!(stamped.path_for("s"), out.join("s-20240101T000000.jsonl"));
    }
}
