//! `word-count`: counts the lines, words, characters and bytes of UTF-8 text.
//!
//! Output: `{"lines":N,"words":N,"chars":N,"bytes":N}` (`application/json`).
//!
//! * `lines`: the number of lines as [`str::lines`] sees them: `a\nb` and
//!   `a\nb\n` both have 2 lines, the empty text has 0 (`wc -l` would say 1
//!   for `a\nb`, as it counts newline characters).
//! * `words`: runs of non-whitespace (Unicode whitespace separates words).
//! * `chars`: Unicode scalar values. `bytes`: UTF-8 bytes.
//!
//! Input that is not UTF-8 is rejected with an `invalid-input` error.

use airssys_sdk::prelude::*;

/// The counts of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Lines, as [`str::lines`] counts them.
    pub lines: usize,
    /// Whitespace-separated words.
    pub words: usize,
    /// Unicode scalar values.
    pub chars: usize,
    /// UTF-8 bytes.
    pub bytes: usize,
}

impl Counts {
    /// Counts `text`.
    pub fn of(text: &str) -> Self {
        Counts {
            lines: text.lines().count(),
            words: text.split_whitespace().count(),
            chars: text.chars().count(),
            bytes: text.len(),
        }
    }

    /// The counts as a JSON object, keys in a fixed order.
    pub fn to_json(self) -> String {
        format!(r#"{{"lines":{},"words":{},"chars":{},"bytes":{}}}"#, self.lines, self.words, self.chars, self.bytes)
    }
}

/// The component; it has no configuration and no state.
#[derive(Debug)]
pub struct WordCount;

impl Component for WordCount {
    fn metadata() -> Metadata {
        Metadata::new("word-count", "1.0.0", "Counts lines, words, characters and bytes of text")
            .accepts("text/plain")
            .produces("application/json")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(WordCount)
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let counts = Counts::of(input.text()?);
        metric("word_count_words_total", counts.words as f64, &[]);
        Ok(Output::json(counts.to_json()))
    }
}

airssys_sdk::export_component!(WordCount);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(Counts::of(""), Counts::default());
        let c = Counts::of("hello wörld\nsecond  line\n");
        assert_eq!(c, Counts { lines: 2, words: 4, chars: 25, bytes: 26 });
        assert_eq!(Counts::of("a\nb").lines, 2);
        assert_eq!(Counts::of("\n\n").lines, 2);
    }

    #[test]
    fn execute_outputs_json() {
        let out = WordCount.execute(Input::new("one two\nthree")).unwrap();
        assert_eq!(String::from_utf8(out.data.clone()).unwrap(), r#"{"lines":2,"words":3,"chars":13,"bytes":13}"#);
        assert_eq!(out.metadata_value("content-type"), Some(&Value::from("application/json")));
        let err = WordCount.execute(Input::new(vec![0xff])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
    }
}
