//! The rows of one row group, held column by column until the group is written.
//!
//! Parquet writes a row group one column after another, so the rows of a group must be
//! buffered first; the buffer counts its rows and (approximately) its bytes so the caller can
//! bound both.

use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::Result as ParquetResult;
use std::io::Write;

use parquet::file::writer::SerializedRowGroupWriter;

use crate::columns::ColumnType;
use crate::convert::Cell;

/// The non-null values of one column.
#[derive(Debug)]
enum Values {
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Double(Vec<f64>),
    Boolean(Vec<bool>),
    Bytes(Vec<ByteArray>),
}

impl Values {
    fn for_type(kind: ColumnType) -> Values {
        match kind {
            ColumnType::Int64 | ColumnType::Timestamp => Values::Int64(Vec::new()),
            ColumnType::Date => Values::Int32(Vec::new()),
            ColumnType::Double => Values::Double(Vec::new()),
            ColumnType::Boolean => Values::Boolean(Vec::new()),
            ColumnType::Utf8 | ColumnType::Json | ColumnType::Mixed => Values::Bytes(Vec::new()),
        }
    }

    fn clear(&mut self) {
        match self {
            Values::Int64(v) => v.clear(),
            Values::Int32(v) => v.clear(),
            Values::Double(v) => v.clear(),
            Values::Boolean(v) => v.clear(),
            Values::Bytes(v) => v.clear(),
        }
    }
}

/// One column's buffered values with their definition levels (0 null, 1 present).
#[derive(Debug)]
struct ColumnBuffer {
    defs: Vec<i16>,
    values: Values,
}

/// The buffered rows of one row group, for a fixed list of columns.
#[derive(Debug)]
pub struct RowGroupBuffer {
    columns: Vec<ColumnBuffer>,
    rows: usize,
    bytes: usize,
}

impl RowGroupBuffer {
    /// An empty buffer for columns of these types, in file order.
    pub fn new(kinds: &[ColumnType]) -> RowGroupBuffer {
        RowGroupBuffer {
            columns: kinds
                .iter()
                .map(|&k| ColumnBuffer {
                    defs: Vec::new(),
                    values: Values::for_type(k),
                })
                .collect(),
            rows: 0,
            bytes: 0,
        }
    }

    /// Rows buffered.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Approximate bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends one row: one optional cell per column, in file order (already converted to
    /// the column's type, see [`crate::convert`]).
    pub fn push_row(&mut self, cells: impl IntoIterator<Item = Option<Cell>>) {
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            self.bytes += 2;
            let Some(cell) = cell else {
                column.defs.push(0);
                continue;
            };
            column.defs.push(1);
            match (&mut column.values, cell) {
                (Values::Int64(v), Cell::Int64(x)) => {
                    self.bytes += 8;
                    v.push(x);
                }
                (Values::Int32(v), Cell::Int32(x)) => {
                    self.bytes += 4;
                    v.push(x);
                }
                (Values::Double(v), Cell::Double(x)) => {
                    self.bytes += 8;
                    v.push(x);
                }
                (Values::Boolean(v), Cell::Boolean(x)) => {
                    self.bytes += 1;
                    v.push(x);
                }
                (Values::Bytes(v), Cell::Bytes(x)) => {
                    // The bytes, the vector's header and the Bytes handle.
                    self.bytes += x.len() + 48;
                    v.push(ByteArray::from(x));
                }
                // The caller converts each value for its column's type; a mismatch would be
                // a bug, recorded as a null rather than a crash.
                _ => {
                    if let Some(last) = column.defs.last_mut() {
                        *last = 0;
                    }
                }
            }
        }
        self.rows += 1;
    }

    /// Writes every column, in order, into the row group `group`, then empties the buffer
    /// (keeping its capacity).
    pub fn write<W: Write + Send>(
        &mut self,
        group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> ParquetResult<()> {
        for column in &mut self.columns {
            let Some(mut writer) = group.next_column()? else {
                return Err(parquet::errors::ParquetError::General(
                    "the file has fewer columns than the buffer".to_string(),
                ));
            };
            let defs = Some(column.defs.as_slice());
            match &column.values {
                Values::Int64(v) => {
                    writer.typed::<Int64Type>().write_batch(v, defs, None)?;
                }
                Values::Int32(v) => {
                    writer.typed::<Int32Type>().write_batch(v, defs, None)?;
                }
                Values::Double(v) => {
                    writer.typed::<DoubleType>().write_batch(v, defs, None)?;
                }
                Values::Boolean(v) => {
                    writer.typed::<BoolType>().write_batch(v, defs, None)?;
                }
                Values::Bytes(v) => {
                    writer.typed::<ByteArrayType>().write_batch(v, defs, None)?;
                }
            }
            writer.close()?;
            column.defs.clear();
            column.values.clear();
        }
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }
}
