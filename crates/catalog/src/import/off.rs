//! Open Food Facts importer. Reads the OFF export as TSV (the official "CSV" export is
//! tab-separated; quoted fields with doubled quotes are unquoted), comma CSV, or JSONL (one OFF
//! product object per line, e.g. the OFF JSONL dump), and maps each product:
//!
//! | OFF | prodlink |
//! |---|---|
//! | `code` | GTIN-14 (rows with a bad barcode are rejected with the exact reason) |
//! | `product_name` (`product_name_en`) | `name` (required) |
//! | `brands` | brand = first listed; the full list in metadata `off_brands` when several |
//! | `categories_tags` + `categories_en` | category path general → specific (all kept; the last is the category) |
//! | `labels_tags` + `labels_en` | labels (`en:organic` "Organic", …) |
//! | `lang` (else `lc`) | metadata `lang`: the language search stems the product's text in |
//! | `generic_name` | `description` |
//! | `quantity` | `net_content` |
//! | `origins_tags` | `country_of_origin` when exactly one country; else metadata `origins` |
//! | `countries_tags` | metadata `countries_sold` (ISO codes) — where it is sold, not made |
//! | `ingredients_text` | ordered ingredients with percentages where printed |
//! | `*_100g` | nutrition, `per_100g`, with units; impossible amounts dropped with a warning |
//! | `serving_size` | nutrition serving size |
//! | `image_url` | `image_url` and the primary image |
//! | `nutriscore_grade`, `nova_group`, `labels_en`, `allergens_en` | metadata |
//!
//! A column the file does not have leaves the stored value alone (the 2018 subset has no
//! brands, so re-importing it does not erase brands another import set); a column that is
//! present but empty clears the value. `data_source` is `off`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gs1::Gtin14;
use serde_json::Value;

use super::records::CsvRows;
use super::source::{Lines, Source};
use super::{BatchSender, ImportError, Parsed, RowRef, Write, ingredients};
use crate::iso::CountryCode;
use crate::model::{
    CategoryRef, DataSource, ImageWrite, LabelFormat, LabelRef, MetadataPatch, NutrientWrite,
    NutritionWrite, Patch, ProductWrite,
};

/// Access to one OFF record's fields, whatever the file format.
trait Fields {
    /// `None` when the source has no such column; `Some("")` when present but empty.
    fn field(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Whether the source has any `*_100g` column (else nutrition is left alone).
    fn has_nutrients(&self) -> bool;
    /// `(nutrient, raw value)` for every non-empty `*_100g` field, in column order.
    fn nutrients(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)>;
}

struct Header {
    index: HashMap<String, usize>,
    nutrients: Vec<(usize, String)>,
}

impl Header {
    fn new(columns: &[&str]) -> Self {
        let mut index = HashMap::new();
        let mut nutrients = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let c = c.trim();
            index.entry(c.to_owned()).or_insert(i);
            if let Some(n) = c.strip_suffix("_100g") {
                nutrients.push((i, n.to_owned()));
            }
        }
        Self { index, nutrients }
    }
}

struct TsvRow<'a> {
    header: &'a Header,
    cells: Vec<Cow<'a, str>>,
}

fn unquote(cell: &str) -> Cow<'_, str> {
    if cell.len() >= 2 && cell.starts_with('"') && cell.ends_with('"') {
        Cow::Owned(cell[1..cell.len() - 1].replace("\"\"", "\""))
    } else {
        Cow::Borrowed(cell)
    }
}

impl Fields for TsvRow<'_> {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let i = *self.header.index.get(name)?;
        Some(self.cells.get(i).map_or(Cow::Borrowed(""), |c| Cow::Borrowed(c.as_ref())))
    }

    fn has_nutrients(&self) -> bool {
        !self.header.nutrients.is_empty()
    }

    fn nutrients(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.header
            .nutrients
            .iter()
            .filter_map(|(i, name)| {
                let v = self.cells.get(*i)?;
                (!v.trim().is_empty())
                    .then(|| (Cow::Borrowed(name.as_str()), Cow::Borrowed(v.as_ref())))
            })
            .collect()
    }
}

struct JsonRow(serde_json::Map<String, Value>);

fn json_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Array(items) => Cow::Owned(
            items.iter().map(|i| json_text(i).into_owned()).collect::<Vec<_>>().join(","),
        ),
        other => Cow::Owned(other.to_string()),
    }
}

impl Fields for JsonRow {
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.0.get(name).map(json_text)
    }

    fn has_nutrients(&self) -> bool {
        self.0.get("nutriments").is_some_and(Value::is_object)
    }

    fn nutrients(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let Some(Value::Object(n)) = self.0.get("nutriments") else {
            return Vec::new();
        };
        n.iter()
            .filter_map(|(k, v)| {
                let name = k.strip_suffix("_100g")?;
                let text = json_text(v);
                (!text.trim().is_empty()).then_some((Cow::Borrowed(name), text))
            })
            .collect()
    }
}

/// A cleaned value: trimmed, and `None` for empty cells and OFF's null spellings.
fn clean(v: &str) -> Option<&str> {
    let v = v.trim();
    let lower = v.as_bytes();
    if v.is_empty()
        || lower.eq_ignore_ascii_case(b"null")
        || lower.eq_ignore_ascii_case(b"en:null")
        || lower.eq_ignore_ascii_case(b"none")
    {
        None
    } else {
        Some(v)
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        (s.to_owned(), false)
    } else {
        (s.chars().take(max).collect(), true)
    }
}

/// `s` cut to `max` characters, with a warning naming the column when it had to be cut.
fn truncated(s: &str, max: usize, column: &str, warnings: &mut Vec<String>) -> String {
    let (out, cut) = truncate_chars(s, max);
    if cut {
        warnings.push(format!("{column}: longer than {max} characters; truncated"));
    }
    out
}

/// `en:sweet-snacks` → `Sweet snacks`.
/// The `(id, display name)` of each tag of an OFF tag list (`en:organic,en:no-gluten`), named
/// by the matching entry of the list of names when both lists align (`Organic,No gluten`),
/// else by the tag made readable. Overlong tags are dropped with a warning.
fn tag_list(
    column: &str,
    tags: &str,
    names: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<(String, String)> {
    let names: Vec<&str> = names.map(|n| n.split(',').map(str::trim).collect()).unwrap_or_default();
    let tags: Vec<&str> = tags.split(',').map(str::trim).collect();
    let aligned = names.len() == tags.len();
    let mut out = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let Some(t) = clean(t) else { continue };
        if t.chars().count() > 200 {
            warnings.push(format!("{column}: {t:?} is longer than 200 characters; dropped"));
            continue;
        }
        let name = if aligned { clean(names[i]).map(str::to_owned) } else { None }
            .unwrap_or_else(|| humanize_tag(t));
        out.push((t.to_owned(), truncate_chars(&name, 200).0));
    }
    out
}

fn humanize_tag(tag: &str) -> String {
    let body = tag.split_once(':').map_or(tag, |(_, b)| b);
    let words = body.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Unit and plausible range (per 100 g) of an OFF nutrient column.
fn nutrient_unit(name: &str) -> Option<(&'static str, f64)> {
    if name.starts_with("nutrition-score") || name.starts_with("nutriscore") {
        return None;
    }
    Some(match name {
        "energy-kj" | "energy" | "energy-from-fat" => ("kJ", 3800.0),
        "energy-kcal" => ("kcal", 950.0),
        "alcohol" => ("% vol", 100.0),
        "ph" => ("pH", 14.0),
        "glycemic-index" => ("", 150.0),
        "water-hardness" => ("mmol/l", 100.0),
        "carbon-footprint" | "carbon-footprint-from-meat-or-fish" => ("g", 1.0e6),
        n if n.starts_with("fruits-vegetables")
            || n == "cocoa"
            || n == "collagen-meat-protein-ratio" =>
        {
            ("%", 100.0)
        }
        _ => ("g", 100.0),
    })
}

fn parse_number(raw: &str) -> Option<f64> {
    let t = raw.trim().replace(',', ".");
    // OFF sometimes prefixes "<" or "~" ("< 0.5"): the bound is still the best figure.
    let t = t.trim_start_matches(['<', '>', '~', '≤', '≥']).trim();
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Maps one OFF record. `Err` is the reject reason.
fn map_record(r: &dyn Fields) -> Result<(ProductWrite, Vec<String>), String> {
    let mut warnings = Vec::new();
    let code_raw = r.field("code").ok_or("code: the record has no barcode field")?;
    let code = code_raw.trim();
    if code.is_empty() {
        return Err("code: the barcode is empty".to_owned());
    }
    let gtin = Gtin14::parse(code).map_err(|e| format!("code {code:?}: {e}"))?;
    let mut w = ProductWrite::new(gtin, DataSource::Off);

    // Name (required): product_name, else product_name_en.
    let name_field = r.field("product_name");
    let name_en = r.field("product_name_en");
    let name = name_field.as_deref().and_then(clean).or_else(|| name_en.as_deref().and_then(clean));
    match (name, name_field.is_some() || name_en.is_some()) {
        (Some(n), _) => {
            let (n, cut) = truncate_chars(&collapse_ws(n), 500);
            if cut {
                warnings.push("product_name: longer than 500 characters; truncated".to_owned());
            }
            w.name = Patch::Set(n);
        }
        (None, true) => return Err("product_name: empty; a product needs a name".to_owned()),
        (None, false) => {}
    }

    // Metadata keys derived from columns the file has: set, or "" to delete a stale value
    // (metadata merges, so a key the row no longer supports must be removed explicitly).
    let mut meta: BTreeMap<String, String> = BTreeMap::new();

    if let Some(brands) = r.field("brands") {
        let list: Vec<String> = brands.split(',').filter_map(clean).map(collapse_ws).collect();
        w.brand = match list.first() {
            Some(b) => {
                let (b, cut) = truncate_chars(b, 200);
                if cut {
                    warnings
                        .push("brands: first brand longer than 200 characters; truncated".into());
                }
                Patch::Set(b)
            }
            None => Patch::Clear,
        };
        let all = if list.len() > 1 { list.join(", ") } else { String::new() };
        meta.insert("off_brands".into(), truncated(&all, 500, "brands", &mut warnings));
    }

    if let Some(tags) = r.field("categories_tags") {
        let names = r.field("categories_en");
        let path = tag_list("categories_tags", &tags, names.as_deref(), &mut warnings);
        let path: Vec<CategoryRef> =
            path.into_iter().map(|(id, name)| CategoryRef { id, name }).collect();
        if path.len() > crate::model::MAX_PATH {
            warnings.push(format!(
                "categories_tags: {} categories; the first {} kept",
                path.len(),
                crate::model::MAX_PATH
            ));
        }
        let path: Vec<CategoryRef> = path.into_iter().take(crate::model::MAX_PATH).collect();
        w.category = if path.is_empty() { Patch::Clear } else { Patch::Set(path) };
    }

    if let Some(tags) = r.field("labels_tags") {
        let names = r.field("labels_en");
        let mut labels: Vec<LabelRef> = Vec::new();
        for (id, name) in tag_list("labels_tags", &tags, names.as_deref(), &mut warnings) {
            if !labels.iter().any(|l| l.id == id) && labels.len() < crate::model::MAX_LABELS {
                labels.push(LabelRef { id, name });
            }
        }
        w.labels = if labels.is_empty() { Patch::Clear } else { Patch::Set(labels) };
    }

    // The product's main language (OFF `lang`, else `lc`): search stems its text in it.
    if let Some(lang) = r.field("lang").or_else(|| r.field("lc")) {
        let code = clean(&lang).map(str::to_ascii_lowercase).unwrap_or_default();
        let ok = code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase());
        meta.insert("lang".into(), if ok { code } else { String::new() });
    }

    if let Some(d) = r.field("generic_name") {
        w.description = match clean(&d) {
            Some(d) => {
                Patch::Set(truncated(&collapse_ws(d), 10_000, "generic_name", &mut warnings))
            }
            None => Patch::Clear,
        };
    }

    if let Some(q) = r.field("quantity") {
        w.net_content = match clean(&q) {
            Some(q) => {
                let q = collapse_ws(q);
                if q.chars().count() > 100 {
                    warnings
                        .push(format!("quantity: {q:?} is longer than 100 characters; dropped"));
                    Patch::Clear
                } else {
                    Patch::Set(q)
                }
            }
            None => Patch::Clear,
        };
    }

    let origins = r.field("origins_tags").or_else(|| r.field("origins_en"));
    if let Some(origins) = origins {
        let list: Vec<&str> = origins.split(',').filter_map(clean).collect();
        let countries: Vec<CountryCode> =
            list.iter().filter_map(|o| CountryCode::from_name(o)).collect();
        w.country_of_origin = match (countries.as_slice(), list.len()) {
            ([one], 1) => Patch::Set(*one),
            _ => Patch::Clear,
        };
        let text = if list.len() > 1 || (list.len() == 1 && countries.is_empty()) {
            r.field("origins_en").map(|o| o.into_owned()).unwrap_or_else(|| list.join(","))
        } else {
            String::new()
        };
        meta.insert("origins".into(), truncated(&text, 500, "origins", &mut warnings));
    }

    if let Some(countries) = r.field("countries_tags").or_else(|| r.field("countries_en")) {
        let mut codes: Vec<&str> = Vec::new();
        for name in countries.split(',').filter_map(clean) {
            match CountryCode::from_name(name) {
                Some(c) => {
                    if !codes.contains(&c.as_str()) {
                        codes.push(c.as_str());
                    }
                }
                // "en:world", "en:europe" and misspellings are not countries.
                None => warnings.push(format!("countries: {name:?} is not a country; not listed")),
            }
        }
        // 166 two-letter codes fit in 500 characters; more are listed as far as they fit.
        let mut list = codes.join(",");
        if list.len() > 500 {
            let cut = list[..500].rfind(',').unwrap_or(0);
            warnings.push(format!(
                "countries: sold in {} countries; countries_sold lists the first {}",
                codes.len(),
                list[..cut].split(',').count()
            ));
            list.truncate(cut);
        }
        meta.insert("countries_sold".into(), list);
    }

    if let Some(g) = r.field("nutriscore_grade") {
        let g = clean(&g).map(str::to_ascii_lowercase).unwrap_or_default();
        let ok = ["a", "b", "c", "d", "e"].contains(&g.as_str());
        meta.insert("nutriscore_grade".into(), if ok { g } else { String::new() });
    }
    if let Some(n) = r.field("nova_group") {
        let n = clean(&n).unwrap_or_default();
        let ok = ["1", "2", "3", "4"].contains(&n);
        meta.insert("nova_group".into(), if ok { n.to_owned() } else { String::new() });
    }
    for (col, key) in [("labels_en", "labels"), ("allergens_en", "allergens")] {
        if let Some(v) = r.field(col) {
            let v = clean(&v).map(collapse_ws).unwrap_or_default();
            meta.insert(key.into(), truncated(&v, 500, col, &mut warnings));
        }
    }
    w.metadata = MetadataPatch::new(meta).map_err(|e| format!("metadata: {e}"))?;

    if let Some(text) = r.field("ingredients_text") {
        w.ingredients = Some(match clean(&text) {
            Some(t) => {
                let parsed = ingredients::parse(t);
                if parsed.cut {
                    warnings.push(format!(
                        "ingredients_text: more than {} ingredients; the rest dropped",
                        ingredients::MAX_INGREDIENTS
                    ));
                }
                if !parsed.dropped.is_empty() {
                    warnings.push(format!(
                        "ingredients_text: fragments without letters left out: {:?}",
                        parsed.dropped
                    ));
                }
                parsed.ingredients
            }
            None => Vec::new(),
        });
    }

    if r.has_nutrients() {
        let mut nutrients: Vec<NutrientWrite> = Vec::new();
        for (name, raw) in r.nutrients() {
            let Some((unit, max)) = nutrient_unit(&name) else { continue };
            let Some(amount) = parse_number(&raw) else {
                warnings.push(format!("{name}_100g: {raw:?} is not a number; dropped"));
                continue;
            };
            if amount < 0.0 || amount > max {
                warnings.push(format!(
                    "{name}_100g: {amount} {unit} per 100 g is impossible (allowed 0 to {max}); dropped"
                ));
                continue;
            }
            if nutrients.iter().any(|n| n.name == name) {
                continue;
            }
            nutrients.push(NutrientWrite {
                name: name.into_owned(),
                amount,
                unit: unit.to_owned(),
                daily_value_pct: None,
            });
        }
        let serving = r.field("serving_size").as_deref().and_then(clean).map(collapse_ws);
        let serving = serving.filter(|s| {
            let fits = s.chars().count() <= 100;
            if !fits {
                warnings
                    .push(format!("serving_size: {s:?} is longer than 100 characters; dropped"));
            }
            fits
        });
        w.nutrition = if nutrients.is_empty() {
            Patch::Clear
        } else {
            Patch::Set(NutritionWrite {
                serving_size: serving,
                servings_per_container: None,
                label_format: LabelFormat::Per100g,
                nutrients,
            })
        };
    }

    if let Some(url) = r.field("image_url") {
        match clean(&url) {
            Some(u)
                if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2000 =>
            {
                w.image_url = Patch::Set(u.to_owned());
                w.images = Some(vec![ImageWrite {
                    url: u.to_owned(),
                    title: Some("Front of package".to_owned()),
                    description: None,
                    priority: 0,
                    is_primary: true,
                }]);
            }
            Some(u) => {
                warnings.push(format!("image_url: {u:?} is not an http(s) URL; dropped"));
                w.image_url = Patch::Clear;
                w.images = Some(Vec::new());
            }
            None => {
                w.image_url = Patch::Clear;
                w.images = Some(Vec::new());
            }
        }
    }
    Ok((w, warnings))
}

fn to_parsed(
    line: u64,
    key: &str,
    raw: String,
    mapped: Result<(ProductWrite, Vec<String>), String>,
) -> Parsed {
    let row = RowRef { line, key: key.to_owned(), raw };
    match mapped {
        Ok((w, warnings)) => Parsed::Write { row, write: Write::Product(Box::new(w)), warnings },
        Err(reason) => Parsed::Reject { row, reason },
    }
}

/// Parses an OFF export and pushes one [`Parsed`] per record.
pub fn parse(source: Source, out: &mut BatchSender) -> Result<(), ImportError> {
    let name = source.name().to_owned();
    let mut lines = Lines::new(source)?;
    // The first non-empty line decides the format.
    let Some(first) = lines.first_nonblank()? else { return Ok(()) };
    if first.trim_start().starts_with('{') {
        return parse_jsonl(first, lines, out);
    }
    if !first.contains('\t') && first.contains(',') {
        return parse_csv(first, lines, out, &name);
    }
    let columns: Vec<&str> = first.split('\t').collect();
    if !columns.iter().any(|c| c.trim() == "code") {
        return Err(ImportError::Format(format!(
            "{name}: the header has no \"code\" column; is this an Open Food Facts export?"
        )));
    }
    let header = Arc::new(Header::new(&columns));
    while let Some(line) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let row = TsvRow { header: &header, cells: line.split('\t').map(unquote).collect() };
        let key = row.field("code").map(|c| c.trim().to_owned()).unwrap_or_default();
        let mapped = if row.cells.len() == columns.len() {
            map_record(&row)
        } else {
            // A short or long row would shift or blank columns: refuse it.
            Err(format!(
                "the row has {} tab-separated fields; the header has {}",
                row.cells.len(),
                columns.len()
            ))
        };
        drop(row);
        if !out.push(to_parsed(lines.number, &key, line, mapped)) {
            break;
        }
    }
    Ok(())
}

fn parse_jsonl(first: String, mut lines: Lines, out: &mut BatchSender) -> Result<(), ImportError> {
    let mut line = Some(first);
    let mut number = lines.number;
    while let Some(text) = line {
        if !text.trim().is_empty() {
            let parsed = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(obj)) => {
                    let row = JsonRow(obj);
                    let key = row.field("code").map(|c| c.trim().to_owned()).unwrap_or_default();
                    let mapped = map_record(&row);
                    to_parsed(number, &key, text, mapped)
                }
                Ok(_) => {
                    to_parsed(number, "", text, Err("the line is JSON but not an object".into()))
                }
                Err(e) => {
                    to_parsed(number, "", text, Err(format!("the line is not valid JSON: {e}")))
                }
            };
            if !out.push(parsed) {
                break;
            }
        }
        line = lines.next_line()?;
        number = lines.number;
    }
    Ok(())
}

fn parse_csv(
    first: String,
    lines: Lines,
    out: &mut BatchSender,
    name: &str,
) -> Result<(), ImportError> {
    let (columns, rows) = CsvRows::new(name, &first, lines, b',')?;
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    if !columns.contains(&"code") {
        return Err(ImportError::Format(format!(
            "{name}: the header has no \"code\" column; is this an Open Food Facts export?"
        )));
    }
    let header = Header::new(&columns);
    for row in rows {
        let (line, raw, values) = row?;
        let parsed = match values {
            Ok(rec) => {
                let row =
                    TsvRow { header: &header, cells: rec.iter().map(Cow::Borrowed).collect() };
                let key = row.field("code").map(|c| c.trim().to_owned()).unwrap_or_default();
                let mapped = map_record(&row);
                to_parsed(line, &key, raw, mapped)
            }
            Err(reason) => to_parsed(line, "", raw, Err(reason)),
        };
        if !out.push(parsed) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(header: &str, line: &str) -> Result<(ProductWrite, Vec<String>), String> {
        let cols: Vec<&str> = header.split('\t').collect();
        let h = Header::new(&cols);
        let row = TsvRow { header: &h, cells: line.split('\t').map(unquote).collect() };
        map_record(&row)
    }

    #[test]
    fn rejects_bad_barcodes_with_the_reason() {
        let h = "code\tproduct_name";
        assert!(tsv(h, "12345\tX").unwrap_err().contains("8, 12, 13 or 14"));
        assert!(tsv(h, "0000000000018\tX").unwrap_err().contains("check digit"));
        assert!(tsv(h, "\tX").unwrap_err().contains("empty"));
        assert!(tsv(h, "0000000000017\t").unwrap_err().contains("needs a name"));
        assert!(tsv(h, "0000000000017\tNull").unwrap_err().contains("needs a name"));
    }

    #[test]
    fn maps_the_rich_columns() {
        let h = "code\tproduct_name\tbrands\tcategories_tags\tcategories_en\tquantity\torigins_tags\tcountries_tags\tingredients_text\tfat_100g\tsugars_100g\tenergy-kcal_100g\tnutrition-score-fr_100g\timage_url\tnutriscore_grade";
        let line = "4012345000009\t  Dark   chocolate \tLindt,  Lindt & Sprungli\ten:snacks,en:chocolates\tSnacks,Chocolates\t100 g\ten:switzerland\ten:france,en:united-states,en:world\tCocoa mass 70%, sugar\t42.5\t180\t550\t14\thttps://images.example/x.jpg\tE";
        let (w, warnings) = tsv(h, line).unwrap();
        assert_eq!(w.gtin.as_str(), "04012345000009");
        assert_eq!(w.name, Patch::Set("Dark chocolate".into()));
        assert_eq!(w.brand, Patch::Set("Lindt".into()));
        let Patch::Set(path) = &w.category else { panic!() };
        assert_eq!(path.last().unwrap().name, "Chocolates");
        assert_eq!(w.net_content, Patch::Set("100 g".into()));
        assert_eq!(w.country_of_origin, Patch::Set(CountryCode::parse("CH").unwrap()));
        assert_eq!(w.metadata.entries.get("countries_sold").unwrap(), "FR,US");
        assert_eq!(w.metadata.entries.get("nutriscore_grade").unwrap(), "e");
        assert_eq!(w.metadata.entries.get("off_brands").unwrap(), "Lindt, Lindt & Sprungli");
        let ing = w.ingredients.as_ref().unwrap();
        assert_eq!(ing[0].percentage_of_weight, Some(70.0));
        let Patch::Set(n) = &w.nutrition else { panic!() };
        let names: Vec<_> =
            n.nutrients.iter().map(|n| (n.name.as_str(), n.unit.as_str())).collect();
        assert_eq!(names, vec![("fat", "g"), ("energy-kcal", "kcal")]);
        assert!(warnings.iter().any(|w| w.contains("sugars_100g") && w.contains("impossible")));
        assert!(warnings.iter().any(|w| w.contains("en:world")));
        assert_eq!(w.images.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn absent_columns_keep_and_empty_columns_clear() {
        let (w, _) = tsv("code\tproduct_name\timage_url", "4012345000009\tX\t").unwrap();
        assert_eq!(w.brand, Patch::Keep);
        assert_eq!(w.nutrition, Patch::Keep);
        assert_eq!(w.image_url, Patch::Clear);
        assert_eq!(w.images, Some(vec![]));
    }

    #[test]
    fn quoted_tsv_cells_are_unquoted() {
        assert_eq!(
            unquote("\"Cabo Loco, Tortilla 6\"\" Fajita\""),
            "Cabo Loco, Tortilla 6\" Fajita"
        );
        assert_eq!(unquote("plain"), "plain");
    }

    #[test]
    fn json_records_map_like_tsv() {
        let v: Value = serde_json::from_str(
            r#"{"code":"4012345000009","product_name":"X","categories_tags":["en:a","en:b"],"nutriments":{"fat_100g":3.5,"energy-kcal_100g":"120"}}"#,
        )
        .unwrap();
        let Value::Object(o) = v else { panic!() };
        let (w, _) = map_record(&JsonRow(o)).unwrap();
        let Patch::Set(path) = &w.category else { panic!() };
        assert_eq!(path.len(), 2);
        assert_eq!(path[1].name, "B");
        let Patch::Set(n) = &w.nutrition else { panic!() };
        assert_eq!(n.nutrients.len(), 2);
    }
}
