-- Small facts about the database itself, e.g. whether the demo catalog finished loading.
CREATE TABLE prodlink_meta (
    key        TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 100),
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
