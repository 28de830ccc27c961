//! Text analysis for the lexical index: words folded to lower case without diacritics, stop
//! words of English, French and German (and a shopper's filler words) dropped, Snowball stems
//! per language, "free of" phrases ("gluten-free", "sans sucre", "laktosefrei") turned into
//! one concept term, and a multilingual food lexicon for query expansion.
//!
//! Products are stemmed in their own language (declared, else detected from their text) and,
//! when that is not English, also in English; a query word is looked up under its English,
//! French and German stems at once, so a shopper need not say which language they type in.

mod lexicon;
mod stopwords;

use std::borrow::Cow;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::{UnicodeNormalization as _, char::is_combining_mark};

pub use lexicon::Lexicon;

/// The languages products are stemmed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Dutch.
    Nl,
    /// Portuguese.
    Pt,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 7] =
        [Lang::En, Lang::Fr, Lang::De, Lang::Es, Lang::It, Lang::Nl, Lang::Pt];
    /// The languages a query word is stemmed in.
    pub const QUERY: [Lang; 3] = [Lang::En, Lang::Fr, Lang::De];

    /// From an ISO 639-1 code (`en`, `fr`, `de`, …; case-insensitive, region ignored:
    /// `fr-CA`). `None` for other languages.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" => Lang::En,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            "es" => Lang::Es,
            "it" => Lang::It,
            "nl" => Lang::Nl,
            "pt" => Lang::Pt,
            _ => return None,
        })
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::It => "it",
            Lang::Nl => "nl",
            Lang::Pt => "pt",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Lang::En => Algorithm::English,
            Lang::Fr => Algorithm::French,
            Lang::De => Algorithm::German,
            Lang::Es => Algorithm::Spanish,
            Lang::It => Algorithm::Italian,
            Lang::Nl => Algorithm::Dutch,
            Lang::Pt => Algorithm::Portuguese,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The language of a product's text, when it can be told with confidence (at least a few
/// words of running text; a bare product name often cannot).
pub fn detect(text: &str) -> Option<Lang> {
    use whatlang::Lang as W;
    if text.split_whitespace().count() < 4 {
        return None;
    }
    let allow = vec![W::Eng, W::Fra, W::Deu, W::Spa, W::Ita, W::Nld, W::Por];
    let info = whatlang::Detector::with_allowlist(allow).detect(text)?;
    // whatlang's own `is_reliable` wants more text than an ingredient list has; half its
    // confidence scale tells French, German and English ingredient lists apart.
    if info.confidence() < 0.5 {
        return None;
    }
    Some(match info.lang() {
        W::Fra => Lang::Fr,
        W::Deu => Lang::De,
        W::Spa => Lang::Es,
        W::Ita => Lang::It,
        W::Nld => Lang::Nl,
        W::Por => Lang::Pt,
        _ => Lang::En,
    })
}

/// Lower case without diacritics (`Crème Brûlée` → `creme brulee`), `ß` → `ss`, ligatures
/// split (`œ` → `oe`).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' => out.push_str("ss"),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A word of a text: as written in lower case (for stop words, which keep their accents so
/// French "thé" is not English "the"), folded, and its position (stop words keep theirs, so
/// "biscuits au chocolat" has its two words two apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Lower case, diacritics kept.
    pub lower: String,
    /// [`fold`]ed.
    pub folded: String,
    /// Position in the text, from 0.
    pub pos: u32,
}

/// Most words read from one text.
pub const MAX_WORDS: usize = 2_000;
/// Longest word kept, in bytes (longer runs are not words: codes, URLs, garbage).
const MAX_WORD_BYTES: usize = 40;

/// The words of a text: runs of letters and digits.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut pos = 0u32;
    for raw in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if raw.len() > MAX_WORD_BYTES {
            pos += 1;
            continue;
        }
        let lower = raw.to_lowercase();
        let folded = fold(raw);
        out.push(Word { lower, folded, pos });
        pos += 1;
        if out.len() == MAX_WORDS {
            break;
        }
    }
    out
}

/// Whether a word (lower case, accents kept) is a stop word of English, French or German,
/// or a shopper's filler word ("something", "looking", "please").
pub fn is_stop_word(lower: &str) -> bool {
    lower.chars().count() < 2 || stopwords::is_stop(lower)
}

/// The prefix of concept terms for "free of X" (`free:gluten`); never a word, since words have
/// no `:`.
pub const FREE_OF: &str = "free:";

/// What a word is in a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// An ordinary word.
    Word(Word),
    /// "free of" the word (`gluten-free`, `sans gluten`, `glutenfrei`, `no gluten`): the word
    /// folded, at the position of the phrase.
    FreeOf {
        /// The folded word that is absent ("gluten", "sucres", "laktose").
        folded: String,
        /// Position.
        pos: u32,
    },
}

/// Words that introduce what a product is free of ("without gluten", "sans sucre").
fn is_without(lower: &str) -> bool {
    matches!(
        lower,
        "without" | "no" | "sans" | "ohne" | "sin" | "senza" | "zonder" | "sem" | "zero" | "non"
    )
}

/// Words between "no" and what is absent ("no added sugar", "sans sucres ajoutés").
fn is_added(folded: &str) -> bool {
    matches!(
        folded,
        "added"
            | "artificial"
            | "ajoute"
            | "ajoutes"
            | "ajoutee"
            | "ajoutees"
            | "zugesetzten"
            | "zugesetzter"
            | "zusatz"
    )
}

/// A word that can be what a product is free of.
fn is_content(w: &Word) -> bool {
    !is_stop_word(&w.lower) && !is_without(&w.lower) && w.lower != "free"
}

/// The "free of" phrase starting at word `i`, if any: the absent word's index and the index of
/// the phrase's last word.
fn free_of_at(words: &[Word], i: usize) -> Option<(usize, usize)> {
    let w = &words[i];
    // "X free", "X-free".
    if is_content(w) && words.get(i + 1).is_some_and(|n| n.lower == "free" && n.pos == w.pos + 1) {
        return Some((i, i + 1));
    }
    // "free from X", "free of X", "without X", "no X", "no added X", "sans X", "ohne X".
    let mut j = if w.lower == "free" {
        if !words.get(i + 1).is_some_and(|n| matches!(n.lower.as_str(), "from" | "of")) {
            return None;
        }
        i + 2
    } else if is_without(&w.lower) {
        i + 1
    } else {
        return None;
    };
    while words.get(j).is_some_and(|n| is_added(&n.folded)) {
        j += 1;
    }
    // One article may sit in between ("ohne den Zucker").
    if words.get(j).is_some_and(|n| !is_content(n)) && words.get(j + 1).is_some_and(is_content) {
        j += 1;
    }
    words.get(j).filter(|x| is_content(x) && x.pos <= w.pos + 4)?;
    // "sans sucres ajoutés": the qualifier may follow.
    let mut end = j;
    while words.get(end + 1).is_some_and(|n| is_added(&n.folded)) {
        end += 1;
    }
    Some((j, end))
}

/// Splits a word list into ordinary words and "free of" concepts. `keep_consumed` keeps the
/// words a concept was made of as ordinary words too (products: "gluten free pasta" still holds
/// "gluten"); queries drop them, so "gluten-free" never asks for gluten. Stop words are kept:
/// the caller drops them (their positions matter for phrases).
pub fn pieces(words: &[Word], keep_consumed: bool) -> Vec<Piece> {
    let mut out = Vec::with_capacity(words.len() + 2);
    let mut consumed = vec![false; words.len()];
    let mut i = 0;
    while i < words.len() {
        if let Some((x, end)) = free_of_at(words, i) {
            out.push(Piece::FreeOf { folded: words[x].folded.clone(), pos: words[i].pos });
            for c in &mut consumed[i..=end] {
                *c = true;
            }
            i = end + 1;
            continue;
        }
        if let Some(stem) = german_free(&words[i].folded) {
            out.push(Piece::FreeOf { folded: stem.to_owned(), pos: words[i].pos });
            consumed[i] = true;
        }
        i += 1;
    }
    for (w, c) in words.iter().zip(&consumed) {
        if !*c || keep_consumed {
            out.push(Piece::Word(w.clone()));
        }
    }
    out
}

/// The absent thing of a German "…frei" compound, if the word is one.
fn german_free(folded: &str) -> Option<&str> {
    for suffix in ["freie", "freier", "freies", "freien", "frei"] {
        if let Some(stem) = folded.strip_suffix(suffix)
            && stem.chars().count() >= 4
        {
            return Some(stem);
        }
    }
    None
}

/// Snowball stemmers for every [`Lang`], and the food lexicon.
pub struct Analyzer {
    stemmers: Vec<Stemmer>,
    lexicon: Lexicon,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").finish_non_exhaustive()
    }
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    /// The analyzer with the built-in lexicon.
    pub fn new() -> Self {
        let stemmers = Lang::ALL.iter().map(|l| Stemmer::create(l.algorithm())).collect();
        let mut a = Self { stemmers, lexicon: Lexicon::default() };
        a.lexicon = Lexicon::builtin(&a);
        a
    }

    /// The stem of a folded word in `lang`. Numbers and words of up to three letters are
    /// their own stem.
    pub fn stem<'a>(&self, folded: &'a str, lang: Lang) -> Cow<'a, str> {
        if folded.len() <= 3 || folded.bytes().all(|b| b.is_ascii_digit()) {
            return Cow::Borrowed(folded);
        }
        match self.stemmers[lang.index()].stem(folded) {
            Cow::Borrowed(s) => Cow::Borrowed(s),
            Cow::Owned(s) => Cow::Owned(s),
        }
    }

    /// The terms a product word is indexed under: its stem in the product's language and, when
    /// that is not English, its English stem too.
    pub fn doc_terms(&self, folded: &str, lang: Lang) -> ([String; 2], usize) {
        let own = self.stem(folded, lang).into_owned();
        if lang == Lang::En {
            return ([own, String::new()], 1);
        }
        let en = self.stem(folded, Lang::En).into_owned();
        if en == own { ([own, String::new()], 1) } else { ([own, en], 2) }
    }

    /// The terms a query word may match: its English, French and German stems (distinct).
    pub fn query_terms(&self, folded: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(3);
        for lang in Lang::QUERY {
            let s = self.stem(folded, lang).into_owned();
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// The concept term of "free of `folded`": the lexicon's concept when the word is in it
    /// ("sucre", "Zucker" and "sugar" are one), else its English stem.
    pub fn free_of_term(&self, folded: &str) -> String {
        let concept = match self.lexicon.concept_of(self, folded) {
            Some(c) => self.lexicon.concept_name(c).to_owned(),
            None => self.stem(folded, Lang::En).into_owned(),
        };
        format!("{FREE_OF}{concept}")
    }

    /// The food lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }
}

#[cfg(test)]
mod tests;
