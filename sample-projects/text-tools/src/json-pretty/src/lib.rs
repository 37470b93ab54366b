//! `json-pretty`: pretty-prints a JSON document.
//!
//! Config `indent`: spaces per level, `0..=8`, default 2; `0` prints the
//! document compactly on one line. Anything else is an `invalid-config` error
//! at `init`.
//!
//! The document is validated by `serde_json` (an invalid one is an
//! `invalid-input` error naming serde_json's line and column), then re-indented
//! token by token, so key order, duplicate keys, number spelling (`1.50`,
//! `1e400`) and string escapes are kept exactly as written. Empty objects and
//! arrays stay `{}` and `[]`. No newline is added after the document.

use airssys_sdk::prelude::*;
use serde::de::IgnoredAny;

/// Largest accepted `indent`.
pub const MAX_INDENT: usize = 8;
/// `indent` when the config does not set it.
pub const DEFAULT_INDENT: usize = 2;

/// The component: the indent chosen at `init`.
#[derive(Debug)]
pub struct JsonPretty {
    indent: usize,
}

impl Component for JsonPretty {
    fn metadata() -> Metadata {
        Metadata::new("json-pretty", "1.0.0", "Pretty-prints a JSON document")
            .accepts("application/json")
            .produces("application/json")
    }

    fn init(config: &Config) -> Result<Self, Error> {
        let indent: usize = config.parse_or("indent", DEFAULT_INDENT)?;
        if indent > MAX_INDENT {
            return Err(Error::invalid_config(format!(
                "config key `indent` must be between 0 and {MAX_INDENT}, got {indent}"
            )));
        }
        Ok(JsonPretty { indent })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let text = input.text()?;
        serde_json::from_str::<IgnoredAny>(text).map_err(|e| Error::invalid_input(format!("invalid JSON: {e}")))?;
        let pretty = reindent(text, self.indent);
        let pretty = String::from_utf8(pretty).map_err(|_| Error::internal("re-indenting produced invalid UTF-8"))?;
        Ok(Output::json(pretty))
    }
}

airssys_sdk::export_component!(JsonPretty);

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn newline(out: &mut Vec<u8>, depth: usize, indent: usize) {
    if indent > 0 {
        out.push(b'\n');
        out.resize(out.len() + depth * indent, b' ');
    }
}

/// Re-indents `json`, which must already be valid JSON. Strings, numbers and
/// literals are copied byte for byte; only whitespace between tokens changes.
pub fn reindent(json: &str, indent: usize) -> Vec<u8> {
    let b = json.as_bytes();
    let mut out = Vec::with_capacity(b.len() + b.len() / 2);
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if is_json_space(c) => i += 1,
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                out.extend_from_slice(&b[start..i.min(b.len())]);
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                out.push(c);
                let mut j = i + 1;
                while j < b.len() && is_json_space(b[j]) {
                    j += 1;
                }
                if b.get(j) == Some(&close) {
                    out.push(close);
                    i = j + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth, indent);
                    i += 1;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth, indent);
                out.push(c);
                i += 1;
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth, indent);
                i += 1;
            }
            b':' => {
                out.push(c);
                if indent > 0 {
                    out.push(b' ');
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(json: &str, indent: usize) -> String {
        String::from_utf8(reindent(json, indent)).unwrap()
    }

    #[test]
    fn matches_the_usual_pretty_layout() {
        let doc = r#" {"b":1,"a":[1, 2.50,{"x":null}],"e":{},"f":[ ],"s":"a,b:{\"}"} "#;
        assert_eq!(
            pretty(doc, 2),
            "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.50,\n    {\n      \"x\": null\n    }\n  ],\n  \"e\": {},\n  \"f\": [],\n  \"s\": \"a,b:{\\\"}\"\n}"
        );
        assert_eq!(pretty(doc, 0), r#"{"b":1,"a":[1,2.50,{"x":null}],"e":{},"f":[],"s":"a,b:{\"}"}"#);
        assert_eq!(pretty(" 42 ", 4), "42");
    }

    #[test]
    fn indent_config() {
        let ok = |v: &str| JsonPretty::init(&Config::from_pairs([("indent", v)]));
        assert_eq!(JsonPretty::init(&Config::default()).unwrap().indent, 2);
        assert_eq!(ok("0").unwrap().indent, 0);
        assert_eq!(ok("8").unwrap().indent, 8);
        for bad in ["9", "-1", "two", ""] {
            assert_eq!(ok(bad).unwrap_err().kind, ErrorKind::InvalidConfig, "{bad}");
        }
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let mut c = JsonPretty::init(&Config::default()).unwrap();
        let err = c.execute(Input::new("{\n  \"a\": 1,\n  oops\n}")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("line 3 column 3"), "{}", err.message);
        assert_eq!(c.execute(Input::new("")).unwrap_err().kind, ErrorKind::InvalidInput);
        assert_eq!(c.execute(Input::new("[1] [2]")).unwrap_err().kind, ErrorKind::InvalidInput);
        let out = c.execute(Input::new(r#"{"k":[true]}"#)).unwrap();
        assert_eq!(String::from_utf8(out.data).unwrap(), "{\n  \"k\": [\n    true\n  ]\n}");
    }
}
