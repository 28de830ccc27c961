-- Lexical search (docs/spec.md §6): an FTS5 index over each product's name, brand, category (with its
-- parent), description and ingredients, ranked with BM25. rowid = products.id.
-- Writes do not tokenize inline (that would halve import speed): they queue the product in
-- search_dirty, and a background indexer (re)builds its row. /mcp/health reports the backlog.
CREATE VIRTUAL TABLE products_fts USING fts5(
    name, brand, category, description, ingredients,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TABLE search_dirty (
    product_id INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE
);

-- Index whatever is already in the catalog.
INSERT INTO search_dirty (product_id) SELECT id FROM products;

CREATE TRIGGER products_fts_delete AFTER DELETE ON products
BEGIN
    DELETE FROM products_fts WHERE rowid = OLD.id;
END;
