-- Price ranges (search results, lookups) read a handful of products' active offers. With demo-
-- or retailer-sized offer tables (hundreds of offers per product on average) the planner
-- otherwise prefers a hash join over a scan of every offer; this covering index answers them
-- with an index-only scan.
CREATE INDEX offers_prices ON offers (product_id, currency, price_minor) WHERE active;
