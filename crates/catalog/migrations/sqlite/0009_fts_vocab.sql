-- Document frequency of every term of the full-text index (fts5vocab 'row': term, doc, cnt),
-- read to find the terms so common (French "de", "sugar" in ingredient lists) that ranking
-- every product holding them would cost tens of milliseconds while adding little to the order.
CREATE VIRTUAL TABLE products_fts_vocab USING fts5vocab(products_fts, 'row');
