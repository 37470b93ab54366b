//! `sanitize`: removes dangerous markup from an HTML fragment.
//!
//! Removed:
//!
//! * `<script>`, `<style>` and `<iframe>` elements with everything up to
//!   their end tag (or the end of the input), and stray end tags of them;
//! * event-handler attributes (any attribute whose name starts with `on`,
//!   in any case: `onclick`, `onError`, ...);
//! * `javascript:` and `vbscript:` URLs in `href`, `src`, `action`,
//!   `formaction`, `xlink:href`, `data`, `poster` and `background`, also
//!   when hidden by case, whitespace, control characters or character
//!   references (`&#106;avascript:`);
//! * comments, `<!...>` declarations other than `<!doctype>`, `<?...>`,
//!   tags whose names are not letters, digits and `-`, attributes whose
//!   names are not letters, digits and `_:.-`, and a tag cut off by the end
//!   of the input.
//!
//! Every tag that stays is written again in one canonical form: lower-case
//! names, values in double quotes (`"` as `&quot;`), ` />` for a
//! self-closing tag; a doctype becomes `<!DOCTYPE html>`. Text is left as it
//! is, except that a `<` that starts no markup is written `&lt;` (it reads
//! the same): otherwise a removal could join it with the text after it into
//! a new tag (`<<script>x</script>script>` would become `<script>`). So every
//! `<` in the output starts a tag written here, and a second pass finds
//! nothing and changes nothing.
//!
//! Output (`text/html`): the cleaned HTML. When anything was removed it
//! leaves by port `flagged` with metadata `removed` naming what, in order of
//! first appearance (`script,onclick,javascript-url`); otherwise by `out`.
//!
//! This is a small blocklist sanitizer for a sample; for untrusted input in
//! production, use an allowlist sanitizer built on a real HTML parser.

use airssys_sdk::prelude::*;

/// Elements removed together with their content.
const RAW_TEXT_REMOVED: [&str; 3] = ["script", "style", "iframe"];

/// Attributes holding a URL that is checked for a script scheme.
const URL_ATTRIBUTES: [&str; 8] = ["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"];

/// What [`sanitize`] produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cleaned {
    /// The cleaned HTML.
    pub html: String,
    /// What was removed, each kind once, in order of first appearance.
    pub removed: Vec<String>,
}

impl Cleaned {
    fn note(&mut self, what: &str) {
        if !self.removed.iter().any(|r| r == what) {
            self.removed.push(what.to_string());
        }
    }
}

/// Removes dangerous markup from `html`.
pub fn sanitize(html: &str) -> Cleaned {
    let bytes = html.as_bytes();
    let mut cleaned = Cleaned::default();
    let mut plain = 0; // start of text not yet copied
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let next = bytes.get(i + 1).copied();
        let next2 = bytes.get(i + 2).copied();
        // Every branch that is markup says where it ends and what replaces it.
        let (end, replacement): (usize, Option<String>) = match next {
            Some(c) if c.is_ascii_alphabetic() => match parse_tag(html, i + 1) {
                None => {
                    cleaned.note("unclosed-tag");
                    (bytes.len(), None)
                }
                Some(tag) if !valid_tag_name(&tag.name) => {
                    cleaned.note("invalid-tag");
                    (tag.end, None)
                }
                Some(tag) => {
                    if RAW_TEXT_REMOVED.contains(&tag.name.as_str()) {
                        cleaned.note(&tag.name);
                        (skip_raw_text(html, tag.end, &tag.name), None)
                    } else {
                        (tag.end, Some(start_tag(&tag, &mut cleaned)))
                    }
                }
            },
            Some(b'/') if next2.is_some_and(|c| c.is_ascii_alphabetic()) => match parse_tag(html, i + 2) {
                None => {
                    cleaned.note("unclosed-tag");
                    (bytes.len(), None)
                }
                Some(tag) if RAW_TEXT_REMOVED.contains(&tag.name.as_str()) => {
                    cleaned.note(&tag.name);
                    (tag.end, None)
                }
                Some(tag) if !valid_tag_name(&tag.name) => {
                    cleaned.note("invalid-tag");
                    (tag.end, None)
                }
                Some(tag) => (tag.end, Some(format!("</{}>", tag.name))),
            },
            Some(b'!') if html[i..].starts_with("<!--") => {
                cleaned.note("comment");
                (comment_end(html, i), None)
            }
            Some(b'!') if html[i + 2..].get(..7).is_some_and(|d| d.eq_ignore_ascii_case("doctype")) => {
                let end = find_from(bytes, i, b'>').map_or(bytes.len(), |gt| gt + 1);
                (end, Some("<!DOCTYPE html>".to_string()))
            }
            // `<!x`, `<?x` and `</` + non-letter are bogus comments up to `>`; `</>` is ignored.
            Some(b'!' | b'?') | Some(b'/') if next2.is_some() => {
                cleaned.note("comment");
                (find_from(bytes, i, b'>').map_or(bytes.len(), |gt| gt + 1), None)
            }
            // `<` before a non-letter (or at the end) is text.
            _ => (i + 1, Some("&lt;".to_string())),
        };
        cleaned.html.push_str(&html[plain..i]);
        if let Some(replacement) = replacement {
            cleaned.html.push_str(&replacement);
        }
        i = end;
        plain = end;
    }
    cleaned.html.push_str(&html[plain..]);
    cleaned
}

/// A start or end tag as the HTML tokenizer reads it.
#[derive(Debug)]
struct Tag<'a> {
    /// Lower-cased name.
    name: String,
    /// Attributes: name as written, value (character references not decoded).
    attributes: Vec<(&'a str, Option<&'a str>)>,
    self_closing: bool,
    /// Just past the closing `>`.
    end: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Parses a tag whose name starts at `at`; `None` when the input ends first.
fn parse_tag(html: &str, at: usize) -> Option<Tag<'_>> {
    let bytes = html.as_bytes();
    let mut j = at;
    while j < bytes.len() && !is_space(bytes[j]) && bytes[j] != b'/' && bytes[j] != b'>' {
        j += 1;
    }
    let name = html[at..j].to_ascii_lowercase();
    let mut attributes = Vec::new();
    let mut self_closing = false;
    loop {
        while j < bytes.len() && (is_space(bytes[j]) || bytes[j] == b'/') {
            self_closing = bytes[j] == b'/';
            j += 1;
        }
        match bytes.get(j)? {
            b'>' => return Some(Tag { name, attributes, self_closing, end: j + 1 }),
            _ => self_closing = false,
        }
        // The first character may be `=`; the name runs to a space, `/`, `>` or `=`.
        let name_start = j;
        j += 1;
        while j < bytes.len() && !is_space(bytes[j]) && !matches!(bytes[j], b'/' | b'>' | b'=') {
            j += 1;
        }
        let attr_name = &html[name_start..j];
        let mut k = j;
        while k < bytes.len() && is_space(bytes[k]) {
            k += 1;
        }
        let mut value = None;
        if bytes.get(k) == Some(&b'=') {
            k += 1;
            while k < bytes.len() && is_space(bytes[k]) {
                k += 1;
            }
            match bytes.get(k)? {
                &q @ (b'"' | b'\'') => {
                    let close = find_from(bytes, k + 1, q)?;
                    value = Some(&html[k + 1..close]);
                    j = close + 1;
                }
                b'>' => {
                    value = Some("");
                    j = k;
                }
                _ => {
                    let start = k;
                    while k < bytes.len() && !is_space(bytes[k]) && bytes[k] != b'>' {
                        k += 1;
                    }
                    value = Some(&html[start..k]);
                    j = k;
                }
            }
        }
        attributes.push((attr_name, value));
    }
}

/// Whether a (lower-cased) tag name is letters, digits and `-` only.
fn valid_tag_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Writes a start tag again without its dangerous attributes.
fn start_tag(tag: &Tag<'_>, cleaned: &mut Cleaned) -> String {
    let mut out = format!("<{}", tag.name);
    for (name, value) in &tag.attributes {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("on") {
            cleaned.note(&lower);
            continue;
        }
        if !lower.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')) {
            cleaned.note("invalid-attribute");
            continue;
        }
        if URL_ATTRIBUTES.contains(&lower.as_str()) && value.is_some_and(is_script_url) {
            cleaned.note("javascript-url");
            continue;
        }
        out.push(' ');
        out.push_str(&lower);
        if let Some(value) = value {
            out.push_str("=\"");
            out.push_str(&value.replace('"', "&quot;"));
            out.push('"');
        }
    }
    out.push_str(if tag.self_closing { " />" } else { ">" });
    out
}

/// Whether a URL attribute value runs script once the browser has decoded
/// character references and dropped whitespace and control characters.
pub fn is_script_url(value: &str) -> bool {
    let compact: String = decode_references(value)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    compact.starts_with("javascript:") || compact.starts_with("vbscript:")
}

/// Decodes numeric character references (`&#106;`, `&#x6A`, the `;` is
/// optional) and the named ones that can hide a scheme.
fn decode_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let (decoded, used) = if let Some(number) = rest.strip_prefix('#') {
            let (digits, radix, skip) = match number.strip_prefix(['x', 'X']) {
                Some(hex) => (hex.bytes().take_while(u8::is_ascii_hexdigit).count(), 16, 2),
                None => (number.bytes().take_while(u8::is_ascii_digit).count(), 10, 1),
            };
            let digits_text = &rest[skip..skip + digits];
            let c = u32::from_str_radix(digits_text, radix).ok().and_then(char::from_u32);
            let semicolon = usize::from(rest[skip + digits..].starts_with(';'));
            (c, skip + digits + semicolon)
        } else {
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let c = match rest[..name_len].to_ascii_lowercase().as_str() {
                "colon" => Some(':'),
                "tab" => Some('\t'),
                "newline" => Some('\n'),
                "nbsp" => Some(' '),
                "amp" => Some('&'),
                _ => None,
            };
            (c, name_len + usize::from(rest[name_len..].starts_with(';')))
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}

/// Just past the end tag `</name` closing a raw-text element whose content
/// starts at `from`, or the end of the input.
fn skip_raw_text(html: &str, from: usize, name: &str) -> usize {
    let bytes = html.as_bytes();
    let mut j = from;
    while let Some(lt) = find_from(bytes, j, b'<') {
        let after = lt + 2 + name.len();
        if bytes.get(lt + 1) == Some(&b'/')
            && html.get(lt + 2..after).is_some_and(|n| n.eq_ignore_ascii_case(name))
            && bytes.get(after).is_none_or(|&b| is_space(b) || b == b'/' || b == b'>')
        {
            return parse_tag(html, lt + 2).map_or(bytes.len(), |tag| tag.end);
        }
        j = lt + 1;
    }
    bytes.len()
}

/// Just past a comment starting at `at` (`<!-->` and `<!--->` are empty comments).
fn comment_end(html: &str, at: usize) -> usize {
    let body = &html[at + 4..];
    if body.starts_with('>') {
        return at + 5;
    }
    if body.starts_with("->") {
        return at + 6;
    }
    let close = [body.find("-->").map(|p| p + 3), body.find("--!>").map(|p| p + 4)].into_iter().flatten().min();
    close.map_or(html.len(), |len| at + 4 + len)
}

fn find_from(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes.get(from..)?.iter().position(|&b| b == needle).map(|p| from + p)
}

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct Sanitize;

impl Component for Sanitize {
    fn metadata() -> Metadata {
        Metadata::new(
            "sanitize",
            "1.0.0",
            "Removes scripts, event handlers and javascript: URLs from HTML; port `flagged` when it did",
        )
        .accepts("text/html")
        .produces("text/html")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(Sanitize)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let cleaned = sanitize(input.text()?);
        let output = Output::new(cleaned.html).with_content_type("text/html");
        if cleaned.removed.is_empty() {
            return Ok(output);
        }
        let removed = cleaned.removed.join(",");
        log::info("removed dangerous markup", &[("removed", &removed)]);
        metric("sanitize_flagged_total", 1.0, &[]);
        Ok(output.to_port("flagged").with_metadata("removed", removed))
    }
}

airssys_sdk::export_component!(Sanitize);

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> (String, String) {
        let c = sanitize(html);
        // Whatever comes out is stable: a second pass finds nothing.
        let again = sanitize(&c.html);
        assert_eq!(again.html, c.html, "not idempotent for {html:?}");
        assert!(again.removed.is_empty(), "second pass removed {:?} for {html:?}", again.removed);
        (c.html, c.removed.join(","))
    }

    #[test]
    fn clean_html_is_unchanged() {
        let page = "<h1>Hi &amp; bye</h1>\n<p>a &lt; b <a href=\"https://x.test/?a=1&amp;b=2\">x</a> <code>1 &lt; 2</code></p>\n<br />";
        assert_eq!(clean(page), (page.to_string(), String::new()));
        // A `<` that starts no markup is written `&lt;`; that removes nothing.
        assert_eq!(clean("1 < 2 <3 <> 4 <"), ("1 &lt; 2 &lt;3 &lt;> 4 &lt;".into(), String::new()));
    }

    #[test]
    fn removes_script_style_and_iframe_with_content() {
        assert_eq!(
            clean("<p>a</p><script>alert('<p>')</script><p>b</p>"),
            ("<p>a</p><p>b</p>".into(), "script".into())
        );
        assert_eq!(
            clean("x<SCRIPT type=\"t\">var s = \"</scr\" + \"ipt>\";</Script >y"),
            ("xy".into(), "script".into())
        );
        assert_eq!(
            clean("<style>p{}</style><iframe src=\"//evil\">fallback</iframe>ok"),
            ("ok".into(), "style,iframe".into())
        );
        assert_eq!(clean("a<script/src=x>"), ("a".into(), "script".into()));
        assert_eq!(clean("a<script>unclosed"), ("a".into(), "script".into()));
        assert_eq!(clean("a</script>b"), ("ab".into(), "script".into()));
    }

    #[test]
    fn removes_event_handlers_in_any_case() {
        assert_eq!(
            clean("<p onClick=\"go()\" class=x ONMOUSEOVER='a' title=\"t\">hi</p>"),
            ("<p class=\"x\" title=\"t\">hi</p>".into(), "onclick,onmouseover".into())
        );
        assert_eq!(clean("<img/src=\"a.png\"/onerror=alert(1)>"), ("<img src=\"a.png\">".into(), "onerror".into()));
        assert_eq!(clean("<img src=a.png onerror=alert(1) />"), ("<img src=\"a.png\" />".into(), "onerror".into()));
        assert_eq!(
            clean("<a title='say \"hi\"' onfocus>x</a>"),
            ("<a title=\"say &quot;hi&quot;\">x</a>".into(), "onfocus".into())
        );
    }

    #[test]
    fn removes_script_urls_however_disguised() {
        for href in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " \tjava\nscript:alert(1)",
            "jav&#x09;ascript:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A&#x61;vascript:alert(1)",
            "javascript&colon;alert(1)",
            "\u{1}javascript:alert(1)",
            "VBScript:msgbox(1)",
        ] {
            let html = format!("<a href=\"{href}\" class=\"c\">x</a>");
            assert_eq!(clean(&html), ("<a class=\"c\">x</a>".into(), "javascript-url".into()), "{href:?}");
        }
        assert_eq!(clean("<img SRC=javascript:alert(1)>"), ("<img>".into(), "javascript-url".into()));
        assert_eq!(clean("<form action='javascript:x'>"), ("<form>".into(), "javascript-url".into()));
        assert_eq!(clean("<object data=\"javascript:x\">"), ("<object>".into(), "javascript-url".into()));
        // Not a script URL: left alone.
        let safe = "<a href=\"https://example.com/javascript:guide\">x</a><a href=\"/notes#javascript:\">y</a>";
        assert_eq!(clean(safe), (safe.into(), String::new()));
        // Only URL attributes are checked.
        let title = "<a title=\"javascript: the good parts\">x</a>";
        assert_eq!(clean(title), (title.into(), String::new()));
    }

    #[test]
    fn removes_comments_and_broken_markup() {
        assert_eq!(clean("a<!-- x --><!---->b<!-->c"), ("abc".into(), "comment".into()));
        assert_eq!(clean("a<!--<script>alert(1)</script>-->b"), ("ab".into(), "comment".into()));
        assert_eq!(
            clean("<!doctype html5 <x><p>x</p><?php x ?>"),
            ("<!DOCTYPE html><p>x</p>".into(), "comment".into())
        );
        assert_eq!(clean("a<p title=\"unclosed>b"), ("a".into(), "unclosed-tag".into()));
        assert_eq!(clean("<p \"x=1>a</p>"), ("<p>a</p>".into(), "invalid-attribute".into()));
        assert_eq!(clean("a </ 1> b"), ("a  b".into(), "comment".into()));
        assert_eq!(clean("<a<b x=1>y</a<b>"), ("y".into(), "invalid-tag".into()));
    }

    #[test]
    fn removals_cannot_join_text_into_new_tags() {
        assert_eq!(
            clean("<<script>x</script>script>alert(1)</script>"),
            ("&lt;script>alert(1)".into(), "script".into())
        );
        assert_eq!(
            clean("<<!-- -->img src=x onerror=alert(1)>"),
            ("&lt;img src=x onerror=alert(1)>".into(), "comment".into())
        );
        assert_eq!(clean("<</p>p onclick=x>"), ("&lt;</p>p onclick=x>".into(), String::new()));
    }

    #[test]
    fn canonical_tags() {
        assert_eq!(clean("<P CLASS=a Hidden>x</P >"), ("<p class=\"a\" hidden>x</p>".into(), String::new()));
        assert_eq!(clean("<br/><a href = 'x' >y</a\n>"), ("<br /><a href=\"x\">y</a>".into(), String::new()));
    }

    #[test]
    fn execute_routes_by_what_it_removed() {
        let mut s = Sanitize::init(&Config::default()).unwrap();
        let out = s.execute(Input::new("<p>fine</p>")).unwrap();
        assert_eq!(out.port(), "out");
        assert_eq!(out.metadata_value("removed"), None);
        assert_eq!(out.content_type(), Some("text/html"));

        let out = s.execute(Input::new("<p onclick=\"x\">a</p><script>b</script>")).unwrap();
        assert_eq!(out.port(), "flagged");
        assert_eq!(out.data, b"<p>a</p>");
        assert_eq!(out.metadata_value("removed"), Some(&Value::from("onclick,script")));
    }

    #[test]
    fn never_panics_and_a_second_pass_changes_nothing() {
        for html in test_inputs::random_markup(20_000) {
            clean(&html);
            let words = html.replace('x', "script").replace('a', "onclick");
            clean(&words);
        }
    }
}
