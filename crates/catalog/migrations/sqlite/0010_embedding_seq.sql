-- A write sequence on stored embeddings: every batch saved takes the next number, so a
-- running server picks up vectors another process wrote (`prodlink import` embeds what it
-- imported; a second server on the same file embeds its share of the queue) by reading the
-- rows after the last sequence it has seen.
ALTER TABLE product_embeddings ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX product_embeddings_by_seq ON product_embeddings (model, seq, product_id);
