//! `review-note`: writes a plain-text note for the person who reviews a page
//! the sanitizer flagged.
//!
//! Input: the (cleaned) HTML as `text/html`, with the metadata `removed`
//! that `sanitize` sets (`script,onclick`). Output (`text/plain`), three
//! lines, each ending in a newline:
//!
//! ```text
//! needs review: removed script,onclick
//! words: 42
//! first line: My first post
//! ```
//!
//! `words` counts the visible text's words; `first line` is the first
//! non-blank line of it (block elements such as `<p>` and `<h1>` end lines),
//! whitespace collapsed and cut to 60 characters with `…`, or `(no text)`.
//! Without a `removed` entry the first line reads
//! `needs review: flagged, nothing named`. The output keeps `removed` in
//! its metadata. Input that is not UTF-8 is an `invalid-input` error.

use airssys_sdk::prelude::*;

/// The longest first line quoted, in characters.
pub const FIRST_LINE_CHARS: usize = 60;

/// Elements that end a line of text.
const BLOCKS: &str = "article blockquote br div h1 h2 h3 h4 h5 h6 hr li ol p pre section table td tr ul";

fn is_block(name: &str) -> bool {
    BLOCKS.split(' ').any(|block| block == name)
}

/// Elements whose content is not visible text.
const HIDDEN: [&str; 4] = ["script", "style", "iframe", "template"];

/// The note for `html`, from which `removed` (if known) was removed.
pub fn note(html: &str, removed: Option<&str>) -> String {
    let text = visible_text(html);
    let words = text.split_whitespace().count();
    let first =
        text.lines().map(|line| line.split_whitespace().collect::<Vec<_>>().join(" ")).find(|line| !line.is_empty());
    let first = match first {
        Some(line) if line.chars().count() > FIRST_LINE_CHARS => {
            format!("{}…", line.chars().take(FIRST_LINE_CHARS).collect::<String>().trim_end())
        }
        Some(line) => line,
        None => "(no text)".to_string(),
    };
    let reason = match removed.map(str::trim).filter(|r| !r.is_empty()) {
        Some(removed) => format!("removed {removed}"),
        None => "flagged, nothing named".to_string(),
    };
    format!("needs review: {reason}\nwords: {words}\nfirst line: {first}\n")
}

/// The text of `html` a reader sees: tags dropped (block elements end a
/// line), comments and hidden elements skipped, common references decoded.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |p| &comment[p + 3..]);
            continue;
        }
        let after = rest[1..].strip_prefix('/').unwrap_or(&rest[1..]);
        let name_len = after.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
        if name_len == 0 || !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // Not a tag: the `<` is text.
            text.push('<');
            rest = &rest[1..];
            continue;
        }
        let name = after[..name_len].to_ascii_lowercase();
        let closing = rest.as_bytes()[1] == b'/';
        rest = tag_end(rest).map_or("", |end| &rest[end..]);
        if is_block(&name) {
            text.push('\n');
        }
        if !closing && HIDDEN.contains(&name.as_str()) {
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&format!("</{name}")) {
                Some(p) => tag_end(&rest[p..]).map_or("", |end| &rest[p + end..]),
                None => "",
            };
        }
    }
    text.push_str(rest);
    decode(&text)
}

/// Just past the first `>` outside a quoted value of the tag starting `tag`.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, b) in tag.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') if tag.as_bytes().get(i.wrapping_sub(1)) == Some(&b'=') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&apos;` and `&nbsp;`.
fn decode(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct ReviewNote;

impl Component for ReviewNote {
    fn metadata() -> Metadata {
        Metadata::new("review-note", "1.0.0", "Writes a plain-text review note for HTML the sanitizer flagged")
            .accepts("text/html")
            .produces("text/plain")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(ReviewNote)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let removed = input.metadata_text("removed").map(str::to_string);
        let text = note(input.text()?, removed.as_deref());
        log::info("page needs review", &[("removed", removed.as_deref().unwrap_or(""))]);
        let output = Output::text(text);
        Ok(match removed {
            Some(removed) => output.with_metadata("removed", removed),
            None => output,
        })
    }
}

airssys_sdk::export_component!(ReviewNote);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_what_was_removed_the_word_count_and_the_first_line() {
        let html = "<h1>My &amp; your   post</h1>\n<p>Some <em>text</em> here.</p>\n";
        assert_eq!(
            note(html, Some("script,onclick")),
            "needs review: removed script,onclick\nwords: 7\nfirst line: My & your post\n"
        );
    }

    #[test]
    fn without_text_or_reason() {
        assert_eq!(
            note("<p></p>\n<!-- x -->", None),
            "needs review: flagged, nothing named\nwords: 0\nfirst line: (no text)\n"
        );
        assert_eq!(note("", Some("  ")), "needs review: flagged, nothing named\nwords: 0\nfirst line: (no text)\n");
    }

    #[test]
    fn long_first_lines_are_cut() {
        let long = format!("<p>{}</p>", "word ".repeat(30));
        let text = note(&long, Some("style"));
        let first = text.lines().nth(2).unwrap();
        assert!(first.ends_with('…'), "{first}");
        assert_eq!(first.trim_start_matches("first line: ").chars().count(), 60);
        assert!(text.contains("words: 30\n"));
    }

    #[test]
    fn visible_text_skips_markup() {
        assert_eq!(
            visible_text("<p title=\"a>b\">x</p><script>var y = '<p>';</script><br>1 < 2<style>p{}</style>"),
            "\nx\n\n1 < 2"
        );
        assert_eq!(visible_text("a<script>never closed"), "a");
    }

    #[test]
    fn execute_keeps_removed_in_metadata() {
        let input = Input::new("<p>hi</p>").with_metadata("removed", "onclick");
        let out = ReviewNote.execute(input).unwrap();
        assert_eq!(out.data, b"needs review: removed onclick\nwords: 1\nfirst line: hi\n");
        assert_eq!(out.content_type(), Some("text/plain"));
        assert_eq!(out.metadata_value("removed"), Some(&Value::from("onclick")));
        assert_eq!(ReviewNote.execute(Input::new(vec![0xc3])).unwrap_err().kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn never_panics() {
        for html in test_inputs::random_markup(20_000) {
            note(&html, None);
            visible_text(&html.replace('x', "script").replace('a', "p"));
        }
    }
}
