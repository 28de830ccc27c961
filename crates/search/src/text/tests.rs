use super::*;

fn folded(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.folded).collect()
}

/// The pieces of a query as strings: `word` or `free:word`.
fn query_pieces(text: &str) -> Vec<String> {
    pieces(&words(text), false)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Word(w) if is_stop_word(&w.lower) => None,
            Piece::Word(w) => Some(w.folded),
            Piece::FreeOf { folded, .. } => Some(format!("free:{folded}")),
        })
        .collect()
}

#[test]
fn folding_removes_case_diacritics_and_ligatures() {
    assert_eq!(fold("Crème Brûlée"), "creme brulee");
    assert_eq!(fold("Straße"), "strasse");
    assert_eq!(fold("ŒUFS"), "oeufs");
    assert_eq!(fold("Haselnüsse"), "haselnusse");
    assert_eq!(folded("Pâte à tartiner, 70% cacao!"), ["pate", "a", "tartiner", "70", "cacao"]);
}

#[test]
fn words_keep_positions_across_stop_words() {
    let w = words("Biscuits au chocolat");
    assert_eq!(w.iter().map(|w| w.pos).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(is_stop_word(&w[1].lower));
    assert!(!is_stop_word(&w[0].lower));
    // Accents tell French "thé" (tea) from English "the".
    assert!(is_stop_word("the"));
    assert!(!is_stop_word("thé"));
    assert!(is_stop_word("something") && is_stop_word("für") && is_stop_word("avec"));
    assert!(!is_stop_word("free") && !is_stop_word("sans") && !is_stop_word("ohne"));
    // Overlong runs are not words.
    assert!(words(&"x".repeat(200)).is_empty());
}

#[test]
fn free_of_phrases_in_three_languages() {
    assert_eq!(query_pieces("gluten-free pasta"), ["free:gluten", "pasta"]);
    assert_eq!(query_pieces("Gluten Free pasta"), ["free:gluten", "pasta"]);
    assert_eq!(query_pieces("pasta without gluten"), ["free:gluten", "pasta"]);
    assert_eq!(query_pieces("pâtes sans gluten"), ["free:gluten", "pates"]);
    assert_eq!(query_pieces("jam with no added sugar"), ["free:sugar", "jam"]);
    assert_eq!(query_pieces("confiture sans sucres ajoutés"), ["free:sucres", "confiture"]);
    assert_eq!(query_pieces("glutenfreie Nudeln"), ["free:gluten", "nudeln"]);
    assert_eq!(query_pieces("Schokolade ohne Zucker"), ["free:zucker", "schokolade"]);
    assert_eq!(query_pieces("free from nuts"), ["free:nuts"]);
    // Not "free of": free-range eggs, a free sample.
    assert_eq!(query_pieces("free range eggs"), ["free", "range", "eggs"]);
    // Products keep the words a phrase was made of.
    let doc: Vec<String> = pieces(&words("gluten free pasta"), true)
        .into_iter()
        .map(|p| match p {
            Piece::Word(w) => w.folded,
            Piece::FreeOf { folded, .. } => format!("free:{folded}"),
        })
        .collect();
    assert_eq!(doc, ["free:gluten", "gluten", "free", "pasta"]);
}

#[test]
fn free_of_terms_name_one_concept_across_languages() {
    let a = Analyzer::new();
    assert_eq!(a.free_of_term("sugar"), "free:sugar");
    assert_eq!(a.free_of_term("sucres"), "free:sugar");
    assert_eq!(a.free_of_term("zucker"), "free:sugar");
    assert_eq!(a.free_of_term("laktose"), "free:lactose");
    assert_eq!(a.free_of_term("ogm"), "free:gmo");
    // A word outside the lexicon: its English stem.
    assert_eq!(a.free_of_term("peanuts"), "free:peanut");
    assert_eq!(a.free_of_term("sulphites"), "free:sulphit");
}

#[test]
fn stems_per_language() {
    let a = Analyzer::new();
    assert_eq!(a.stem("biscuits", Lang::En), "biscuit");
    assert_eq!(a.stem("confitures", Lang::Fr), a.stem("confiture", Lang::Fr));
    assert_eq!(a.stem("schokoladen", Lang::De), a.stem("schokolade", Lang::De));
    // Short words and numbers are their own stem.
    assert_eq!(a.stem("oat", Lang::En), "oat");
    assert_eq!(a.stem("2018", Lang::Fr), "2018");
    // A German product is indexed under its German and its English stem.
    let (t, n) = a.doc_terms("schokoladen", Lang::De);
    assert_eq!(n, 2);
    assert!(t.contains(&a.stem("schokolade", Lang::De).into_owned()));
    assert!(a.query_terms("schokolade").contains(&t[0]));
}

#[test]
fn lexicon_links_translations_and_synonyms() {
    let a = Analyzer::new();
    let lex = a.lexicon();
    assert!(lex.len() > 100);
    let concept = |w: &str| lex.concept_of(&a, w).map(|c| lex.concept_name(c).to_owned());
    assert_eq!(concept("confiture").as_deref(), Some("jam"));
    assert_eq!(concept("cookies").as_deref(), Some("biscuit"));
    assert_eq!(concept("gummibarchen").as_deref(), Some("gummy"));
    assert_eq!(concept("schokolade").as_deref(), Some("chocolate"));
    assert_eq!(concept("cornichons").as_deref(), Some("gherkin"));
    assert_eq!(concept("laptop"), None);
    let jam = lex.concept_of(&a, "jam").unwrap_or(u32::MAX);
    assert!(lex.words(jam).iter().any(|w| w == "marmelade"));
}

#[test]
fn languages_are_detected_from_running_text_only() {
    assert_eq!(
        detect("Farine de blé, sucre, beurre pâtissier, œufs frais, sel de Guérande"),
        Some(Lang::Fr)
    );
    assert_eq!(
        detect("Zucker, Kakaobutter, Vollmilchpulver, Haselnüsse, Emulgator Lecithine"),
        Some(Lang::De)
    );
    assert_eq!(detect("Nutella"), None);
    assert_eq!(Lang::from_code("fr-CA"), Some(Lang::Fr));
    assert_eq!(Lang::from_code("ja"), None);
}
