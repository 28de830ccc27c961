//! Query parsing for the lexical index: the query's words become groups of alternative index
//! terms (the word's stems in English, French and German, its lexicon synonyms, and — for a
//! word the catalog does not hold — the words it is a prefix or a typo of); stop words and a
//! shopper's filler words are dropped; "free of" phrases become one concept term.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::OnceLock;

use fst::{Automaton as _, IntoStreamer as _, Streamer as _};
use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder};

use super::LexicalIndex;
use crate::text::{self, Piece};

/// Most words of a query read.
const MAX_QUERY_WORDS: usize = 32;
/// Weight of a lexicon synonym relative to the word itself.
const SYNONYM: f32 = 0.8;
/// Weight of a word the query word is a prefix of.
const PREFIX: f32 = 0.7;
/// Weight of a word one edit away from the query word, and two edits away.
const TYPO: [f32; 2] = [0.7, 0.5];
/// Words a query word may stand for as a prefix, and as a typo.
const MAX_PREFIXED: usize = 6;
const MAX_TYPOS: usize = 3;
/// A query word held by fewer documents than this is also looked up as a typo (it may be a
/// misspelling that a few products share).
const RARE_DF: u32 = 5;
/// A group whose best term is held by more than this share of documents counts half toward
/// coverage (words like "sugar" in ingredient lists).
const COMMON_SHARE: f32 = 0.3;

/// One index term a query group may match, with its weight (1 for the word's own stems) and
/// its source: the word it stands for (the query word itself, one of its synonyms, one of its
/// corrections). A source's stems count once per document; different sources add up (a
/// product that says "confiture" in its name and "Jams" in its categories matches twice).
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// Term id.
    pub term: u32,
    /// Weight, 0–1.
    pub weight: f32,
    /// The word it stands for, numbered within its group.
    pub source: u16,
}

/// One query word (or "free of" concept) and the terms that count as it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The word as folded (or `free:concept`).
    pub word: String,
    /// Position in the query.
    pub pos: u32,
    /// Alternative terms; a document's best one counts.
    pub alternatives: Vec<Alternative>,
    /// How much the group counts toward coverage (1, or less for very common words).
    pub weight: f32,
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedQuery {
    /// Groups in query order.
    pub groups: Vec<Group>,
    /// Content words that match nothing in the index (not even as a prefix or typo).
    pub unmatched: Vec<String>,
    /// The query as a sentence embedder that reads English should see it: each word the
    /// catalog lacks replaced by its best correction or completion ("choclate chip cookies" →
    /// "chocolate chip cookies"), and each word of another language followed by the English
    /// name of its lexicon concept ("yaourt nature" → "yaourt yogurt nature"); `None` when it
    /// is the query as given.
    pub corrected: Option<String>,
}

/// The vocabulary of folded document words as an FST, rebuilt when words were added.
#[derive(Default)]
pub(super) struct Vocabulary {
    set: Option<fst::Set<Vec<u8>>>,
    changed: bool,
}

impl Vocabulary {
    pub(super) fn memory_bytes(&self) -> usize {
        self.set.as_ref().map_or(0, |s| s.as_fst().as_bytes().len())
    }

    pub(super) fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub(super) fn rebuild(&mut self, words: &HashMap<Box<str>, u32>) {
        if !self.changed && self.set.is_some() {
            return;
        }
        let mut sorted: Vec<&str> = words.keys().map(|w| &**w).collect();
        sorted.sort_unstable();
        self.set = fst::Set::from_iter(sorted).ok();
        self.changed = false;
    }

    /// Words starting with `prefix` (other than `prefix` itself), at most `scan`.
    fn prefixed(&self, prefix: &str, scan: usize) -> Vec<String> {
        let Some(set) = &self.set else { return Vec::new() };
        let automaton = fst::automaton::Str::new(prefix).starts_with();
        let mut stream = set.search(automaton).into_stream();
        let mut out = Vec::new();
        while let Some(w) = stream.next() {
            if let Ok(w) = std::str::from_utf8(w)
                && w != prefix
            {
                out.push(w.to_owned());
            }
            if out.len() == scan {
                break;
            }
        }
        out
    }

    /// Words within `max` edits of `word` (a transposition is one edit), with their distance.
    fn typos(&self, word: &str, max: u8) -> Vec<(String, u8)> {
        static BUILDERS: OnceLock<[LevenshteinAutomatonBuilder; 2]> = OnceLock::new();
        let Some(set) = &self.set else { return Vec::new() };
        let builders = BUILDERS.get_or_init(|| {
            [LevenshteinAutomatonBuilder::new(1, true), LevenshteinAutomatonBuilder::new(2, true)]
        });
        let dfa = builders[usize::from(max.clamp(1, 2) - 1)].build_dfa(word);
        let mut stream = set.search(&dfa).into_stream();
        let mut out = Vec::new();
        while let Some(w) = stream.next() {
            let Ok(s) = std::str::from_utf8(w) else { continue };
            if s == word {
                continue;
            }
            if let Distance::Exact(d) = dfa.eval(w) {
                out.push((s.to_owned(), d));
            }
        }
        out
    }
}

/// Adds `terms` (those the index holds) to `alts` as a new source with `weight`; a term
/// already listed keeps its first (stronger) source. Returns whether any term was added.
fn add<K: Copy + Eq + Hash>(
    index: &LexicalIndex<K>,
    alts: &mut Vec<Alternative>,
    terms: &[String],
    weight: f32,
) -> bool {
    let source = alts.iter().map(|a| a.source + 1).max().unwrap_or(0);
    let mut added = false;
    for t in terms {
        let Some(&id) = index.terms.get(t.as_str()) else { continue };
        if index.df[id as usize] == 0 || alts.iter().any(|a| a.term == id) {
            continue;
        }
        alts.push(Alternative { term: id, weight, source });
        added = true;
    }
    added
}

pub(super) fn parse<K: Copy + Eq + Hash>(index: &LexicalIndex<K>, query: &str) -> ParsedQuery {
    let analyzer = index.analyzer.as_ref();
    let mut words = text::words(query);
    words.truncate(MAX_QUERY_WORDS);
    let pieces = text::pieces(&words, false);
    let content: Vec<&Piece> = pieces
        .iter()
        .filter(|p| match p {
            Piece::Word(w) => !text::is_stop_word(&w.lower),
            Piece::FreeOf { .. } => true,
        })
        .collect();
    // A query of stop words only ("the who") is searched as it is.
    let content: Vec<&Piece> = if content.is_empty() { pieces.iter().collect() } else { content };
    let mut parsed = ParsedQuery::default();
    let live = index.live.max(1) as f32;
    let mut replaced: Vec<(u32, String)> = Vec::new();
    for piece in content {
        let (word, pos, alts) = match piece {
            Piece::FreeOf { folded, pos } => {
                let term = analyzer.free_of_term(folded);
                let mut alts = Vec::new();
                if !add(index, &mut alts, std::slice::from_ref(&term), 1.0) {
                    // "glutten free": free of the word the misspelling stands for.
                    if let (_, Some(fixed)) = word_alternatives(index, folded) {
                        let term = analyzer.free_of_term(&fixed);
                        add(index, &mut alts, std::slice::from_ref(&term), TYPO[0]);
                    }
                }
                (term, *pos, alts)
            }
            Piece::Word(w) => {
                let (alts, correction) = word_alternatives(index, &w.folded);
                if let Some(c) = correction {
                    replaced.push((w.pos, c));
                }
                (w.folded.clone(), w.pos, alts)
            }
        };
        if parsed.groups.iter().any(|g| g.word == word) {
            continue;
        }
        if alts.is_empty() {
            parsed.unmatched.push(word);
            continue;
        }
        let best_df = alts
            .iter()
            .filter(|a| a.weight >= 1.0)
            .map(|a| index.df[a.term as usize])
            .max()
            .unwrap_or(0);
        let weight = if best_df as f32 > COMMON_SHARE * live { 0.5 } else { 1.0 };
        parsed.groups.push(Group { word, pos, alternatives: alts, weight });
    }
    let mut changed = !replaced.is_empty();
    let mut text: Vec<String> = Vec::with_capacity(words.len() + 2);
    for w in &words {
        let word = match replaced.iter().find(|(p, _)| *p == w.pos) {
            Some((_, c)) => c.clone(),
            None => w.lower.clone(),
        };
        text.push(word.clone());
        if let Some(english) = english_name(analyzer, &text::fold(&word)) {
            text.push(english);
            changed = true;
        }
    }
    if changed {
        parsed.corrected = Some(text.join(" "));
    }
    parsed
}

/// The English name of the lexicon concept of a word, unless the word is that name (by its
/// English stem): what an English sentence embedder understands of "yaourt" or "Kekse".
fn english_name(analyzer: &text::Analyzer, folded: &str) -> Option<String> {
    use text::Lang;
    if text::is_stop_word(folded) {
        return None;
    }
    let lexicon = analyzer.lexicon();
    let concept = lexicon.concept_of(analyzer, folded)?;
    let name = lexicon.concept_name(concept);
    let english = |w: &str| analyzer.stem(w, Lang::En).into_owned();
    if english(folded) == english(name) {
        return None;
    }
    Some(name.to_owned())
}

/// The alternatives of one query word: its stems, its synonyms and, when the catalog (nearly)
/// lacks it, the words it is a prefix or a typo of; and the best of those when the word itself
/// matches nothing (or far less than the correction).
fn word_alternatives<K: Copy + Eq + Hash>(
    index: &LexicalIndex<K>,
    folded: &str,
) -> (Vec<Alternative>, Option<String>) {
    let analyzer = index.analyzer.as_ref();
    let lexicon = analyzer.lexicon();
    let mut alts = Vec::new();
    add(index, &mut alts, &analyzer.query_terms(folded), 1.0);
    let synonyms = |word: &str, weight: f32, alts: &mut Vec<Alternative>| {
        if let Some(c) = lexicon.concept_of(analyzer, word) {
            for other in lexicon.words(c).iter().filter(|o| o.as_str() != word) {
                add(index, alts, &analyzer.query_terms(other), weight);
            }
        }
    };
    let own_df: u32 = alts.iter().map(|a| index.df[a.term as usize]).max().unwrap_or(0);
    synonyms(folded, SYNONYM, &mut alts);
    let chars = folded.chars().count();
    if own_df >= RARE_DF || chars < 3 || folded.bytes().all(|b| b.is_ascii_digit()) {
        return (alts, None);
    }
    let df_of = |w: &str| index.surface.get(w).copied().unwrap_or(0);
    let mut correction: Option<(String, u32)> = None;
    // Prefixes: "choc" → "chocolate"; the most frequent completions.
    let mut prefixed = index.vocabulary.prefixed(folded, 5_000);
    prefixed.sort_by(|a, b| df_of(b).cmp(&df_of(a)).then_with(|| a.cmp(b)));
    for w in prefixed.iter().take(MAX_PREFIXED) {
        add(index, &mut alts, &analyzer.query_terms(w), PREFIX);
    }
    if let Some(w) = prefixed.first() {
        correction = Some((w.clone(), df_of(w)));
    }
    // Typos: one edit for words of 4–7 letters, two from 8 on.
    if chars >= 4 {
        let max = if chars >= 8 { 2 } else { 1 };
        let mut typos = index.vocabulary.typos(folded, max);
        typos.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| df_of(&b.0).cmp(&df_of(&a.0))));
        for (i, (w, d)) in typos.iter().take(MAX_TYPOS).enumerate() {
            // Only corrections more common than the word as typed.
            if df_of(w) <= own_df {
                continue;
            }
            let weight = TYPO[usize::from(d.clamp(&1, &2) - 1)];
            add(index, &mut alts, &analyzer.query_terms(w), weight);
            if i == 0 {
                synonyms(w, weight * SYNONYM, &mut alts);
                // A close typo of a common word beats a rare completion.
                if correction.as_ref().is_none_or(|(_, df)| df_of(w) > *df) {
                    correction = Some((w.clone(), df_of(w)));
                }
            }
        }
    }
    // The word as typed stands when it matches something itself, unless the correction is far
    // more common (a misspelling a few products share).
    let correction = correction.filter(|(_, df)| own_df == 0 || *df >= 20 * own_df).map(|(w, _)| w);
    (alts, correction)
}
