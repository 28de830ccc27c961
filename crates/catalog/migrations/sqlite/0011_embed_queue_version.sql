-- A write re-queues a product that is already queued by bumping `version`; the embedder
-- dequeues a job only at the version it read, so a text change made while the job was being
-- embedded is embedded in the next round instead of being lost.
ALTER TABLE embed_dirty ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
