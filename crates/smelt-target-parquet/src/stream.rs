//! One stream's dataset: its columns (from its SCHEMA), the files open for it (one per
//! partition), and placing each record's values into them.

use std::collections::HashMap;
use std::sync::Arc;

use parquet::file::properties::WriterProperties;
use parquet::schema::types::Type;
use serde_json::Value;

use crate::columns::{ColumnType, Layout};
use crate::config::Settings;
use crate::destination::Destination;
use crate::file::{FinishedFile, OpenFile};
use crate::paths::partition_segment;
use crate::record::{RecordCells, RecordProblem, RecordReader};
use smelt_plugin_sdk::names::stream_file_name;

/// What every stream shares while writing: settings, destination and file naming.
pub struct Context {
    /// The target's settings.
    pub settings: Settings,
    /// Where files go.
    pub destination: Destination,
    /// Writer properties (compression, created_by).
    pub properties: Arc<WriterProperties>,
    /// `YYYYMMDD_HHMMSS` of the run start, in file names.
    pub started: String,
    /// Unique to this run, in file names.
    pub token: String,
    /// Files named so far.
    pub sequence: u64,
    /// Records placed so far (the clock of least-recently-used).
    pub tick: u64,
}

impl Context {
    /// A new file name, unique in this run: `<stream>-<start>-<token>-<n>[.<codec>].parquet`.
    fn file_name(&mut self, dir: &str) -> String {
        self.sequence += 1;
        let codec = match self.settings.compression_label {
            "" => String::new(),
            label => format!(".{label}"),
        };
        format!(
            "{dir}-{}-{}-{:05}{codec}.parquet",
            self.started, self.token, self.sequence
        )
    }

    /// Finishes a file and makes it visible.
    pub fn publish(&self, file: OpenFile) -> Result<FinishedFile, String> {
        let finished = file.finish()?;
        self.destination.publish(&finished)?;
        Ok(finished)
    }
}

/// The files and columns of one stream.
pub struct StreamWriter {
    /// The stream name.
    pub name: String,
    dir: String,
    layout: Layout,
    partition_cols: Vec<usize>,
    is_partition: Vec<bool>,
    file_cols: Vec<usize>,
    file_kinds: Vec<ColumnType>,
    schema: Arc<Type>,
    /// Open files by partition directory (`""` when not partitioned).
    files: HashMap<String, OpenFile>,
    /// The SCHEMA message (schema and key properties) this was built from.
    source: (Value, Vec<String>),
    /// Records received.
    pub records: u64,
    /// Files published.
    pub files_published: u64,
    /// The current record's cells (reused).
    cells: RecordCells,
}

impl StreamWriter {
    /// A writer for `stream` with the columns of its SCHEMA message.
    pub fn new(
        stream: &str,
        schema: Value,
        key_properties: Vec<String>,
        settings: &Settings,
    ) -> Result<StreamWriter, String> {
        let layout = Layout::from_schema(
            &schema,
            &key_properties,
            settings.max_flatten_level,
            &settings.extra_fields,
        )?;
        let mut partition_cols = Vec::new();
        for name in &settings.partition_cols {
            let index = layout.column_index(name).ok_or_else(|| {
                format!(
                    "`partition_cols` names `{name}`, which is not a column of this stream \
                     (columns: {})",
                    layout
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            partition_cols.push(index);
        }
        let file_cols: Vec<usize> = (0..layout.columns.len())
            .filter(|i| !partition_cols.contains(i))
            .collect();
        let is_partition = (0..layout.columns.len())
            .map(|i| partition_cols.contains(&i))
            .collect();
        let file_kinds = file_cols.iter().map(|&i| layout.columns[i].kind).collect();
        let schema_type = layout.parquet_schema(&file_cols)?;
        Ok(StreamWriter {
            name: stream.to_string(),
            dir: stream_file_name(stream),
            layout,
            partition_cols,
            is_partition,
            file_cols,
            file_kinds,
            schema: schema_type,
            files: HashMap::new(),
            source: (schema, key_properties),
            records: 0,
            files_published: 0,
            cells: RecordCells::default(),
        })
    }

    /// Whether this writer was built from exactly this SCHEMA message.
    pub fn is_built_from(&self, schema: &Value, key_properties: &[String]) -> bool {
        self.source.0 == *schema && self.source.1 == key_properties
    }

    /// Stores one record (its JSON text).
    pub fn write(&mut self, ctx: &mut Context, record: &str) -> Result<(), RecordProblem> {
        let reader = RecordReader {
            layout: &self.layout,
            is_partition: &self.is_partition,
        };
        reader.read(record, &mut self.cells)?;
        let mut partition = String::new();
        for &i in &self.partition_cols {
            if !partition.is_empty() {
                partition.push('/');
            }
            partition.push_str(&partition_segment(
                &self.layout.columns[i].name,
                self.cells.partition_values[i].as_ref(),
            ));
        }
        let cells: Vec<_> = self
            .file_cols
            .iter()
            .map(|&i| self.cells.cells[i].take())
            .collect();
        ctx.tick += 1;
        let file = match self.files.get_mut(&partition) {
            Some(file) => file,
            None => {
                let file = self
                    .open(ctx, &partition)
                    .map_err(|problem| RecordProblem {
                        property: None,
                        problem,
                    })?;
                self.files.entry(partition.clone()).or_insert(file)
            }
        };
        file.last_used = ctx.tick;
        file.push_row(cells);
        let settings = &ctx.settings;
        let full = file.buffered_rows() >= settings.row_group_rows
            || file.buffered_bytes() >= settings.row_group_bytes;
        let io = |problem: String| RecordProblem {
            property: None,
            problem,
        };
        if full {
            file.flush_row_group().map_err(io)?;
            if file.written_bytes() >= settings.file_bytes {
                if let Some(file) = self.files.remove(&partition) {
                    ctx.publish(file).map_err(io)?;
                    self.files_published += 1;
                }
            }
        }
        // All partitions of a stream share one memory bound: past it, write the biggest.
        if self.files.len() > 1 {
            let total: usize = self.files.values().map(OpenFile::buffered_bytes).sum();
            if total >= ctx.settings.row_group_bytes {
                if let Some(biggest) = self.files.values_mut().max_by_key(|f| f.buffered_bytes()) {
                    biggest.flush_row_group().map_err(io)?;
                }
            }
        }
        Ok(())
    }

    fn open(&self, ctx: &mut Context, partition: &str) -> Result<OpenFile, String> {
        let name = ctx.file_name(&self.dir);
        let relative = if partition.is_empty() {
            format!("{}/{name}", self.dir)
        } else {
            format!("{}/{partition}/{name}", self.dir)
        };
        let temp = ctx.destination.temp_path(&relative)?;
        OpenFile::create(
            temp,
            relative,
            Arc::clone(&self.schema),
            &self.file_kinds,
            Arc::clone(&ctx.properties),
        )
    }

    /// Files open now.
    pub fn open_files(&self) -> usize {
        self.files.len()
    }

    /// Whether any open file holds rows.
    pub fn has_rows(&self) -> bool {
        self.files.values().any(|f| f.rows() > 0)
    }

    /// The least recently used open file: its partition and last use.
    pub fn least_recent(&self) -> Option<(String, u64)> {
        self.files
            .iter()
            .min_by_key(|(_, f)| f.last_used)
            .map(|(k, f)| (k.clone(), f.last_used))
    }

    /// Finishes and publishes the file of `partition`.
    pub fn close_partition(&mut self, ctx: &Context, partition: &str) -> Result<(), String> {
        if let Some(file) = self.files.remove(partition) {
            ctx.publish(file)?;
            self.files_published += 1;
        }
        Ok(())
    }

    /// Finishes and publishes every open file.
    pub fn close_all(&mut self, ctx: &Context) -> Result<(), String> {
        let mut partitions: Vec<String> = self.files.keys().cloned().collect();
        partitions.sort();
        for partition in partitions {
            self.close_partition(ctx, &partition)?;
        }
        Ok(())
    }
}
