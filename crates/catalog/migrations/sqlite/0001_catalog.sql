-- prodlink catalog schema (docs/spec.md §2) for the embedded SQLite backend.
-- Constraints make bad states impossible: GTIN-14 with a valid check digit, ISO country and
-- currency codes by foreign key, closed enumerations, coordinate ranges, and metadata limits
-- (a flat string map: at most 50 keys, keys 1-40 characters, values 1-500 characters) by trigger.
-- Timestamps are RFC 3339 UTC text written by the application.

CREATE TABLE countries (
    code TEXT PRIMARY KEY CHECK (code GLOB '[A-Z][A-Z]'),
    name TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE currencies (
    code        TEXT PRIMARY KEY CHECK (code GLOB '[A-Z][A-Z][A-Z]'),
    name        TEXT NOT NULL,
    minor_units INTEGER NOT NULL CHECK (minor_units BETWEEN 0 AND 4)
) WITHOUT ROWID;

CREATE TABLE organizations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (length(trim(name)) BETWEEN 1 AND 200),
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE brands (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    -- Unicode case-folded name computed by the application: one brand regardless of case
    name_key        TEXT NOT NULL UNIQUE CHECK (length(name_key) BETWEEN 1 AND 200),
    organization_id INTEGER REFERENCES organizations(id) ON DELETE SET NULL,
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX brands_organization ON brands(organization_id);

CREATE TABLE categories (
    id        TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    name      TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    parent_id TEXT REFERENCES categories(id) ON DELETE SET NULL CHECK (parent_id IS NULL OR parent_id <> id)
) WITHOUT ROWID;

CREATE TABLE products (
    -- stable integer key for full-text and vector indexes; the GTIN-14 is the public key
    id                INTEGER PRIMARY KEY,
    gtin              TEXT NOT NULL UNIQUE CHECK (length(gtin) = 14 AND gtin NOT GLOB '*[^0-9]*' AND gtin <> '00000000000000'
        AND (10 - (((substr(gtin,1,1)+substr(gtin,3,1)+substr(gtin,5,1)+substr(gtin,7,1)+substr(gtin,9,1)+substr(gtin,11,1)+substr(gtin,13,1)) * 3 + (substr(gtin,2,1)+substr(gtin,4,1)+substr(gtin,6,1)+substr(gtin,8,1)+substr(gtin,10,1)+substr(gtin,12,1))) % 10)) % 10 = CAST(substr(gtin,14,1) AS INTEGER)),
    name              TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 500),
    brand_id          INTEGER REFERENCES brands(id) ON DELETE SET NULL,
    category_id       TEXT REFERENCES categories(id) ON DELETE SET NULL,
    description       TEXT CHECK (description IS NULL OR length(description) BETWEEN 1 AND 10000),
    net_content       TEXT CHECK (net_content IS NULL OR length(net_content) BETWEEN 1 AND 100),
    country_of_origin TEXT REFERENCES countries(code),
    image_url         TEXT CHECK (image_url IS NULL OR ((image_url GLOB 'https://?*' OR image_url GLOB 'http://?*') AND length(image_url) <= 2000)),
    data_source       TEXT NOT NULL CHECK (data_source IN ('manual', 'off', 'import', 'api')),
    metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    -- hash of the last write applied; a write with the same hash changes nothing
    source_hash       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX products_brand ON products(brand_id);
CREATE INDEX products_category ON products(category_id);

-- Child tables reference products by their integer id: smaller rows and faster joins than the
-- 14-character GTIN.
CREATE TABLE product_images (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    url         TEXT NOT NULL CHECK ((url GLOB 'https://?*' OR url GLOB 'http://?*') AND length(url) <= 2000),
    title       TEXT CHECK (title IS NULL OR length(title) <= 200),
    description TEXT CHECK (description IS NULL OR length(description) <= 1000),
    priority    INTEGER NOT NULL DEFAULT 0 CHECK (priority >= 0),
    is_primary  INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    created_at  TEXT NOT NULL
);
CREATE INDEX product_images_product ON product_images(product_id, priority);
-- at most one primary image per product
CREATE UNIQUE INDEX product_images_primary ON product_images(product_id) WHERE is_primary = 1;

CREATE TABLE ingredients (
    product_id           INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    priority             INTEGER NOT NULL CHECK (priority >= 0),
    name                 TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 500),
    percentage_of_weight REAL CHECK (percentage_of_weight IS NULL OR percentage_of_weight BETWEEN 0 AND 100),
    PRIMARY KEY (product_id, priority)
) WITHOUT ROWID;

CREATE TABLE nutrition (
    product_id             INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
    serving_size           TEXT CHECK (serving_size IS NULL OR length(serving_size) BETWEEN 1 AND 100),
    servings_per_container REAL CHECK (servings_per_container IS NULL OR servings_per_container > 0),
    label_format           TEXT NOT NULL CHECK (label_format IN ('per_100g', 'per_100ml', 'per_serving', 'us_fda'))
);

CREATE TABLE nutrients (
    product_id      INTEGER NOT NULL REFERENCES nutrition(product_id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position        INTEGER NOT NULL CHECK (position >= 0),
    amount          REAL NOT NULL CHECK (amount >= 0),
    unit            TEXT NOT NULL CHECK (length(unit) <= 20),
    daily_value_pct REAL CHECK (daily_value_pct IS NULL OR daily_value_pct >= 0),
    PRIMARY KEY (product_id, name)
) WITHOUT ROWID;

CREATE TABLE retailers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (length(trim(name)) BETWEEN 1 AND 200),
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE stores (
    id          INTEGER PRIMARY KEY,
    retailer_id INTEGER NOT NULL REFERENCES retailers(id) ON DELETE CASCADE,
    -- the retailer's own key for the store (store number, or a key derived from the address)
    ref         TEXT NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    name        TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    address     TEXT CHECK (address IS NULL OR length(address) <= 500),
    city        TEXT CHECK (city IS NULL OR length(city) <= 200),
    region      TEXT CHECK (region IS NULL OR length(region) <= 200),
    postal_code TEXT CHECK (postal_code IS NULL OR length(postal_code) <= 20),
    country     TEXT NOT NULL REFERENCES countries(code),
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng         REAL NOT NULL CHECK (lng BETWEEN -180 AND 180),
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (retailer_id, ref)
);
CREATE INDEX stores_lat_lng ON stores(lat, lng);

CREATE TABLE offers (
    id               INTEGER PRIMARY KEY,
    product_id       INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    store_id         INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    -- price in the currency's minor units (cents for USD), exact
    price_minor      INTEGER NOT NULL CHECK (price_minor >= 0),
    currency         TEXT NOT NULL REFERENCES currencies(code),
    inventory_status TEXT NOT NULL DEFAULT 'unknown'
                     CHECK (inventory_status IN ('in_stock', 'low_stock', 'out_of_stock', 'unknown')),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    metadata         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (product_id, store_id)
);
CREATE INDEX offers_store ON offers(store_id);

CREATE TRIGGER organizations_metadata_insert BEFORE INSERT ON organizations
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'organizations.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER organizations_metadata_update BEFORE UPDATE OF metadata ON organizations
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'organizations.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER brands_metadata_insert BEFORE INSERT ON brands
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'brands.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER brands_metadata_update BEFORE UPDATE OF metadata ON brands
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'brands.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER retailers_metadata_insert BEFORE INSERT ON retailers
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'retailers.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER retailers_metadata_update BEFORE UPDATE OF metadata ON retailers
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'retailers.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER stores_metadata_insert BEFORE INSERT ON stores
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'stores.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER stores_metadata_update BEFORE UPDATE OF metadata ON stores
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'stores.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER products_metadata_insert BEFORE INSERT ON products
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'products.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER products_metadata_update BEFORE UPDATE OF metadata ON products
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'products.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER offers_metadata_insert BEFORE INSERT ON offers
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'offers.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;

CREATE TRIGGER offers_metadata_update BEFORE UPDATE OF metadata ON offers
WHEN NEW.metadata <> '{}' AND NOT (NOT EXISTS (SELECT 1 FROM json_each(NEW.metadata) WHERE type <> 'text' OR length(key) NOT BETWEEN 1 AND 40 OR length(value) NOT BETWEEN 1 AND 500)
    AND (SELECT count(*) FROM json_each(NEW.metadata)) <= 50)
BEGIN
    SELECT RAISE(ABORT, 'offers.metadata violates the metadata limits: string values only, at most 50 keys, keys 1-40 characters, values 1-500 characters');
END;
