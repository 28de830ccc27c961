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
    let first = loop {
        match lines.next_line()? {
            None => return Ok(()),
            Some(l) if l.trim().is_empty() => continue,
            Some(l) => break l,
        }
    };
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
    let reader = || {
        let mut b = csv::ReaderBuilder::new();
        b.has_headers(false).delimiter(delimiter).flexible(true);
        b
    };
    let header: Vec<String> = reader()
        .from_reader(first.as_bytes())
        .records()
        .next()
        .transpose()
        .map_err(|e| ImportError::Format(format!("{name}: unreadable CSV header: {e}")))?
        .map(|r| r.iter().map(|h| h.trim().to_owned()).collect())
        .unwrap_or_default();
    let missing: Vec<&&str> =
        required.iter().filter(|r| !header.iter().any(|h| h == **r)).collect();
    if !missing.is_empty() {
        return Err(ImportError::Format(format!(
            "{name}: the header lacks the column(s) {missing:?}; it has {header:?}"
        )));
    }
    let header = Arc::new(header);
    let mut pending = String::new();
    let mut start = 0;
    while let Some(line) = lines.next_line()? {
        if pending.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            start = lines.number;
        } else {
            pending.push('\n');
        }
        pending.push_str(&line);
        if pending.matches('"').count() % 2 == 1 {
            continue;
        }
        let raw = std::mem::take(&mut pending);
        let rec = reader().from_reader(raw.as_bytes()).records().next().transpose();
        let rec = match rec {
            Ok(Some(values)) if values.len() == header.len() => {
                Ok(Record::Csv { header: Arc::clone(&header), values })
            }
            Ok(Some(values)) => Err(format!(
                "the record has {} fields; the header has {}",
                values.len(),
                header.len()
            )),
            Ok(None) => continue,
            Err(e) => Err(format!("unreadable CSV record: {e}")),
        };
        if !f(start, raw, rec) {
            break;
        }
    }
    if !pending.is_empty() {
        f(start, pending, Err("unterminated quoted field at the end of the file".to_owned()));
    }
    Ok(())
}
