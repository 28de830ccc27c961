use super::*;

fn doc<'a>(name: &'a str, brand: &'a str, categories: &'a str, labels: &'a str) -> Document<'a> {
    Document { lang: None, fields: [name, brand, categories, labels, "", ""] }
}

fn with_ingredients<'a>(name: &'a str, ingredients: &'a str) -> Document<'a> {
    Document { lang: None, fields: [name, "", "", "", "", ingredients] }
}

fn index(docs: &[(u32, Document<'_>)]) -> LexicalIndex<u32> {
    let mut idx = LexicalIndex::new(Arc::new(Analyzer::new()));
    for (k, d) in docs {
        idx.insert(*k, d);
    }
    idx.refresh_vocabulary();
    idx
}

fn keys(idx: &LexicalIndex<u32>, query: &str) -> Vec<u32> {
    idx.search(query, 10, None).into_iter().map(|m| m.key).collect()
}

#[test]
fn name_outweighs_ingredients_and_all_words_outweigh_some() {
    let idx = index(&[
        (1, with_ingredients("Oatmeal cookies", "oats, sugar, chocolate chips")),
        (2, doc("Dark chocolate", "Acme", "Chocolates, Dark chocolates", "")),
        (3, doc("Milk chocolate with almonds", "Acme", "Chocolates, Milk chocolates", "")),
        (4, with_ingredients("Chocolate chocolate chocolate", "")),
        (5, doc("Dark roast coffee", "Beanery", "Coffees", "")),
    ]);
    let got = keys(&idx, "chocolate");
    assert_eq!(got.last(), Some(&1), "an ingredient mention ranks last: {got:?}");
    let got = keys(&idx, "dark chocolate");
    assert_eq!(got[0], 2, "{got:?}");
    let m = idx.search("dark chocolate", 10, None);
    assert!((m[0].coverage - 1.0).abs() < 1e-6);
    assert!(m.iter().any(|x| x.coverage < 1.0));
}

#[test]
fn phrases_in_order_rank_first() {
    let idx = index(&[
        (1, doc("Peanut butter cups", "", "", "")),
        (2, doc("Butter cookies with peanut pieces", "", "", "")),
    ]);
    assert_eq!(keys(&idx, "peanut butter"), [1, 2]);
    let parsed = idx.parse("peanut butter");
    assert_eq!(parsed.groups.len(), 2);
}

#[test]
fn stop_words_and_filler_are_ignored_unless_nothing_else_is_left() {
    let idx = index(&[
        (1, doc("Pickled cucumbers", "", "Pickles", "")),
        (2, doc("The best of something", "", "", "")),
    ]);
    assert_eq!(keys(&idx, "I'm looking for some pickles please"), [1]);
    assert_eq!(keys(&idx, "the best of something"), [2]);
}

#[test]
fn multilingual_stems_and_lexicon() {
    let fr = Document {
        lang: Some(Lang::Fr),
        fields: ["Biscuits au chocolat noir", "", "", "", "", ""],
    };
    let de = Document {
        lang: Some(Lang::De),
        fields: ["Vollmilch Schokoladen mit Haselnüssen", "", "", "", "", ""],
    };
    let idx = index(&[(1, fr), (2, de), (3, doc("Strawberry jam", "", "Jams", ""))]);
    assert_eq!(keys(&idx, "biscuit chocolat")[0], 1);
    assert_eq!(keys(&idx, "chocolate cookies")[0], 1, "cookies = biscuits (lexicon)");
    assert_eq!(keys(&idx, "Schokolade Haselnuss")[0], 2);
    assert_eq!(keys(&idx, "hazelnut chocolate")[0], 2, "translated by the lexicon");
    assert_eq!(keys(&idx, "confiture de fraises"), [3]);
}

#[test]
fn free_of_matches_labels_not_ingredients() {
    let idx = index(&[
        (
            1,
            Document { fields: ["Penne", "", "Pastas", "No gluten", "", "corn, rice"], lang: None },
        ),
        (
            2,
            Document {
                fields: ["Seitan pasta", "", "Pastas", "", "", "wheat gluten, water"],
                lang: None,
            },
        ),
        (3, Document { fields: ["Gluten free spaghetti", "", "", "", "", ""], lang: None }),
        (4, Document { fields: ["Pâtes sans gluten", "", "", "", "", ""], lang: Some(Lang::Fr) }),
    ]);
    let got = keys(&idx, "gluten-free pasta");
    assert_eq!(got.len(), 4);
    assert_eq!(got.last(), Some(&2), "gluten as an ingredient is not gluten-free: {got:?}");
    let got = keys(&idx, "pasta without gluten");
    assert_eq!(got.last(), Some(&2));
    // A misspelled "free of" word stands for the word it misspells.
    let got = keys(&idx, "glutten free pasta");
    assert_eq!(got.last(), Some(&2), "{got:?}");
    assert_ne!(got[0], 2);
    assert_eq!(keys(&idx, "pates sans gluten")[0], 4);
}

#[test]
fn prefixes_and_typos_stand_in_for_unknown_words() {
    let idx = index(&[
        (1, doc("Excellence 70% cocoa", "Lindt", "Dark chocolates", "")),
        (2, doc("Fruit gummies", "Haribo", "Gummies", "")),
        (3, doc("Pickled cucumbers", "", "Pickles", "")),
    ]);
    assert_eq!(keys(&idx, "lind"), [1], "prefix");
    assert_eq!(keys(&idx, "chocolte"), [1], "one edit");
    assert_eq!(keys(&idx, "pickels"), [3], "transposition");
    assert_eq!(keys(&idx, "gummmies"), [2]);
    assert_eq!(keys(&idx, "hraibo gummies")[0], 2);
    assert!(keys(&idx, "xylophone").is_empty());
    // The semantic leg is given the query with corrections.
    assert_eq!(idx.parse("choclate gummies").corrected.as_deref(), Some("chocolates gummies"));
    assert_eq!(idx.parse("chocolates gummies").corrected, None);
    let parsed = idx.parse("xylophone chocolate");
    assert_eq!(parsed.unmatched, ["xylophone"]);
    // The typed word's own match outweighs a correction's.
    let m = idx.search("chocolte", 1, None);
    let exact = idx.search("chocolates", 1, None);
    assert!(m[0].score < exact[0].score);
}

#[test]
fn replace_remove_and_filter() {
    let mut idx =
        index(&[(1, doc("Apple juice", "", "", "")), (2, doc("Orange juice", "", "", ""))]);
    assert_eq!(keys(&idx, "juice").len(), 2);
    idx.insert(1, &doc("Apple cider", "", "", ""));
    assert_eq!(keys(&idx, "juice"), [2]);
    assert_eq!(keys(&idx, "cider"), [1]);
    idx.remove(&2);
    assert!(keys(&idx, "juice").is_empty());
    assert_eq!(idx.len(), 1);
    let only_odd = |k: &u32| k % 2 == 1;
    idx.insert(3, &doc("Cider vinegar", "", "", ""));
    idx.insert(4, &doc("Cider", "", "", ""));
    let got: Vec<u32> =
        idx.search("cider", 10, Some(&only_odd)).into_iter().map(|m| m.key).collect();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|k| k % 2 == 1));
}

#[test]
fn compaction_keeps_every_live_document_findable() {
    let mut idx = LexicalIndex::new(Arc::new(Analyzer::new()));
    let names: Vec<String> = (0..3_000).map(|i| format!("product{i} widget")).collect();
    for (i, n) in names.iter().enumerate() {
        idx.insert(i as u32, &doc(n, "", "", ""));
    }
    for i in 0..2_000u32 {
        idx.remove(&i);
    }
    assert_eq!(idx.len(), 1_000);
    assert!(idx.slots.len() < 3_000, "compacted");
    idx.refresh_vocabulary();
    assert_eq!(keys(&idx, "product2500"), [2500]);
    assert!(keys(&idx, "product5").is_empty() || keys(&idx, "product5").iter().all(|k| *k >= 2000));
    assert_eq!(idx.search("widget", 5_000, None).len(), 1_000);
}
