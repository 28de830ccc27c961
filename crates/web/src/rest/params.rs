//! Declared request parameters: each REST endpoint lists its path and query parameters once as
//! [`ParamSpec`]s, and that one list both validates requests (unknown, repeated, missing or
//! malformed parameters — an empty value is malformed, not absent — get a `validation_error`
//! naming the field and what is allowed) and becomes the operation's `parameters` in the
//! OpenAPI document — what is documented is exactly what is accepted.

use auth::params::Params;
use axum::http::Uri;
use catalog::{FieldError, ServiceError};
use serde_json::{Value, json};

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path.
    Path,
    /// A query-string parameter.
    Query,
}

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Text of `1..=max` characters.
    Text {
        /// Longest allowed, in characters.
        max: usize,
    },
    /// Text of `1..=max` characters, not all whitespace (words to look for or match).
    NonBlank {
        /// Longest allowed, in characters.
        max: usize,
    },
    /// One of a fixed set of words (matched regardless of ASCII case; the value is the
    /// declared spelling).
    OneOf(&'static [&'static str]),
    /// A number in `[min, max]` (or `(min, max]` when `min_exclusive`).
    Number {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// Whether `min` itself is refused.
        min_exclusive: bool,
    },
    /// A whole number in `[min, max]`.
    Integer {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// A comma-separated list of `min..=max` texts, each at most `item_max` characters.
    List {
        /// Fewest items.
        min: usize,
        /// Most items.
        max: usize,
        /// Longest item, in characters.
        item_max: usize,
    },
}

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Its name.
    pub name: &'static str,
    /// Path or query.
    pub location: Location,
    /// Whether it must be given (path parameters always are).
    pub required: bool,
    /// What it means, for the documentation.
    pub description: &'static str,
    /// Its type and bounds.
    pub kind: Kind,
    /// The value used when it is absent, for the documentation.
    pub default: Option<&'static str>,
    /// A value that works, as it would be sent (lists comma-separated), for the documentation
    /// (OpenAPI `example`: clients and test generators start from it).
    pub example: Option<&'static str>,
}

impl ParamSpec {
    /// A path parameter.
    pub const fn path(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            location: Location::Path,
            required: true,
            description,
            kind,
            default: None,
            example: None,
        }
    }

    /// A required query parameter.
    pub const fn required(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            location: Location::Query,
            required: true,
            description,
            kind,
            default: None,
            example: None,
        }
    }

    /// An optional query parameter.
    pub const fn optional(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            location: Location::Query,
            required: false,
            description,
            kind,
            default: None,
            example: None,
        }
    }

    /// The same parameter with a documented default.
    pub const fn with_default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }

    /// The same parameter with a documented example.
    pub const fn with_example(mut self, example: &'static str) -> Self {
        self.example = Some(example);
        self
    }

    /// A value as it would be sent, as JSON of the parameter's type.
    fn typed(&self, raw: &str) -> Value {
        match self.kind {
            Kind::Number { .. } => raw.parse::<f64>().map_or(Value::Null, Value::from),
            Kind::Integer { .. } => raw.parse::<i64>().map_or(Value::Null, Value::from),
            Kind::List { .. } => Value::from(raw.split(',').collect::<Vec<_>>()),
            _ => Value::from(raw),
        }
    }

    /// The JSON Schema of its value.
    pub fn schema(&self) -> Value {
        let mut s = match self.kind {
            Kind::Text { max } => json!({"type": "string", "minLength": 1, "maxLength": max}),
            Kind::NonBlank { max } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S"})
            }
            Kind::OneOf(words) => json!({"type": "string", "enum": words}),
            Kind::Number { min, max, min_exclusive } => {
                if min_exclusive {
                    json!({"type": "number", "exclusiveMinimum": min, "maximum": max})
                } else {
                    json!({"type": "number", "minimum": min, "maximum": max})
                }
            }
            Kind::Integer { min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            Kind::List { min, max, item_max } => json!({
                "type": "array",
                "minItems": min,
                "maxItems": max,
                "items": {"type": "string", "minLength": 1, "maxLength": item_max, "pattern": "^[^,]+$"}
            }),
        };
        if let Some(d) = self.default {
            s["default"] = self.typed(d);
        }
        s
    }

    /// The OpenAPI parameter object.
    pub fn openapi(&self) -> Value {
        let mut p = json!({
            "name": self.name,
            "in": if self.location == Location::Path { "path" } else { "query" },
            "required": self.required || self.location == Location::Path,
            "description": self.description,
            "schema": self.schema(),
        });
        if matches!(self.kind, Kind::List { .. }) {
            p["style"] = "form".into();
            p["explode"] = false.into();
        }
        if let Some(e) = self.example {
            p["example"] = self.typed(e);
        }
        p
    }

    fn check(&self, raw: &str) -> Result<Value, FieldError> {
        let err = |message: String| FieldError::new(self.name, message);
        match self.kind {
            Kind::Text { max } | Kind::NonBlank { max } => {
                let n = raw.chars().count();
                if n == 0 {
                    Err(err("must not be empty".into()))
                } else if matches!(self.kind, Kind::NonBlank { .. }) && raw.trim().is_empty() {
                    Err(err("must not be blank".into()))
                } else if n > max {
                    Err(err(format!("is {n} characters long; at most {max} are allowed")))
                } else {
                    Ok(Value::from(raw))
                }
            }
            Kind::OneOf(words) => match words.iter().find(|w| w.eq_ignore_ascii_case(raw)) {
                Some(w) => Ok(Value::from(*w)),
                None => Err(err(format!("{raw:?} is not {}", alternatives(words)))),
            },
            Kind::Number { min, max, min_exclusive } => {
                let v: f64 = raw
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| err(format!("{raw:?} is not a number")))?;
                let low_ok = if min_exclusive { v > min } else { v >= min };
                if low_ok && v <= max {
                    Ok(Value::from(v))
                } else {
                    let low = if min_exclusive { "above" } else { "from" };
                    Err(err(format!("{v} is out of range: give a number {low} {min} to {max}")))
                }
            }
            Kind::Integer { min, max } => {
                let v: i64 =
                    raw.parse().map_err(|_| err(format!("{raw:?} is not a whole number")))?;
                if (min..=max).contains(&v) {
                    Ok(Value::from(v))
                } else {
                    Err(err(format!(
                        "{v} is out of range: give a whole number from {min} to {max}"
                    )))
                }
            }
            Kind::List { min, max, item_max } => {
                let items: Vec<&str> = raw.split(',').collect();
                if items.len() < min || items.len() > max {
                    return Err(err(format!(
                        "has {} items; give {min} to {max}, separated by commas",
                        items.len()
                    )));
                }
                if let Some(i) = items.iter().position(|s| s.is_empty()) {
                    return Err(FieldError::new(
                        format!("{}[{i}]", self.name),
                        "is empty: separate items by single commas",
                    ));
                }
                if let Some(i) = items.iter().position(|s| s.chars().count() > item_max) {
                    return Err(FieldError::new(
                        format!("{}[{i}]", self.name),
                        format!("is longer than {item_max} characters"),
                    ));
                }
                Ok(Value::from(items))
            }
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A request's parameters, checked against the endpoint's declaration.
#[derive(Debug, Default)]
pub struct Checked {
    values: Vec<(&'static str, Value)>,
}

impl Checked {
    /// Checks path values (in declaration order) and the query string against `specs`:
    /// every problem found, not just the first, is reported.
    pub fn new(specs: &[ParamSpec], path: &[String], uri: &Uri) -> Result<Self, ServiceError> {
        let query = Params::parse(uri.query().unwrap_or("").as_bytes());
        let mut errors = Vec::new();
        let mut values = Vec::new();
        let allowed: Vec<&str> =
            specs.iter().filter(|s| s.location == Location::Query).map(|s| s.name).collect();
        for (name, _) in query.pairs() {
            if !allowed.contains(&name.as_str())
                && !errors.iter().any(|e: &FieldError| e.field == *name)
            {
                let known = if allowed.is_empty() {
                    "this endpoint takes no query parameters".to_owned()
                } else {
                    format!("allowed: {}", allowed.join(", "))
                };
                errors.push(FieldError::new(
                    name.clone(),
                    format!("is not a parameter here; {known}"),
                ));
            }
        }
        let mut path_values = path.iter();
        for spec in specs {
            let raw = match spec.location {
                Location::Path => path_values.next().map(String::as_str),
                // Not `Params::get`, which takes an empty value for an absent one (as OAuth
                // wants): here `brand=` is a value, and an empty one is malformed.
                Location::Query => {
                    let mut given = query.pairs().iter().filter(|(k, _)| k == spec.name);
                    match (given.next(), given.next()) {
                        (_, Some(_)) => {
                            errors.push(FieldError::new(spec.name, "is repeated: give it once"));
                            continue;
                        }
                        (v, None) => v.map(|(_, v)| v.as_str()),
                    }
                }
            };
            match raw {
                Some(raw) => match spec.check(raw) {
                    Ok(v) => values.push((spec.name, v)),
                    Err(e) => errors.push(e),
                },
                None if spec.required => errors.push(FieldError::new(spec.name, "is required")),
                None => {}
            }
        }
        if errors.is_empty() {
            Ok(Self { values })
        } else {
            Err(ServiceError::invalid_fields(errors))
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A text (or one-of) value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A number.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// A whole number.
    pub fn integer(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// A list.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::path("gtin", Kind::Text { max: 64 }, "g"),
        ParamSpec::required(
            "lat",
            Kind::Number { min: -90.0, max: 90.0, min_exclusive: false },
            "l",
        ),
        ParamSpec::optional("limit", Kind::Integer { min: 1, max: 100 }, "n"),
        ParamSpec::optional("gtins", Kind::List { min: 2, max: 5, item_max: 64 }, "list"),
        ParamSpec::optional("format", Kind::OneOf(&["svg", "png"]), "f"),
    ];

    fn check(query: &str) -> Result<Checked, Vec<FieldError>> {
        let uri: Uri = format!("/x?{query}").parse().map_err(|_| Vec::new())?;
        Checked::new(SPECS, &["123".to_owned()], &uri).map_err(|e| match e {
            ServiceError::Validation { errors, .. } => errors,
            other => vec![FieldError::new("?", other.to_string())],
        })
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn valid_values_come_back_typed() -> Result<(), Vec<FieldError>> {
        let c = check("lat=45.5&limit=7&gtins=a,b&format=PNG")?;
        assert_eq!(c.text("gtin"), Some("123"));
        assert_eq!(c.number("lat"), Some(45.5));
        assert_eq!(c.integer("limit"), Some(7));
        assert_eq!(c.list("gtins"), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(c.text("format"), Some("png"));
        Ok(())
    }

    #[test]
    fn every_problem_is_reported_by_field() {
        let errors = check("lat=91&limit=x&gtins=a&format=gif&bogus=1").err().unwrap_or_default();
        assert_eq!(fields(&errors), ["bogus", "lat", "limit", "gtins", "format"]);
        assert!(errors[0].message.contains("allowed: lat, limit, gtins, format"));
        assert!(errors[1].message.contains("-90 to 90"));
        assert_eq!(errors[4].message, "\"gif\" is not svg or png");
        let errors = check("").err().unwrap_or_default();
        assert_eq!(fields(&errors), ["lat"]);
        assert_eq!(errors[0].message, "is required");
        let errors = check("lat=1&lat=2").err().unwrap_or_default();
        assert_eq!(errors[0].message, "is repeated: give it once");
        let errors = check("lat=1&gtins=a,,b").err().unwrap_or_default();
        assert_eq!(fields(&errors), ["gtins[1]"]);
        let errors = check("lat=NaN").err().unwrap_or_default();
        assert_eq!(fields(&errors), ["lat"]);
        // An empty value is given, not absent: it is checked like any other.
        let errors = check("lat=&limit=&gtins=&format=").err().unwrap_or_default();
        assert_eq!(fields(&errors), ["lat", "limit", "gtins", "format"]);
        assert_eq!(errors[0].message, "\"\" is not a number");
        let words = ParamSpec::optional("q", Kind::NonBlank { max: 5 }, "q");
        assert_eq!(words.check(" \t").err().map(|e| e.message), Some("must not be blank".into()));
        assert_eq!(words.check(" a ").ok(), Some(json!(" a ")));
        assert_eq!(words.schema()["pattern"], "\\S");
    }

    #[test]
    fn schemas_carry_the_same_bounds() {
        assert_eq!(SPECS[1].schema(), json!({"type": "number", "minimum": -90.0, "maximum": 90.0}));
        let list = SPECS[3].openapi();
        assert_eq!(list["style"], "form");
        assert_eq!(list["explode"], false);
        assert_eq!(SPECS[0].openapi()["in"], "path");
        assert_eq!(SPECS[0].openapi()["required"], true);
        // Examples are documented with the parameter's type; they pass its own check.
        for (spec, example, typed) in [
            (SPECS[1], "45.5", json!(45.5)),
            (SPECS[2], "7", json!(7)),
            (SPECS[3], "a,b", json!(["a", "b"])),
            (SPECS[4], "png", json!("png")),
        ] {
            let spec = spec.with_example(example);
            assert_eq!(spec.openapi()["example"], typed);
            assert!(spec.check(example).is_ok());
        }
        assert!(SPECS[0].openapi().get("example").is_none());
    }
}
