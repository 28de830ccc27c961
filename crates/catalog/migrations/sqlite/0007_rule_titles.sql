-- Resolver rules get a human-readable link title (GS1 Resolver 2.5.3: every link has one, in
-- the target's language); NULL = a title derived from the link type or the product name.
ALTER TABLE resolver_rules ADD COLUMN title TEXT
    CHECK (title IS NULL OR (length(title) BETWEEN 1 AND 200 AND title NOT GLOB '*[' || char(1) || '-' || char(31) || ']*'));
