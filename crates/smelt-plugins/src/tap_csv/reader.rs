//! Opening one CSV file of an entity and reading its header row.
//!
//! Files are streamed through the `csv` crate with a large buffer; a UTF-8 byte order mark is
//! dropped; the header must be non-empty, valid UTF-8 and free of duplicate column names.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use super::config::FileDef;
use super::error::TapCsvError;

/// The byte source of a CSV reader: the file minus any byte order mark.
pub(crate) type Source = io::Chain<Cursor<Vec<u8>>, File>;

/// An open CSV file positioned after its header.
pub(crate) struct CsvFile {
    /// The record reader.
    pub reader: csv::Reader<Source>,
    /// The header's column names, in file order.
    pub header: Vec<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const BUFFER: usize = 256 * 1024;

/// Opens `path` with the dialect of `def` and reads the header.
pub(crate) fn open(def: &FileDef, path: &Path) -> Result<CsvFile, TapCsvError> {
    let shown = path.display().to_string();
    let read_error = |source| TapCsvError::Read {
        path: shown.clone(),
        entity: def.entity.clone(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut prefix = Vec::with_capacity(BOM.len());
    (&mut file)
        .take(BOM.len() as u64)
        .read_to_end(&mut prefix)
        .map_err(read_error)?;
    if prefix == BOM {
        prefix.clear();
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(def.delimiter)
        .quote(def.quote)
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(BUFFER)
        .from_reader(Cursor::new(prefix).chain(file));
    let file_error = |problem: String| TapCsvError::File {
        path: shown.clone(),
        entity: def.entity.clone(),
        problem,
    };
    let header = match reader.headers() {
        Ok(record) => record.iter().map(str::to_string).collect::<Vec<_>>(),
        Err(err) => {
            return Err(match err.into_kind() {
                csv::ErrorKind::Io(source) => read_error(source),
                csv::ErrorKind::Utf8 { .. } => file_error(
                    "the header row is not valid UTF-8; only utf-8 files are supported".into(),
                ),
                other => file_error(format!("could not read the header row: {other:?}")),
            })
        }
    };
    if header.is_empty() {
        return Err(file_error(
            "the file is empty: expected a header row naming the columns".into(),
        ));
    }
    let mut seen = HashSet::new();
    for name in &header {
        if !seen.insert(name.as_str()) {
            return Err(file_error(format!(
                "column '{name}' appears twice in the header row; column names must be unique"
            )));
        }
    }
    for key in &def.keys {
        if !seen.contains(key.as_str()) {
            return Err(file_error(format!(
                "key column '{key}' is not in the header row (columns: {}); fix `keys` of this entity",
                header.join(", ")
            )));
        }
    }
    if let Some(rk) = &def.replication_key {
        if !seen.contains(rk.as_str()) {
            return Err(file_error(format!(
                "replication key column '{rk}' is not in the header row (columns: {}); fix `replication_key` of this entity",
                header.join(", ")
            )));
        }
    }
    Ok(CsvFile { reader, header })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(keys: &[&str], rk: Option<&str>) -> FileDef {
        FileDef {
            entity: "e".into(),
            path: String::new(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            replication_key: rk.map(str::to_string),
            delimiter: b',',
            quote: b'"',
        }
    }

    #[test]
    fn reads_header_and_drops_bom() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, b"\xEF\xBB\xBF\"id\",name\n1,a\n").unwrap();
        let mut file = open(&def(&["id"], None), &path).unwrap();
        assert_eq!(file.header, ["id", "name"]);
        let mut record = csv::StringRecord::new();
        assert!(file.reader.read_record(&mut record).unwrap());
        assert_eq!(&record[1], "a");
    }

    #[test]
    fn header_problems_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let problem = |content: &[u8], def: FileDef| {
            std::fs::write(&path, content).unwrap();
            match open(&def, &path) {
                Ok(_) => String::from("no error"),
                Err(e) => e.to_string(),
            }
        };
        assert!(problem(b"", def(&[], None)).contains("the file is empty"));
        assert!(problem(b"a,a\n", def(&[], None)).contains("column 'a' appears twice"));
        let missing_key = problem(b"a,b\n", def(&["id"], None));
        assert!(
            missing_key.contains("key column 'id' is not in the header row (columns: a, b)")
                && missing_key.contains("(entity e)"),
            "{missing_key}"
        );
        assert!(problem(b"a,b\n", def(&[], Some("ts"))).contains("replication key column 'ts'"));
        assert!(problem(b"a,\xff\n", def(&[], None)).contains("not valid UTF-8"));
    }
}
