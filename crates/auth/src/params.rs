//! Form and query parameters as OAuth needs them (OAuth 2.1 §3.1, §3.2): every name may appear
//! at most once (a repeated parameter is `invalid_request`; ordinary form extractors silently
//! keep one of them), empty values count as absent, unknown names are ignored.

/// Parsed `application/x-www-form-urlencoded` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string or form body.
    pub fn parse(input: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Builds from pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The value of a parameter: `Ok(None)` when absent or empty, `Err(name)` when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, String> {
        let mut found = None;
        for (k, v) in &self.0 {
            if k == name {
                if found.is_some() {
                    return Err(format!("the parameter {name} is repeated"));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The first repeated parameter among `names`, if any.
    pub fn repeated(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.get(n).err())
    }

    /// The pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_empties() {
        let p = Params::parse(b"a=1&b=&c=x%20y&a=2");
        assert!(p.get("a").is_err());
        assert_eq!(p.get("b"), Ok(None));
        assert_eq!(p.get("c"), Ok(Some("x y")));
        assert_eq!(p.get("d"), Ok(None));
        assert_eq!(p.repeated(&["c", "a"]), Some("the parameter a is repeated".into()));
    }
}
