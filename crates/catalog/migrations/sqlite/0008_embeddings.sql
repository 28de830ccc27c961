-- Semantic search (docs/spec.md §6): one sentence embedding per product, stored beside the catalog so a
-- restart needs no re-embedding. `model` names the embedder that made the vector (a different
-- model re-embeds everything); `text_hash` is the SHA-256 (first 16 bytes) of the text that was
-- embedded, so a product whose text did not change is never embedded again. `vector` is the
-- little-endian f32 array.
CREATE TABLE product_embeddings (
    product_id INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    text_hash  BLOB NOT NULL,
    vector     BLOB NOT NULL
) STRICT;

-- Products written since they were last embedded (the background embedder drains it).
CREATE TABLE embed_dirty (
    product_id INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE
) STRICT;

INSERT INTO embed_dirty (product_id) SELECT id FROM products;
