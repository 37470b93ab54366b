//! `page-meta`: reads facts about an HTML page for an index or a feed.
//!
//! Output (`application/json`, keys always in this order):
//!
//! ```json
//! {"title":"My post","words":230,"reading_minutes":2,"links":["https://example.com"],"headings":3}
//! ```
//!
//! * `title`: the text of the first `<h1>`, whitespace collapsed, or `null`.
//! * `words`: whitespace-separated words of the visible text (character
//!   references decoded; block elements such as `<p>` and `<li>` separate
//!   words, inline ones such as `<em>` do not; `<script>`, `<style>`,
//!   `<iframe>` and `<template>` content and comments are not text).
//! * `reading_minutes`: `ceil(words / 200)`, so at least 1 when there are
//!   words, and 0 when there are none.
//! * `links`: the `href` of every `<a>`, in order, references decoded.
//! * `headings`: the number of `<h1>` .. `<h6>` elements.
//!
//! The page is read leniently (any UTF-8 text is accepted); input that is
//! not UTF-8 is an `invalid-input` error.

use airssys_sdk::prelude::*;
use serde::Serialize;

/// Words a reader reads per minute.
pub const WORDS_PER_MINUTE: usize = 200;

/// Elements whose content is not visible text.
const HIDDEN: [&str; 4] = ["script", "style", "iframe", "template"];

/// Elements that break text into separate words (and lines).
const BLOCKS: &str = "address article aside blockquote br dd div dl dt figcaption figure footer \
    h1 h2 h3 h4 h5 h6 header hr li ol p pre section td th ul";

fn is_block(name: &str) -> bool {
    BLOCKS.split(' ').any(|block| block == name)
}

/// The facts, serialized in field order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PageMeta {
    /// Text of the first `<h1>`.
    pub title: Option<String>,
    /// Visible words.
    pub words: usize,
    /// `ceil(words / 200)`.
    pub reading_minutes: usize,
    /// `href`s of the links, in order.
    pub links: Vec<String>,
    /// Number of headings.
    pub headings: usize,
}

/// Reads the facts of `html`.
pub fn page_meta(html: &str) -> PageMeta {
    let mut meta = PageMeta::default();
    let mut text = String::new();
    let mut title: Option<String> = None;
    let mut in_first_h1 = false;
    let bytes = html.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let Some((tag, end)) = read_tag(html, i) else {
            i += 1;
            continue;
        };
        let chunk = decode(&html[plain..i]);
        text.push_str(&chunk);
        if in_first_h1 && let Some(t) = title.as_mut() {
            t.push_str(&chunk);
        }
        i = end;
        if let Some(tag) = tag {
            if is_block(&tag.name) {
                text.push(' ');
                if let Some(t) = title.as_mut().filter(|_| in_first_h1) {
                    t.push(' ');
                }
            }
            if tag.closing {
                if tag.name == "h1" {
                    in_first_h1 = false;
                }
            } else if HIDDEN.contains(&tag.name.as_str()) {
                i = hidden_end(html, i, &tag.name);
            } else if matches!(tag.name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
                meta.headings += 1;
                if tag.name == "h1" && title.is_none() {
                    title = Some(String::new());
                    in_first_h1 = true;
                }
            } else if tag.name == "a"
                && let Some(href) = tag.href
            {
                meta.links.push(decode(href));
            }
        }
        plain = i;
    }
    let chunk = decode(&html[plain..]);
    text.push_str(&chunk);
    if in_first_h1 && let Some(t) = title.as_mut() {
        t.push_str(&chunk);
    }
    meta.title = title.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
    meta.words = text.split_whitespace().count();
    meta.reading_minutes = meta.words.div_ceil(WORDS_PER_MINUTE);
    meta
}

/// The part of a tag this component cares about.
struct Tag<'a> {
    name: String,
    closing: bool,
    href: Option<&'a str>,
}

/// Reads the markup at `at` (a `<`): `Some((Some(tag), end))` for a tag,
/// `Some((None, end))` for a comment or declaration, `None` when it is text.
fn read_tag(html: &str, at: usize) -> Option<(Option<Tag<'_>>, usize)> {
    let bytes = html.as_bytes();
    let rest = &html[at..];
    if let Some(comment) = rest.strip_prefix("<!--") {
        return Some((None, comment.find("-->").map_or(html.len(), |p| at + 4 + p + 3)));
    }
    if matches!(bytes.get(at + 1), Some(b'!' | b'?')) {
        return Some((None, rest.find('>').map_or(html.len(), |p| at + p + 1)));
    }
    let closing = bytes.get(at + 1) == Some(&b'/');
    let name_start = at + 1 + usize::from(closing);
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    let name_len = bytes[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count();
    let name = html[name_start..name_start + name_len].to_ascii_lowercase();
    // Attributes up to the first `>` outside quotes; only `href` is kept.
    let mut j = name_start + name_len;
    let mut href = None;
    while j < bytes.len() && bytes[j] != b'>' {
        if bytes[j].is_ascii_alphabetic() {
            let attr_start = j;
            while j < bytes.len() && !matches!(bytes[j], b'=' | b'>' | b'/') && !bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let attr = &html[attr_start..j];
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes.get(j) != Some(&b'=') {
                continue;
            }
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let (value, next) = match bytes.get(j) {
                Some(&q @ (b'"' | b'\'')) => {
                    let close = bytes[j + 1..].iter().position(|&b| b == q).map_or(bytes.len(), |p| j + 1 + p);
                    (&html[j + 1..close], (close + 1).min(bytes.len()))
                }
                _ => {
                    let start = j;
                    while j < bytes.len() && bytes[j] != b'>' && !bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    (&html[start..j], j)
                }
            };
            if attr.eq_ignore_ascii_case("href") && href.is_none() {
                href = Some(value);
            }
            j = next;
        } else {
            j += 1;
        }
    }
    Some((Some(Tag { name, closing, href }), (j + 1).min(bytes.len())))
}

/// Just past the end tag closing hidden content that starts at `from`.
fn hidden_end(html: &str, from: usize, name: &str) -> usize {
    let lower = html[from..].to_ascii_lowercase();
    match lower.find(&format!("</{name}")) {
        Some(p) => lower[p..].find('>').map_or(html.len(), |q| from + p + q + 1),
        None => html.len(),
    }
}

/// Decodes the common character references (`&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&apos;`, `&nbsp;`, numeric); others stay as written.
pub fn decode(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix('#')
                .and_then(|n| match n.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => n.parse().ok(),
                })
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct PageMetaComponent;

impl Component for PageMetaComponent {
    fn metadata() -> Metadata {
        Metadata::new("page-meta", "1.0.0", "Reads an HTML page's title, word count, reading time, links and headings")
            .accepts("text/html")
            .produces("application/json")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(PageMetaComponent)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let meta = page_meta(input.text()?);
        let json = serde_json::to_string(&meta).map_err(|e| Error::internal(format!("cannot write JSON: {e}")))?;
        metric("page_meta_words", meta.words as f64, &[]);
        Ok(Output::json(json))
    }
}

airssys_sdk::export_component!(PageMetaComponent);

#[cfg(test)]
mod tests {
    use super::*;

    fn json(html: &str) -> String {
        serde_json::to_string(&page_meta(html)).unwrap()
    }

    #[test]
    fn reads_a_rendered_post() {
        let html = "<h1>My <em>first</em> post</h1>\n<p>Hello <strong>world</strong>, see <a href=\"https://example.com/?a=1&amp;b=2\">this</a>.</p>\n<h2>More</h2>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n";
        assert_eq!(
            json(html),
            r#"{"title":"My first post","words":10,"reading_minutes":1,"links":["https://example.com/?a=1&b=2"],"headings":2}"#
        );
    }

    #[test]
    fn empty_and_untitled_pages() {
        assert_eq!(json(""), r#"{"title":null,"words":0,"reading_minutes":0,"links":[],"headings":0}"#);
        assert_eq!(
            json("<p>hello world</p>\n"),
            r#"{"title":null,"words":2,"reading_minutes":1,"links":[],"headings":0}"#
        );
        assert_eq!(page_meta("<h1></h1>").title.as_deref(), Some(""));
    }

    #[test]
    fn reading_time_rounds_up() {
        let words = |n: usize| format!("<p>{}</p>", vec!["w"; n].join(" "));
        assert_eq!(page_meta(&words(200)).reading_minutes, 1);
        assert_eq!(page_meta(&words(201)).reading_minutes, 2);
        assert_eq!(page_meta(&words(1)).reading_minutes, 1);
    }

    #[test]
    fn blocks_split_words_inline_tags_do_not() {
        assert_eq!(page_meta("<p>a</p><p>b</p>").words, 2);
        assert_eq!(page_meta("<p>un<em>break</em>able</p>").words, 1);
        assert_eq!(page_meta("<li>x</li><li>y<br>z</li>").words, 3);
    }

    #[test]
    fn hidden_content_comments_and_references() {
        let html = "<h1>Tom &amp; Jerry &#x2764;</h1><script>var a = '<h1>no</h1>';</script><!-- <a href=\"x\">c</a> --><STYLE>p{}</STYLE><p>a&nbsp;b &bogus; 1 &lt; 2</p>";
        let meta = page_meta(html);
        assert_eq!(meta.title.as_deref(), Some("Tom & Jerry \u{2764}"));
        assert_eq!(meta.headings, 1);
        assert!(meta.links.is_empty());
        // Tom & Jerry ❤ a b &bogus; 1 < 2 (a no-break space still separates words)
        assert_eq!(meta.words, 10);
    }

    #[test]
    fn links_in_order_from_any_quoting() {
        let html = "<a href='/one'>1</a> <A class=x HREF=/two>2</A> <a name=\"n\">no href</a> <a data-x=\">\" href=\"/three\">3</a> <link href=\"/style.css\">";
        assert_eq!(page_meta(html).links, ["/one", "/two", "/three"]);
    }

    #[test]
    fn text_that_looks_like_markup_is_text() {
        assert_eq!(page_meta("<p>1 < 2 and 3 <> 4</p>").words, 7);
    }

    #[test]
    fn execute_outputs_json() {
        let out = PageMetaComponent.execute(Input::new("<h1>T</h1>")).unwrap();
        assert_eq!(out.data, br#"{"title":"T","words":1,"reading_minutes":1,"links":[],"headings":1}"#);
        assert_eq!(out.content_type(), Some("application/json"));
        assert_eq!(PageMetaComponent.execute(Input::new(vec![0xff])).unwrap_err().kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn never_panics() {
        for html in test_inputs::random_markup(20_000) {
            page_meta(&html);
            page_meta(&html.replace('x', "h1").replace('a', "a href"));
        }
    }
}
