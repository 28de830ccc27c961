//! Record readers shared by the store, offer and catalog importers: CSV (comma or tab, with a
//! header) or JSONL (one object per line), detected from the first non-blank line. Each record
//! arrives with its line number and original text for the rejects report.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ImportError;
use super::source::{Lines, Source};

/// One input record.
pub(crate) enum Record {
    /// A CSV row with its header.
    Csv { header: Arc<Vec<String>>, values: csv::StringRecord },
    /// A JSON object.
    Json(Map<String, Value>),
}

fn json_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

impl Record {
    /// A field as text: `None` when absent, null or (CSV) empty.
    pub(crate) fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        match self {
            Self::Csv { header, values } => {
                let i = header.iter().position(|h| h == key)?;
                let v = values.get(i)?.trim();
                (!v.is_empty()).then_some(Cow::Borrowed(v))
            }
            Self::Json(obj) => obj.get(key).and_then(json_text),
        }
    }

    /// Whether the record has the field at all (a CSV column, or a JSON key, even if null).
    pub(crate) fn has(&self, key: &str) -> bool {
        match self {
            Self::Csv { header, .. } => header.iter().any(|h| h == key),
            Self::Json(obj) => obj.contains_key(key),
        }
    }

    /// The first of several spellings that is present.
    pub(crate) fn get_any(&self, keys: &[&str]) -> Option<Cow<'_, str>> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// Metadata: a JSON `metadata` object of strings, or CSV columns `metadata.KEY`.
    pub(crate) fn metadata(&self) -> Result<BTreeMap<String, String>, String> {
        match self {
            Self::Csv { header, values } => Ok(header
                .iter()
                .zip(values.iter())
                .filter_map(|(h, v)| h.strip_prefix("metadata.").map(|k| (k.to_owned(), v.trim().to_owned())))
                .collect()),
            Self::Json(obj) => match obj.get("metadata") {
                None | Some(Value::Null) => Ok(BTreeMap::new()),
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        other => Err(format!(
                            "metadata: the value of {k:?} is {other}; metadata values must be strings"
                        )),
                    })
                    .collect(),
                Some(other) => Err(format!("metadata: must be an object of strings, got {other}")),
            },
        }
    }
}

/// Reads every record of a CSV or JSONL source. `f` gets `(line, raw text, record or reason)`
/// and returns `false` to stop.
pub(crate) fn read_records(
    source: Source,
    required: &[&str],
    mut f: impl FnMut(u64, String, Result<Record, String>) -> bool,
) -> Result<(), ImportError> {
    let name = source.name().to_owned();
    let mut lines = Lines::new(source)?;
    let Some(first) = lines.first_nonblank()? else { return Ok(()) };
    if first.trim_start().starts_with('{') {
        let mut next = Some(first);
        while let Some(text) = next {
            let line = lines.number;
            if !text.trim().is_empty() {
                let rec = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(o)) => Ok(Record::Json(o)),
                    Ok(_) => Err("the line is JSON but not an object".to_owned()),
                    Err(e) => Err(format!("the line is not valid JSON: {e}")),
                };
                if !f(line, text, rec) {
                    break;
                }
            }
            next = lines.next_line()?;
        }
        return Ok(());
    }
    let delimiter = if first.contains('\t') { b'\t' } else { b',' };
    let (header, rows) = CsvRows::new(&name, &first, lines, delimiter)?;
    let missing: Vec<&&str> =
        required.iter().filter(|r| !header.iter().any(|h| h == **r)).collect();
    if !missing.is_empty() {
        return Err(ImportError::Format(format!(
            "{name}: the header lacks the column(s) {missing:?}; it has {header:?}"
        )));
    }
    let header = Arc::new(header);
    for row in rows {
        let (line, raw, values) = row?;
        let rec = values.map(|values| Record::Csv { header: Arc::clone(&header), values });
        if !f(line, raw, rec) {
            break;
        }
    }
    Ok(())
}

/// CSV records after a header line, read by one streaming `csv::Reader` (RFC 4180 quoting,
/// records may span lines), each with its starting line number in the file, the record
/// re-encoded as CSV for reports, and a field-count check against the header.
pub(crate) struct CsvRows {
    reader: csv::Reader<Box<dyn std::io::BufRead + Send>>,
    columns: usize,
    offset: u64,
    delimiter: u8,
    name: String,
    record: csv::StringRecord,
}

/// One CSV row: `(line, record as text, fields or the reason it is unusable)`.
pub(crate) type CsvRow = (u64, String, Result<csv::StringRecord, String>);

impl CsvRows {
    /// Parses the header line and prepares to stream the rest of `lines`.
    pub(crate) fn new(
        name: &str,
        header_line: &str,
        lines: Lines,
        delimiter: u8,
    ) -> Result<(Vec<String>, Self), ImportError> {
        let header: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(header_line.as_bytes())
            .records()
            .next()
            .transpose()
            .map_err(|e| ImportError::Format(format!("{name}: unreadable CSV header: {e}")))?
            .map(|r| r.iter().map(|h| h.trim().to_owned()).collect())
            .unwrap_or_default();
        let (reader, offset) = lines.into_rest();
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(reader);
        let rows = Self {
            reader,
            columns: header.len(),
            offset,
            delimiter,
            name: name.to_owned(),
            record: csv::StringRecord::new(),
        };
        Ok((header, rows))
    }

    fn encode(&self, record: &csv::StringRecord) -> String {
        let mut w = csv::WriterBuilder::new().delimiter(self.delimiter).from_writer(Vec::new());
        let _ = w.write_record(record);
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim_end_matches(['\r', '\n']).to_owned()
    }
}

impl Iterator for CsvRows {
    type Item = Result<CsvRow, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    let line = self.offset + self.record.position().map_or(0, csv::Position::line);
                    if self.record.len() == 1
                        && self.record.get(0).is_some_and(|f| f.trim().is_empty())
                    {
                        continue; // a blank line
                    }
                    let raw = self.encode(&self.record);
                    let values = if self.record.len() == self.columns {
                        Ok(self.record.clone())
                    } else {
                        Err(format!(
                            "the record has {} fields; the header has {}",
                            self.record.len(),
                            self.columns
                        ))
                    };
                    return Some(Ok((line, raw, values)));
                }
                Err(e) => {
                    let line = self.offset + e.position().map_or(0, csv::Position::line);
                    return match e.kind() {
                        // Invalid UTF-8 in one record: report it and go on.
                        csv::ErrorKind::Utf8 { .. } => Some(Ok((
                            line,
                            String::new(),
                            Err(format!("the record is not valid UTF-8: {e}")),
                        ))),
                        _ => Some(Err(ImportError::Format(format!(
                            "{}: unreadable CSV: {e}",
                            self.name
                        )))),
                    };
                }
            }
        }
    }
}
