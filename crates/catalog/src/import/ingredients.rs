//! Turns a printed ingredient list (`"Sugar, cocoa butter 33,3%, milk (15%), emulsifier: soy
//! lecithin."`) into ordered ingredients with the percentage of weight where the label gives
//! one. Splitting happens only at the top level, so sub-ingredient lists in parentheses stay
//! with their ingredient.

use crate::model::IngredientWrite;

/// Most ingredients kept from one list; longer lists are label noise.
pub const MAX_INGREDIENTS: usize = 200;

/// Label words that may open the list (`Ingredients: …`), in the languages OFF data uses most.
const LEADS: &[&str] = &[
    "ingredients",
    "ingredient",
    "ingrédients",
    "ingredientes",
    "ingredienti",
    "zutaten",
    "ingrediënten",
    "składniki",
    "ingrediencie",
    "ingredience",
];

/// A parsed ingredient list.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The ingredients in label order.
    pub ingredients: Vec<IngredientWrite>,
    /// Whether the list was cut at [`MAX_INGREDIENTS`].
    pub cut: bool,
    /// Fragments that are not ingredients (no letters at all, e.g. `"100"`), left out.
    pub dropped: Vec<String>,
}

/// Parses an ingredient list.
pub fn parse(text: &str) -> Parsed {
    let text = strip_lead(text.trim());
    let mut out = Parsed::default();
    for part in split_top_level(text) {
        match parse_part(part) {
            Some(ing) => {
                if out.ingredients.len() == MAX_INGREDIENTS {
                    out.cut = true;
                    return out;
                }
                out.ingredients.push(ing);
            }
            None => {
                let t = part.trim().trim_matches(|c: char| c == '.' || c.is_whitespace());
                if !t.is_empty() {
                    out.dropped.push(t.to_owned());
                }
            }
        }
    }
    out
}

fn strip_lead(text: &str) -> &str {
    if let Some((head, rest)) = text.split_once(':') {
        let head = head.trim().to_lowercase();
        if LEADS.contains(&head.as_str()) {
            return rest.trim();
        }
    }
    text
}

/// Splits at `,` `;` and `. ` outside parentheses and brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = (depth - 1).max(0),
            b',' | b';' if depth == 0 => {
                // A decimal comma ("33,3%") is not a separator.
                let digit_before = i > 0 && bytes[i - 1].is_ascii_digit();
                let digit_after = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if b == b',' && digit_before && digit_after {
                    continue;
                }
                parts.push(&text[start..i]);
                start = i + 1;
            }
            b'.' if depth == 0 && bytes.get(i + 1).is_some_and(|c| c.is_ascii_whitespace()) => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Reads a number like `33,3` or `5.5` that ends at `end`; returns (value, start).
fn number_before(s: &str, end: usize) -> Option<(f64, usize)> {
    let bytes = s.as_bytes();
    let mut i = end;
    while i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.' || bytes[i - 1] == b',') {
        i -= 1;
    }
    while i < end && !bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i >= end {
        return None;
    }
    s[i..end].replace(',', ".").parse::<f64>().ok().map(|v| (v, i))
}

fn parse_part(part: &str) -> Option<IngredientWrite> {
    let mut name = part.trim().to_owned();
    let mut pct = None;

    // 1. A parenthesised group holding only a percentage: "milk (15%)" / "milk (15 %)".
    if let Some((open, close, v)) = find_paren_percentage(&name) {
        pct = Some(v);
        name.replace_range(open..=close, " ");
    } else if let Some((start, end, v)) = find_bare_percentage(&name) {
        // 2. A percentage after the name: "tomate 33,3%", "cacao 88% minimum".
        pct = Some(v);
        let mut tail_end = end;
        let rest = name[end..].trim_start();
        for word in ["minimum", "min.", "min", "mini", "max.", "max"] {
            if rest.to_lowercase().starts_with(word) {
                tail_end = name.len() - rest.len() + word.len();
                break;
            }
        }
        name.replace_range(start..tail_end, " ");
    }

    let name = clean_name(&name);
    if name.is_empty() || !name.chars().any(char::is_alphabetic) {
        return None;
    }
    Some(IngredientWrite { name, percentage_of_weight: pct.filter(|p| (0.0..=100.0).contains(p)) })
}

fn find_paren_percentage(s: &str) -> Option<(usize, usize, f64)> {
    let mut search = 0;
    while let Some(rel) = s[search..].find('(') {
        let open = search + rel;
        let close = open + s[open..].find(')')?;
        let inner = s[open + 1..close].trim();
        if let Some(num) = inner.strip_suffix('%') {
            let num = num.trim();
            if !num.is_empty()
                && num.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
                && let Ok(v) = num.replace(',', ".").parse::<f64>()
            {
                return Some((open, close, v));
            }
        }
        search = close + 1;
    }
    None
}

/// A `N%` at parenthesis depth 0 that is not at the very start (a leading "100% juice" is part
/// of the name). Returns (start, end-after-%, value).
fn find_bare_percentage(s: &str) -> Option<(usize, usize, f64)> {
    let mut depth = 0i32;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            '%' if depth == 0 => {
                let before = s[..i].trim_end();
                let (v, start) = number_before(before, before.len())?;
                if s[..start].trim().is_empty() {
                    return None;
                }
                return Some((start, i + 1, v));
            }
            _ => {}
        }
    }
    None
}

fn clean_name(s: &str) -> String {
    let s: String = s.chars().filter(|c| *c != '_' && *c != '*').collect();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = s.trim_matches(|c: char| c == '.' || c == ':' || c == '-' || c.is_whitespace());
    // A leading conjunction ("and skim milk", "y sal") is not part of the name, but only when
    // a word follows it: "E 330" is an additive, not "and 330".
    let lower = s.to_lowercase();
    let s = ["and ", "et ", "und ", "y ", "e ", "& "]
        .iter()
        .find(|w| lower.starts_with(*w))
        .map(|w| s[w.len()..].trim_start())
        .filter(|rest| rest.chars().next().is_some_and(char::is_alphabetic))
        .unwrap_or(s);
    s.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, Option<f64>)> {
        parse(text).ingredients.into_iter().map(|i| (i.name, i.percentage_of_weight)).collect()
    }

    #[test]
    fn splits_at_top_level_only() {
        let got = names(
            "Enriched wheat flour (calcium, niacin, iron), water, non-hydrogenated canola oil, and/or soybean oil.",
        );
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, "Enriched wheat flour (calcium, niacin, iron)");
        assert_eq!(got[3].0, "and/or soybean oil");
    }

    #[test]
    fn reads_percentages_in_the_usual_places() {
        let got = names(
            "Type \"00\" soft wheat flour, fine cornmeal (15%), 100% italian extra-virgin olive oil (5%), malt, tomate 33,3%, cacao 88% minimum (masse de cacao, beurre de cacao)",
        );
        assert_eq!(got[1], ("fine cornmeal".to_owned(), Some(15.0)));
        assert_eq!(got[2], ("100% italian extra-virgin olive oil".to_owned(), Some(5.0)));
        assert_eq!(got[4], ("tomate".to_owned(), Some(33.3)));
        assert_eq!(got[5], ("cacao (masse de cacao, beurre de cacao)".to_owned(), Some(88.0)));
        assert_eq!(got[3], ("malt".to_owned(), None));
    }

    #[test]
    fn strips_labels_markup_and_noise() {
        let got = names("Ingredients: _Milk_, sugar*, and skim milk. Vitamins: A, D.");
        let n: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(n, vec!["Milk", "sugar", "skim milk", "Vitamins: A", "D"]);
        assert!(names("").is_empty());
        assert!(names(" , ; . ").is_empty());
    }

    #[test]
    fn caps_absurd_lists() {
        let text = vec!["salt"; 300].join(", ");
        let p = parse(&text);
        assert_eq!(p.ingredients.len(), MAX_INGREDIENTS);
        assert!(p.cut);
    }

    #[test]
    fn additives_survive_and_noise_is_reported() {
        let got = names("sugar, E 330, e 471, salt, y sal, 100, and milk");
        let n: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(n, ["sugar", "E 330", "e 471", "salt", "sal", "milk"]);
        assert_eq!(parse("sugar, 100, .").dropped, vec!["100".to_owned()]);
    }

    #[test]
    fn percentages_over_100_are_not_shares() {
        assert_eq!(names("water 150%"), vec![("water".to_owned(), None)]);
    }
}
