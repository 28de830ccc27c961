//! The food lexicon (`lexicon.txt`): concepts named in several languages, so a query word
//! also matches its translations and near-synonyms ("cookies" finds "Biscuits", "confiture"
//! finds "jam"), and "free of" phrases in any language name one concept.

use std::collections::HashMap;

use super::{Analyzer, Lang, fold};

/// The built-in lexicon's text.
const BUILTIN: &str = include_str!("lexicon.txt");

/// A concept's index in the lexicon.
pub type ConceptId = u32;

/// Concepts and the words that name them.
#[derive(Debug, Default)]
pub struct Lexicon {
    names: Vec<String>,
    words: Vec<Vec<String>>,
    /// Folded word, or one of its query stems, → concept (the first concept listing it wins).
    lookup: HashMap<String, ConceptId>,
}

impl Lexicon {
    /// Parses lexicon text: `concept: word, word, …` per line, `#` comments.
    pub fn parse(text: &str, analyzer: &Analyzer) -> Self {
        let mut lex = Self::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((name, list)) = line.split_once(':') else { continue };
            let id = ConceptId::try_from(lex.names.len()).unwrap_or(ConceptId::MAX);
            let words: Vec<String> = list
                .split(',')
                .map(|w| fold(w.trim()))
                .filter(|w| !w.is_empty() && w.chars().all(char::is_alphanumeric))
                .collect();
            // Exact words first, so a word's own concept is never shadowed by another
            // concept's stem of a different word.
            for w in &words {
                lex.lookup.entry(w.clone()).or_insert(id);
            }
            lex.names.push(name.trim().to_owned());
            lex.words.push(words);
        }
        for (id, words) in lex.words.iter().enumerate() {
            for w in words {
                for lang in Lang::QUERY {
                    let stem = analyzer.stem(w, lang).into_owned();
                    lex.lookup.entry(stem).or_insert(id as ConceptId);
                }
            }
        }
        lex
    }

    /// The lexicon shipped with prodlink.
    pub(super) fn builtin(analyzer: &Analyzer) -> Self {
        Self::parse(BUILTIN, analyzer)
    }

    /// The concept a folded word names: by the word itself, else by one of its stems.
    pub fn concept_of(&self, analyzer: &Analyzer, folded: &str) -> Option<ConceptId> {
        if let Some(c) = self.lookup.get(folded) {
            return Some(*c);
        }
        Lang::QUERY
            .iter()
            .find_map(|l| self.lookup.get(analyzer.stem(folded, *l).as_ref()).copied())
    }

    /// A concept's name (its English word).
    pub fn concept_name(&self, id: ConceptId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// The folded words of a concept.
    pub fn words(&self, id: ConceptId) -> &[String] {
        self.words.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
