//! The HTML document every page prodlink serves is written in (the OAuth pages, the hosted
//! product page, the REST reference): English, sized for phones, with each page's own title,
//! head elements (styles, metadata) and body.

use maud::{DOCTYPE, Markup, html};

/// A whole document: `title`, then `head` after the standard head elements, and `body`.
pub(crate) fn document(title: Markup, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (head)
            }
            body { (body) }
        }
    }
}
