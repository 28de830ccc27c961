//! The lexical index: an in-memory inverted index over products' six text fields, ranked by
//! BM25F (one length-normalized, weighted term frequency across fields: name > brand and
//! categories > labels > description > ingredients), with OR semantics scaled by how much of
//! the query a product covers, a bonus for query words that stand next to each other in the
//! product's name, brand, categories or labels (phrases), and query words that match nothing
//! replaced by the vocabulary's words they are a prefix of or a typo of.
//!
//! The index holds what the database holds (the catalog loads it from the store and keeps it in
//! step); it is rebuilt at start. 85k products take about 60 MB and a second to index.

mod query;

#[cfg(test)]
mod tests;

use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use crate::text::{self, Analyzer, Lang, Piece};

pub use query::{Alternative, Group, ParsedQuery};

/// The fields of a product, in index order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Product name.
    Name = 0,
    /// Brand name.
    Brand = 1,
    /// Category path, general to specific.
    Categories = 2,
    /// Labels (organic, gluten-free, …).
    Labels = 3,
    /// Description.
    Description = 4,
    /// Ingredients in label order.
    Ingredients = 5,
}

/// Number of fields.
pub const FIELDS: usize = 6;

/// A product's text as the index reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Document<'a> {
    /// The product's language, when its data says (else it is detected from the text, and
    /// English when that fails).
    pub lang: Option<Lang>,
    /// The fields' text, indexed by [`Field`].
    pub fields: [&'a str; FIELDS],
}

/// Per field: BM25F weight and length normalization `b`.
/// A product's category states what it is (its name often does not: "Kosher Dill Spears"), so
/// it weighs as much as the name.
const FIELD_WEIGHT: [f32; FIELDS] = [3.0, 2.0, 3.0, 1.5, 1.0, 0.4];
const FIELD_B: [f32; FIELDS] = [0.5, 0.3, 0.3, 0.2, 0.75, 0.75];
/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// Fields whose word positions are kept for phrase matches (short, descriptive).
const NEAR_FIELDS: [Field; 4] = [Field::Name, Field::Brand, Field::Categories, Field::Labels];
/// Positions of different fields are this far apart, so no phrase spans two fields.
const FIELD_GAP: u32 = 100_000;
/// The weighted pseudo term frequency at which a document covers a query word fully: one
/// mention in any field but the ingredients (an ingredient covers two fifths of it).
const COVERED_TF: f32 = 1.0;
/// How much a product's score counts for each share of the query it covers: the score is
/// multiplied by `coverage ^ COVERAGE_POWER`.
const COVERAGE_POWER: i32 = 2;
/// The most a phrase can add: every pair of neighbouring query words found side by side
/// multiplies the score by `1 + PHRASE_BONUS`.
const PHRASE_BONUS: f32 = 0.25;
/// Candidates re-ranked with phrase matches, at least.
const RERANK_MIN: usize = 200;

/// One stored posting: a document slot and its term frequency per field.
#[derive(Debug, Clone, Copy)]
struct Posting {
    slot: u32,
    tf: [u8; FIELDS],
}

/// One document slot; `key` is `None` once removed (until the next compaction).
#[derive(Debug, Clone)]
struct Slot<K> {
    key: Option<K>,
    lens: [u16; FIELDS],
    /// Distinct terms (for document frequencies on removal).
    terms: Box<[u32]>,
    /// (position, term) in the [`NEAR_FIELDS`], position-ordered.
    near: Box<[(u32, u32)]>,
}

/// A match: the key, its score (higher is better, on BM25's scale), the same score on a scale
/// that does not depend on the query, and the share of the query it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalMatch<K> {
    /// The document.
    pub key: K,
    /// BM25F × coverage × phrase bonus.
    pub score: f32,
    /// `score` over the most any document could score for this query (every word matched with
    /// saturated term frequency, every phrase found), 0–1: comparable across queries.
    pub relevance: f32,
    /// Share of the query's words (or their stand-ins) the document holds, 0–1.
    pub coverage: f32,
}

/// The in-memory inverted index. `K` is the document key (a GTIN).
pub struct LexicalIndex<K> {
    analyzer: Arc<Analyzer>,
    slots: Vec<Slot<K>>,
    by_key: HashMap<K, u32>,
    terms: HashMap<Box<str>, u32>,
    postings: Vec<Vec<Posting>>,
    df: Vec<u32>,
    /// Folded words as written in documents, with the number of documents holding them: the
    /// vocabulary prefixes and typos are looked up in.
    surface: HashMap<Box<str>, u32>,
    vocabulary: query::Vocabulary,
    len_sum: [u64; FIELDS],
    /// Documents with a non-empty field, per field (a field's average length is over those:
    /// most products of a catalog may have no categories at all).
    with_field: [u32; FIELDS],
    live: u32,
    dead: u32,
}

impl<K> std::fmt::Debug for LexicalIndex<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexicalIndex")
            .field("documents", &self.live)
            .field("terms", &self.terms.len())
            .finish_non_exhaustive()
    }
}

/// A document analyzed for the index ([`analyze`]), ready to insert: analysis is most of the
/// cost of indexing and needs no access to the index, so it can run outside its lock.
#[derive(Debug, Clone)]
pub struct AnalyzedDocument {
    /// term text → tf per field.
    tf: HashMap<String, [u8; FIELDS]>,
    lens: [u16; FIELDS],
    near: Vec<(u32, String)>,
    surface: Vec<String>,
}

/// Analyzes a document: its language (declared, or detected from its text, else English), its
/// words stemmed in that language (and in English), "free of" phrases, term frequencies per
/// field and the word positions of the short fields.
pub fn analyze(analyzer: &Analyzer, doc: &Document<'_>) -> AnalyzedDocument {
    let lang = doc.lang.unwrap_or_else(|| {
        let sample = format!(
            "{} {} {}",
            doc.fields[Field::Name as usize],
            doc.fields[Field::Description as usize],
            doc.fields[Field::Ingredients as usize]
        );
        text::detect(&sample).unwrap_or(Lang::En)
    });
    let mut out = AnalyzedDocument {
        tf: HashMap::new(),
        lens: [0; FIELDS],
        near: Vec::new(),
        surface: Vec::new(),
    };
    for (f, content) in doc.fields.iter().enumerate() {
        if content.is_empty() {
            continue;
        }
        let words = text::words(content);
        let near = NEAR_FIELDS.iter().any(|n| *n as usize == f);
        let offset = f as u32 * FIELD_GAP;
        let mut len = 0u16;
        for piece in text::pieces(&words, true) {
            let (terms, pos): (Vec<String>, u32) = match piece {
                Piece::Word(w) => {
                    // Stop words are kept only in the short fields, as written, for a query
                    // made of nothing else ("The Best"); they do not count toward a field's
                    // length.
                    if text::is_stop_word(&w.lower) {
                        if !near {
                            continue;
                        }
                        (vec![w.folded.clone()], w.pos)
                    } else {
                        len = len.saturating_add(1);
                        if !out.surface.contains(&w.folded) {
                            out.surface.push(w.folded.clone());
                        }
                        let (t, n) = analyzer.doc_terms(&w.folded, lang);
                        (t.into_iter().take(n).collect(), w.pos)
                    }
                }
                Piece::FreeOf { folded, pos } => (vec![analyzer.free_of_term(&folded)], pos),
            };
            for t in terms {
                if near && pos < FIELD_GAP {
                    out.near.push((offset + pos, t.clone()));
                }
                let tf = out.tf.entry(t).or_insert([0; FIELDS]);
                tf[f] = tf[f].saturating_add(1);
            }
        }
        out.lens[f] = len;
    }
    out
}

impl<K: Copy + Eq + Hash> LexicalIndex<K> {
    /// An empty index.
    pub fn new(analyzer: Arc<Analyzer>) -> Self {
        Self {
            analyzer,
            slots: Vec::new(),
            by_key: HashMap::new(),
            terms: HashMap::new(),
            postings: Vec::new(),
            df: Vec::new(),
            surface: HashMap::new(),
            vocabulary: query::Vocabulary::default(),
            len_sum: [0; FIELDS],
            with_field: [0; FIELDS],
            live: 0,
            dead: 0,
        }
    }

    /// The analyzer.
    pub fn analyzer(&self) -> &Arc<Analyzer> {
        &self.analyzer
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether a key is indexed.
    pub fn contains(&self, key: &K) -> bool {
        self.by_key.contains_key(key)
    }

    /// Number of distinct terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// The heap memory the index holds, approximately (allocated capacity, hash tables at
    /// their bucket count).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let postings: usize = self
            .postings
            .iter()
            .map(|p| p.capacity() * size_of::<Posting>() + size_of::<Vec<Posting>>())
            .sum();
        let slots: usize = self
            .slots
            .iter()
            .map(|s| size_of::<Slot<K>>() + s.terms.len() * 4 + s.near.len() * 8)
            .sum();
        let strings = |m: &HashMap<Box<str>, u32>| -> usize {
            m.keys().map(|k| k.len()).sum::<usize>()
                + m.capacity() * (size_of::<Box<str>>() + size_of::<u32>() + 1)
        };
        postings
            + slots
            + strings(&self.terms)
            + strings(&self.surface)
            + self.df.capacity() * 4
            + self.by_key.capacity() * (size_of::<K>() + size_of::<u32>() + 1)
            + self.vocabulary.memory_bytes()
    }

    fn term_id(&mut self, term: String) -> u32 {
        if let Some(id) = self.terms.get(term.as_str()) {
            return *id;
        }
        let id = u32::try_from(self.postings.len()).unwrap_or(u32::MAX);
        self.terms.insert(term.into_boxed_str(), id);
        self.postings.push(Vec::new());
        self.df.push(0);
        id
    }

    /// Adds a document, or replaces the one stored under `key`.
    pub fn insert(&mut self, key: K, doc: &Document<'_>) {
        let analyzed = analyze(&self.analyzer, doc);
        self.insert_analyzed(key, analyzed);
    }

    /// Adds a document analyzed by [`analyze`] (with this index's analyzer), or replaces the one
    /// stored under `key`.
    pub fn insert_analyzed(&mut self, key: K, analyzed: AnalyzedDocument) {
        self.remove(&key);
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        let mut term_ids: Vec<u32> = Vec::with_capacity(analyzed.tf.len());
        let mut ids: HashMap<String, u32> = HashMap::with_capacity(analyzed.tf.len());
        for (term, tf) in analyzed.tf {
            let id = self.term_id(term.clone());
            self.postings[id as usize].push(Posting { slot, tf });
            self.df[id as usize] += 1;
            term_ids.push(id);
            ids.insert(term, id);
        }
        term_ids.sort_unstable();
        let mut near: Vec<(u32, u32)> =
            analyzed.near.iter().filter_map(|(p, t)| ids.get(t).map(|id| (*p, *id))).collect();
        near.sort_unstable();
        for w in analyzed.surface {
            let n = self.surface.entry(w.into_boxed_str()).or_insert(0);
            if *n == 0 {
                self.vocabulary.mark_changed();
            }
            *n += 1;
        }
        for (f, len) in analyzed.lens.iter().enumerate() {
            self.len_sum[f] += u64::from(*len);
            self.with_field[f] += u32::from(*len > 0);
        }
        self.slots.push(Slot {
            key: Some(key),
            lens: analyzed.lens,
            terms: term_ids.into_boxed_slice(),
            near: near.into_boxed_slice(),
        });
        self.by_key.insert(key, slot);
        self.live += 1;
    }

    /// Removes the document stored under `key`, if any.
    pub fn remove(&mut self, key: &K) {
        let Some(slot) = self.by_key.remove(key) else { return };
        let s = &mut self.slots[slot as usize];
        s.key = None;
        for t in s.terms.iter() {
            self.df[*t as usize] = self.df[*t as usize].saturating_sub(1);
        }
        for (f, len) in s.lens.iter().enumerate() {
            self.len_sum[f] = self.len_sum[f].saturating_sub(u64::from(*len));
            self.with_field[f] = self.with_field[f].saturating_sub(u32::from(*len > 0));
        }
        s.terms = Box::new([]);
        s.near = Box::new([]);
        self.live -= 1;
        self.dead += 1;
        if self.dead > 1_000 && self.dead > self.live / 4 {
            self.compact();
        }
    }

    /// Drops removed documents' slots and postings.
    fn compact(&mut self) {
        let mut remap: Vec<u32> = vec![u32::MAX; self.slots.len()];
        let mut next = 0u32;
        for (i, s) in self.slots.iter().enumerate() {
            if s.key.is_some() {
                remap[i] = next;
                next += 1;
            }
        }
        for list in &mut self.postings {
            list.retain_mut(|p| {
                p.slot = remap[p.slot as usize];
                p.slot != u32::MAX
            });
        }
        self.slots.retain(|s| s.key.is_some());
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(k) = s.key {
                self.by_key.insert(k, i as u32);
            }
        }
        self.dead = 0;
    }

    /// Rebuilds the vocabulary that prefixes and typos are looked up in, if words were added
    /// since (a few tens of milliseconds for 85k products; call it after a batch of inserts).
    pub fn refresh_vocabulary(&mut self) {
        self.vocabulary.rebuild(&self.surface);
    }

    /// Parses a query against this index's vocabulary.
    pub fn parse(&self, query: &str) -> ParsedQuery {
        query::parse(self, query)
    }

    fn idf(&self, term: u32) -> f32 {
        let n = self.live.max(1) as f32;
        let df = self.df.get(term as usize).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The `k` best documents for `query` among those `allow` accepts (all when `None`), best
    /// first.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        allow: Option<&dyn Fn(&K) -> bool>,
    ) -> Vec<LexicalMatch<K>> {
        let parsed = self.parse(query);
        self.search_parsed(&parsed, k, allow)
    }

    fn averages(&self) -> [f32; FIELDS] {
        std::array::from_fn(|f| {
            (self.len_sum[f] as f32 / (self.with_field[f] as f32).max(1.0)).max(1.0)
        })
    }

    /// The BM25F pseudo term frequency of one posting: term frequencies weighted per field and
    /// normalized by the field's length.
    fn posting_tf(&self, p: &Posting, avg: &[f32; FIELDS]) -> f32 {
        let lens = &self.slots[p.slot as usize].lens;
        let w = FIELD_WEIGHT;
        let mut tf = 0f32;
        for f in 0..FIELDS {
            if p.tf[f] > 0 {
                let norm = 1.0 - FIELD_B[f] + FIELD_B[f] * f32::from(lens[f]) / avg[f];
                tf += w[f] * f32::from(p.tf[f]) / norm;
            }
        }
        tf
    }

    /// A group's score from its sources' summed pseudo term frequency `t` and summed
    /// `weight × idf × tf`: their idf-weighted mean, saturated jointly (BM25F's treatment of
    /// synonyms as one term, weighted: two sources in one product count more than one).
    fn group_score(t: f32, n: f32) -> f32 {
        if t <= 0.0 { 0.0 } else { n * (K1 + 1.0) / (t + K1) }
    }

    /// The inverse document frequency a group's terms share: that of its most common term
    /// (as a synonym query does), so a rare synonym or misspelling never outweighs the common
    /// word the shopper typed.
    fn group_idf(&self, group: &Group) -> f32 {
        group
            .alternatives
            .iter()
            .map(|a| self.idf(a.term))
            .fold(f32::INFINITY, f32::min)
            .min(self.idf(u32::MAX))
    }

    /// The most a document can score for `parsed` (every group matched by its best term, term
    /// frequency saturated), before phrases.
    fn ceiling(&self, parsed: &ParsedQuery) -> f32 {
        parsed
            .groups
            .iter()
            .map(|g| {
                let idf = self.group_idf(g);
                g.alternatives.iter().map(|a| a.weight * idf * (K1 + 1.0)).fold(0f32, f32::max)
            })
            .sum::<f32>()
            .max(f32::EPSILON)
    }

    /// How much of a group a document covers, 0–1, from its weighted pseudo term frequency:
    /// a word in the name or the categories covers it, one only in the ingredients barely.
    fn strength(weighted_tf: f32) -> f32 {
        (weighted_tf / COVERED_TF).min(1.0)
    }

    /// The share of `parsed`'s groups (by weight) that `covered` (the summed group weights
    /// times [`Self::strength`]) stands for.
    fn coverage(parsed: &ParsedQuery, covered: f32) -> f32 {
        let total: f32 = parsed.groups.iter().map(|g| g.weight).sum::<f32>().max(f32::EPSILON);
        (covered / total).min(1.0)
    }

    /// The final match of a document from its summed group scores, matched-group mask and
    /// covered weight.
    fn finish(
        &self,
        parsed: &ParsedQuery,
        slot: u32,
        (sum, mask, covered): (f32, u64, f32),
        ceiling: f32,
    ) -> Option<LexicalMatch<K>> {
        let s = &self.slots[slot as usize];
        let key = s.key?;
        let coverage = Self::coverage(parsed, covered);
        let bonus = self.phrase_bonus(parsed, &s.near, mask);
        let score = sum * coverage.powi(COVERAGE_POWER) * (1.0 + bonus);
        let most = ceiling * (1.0 + PHRASE_BONUS);
        Some(LexicalMatch { key, score, relevance: (score / most).min(1.0), coverage })
    }

    /// [`LexicalIndex::search`] for a parsed query.
    pub fn search_parsed(
        &self,
        parsed: &ParsedQuery,
        k: usize,
        allow: Option<&dyn Fn(&K) -> bool>,
    ) -> Vec<LexicalMatch<K>> {
        let groups = &parsed.groups;
        if groups.is_empty() || k == 0 || self.live == 0 {
            return Vec::new();
        }
        let n_slots = self.slots.len();
        let avg = self.averages();
        // Per document: the current source's best (tf, weight × idf), the group's summed tf
        // and weighted tf, the query's summed score and matched-group mask.
        let mut src_tf = vec![0f32; n_slots];
        let mut src_wi = vec![0f32; n_slots];
        let mut grp_t = vec![0f32; n_slots];
        let mut grp_n = vec![0f32; n_slots];
        let mut sum = vec![0f32; n_slots];
        let mut mask = vec![0u64; n_slots];
        let mut covered = vec![0f32; n_slots];
        let mut touched: Vec<u32> = Vec::new();
        let mut in_group: Vec<u32> = Vec::new();
        let mut in_source: Vec<u32> = Vec::new();
        for (g, group) in groups.iter().enumerate().take(64) {
            let idf = self.group_idf(group);
            for source in group.alternatives.chunk_by(|a, b| a.source == b.source) {
                for alt in source {
                    let wi = alt.weight * idf;
                    let Some(list) = self.postings.get(alt.term as usize) else { continue };
                    for p in list {
                        let i = p.slot as usize;
                        if self.slots[i].key.is_none() {
                            continue;
                        }
                        let tf = self.posting_tf(p, &avg);
                        if src_tf[i] == 0.0 {
                            in_source.push(p.slot);
                        }
                        if tf * wi > src_tf[i] * src_wi[i] {
                            src_tf[i] = tf;
                            src_wi[i] = wi;
                        }
                    }
                }
                for slot in in_source.drain(..) {
                    let i = slot as usize;
                    if grp_t[i] == 0.0 {
                        in_group.push(slot);
                    }
                    grp_t[i] += src_tf[i];
                    grp_n[i] += src_tf[i] * src_wi[i];
                    src_tf[i] = 0.0;
                    src_wi[i] = 0.0;
                }
            }
            for slot in in_group.drain(..) {
                let i = slot as usize;
                if mask[i] == 0 {
                    touched.push(slot);
                }
                sum[i] += Self::group_score(grp_t[i], grp_n[i]);
                mask[i] |= 1u64 << g;
                covered[i] += group.weight * Self::strength(grp_n[i] / idf);
                grp_t[i] = 0.0;
                grp_n[i] = 0.0;
            }
        }
        // First stage: BM25F × coverage, the best `rerank` kept; second: phrases.
        let rerank = (k * 3).max(RERANK_MIN);
        let mut heap: BinaryHeap<std::cmp::Reverse<(OrdF32, u32)>> = BinaryHeap::new();
        for slot in touched {
            let i = slot as usize;
            let score = sum[i] * Self::coverage(parsed, covered[i]).powi(COVERAGE_POWER);
            if heap.len() == rerank && heap.peek().is_some_and(|w| w.0.0.0 >= score) {
                continue;
            }
            let Some(key) = self.slots[i].key else { continue };
            if let Some(allow) = allow
                && !allow(&key)
            {
                continue;
            }
            heap.push(std::cmp::Reverse((OrdF32(score), slot)));
            if heap.len() > rerank {
                heap.pop();
            }
        }
        let ceiling = self.ceiling(parsed);
        let mut out: Vec<LexicalMatch<K>> = heap
            .into_iter()
            .filter_map(|std::cmp::Reverse((_, slot))| {
                let i = slot as usize;
                self.finish(parsed, slot, (sum[i], mask[i], covered[i]), ceiling)
            })
            .collect();
        let slot_of = |k: &K| self.by_key.get(k).copied().unwrap_or(u32::MAX);
        out.sort_by(|a, b| {
            b.score.total_cmp(&a.score).then_with(|| slot_of(&a.key).cmp(&slot_of(&b.key)))
        });
        out.truncate(k);
        out
    }

    /// The match of each of `keys` for a parsed query (`None` for a document that matches no
    /// word of it, or is not indexed): scores for candidates another ranking found.
    pub fn score_keys(&self, parsed: &ParsedQuery, keys: &[K]) -> Vec<Option<LexicalMatch<K>>> {
        let avg = self.averages();
        let ceiling = self.ceiling(parsed);
        let idfs: Vec<f32> = parsed.groups.iter().map(|g| self.group_idf(g)).collect();
        keys.iter()
            .map(|key| {
                let slot = *self.by_key.get(key)?;
                let terms = &self.slots[slot as usize].terms;
                let (mut sum, mut mask, mut covered) = (0f32, 0u64, 0f32);
                for (g, group) in parsed.groups.iter().enumerate().take(64) {
                    let (mut t, mut n) = (0f32, 0f32);
                    let idf = idfs[g];
                    for source in group.alternatives.chunk_by(|a, b| a.source == b.source) {
                        let mut best = (0f32, 0f32);
                        for alt in source {
                            if terms.binary_search(&alt.term).is_err() {
                                continue;
                            }
                            let list = &self.postings[alt.term as usize];
                            if let Ok(i) = list.binary_search_by_key(&slot, |p| p.slot) {
                                let tf = self.posting_tf(&list[i], &avg);
                                let wi = alt.weight * idf;
                                if tf * wi > best.0 * best.1 {
                                    best = (tf, wi);
                                }
                            }
                        }
                        t += best.0;
                        n += best.0 * best.1;
                    }
                    if t > 0.0 {
                        sum += Self::group_score(t, n);
                        mask |= 1u64 << g;
                        covered += group.weight * Self::strength(n / idf);
                    }
                }
                if mask == 0 {
                    return None;
                }
                self.finish(parsed, slot, (sum, mask, covered), ceiling)
            })
            .collect()
    }

    /// The phrase bonus of a document: the share of neighbouring query word pairs (both
    /// matched) that stand side by side in one of its short fields, in order (or one word
    /// apart, "biscuits au chocolat"); reversed order counts half.
    fn phrase_bonus(&self, parsed: &ParsedQuery, near: &[(u32, u32)], mask: u64) -> f32 {
        let groups = &parsed.groups;
        if groups.len() < 2 || near.is_empty() {
            return 0.0;
        }
        let positions = |g: &Group| -> Vec<u32> {
            near.iter()
                .filter(|(_, t)| g.alternatives.iter().any(|a| a.term == *t))
                .map(|(p, _)| *p)
                .collect()
        };
        let mut found = 0f32;
        let mut pairs = 0f32;
        for (i, pair) in groups.windows(2).enumerate().take(63) {
            pairs += 1.0;
            if mask & (1u64 << i) == 0 || mask & (1u64 << (i + 1)) == 0 {
                continue;
            }
            let (a, b) = (positions(&pair[0]), positions(&pair[1]));
            let in_order = a.iter().any(|p| b.iter().any(|q| *q > *p && *q <= p + 2));
            if in_order {
                found += 1.0;
            } else if a.iter().any(|p| b.iter().any(|q| *q < *p && q + 2 >= *p)) {
                found += 0.5;
            }
        }
        if pairs == 0.0 { 0.0 } else { PHRASE_BONUS * found / pairs }
    }
}

/// An `f32` ordered by `total_cmp`, for heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF32(f32);

impl Eq for OrdF32 {}

impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
