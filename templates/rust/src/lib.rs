//! `{{name}}`: an airssys component that upper-cases UTF-8 text.
//!
//! `hello` becomes `HELLO` (Unicode-aware: `straße` becomes `STRASSE`).
//! Config `prefix` (optional) is put in front of every output. Input that is
//! not UTF-8 is an `invalid-input` error.

use airssys_sdk::prelude::*;

/// The component: its configuration, read once by `init`.
pub struct Plugin {
    prefix: String,
}

impl Component for Plugin {
    fn metadata() -> Metadata {
        Metadata::new("{{name}}", "0.1.0", "Upper-cases UTF-8 text").accepts("text/plain").produces("text/plain")
    }

    fn init(config: &Config) -> Result<Self, Error> {
        Ok(Plugin { prefix: config.get("prefix").unwrap_or_default().to_string() })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let text = input.text()?;
        log::debug("upper-casing", &[("bytes", &text.len().to_string())]);
        Ok(Output::text(format!("{}{}", self.prefix, text.to_uppercase())))
    }
}

airssys_sdk::export_component!(Plugin);
