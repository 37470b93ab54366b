//! `markdown`: renders a small Markdown subset to an HTML fragment.
//!
//! Blocks (one per line of output, each ending in a newline):
//!
//! * ATX headings `#` .. `######` (a space after the hashes; a closing run of
//!   `#` is dropped): `<h1>..</h1>` .. `<h6>..</h6>`.
//! * Paragraphs: runs of non-blank lines, separated by blank lines: `<p>..</p>`.
//! * Bullet lists: lines starting with `-`, `*` or `+` and a space; a line
//!   that is not an item continues the item above it; another bullet
//!   character starts a new list. No nesting.
//! * Fenced code blocks: a line of three or more backticks (optionally
//!   followed by a language, which becomes `class="language-.."`) up to a
//!   line of at least as many backticks, or the end of the text. The content
//!   is escaped and nothing else.
//!
//! Inline: `**strong**`, `*em*`, `` `code` ``, `[text](url)` and backslash
//! escapes (`\*`). Text is HTML-escaped (`<`, `>`, `&`, `"`), so raw HTML in
//! the Markdown shows as text.
//!
//! Config `allow_html` (`true` or `false`, default `false`): when `true`, raw
//! HTML passes through unchanged: inline tags, comments and entity
//! references, and whole blocks whose first line starts with a tag and ends
//! with `>` (they are not wrapped in `<p>`). Only use it in front of a
//! sanitizer.
//!
//! Input: UTF-8 `text/markdown` or `text/plain`; empty (or blank) input is an
//! `invalid-input` error. Output: `text/html`. `hello world` renders as
//! `<p>hello world</p>` and a newline.

use airssys_sdk::prelude::*;

/// Renders `markdown` to HTML; with `allow_html`, raw HTML passes through.
pub fn render(markdown: &str, allow_html: bool) -> String {
    let text = markdown.replace("\r\n", "\n").replace('\r', "\n");
    let mut r = Renderer { out: String::new(), allow_html, paragraph: Vec::new(), list: None };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let Some((ticks, info)) = fence_open(line) {
            r.flush();
            let mut body = Vec::new();
            while i < lines.len() && !fence_closes(lines[i], ticks) {
                body.push(lines[i]);
                i += 1;
            }
            i += 1; // the closing fence, if any
            r.code_block(info, &body);
        } else if line.trim().is_empty() {
            r.flush();
        } else if let Some((level, content)) = heading(line) {
            r.flush();
            r.out.push_str(&format!("<h{level}>"));
            inline(content, allow_html, true, &mut r.out);
            r.out.push_str(&format!("</h{level}>\n"));
        } else if let Some((bullet, content)) = list_item(line) {
            r.flush_paragraph();
            match &mut r.list {
                Some((open, items)) if *open == bullet => items.push(content.to_string()),
                _ => {
                    r.flush_list();
                    r.list = Some((bullet, vec![content.to_string()]));
                }
            }
        } else if let Some((_, items)) = &mut r.list {
            // A lazy continuation line of the last item.
            if let Some(last) = items.last_mut() {
                last.push('\n');
                last.push_str(line.trim());
            }
        } else if allow_html && r.paragraph.is_empty() && starts_html_block(line) {
            let mut block = vec![line];
            while i < lines.len() && !lines[i].trim().is_empty() {
                block.push(lines[i]);
                i += 1;
            }
            r.out.push_str(&block.join("\n"));
            r.out.push('\n');
        } else {
            r.paragraph.push(line.trim());
        }
    }
    r.flush();
    r.out
}

struct Renderer<'a> {
    out: String,
    allow_html: bool,
    paragraph: Vec<&'a str>,
    /// The open list: its bullet character and its items' text.
    list: Option<(char, Vec<String>)>,
}

impl Renderer<'_> {
    fn flush(&mut self) {
        self.flush_paragraph();
        self.flush_list();
    }

    fn flush_paragraph(&mut self) {
        if self.paragraph.is_empty() {
            return;
        }
        let text = self.paragraph.join("\n");
        self.paragraph.clear();
        self.out.push_str("<p>");
        inline(&text, self.allow_html, true, &mut self.out);
        self.out.push_str("</p>\n");
    }

    fn flush_list(&mut self) {
        let Some((_, items)) = self.list.take() else { return };
        self.out.push_str("<ul>\n");
        for item in items {
            self.out.push_str("<li>");
            inline(&item, self.allow_html, true, &mut self.out);
            self.out.push_str("</li>\n");
        }
        self.out.push_str("</ul>\n");
    }

    fn code_block(&mut self, info: &str, body: &[&str]) {
        self.out.push_str("<pre><code");
        if let Some(language) = info.split_whitespace().next() {
            self.out.push_str(" class=\"language-");
            escape_into(language, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
        for line in body {
            escape_into(line, &mut self.out);
            self.out.push('\n');
        }
        self.out.push_str("</code></pre>\n");
    }
}

/// A line opening a fenced code block: the number of backticks and the info string.
fn fence_open(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let ticks = trimmed.bytes().take_while(|&b| b == b'`').count();
    let info = trimmed[ticks..].trim();
    (ticks >= 3 && !info.contains('`')).then_some((ticks, info))
}

fn fence_closes(line: &str, ticks: usize) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= ticks && trimmed.bytes().all(|b| b == b'`')
}

/// An ATX heading: its level and its content without the closing hashes.
fn heading(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let content = rest.trim();
    let without_hashes = content.trim_end_matches('#');
    let content = if without_hashes.is_empty() || without_hashes.ends_with([' ', '\t']) {
        without_hashes.trim_end()
    } else {
        content
    };
    Some((level, content))
}

/// A bullet list item: its bullet character and its content.
fn list_item(line: &str) -> Option<(char, &str)> {
    let trimmed = line.trim_start();
    let bullet = trimmed.chars().next().filter(|c| matches!(c, '-' | '*' | '+'))?;
    let rest = &trimmed[1..];
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| (bullet, rest.trim()))
}

/// With `allow_html`: a line that starts a raw HTML block.
fn starts_html_block(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.starts_with('<') && trimmed.ends_with('>') && raw_html_end(trimmed, 0).is_some()
}

/// Renders inline Markdown in `text` into `out`.
fn inline(text: &str, allow_html: bool, links: bool, out: &mut String) {
    let bytes = text.as_bytes();
    let mut plain = 0; // start of text not yet written
    let mut i = 0;
    while i < bytes.len() {
        // Every delimiter is ASCII, so `i` only stops on char boundaries.
        let found: Option<(usize, String)> = match bytes[i] {
            b'\\' if bytes.get(i + 1).is_some_and(u8::is_ascii_punctuation) => {
                let mut s = String::new();
                escape_into(&text[i + 1..i + 2], &mut s);
                Some((i + 2, s))
            }
            b'`' => code_span(text, i),
            b'*' => emphasis(text, i, allow_html, links),
            b'[' if links => link(text, i, allow_html),
            b'<' | b'&' if allow_html => raw_html_end(text, i).map(|end| (end, text[i..end].to_string())),
            _ => None,
        };
        match found {
            Some((end, html)) => {
                escape_into(&text[plain..i], out);
                out.push_str(&html);
                i = end;
                plain = end;
            }
            None if bytes[i] == b'`' || bytes[i] == b'*' => {
                // An unmatched run stays literal as a whole (`**` must not become `*` + `*..*`).
                let run = bytes[i..].iter().take_while(|&&b| b == bytes[i]).count();
                i += run;
            }
            None => i += 1,
        }
    }
    escape_into(&text[plain..], out);
}

/// `` `code` `` at `start`: (end, html).
fn code_span(text: &str, start: usize) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let run = bytes[start..].iter().take_while(|&&b| b == b'`').count();
    let mut j = start + run;
    while j < bytes.len() {
        if bytes[j] == b'`' {
            let close = bytes[j..].iter().take_while(|&&b| b == b'`').count();
            if close == run {
                let mut content = text[start + run..j].replace('\n', " ");
                if content.len() >= 2
                    && content.starts_with(' ')
                    && content.ends_with(' ')
                    && !content.trim().is_empty()
                {
                    content = content[1..content.len() - 1].to_string();
                }
                let mut html = String::from("<code>");
                escape_into(&content, &mut html);
                html.push_str("</code>");
                return Some((j + close, html));
            }
            j += close;
        } else {
            j += 1;
        }
    }
    None
}

/// `**strong**` or `*em*` at `start`: (end, html). The opening run must be
/// followed, and the closing one preceded, by a non-space.
fn emphasis(text: &str, start: usize, allow_html: bool, links: bool) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let run = bytes[start..].iter().take_while(|&&b| b == b'*').count();
    let (width, tag) = match run {
        1 => (1, "em"),
        2 => (2, "strong"),
        _ => return None,
    };
    let inner_start = start + width;
    if bytes.get(inner_start).is_none_or(u8::is_ascii_whitespace) {
        return None;
    }
    let mut j = inner_start;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'`' => j = code_span(text, j).map_or(j + 1, |(end, _)| end),
            b'*' => {
                let close = bytes[j..].iter().take_while(|&&b| b == b'*').count();
                if close == width && !bytes[j - 1].is_ascii_whitespace() && j > inner_start {
                    let mut html = format!("<{tag}>");
                    inline(&text[inner_start..j], allow_html, links, &mut html);
                    html.push_str(&format!("</{tag}>"));
                    return Some((j + width, html));
                }
                // A different run (`**` inside `*em*`, or the reverse) belongs to the inner text.
                j += close;
            }
            _ => j += 1,
        }
    }
    None
}

/// `[text](url)` at `start`: (end, html). Brackets and parentheses nest.
fn link(text: &str, start: usize, allow_html: bool) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let label_end = matching(bytes, start, b'[', b']')?;
    if bytes.get(label_end + 1) != Some(&b'(') {
        return None;
    }
    let url_end = matching(bytes, label_end + 1, b'(', b')')?;
    let url = text[label_end + 2..url_end].trim();
    if url.contains(char::is_whitespace) {
        return None;
    }
    let mut html = String::from("<a href=\"");
    escape_into(url, &mut html);
    html.push_str("\">");
    inline(&text[start + 1..label_end], allow_html, false, &mut html);
    html.push_str("</a>");
    Some((url_end + 1, html))
}

/// The index of the bracket closing the one at `open`, skipping backslash escapes.
fn matching(bytes: &[u8], open: usize, left: u8, right: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = open;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 1,
            b if b == left => depth += 1,
            b if b == right => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// With `allow_html`: the end of the raw HTML at `start` (a tag, a comment, a
/// declaration or an entity reference), or `None` when it is not one.
fn raw_html_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let rest = &text[start..];
    if bytes[start] == b'&' {
        let name_len = rest[1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'#').count();
        return (name_len > 0 && rest[1 + name_len..].starts_with(';')).then_some(start + name_len + 2);
    }
    if let Some(comment) = rest.strip_prefix("<!--") {
        return comment.find("-->").map(|at| start + 4 + at + 3);
    }
    let after = bytes.get(start + 1)?;
    let name_start = match after {
        b'/' | b'!' => start + 2,
        _ => start + 1,
    };
    if !bytes.get(name_start)?.is_ascii_alphabetic() {
        return None;
    }
    // Up to the first `>` outside a quoted attribute value.
    let mut quote = None;
    for (offset, b) in bytes[name_start..].iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(*b),
            (Some(q), _) if q == *b => quote = None,
            (None, b'>') => return Some(name_start + offset + 1),
            _ => {}
        }
    }
    None
}

/// Appends `text` with `&`, `<`, `>` and `"` escaped.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// The component: whether raw HTML passes through.
#[derive(Debug)]
pub struct Markdown {
    allow_html: bool,
}

impl Component for Markdown {
    fn metadata() -> Metadata {
        Metadata::new("markdown", "1.0.0", "Renders a Markdown subset to HTML; config allow_html lets raw HTML through")
            .accepts("text/markdown")
            .accepts("text/plain")
            .produces("text/html")
    }

    fn init(config: &Config) -> Result<Self, Error> {
        Ok(Markdown { allow_html: config.parse_or("allow_html", false)? })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let text = input.text()?;
        if text.trim().is_empty() {
            return Err(Error::invalid_input("the post is empty: there is no Markdown to render"));
        }
        let html = render(text, self.allow_html);
        log::debug(
            "rendered markdown",
            &[("bytes_in", &text.len().to_string()), ("bytes_out", &html.len().to_string())],
        );
        Ok(Output::new(html).with_content_type("text/html"))
    }
}

airssys_sdk::export_component!(Markdown);

#[cfg(test)]
mod tests {
    use super::*;

    fn md(text: &str) -> String {
        render(text, false)
    }

    #[test]
    fn plain_text_is_one_paragraph() {
        assert_eq!(md("hello world"), "<p>hello world</p>\n");
        assert_eq!(md("one\ntwo\n\n\nthree\r\n"), "<p>one\ntwo</p>\n<p>three</p>\n");
    }

    #[test]
    fn escapes_text_and_raw_html() {
        assert_eq!(
            md("a < b && \"c\" > d <script>alert(1)</script>"),
            "<p>a &lt; b &amp;&amp; &quot;c&quot; &gt; d &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        );
        assert_eq!(md("<div onclick=\"x()\">hi</div>"), "<p>&lt;div onclick=&quot;x()&quot;&gt;hi&lt;/div&gt;</p>\n");
        assert_eq!(md("&amp;"), "<p>&amp;amp;</p>\n");
    }

    #[test]
    fn allow_html_passes_raw_html_through() {
        assert_eq!(
            render("Hi <b onclick=\"x('>')\">there</b> &amp; <!-- note -->", true),
            "<p>Hi <b onclick=\"x('>')\">there</b> &amp; <!-- note --></p>\n"
        );
        assert_eq!(
            render("intro\n\n<script>\nalert(1)\n</script>\n\nafter *x*", true),
            "<p>intro</p>\n<script>\nalert(1)\n</script>\n<p>after <em>x</em></p>\n"
        );
        // Not a tag: escaped even with allow_html.
        assert_eq!(render("1 < 2 & 3 <> 4", true), "<p>1 &lt; 2 &amp; 3 &lt;&gt; 4</p>\n");
    }

    #[test]
    fn headings() {
        assert_eq!(md("# Title"), "<h1>Title</h1>\n");
        assert_eq!(md("###### Six ###"), "<h6>Six</h6>\n");
        assert_eq!(md("## C#"), "<h2>C#</h2>\n");
        assert_eq!(md("#######  seven"), "<p>#######  seven</p>\n");
        assert_eq!(md("#hashtag"), "<p>#hashtag</p>\n");
        assert_eq!(md("text\n# Head\nmore"), "<p>text</p>\n<h1>Head</h1>\n<p>more</p>\n");
        assert_eq!(md("# A **b** & c"), "<h1>A <strong>b</strong> &amp; c</h1>\n");
    }

    #[test]
    fn lists() {
        assert_eq!(md("- a\n- b *c*\n"), "<ul>\n<li>a</li>\n<li>b <em>c</em></li>\n</ul>\n");
        assert_eq!(md("* one\n  more\n* two"), "<ul>\n<li>one\nmore</li>\n<li>two</li>\n</ul>\n");
        assert_eq!(md("- a\n* b"), "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n");
        assert_eq!(md("para\n- item\n\nend"), "<p>para</p>\n<ul>\n<li>item</li>\n</ul>\n<p>end</p>\n");
        assert_eq!(md("*not a list*"), "<p><em>not a list</em></p>\n");
    }

    #[test]
    fn fenced_code() {
        assert_eq!(
            md("```rust\nfn main() { if a < b && c { } }\n\n**not bold**\n```\nafter"),
            "<pre><code class=\"language-rust\">fn main() { if a &lt; b &amp;&amp; c { } }\n\n**not bold**\n</code></pre>\n<p>after</p>\n"
        );
        assert_eq!(md("````\n```\n````"), "<pre><code>```\n</code></pre>\n");
        assert_eq!(md("```\nunclosed"), "<pre><code>unclosed\n</code></pre>\n");
        assert_eq!(md("```\n```"), "<pre><code></code></pre>\n");
        assert_eq!(render("```\n<b>raw</b>\n```", true), "<pre><code>&lt;b&gt;raw&lt;/b&gt;\n</code></pre>\n");
    }

    #[test]
    fn inline_markup() {
        assert_eq!(
            md("**bold** and *em* and `a<b`"),
            "<p><strong>bold</strong> and <em>em</em> and <code>a&lt;b</code></p>\n"
        );
        assert_eq!(md("*a **b** c*"), "<p><em>a <strong>b</strong> c</em></p>\n");
        assert_eq!(md("2 * 3 * 4 and ** x **"), "<p>2 * 3 * 4 and ** x **</p>\n");
        assert_eq!(md("**unclosed and *em*"), "<p>**unclosed and <em>em</em></p>\n");
        assert_eq!(md("`` a ` b ``"), "<p><code>a ` b</code></p>\n");
        assert_eq!(md("`*not em*`"), "<p><code>*not em*</code></p>\n");
        assert_eq!(md("\\*literal\\* \\<"), "<p>*literal* &lt;</p>\n");
    }

    #[test]
    fn links() {
        assert_eq!(
            md("see [the *docs*](https://example.com/a?b=1&c=\"2\")."),
            "<p>see <a href=\"https://example.com/a?b=1&amp;c=&quot;2&quot;\">the <em>docs</em></a>.</p>\n"
        );
        assert_eq!(
            md("[wiki](https://en.wikipedia.org/wiki/Rust_(language))"),
            "<p><a href=\"https://en.wikipedia.org/wiki/Rust_(language)\">wiki</a></p>\n"
        );
        assert_eq!(md("[not](a link) [x] (y)"), "<p>[not](a link) [x] (y)</p>\n");
        assert_eq!(md("[x](javascript:alert(1))"), "<p><a href=\"javascript:alert(1)\">x</a></p>\n");
    }

    #[test]
    fn execute_rejects_empty_input_and_bad_config() {
        let mut c = Markdown::init(&Config::default()).unwrap();
        let err = c.execute(Input::new("  \n")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("empty"), "{}", err.message);
        let out = c.execute(Input::new("hello world")).unwrap();
        assert_eq!(out.data, b"<p>hello world</p>\n");
        assert_eq!(out.content_type(), Some("text/html"));
        let err = Markdown::init(&Config::from_pairs([("allow_html", "yes")])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidConfig);
        assert!(Markdown::init(&Config::from_pairs([("allow_html", "true")])).unwrap().allow_html);
    }

    #[test]
    fn never_panics() {
        for text in test_inputs::random_markup(20_000) {
            render(&text, false);
            render(&text, true);
        }
    }
}
