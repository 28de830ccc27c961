//! Tool arguments: typed access to the `arguments` object with errors that name the field and
//! say what is allowed, and a check that no unknown argument was sent (a typo such as `gtn`
//! should fail loudly, not be ignored).

use catalog::FieldError;
use serde_json::{Map, Value};

/// The `arguments` of one tool call.
pub struct Args<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Args<'a> {
    /// Wraps the arguments; `allowed` lists every argument the tool takes.
    pub fn new(map: &'a Map<String, Value>, allowed: &[&str]) -> Self {
        let mut errors = Vec::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let list = if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") };
                errors.push(FieldError::new(
                    key,
                    format!("unknown argument; this tool takes: {list}"),
                ));
            }
        }
        Self { map, errors }
    }

    /// A required string.
    pub fn string(&mut self, name: &str) -> Option<&'a str> {
        match self.map.get(name) {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => {
                self.errors.push(FieldError::new(name, "is required"));
                None
            }
            Some(other) => {
                self.errors
                    .push(FieldError::new(name, format!("must be a string, got {}", kind(other))));
                None
            }
        }
    }

    /// An optional string (null counts as absent).
    pub fn opt_string(&mut self, name: &str) -> Option<&'a str> {
        match self.map.get(name) {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => None,
            Some(other) => {
                self.errors
                    .push(FieldError::new(name, format!("must be a string, got {}", kind(other))));
                None
            }
        }
    }

    fn number(&mut self, name: &str, required: bool) -> Option<f64> {
        match self.map.get(name) {
            Some(Value::Number(n)) => n.as_f64(),
            None | Some(Value::Null) => {
                if required {
                    self.errors.push(FieldError::new(name, "is required"));
                }
                None
            }
            Some(other) => {
                self.errors
                    .push(FieldError::new(name, format!("must be a number, got {}", kind(other))));
                None
            }
        }
    }

    /// A required number.
    pub fn f64(&mut self, name: &str) -> Option<f64> {
        self.number(name, true)
    }

    /// An optional number.
    pub fn opt_f64(&mut self, name: &str) -> Option<f64> {
        self.number(name, false)
    }

    /// An optional integer.
    pub fn opt_i64(&mut self, name: &str) -> Option<i64> {
        match self.map.get(name) {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Some(i),
                None => {
                    self.errors
                        .push(FieldError::new(name, format!("must be a whole number, got {n}")));
                    None
                }
            },
            None | Some(Value::Null) => None,
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be an integer, got {}", kind(other)),
                ));
                None
            }
        }
    }

    /// A required list of strings.
    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        match self.map.get(name) {
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            self.errors.push(FieldError::new(
                                format!("{name}[{i}]"),
                                format!("must be a string, got {}", kind(other)),
                            ));
                            return None;
                        }
                    }
                }
                Some(out)
            }
            None | Some(Value::Null) => {
                self.errors.push(FieldError::new(name, "is required"));
                None
            }
            Some(other) => {
                self.errors.push(FieldError::new(
                    name,
                    format!("must be an array of strings, got {}", kind(other)),
                ));
                None
            }
        }
    }

    /// An optional object.
    pub fn opt_object(&mut self, name: &str) -> Option<Map<String, Value>> {
        match self.map.get(name) {
            Some(Value::Object(m)) => Some(m.clone()),
            None | Some(Value::Null) => None,
            Some(other) => {
                self.errors
                    .push(FieldError::new(name, format!("must be an object, got {}", kind(other))));
                None
            }
        }
    }

    /// The collected errors, if any.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_wrong_field() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"gtin": 614141123452, "limit": 2.5, "gtn": "x", "gtins": ["a", 3]}"#,
        )
        .unwrap();
        let mut a = Args::new(&m, &["gtin", "limit", "gtins"]);
        assert_eq!(a.string("gtin"), None);
        assert_eq!(a.opt_i64("limit"), None);
        assert_eq!(a.strings("gtins"), None);
        let errors = a.finish().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["gtn", "gtin", "limit", "gtins[1]"]);
        assert!(errors[0].message.contains("takes: gtin, limit, gtins"));
        assert!(errors[1].message.contains("must be a string, got a number"));
    }
}
