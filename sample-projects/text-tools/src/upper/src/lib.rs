//! `upper`: turns UTF-8 text to upper case (Unicode-aware).
//!
//! `hello` becomes `HELLO`, `straße` becomes `STRASSE`. The output has exactly
//! the input's line structure: no newline is added. Input that is not UTF-8 is
//! rejected with an `invalid-input` error.

use airssys_sdk::prelude::*;

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct Upper;

impl Component for Upper {
    fn metadata() -> Metadata {
        Metadata::new("upper", "1.0.0", "Turns text to upper case").accepts("text/plain").produces("text/plain")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(Upper)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let text = input.text()?;
        let upper = text.to_uppercase();
        log::debug(
            "upper-cased text",
            &[("bytes_in", &text.len().to_string()), ("bytes_out", &upper.len().to_string())],
        );
        Ok(Output::text(upper))
    }
}

airssys_sdk::export_component!(Upper);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> Result<Output, Error> {
        Upper::init(&Config::default())?.execute(Input::new(data))
    }

    #[test]
    fn upper_cases_without_adding_newline() {
        let out = run(b"hello").unwrap();
        assert_eq!(out.data, b"HELLO");
        assert_eq!(out.content_type(), Some("text/plain"));
        assert_eq!(run("straße\n".as_bytes()).unwrap().data, "STRASSE\n".as_bytes());
        assert_eq!(run(b"").unwrap().data, b"");
    }

    #[test]
    fn rejects_non_utf8() {
        let err = run(&[b'h', 0xc3]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn metadata_needs_no_init() {
        let m = Upper::metadata();
        assert_eq!((m.name.as_str(), m.version.as_str()), ("upper", "1.0.0"));
        assert_eq!(m.accepts, ["text/plain"]);
    }
}
