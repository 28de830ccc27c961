-- Issue 20: the whole category path and the labels of a product, and the search documents the
-- in-memory lexical index loads.
--
-- product_categories: the product's taxonomy path from general to specific (OFF's
-- categories_tags); products.category_id keeps the most specific one. A category filter
-- matches a product holding the category, or one of its subcategories, at any level.
CREATE TABLE product_categories (
    product_id  INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    category_id TEXT NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID, STRICT;
CREATE INDEX product_categories_by_category ON product_categories (category_id, product_id);

-- Products stored before this migration: the path is the category and its ancestors in the
-- category tree (which the importers built from the same paths).
INSERT INTO product_categories (product_id, position, category_id)
WITH RECURSIVE up(product_id, depth, category_id) AS (
    SELECT id, 0, category_id FROM products WHERE category_id IS NOT NULL
    UNION ALL
    SELECT up.product_id, up.depth + 1, c.parent_id
    FROM up JOIN categories c ON c.id = up.category_id
    WHERE c.parent_id IS NOT NULL AND up.depth < 64
)
SELECT product_id, max(depth) OVER (PARTITION BY product_id) - depth, category_id FROM up;

-- Labels (OFF labels_tags: en:organic, en:no-gluten, fr:ab-agriculture-biologique, …) with
-- their display names, and the labels each product carries in the order given.
CREATE TABLE labels (
    id   TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    name TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200)
) WITHOUT ROWID, STRICT;
CREATE TABLE product_labels (
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    label_id   TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID, STRICT;
CREATE INDEX product_labels_by_label ON product_labels (label_id, product_id);

-- The lexical leg now ranks in memory (crates/search/src/lexical): FTS5 goes.
DROP TRIGGER products_fts_delete;
DROP TABLE products_fts_vocab;
DROP TABLE products_fts;

-- One search document per product: its six searchable fields as text, built by the
-- background indexer from the queue in search_dirty. `seq` orders the writes (every indexed
-- batch takes the next number), so each serving process loads everything once and then reads
-- only the documents written after the last sequence it has seen. A deleted product leaves a
-- tombstone (`deleted` = 1, a new `seq`), so every process learns of the deletion; the key is
-- the GTIN, since a product row id may be reused.
CREATE TABLE search_documents (
    gtin        TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    lang        TEXT,
    name        TEXT NOT NULL DEFAULT '',
    brand       TEXT NOT NULL DEFAULT '',
    categories  TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    ingredients TEXT NOT NULL DEFAULT '',
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) WITHOUT ROWID, STRICT;
CREATE INDEX search_documents_by_seq ON search_documents (seq, gtin);

CREATE TRIGGER search_documents_tombstone AFTER DELETE ON products
BEGIN
    UPDATE search_documents
    SET deleted = 1, name = '', brand = '', categories = '', labels = '', description = '',
        ingredients = '', lang = NULL,
        seq = (SELECT coalesce(max(seq), 0) + 1 FROM search_documents)
    WHERE gtin = OLD.gtin;
END;

-- Every product is indexed again (its text now has the whole path and the labels).
INSERT OR IGNORE INTO search_dirty (product_id) SELECT id FROM products;
INSERT INTO embed_dirty (product_id) SELECT id FROM products WHERE true
    ON CONFLICT (product_id) DO UPDATE SET version = version + 1;
