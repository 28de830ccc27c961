-- Issue 20: the same tables as the SQLite migration 0014_taxonomy_and_search_documents.sql —
-- the whole category path and the labels of a product, and the search documents the
-- in-memory lexical index of every serving process loads.
CREATE TABLE product_categories (
    product_id  BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    category_id TEXT NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, position)
);
CREATE INDEX product_categories_by_category ON product_categories (category_id, product_id);

INSERT INTO product_categories (product_id, position, category_id)
WITH RECURSIVE up(product_id, depth, category_id) AS (
    SELECT id, 0, category_id FROM products WHERE category_id IS NOT NULL
    UNION ALL
    SELECT up.product_id, up.depth + 1, c.parent_id
    FROM up JOIN categories c ON c.id = up.category_id
    WHERE c.parent_id IS NOT NULL AND up.depth < 64
)
SELECT product_id, max(depth) OVER (PARTITION BY product_id) - depth, category_id FROM up;

CREATE TABLE labels (
    id   TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    name TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200)
);
CREATE TABLE product_labels (
    product_id BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    label_id   TEXT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, position)
);
CREATE INDEX product_labels_by_label ON product_labels (label_id, product_id);

-- The lexical leg ranks in memory now (crates/search/src/lexical): the tsvector index goes.
DROP TABLE product_search;

-- Search documents: written by the background indexer (one `seq` per batch, taken under a
-- transaction-scoped advisory lock so commits happen in sequence order and a process catching
-- up by sequence never skips a batch committed late); a deleted product leaves a tombstone.
CREATE TABLE search_documents (
    gtin        TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    lang        TEXT,
    name        TEXT NOT NULL DEFAULT '',
    brand       TEXT NOT NULL DEFAULT '',
    categories  TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    ingredients TEXT NOT NULL DEFAULT '',
    deleted     BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX search_documents_by_seq ON search_documents (seq, gtin);

-- The advisory lock key is the indexer's (crates/catalog/src/postgres/search.rs, INDEX_LOCK).
CREATE FUNCTION search_documents_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(8102661156817232744);
    UPDATE search_documents
    SET deleted = true, name = '', brand = '', categories = '', labels = '', description = '',
        ingredients = '', lang = NULL,
        seq = (SELECT coalesce(max(seq), 0) + 1 FROM search_documents)
    WHERE gtin = OLD.gtin;
    RETURN OLD;
END;
$$;
CREATE TRIGGER search_documents_tombstone AFTER DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION search_documents_tombstone();

INSERT INTO search_dirty (product_id) SELECT id FROM products ON CONFLICT DO NOTHING;
INSERT INTO embed_dirty (product_id) SELECT id FROM products
    ON CONFLICT (product_id) DO UPDATE SET version = embed_dirty.version + 1;
