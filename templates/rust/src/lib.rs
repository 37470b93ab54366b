//! `{{name}}`: an airssys component in Rust.
//!
//! It implements the contract in `wit/component.wit` (package
//! `airssys:component@0.1.0`, world `plugin`: it exports `guest` and may
//! import `host`), with the bindings `wit-bindgen` generates from that file.
//!
//! What it does: it upper-cases the ASCII letters `a`-`z` of its input and
//! keeps every other byte as it is (`hello, wörld` becomes `HELLO, WöRLD`),
//! with the optional config `prefix` put in front. Any other config key is an
//! `invalid-config` error at `init`. The templates of `airssys new` in C,
//! Python and JavaScript behave exactly the same.

wit_bindgen::generate!({ world: "plugin", path: "wit" });

use std::cell::RefCell;

use airssys::component::host::{self, LogLevel};
use airssys::component::types::{
    Capability, ComponentMetadata, Config, Error, ErrorKind, HealthStatus, Input, Output, Value,
};
use exports::airssys::component::guest::Guest;

thread_local! {
    /// The `prefix` config: set by `init`, `None` before it and after `shutdown`.
    static PREFIX: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn error(kind: ErrorKind, message: String) -> Error {
    Error { kind, message, retryable: false }
}

struct Component;

impl Guest for Component {
    fn init(config: Config) -> Result<(), Error> {
        let mut prefix = String::new();
        for (key, value) in config {
            match key.as_str() {
                "prefix" => prefix = value,
                _ => {
                    return Err(error(
                        ErrorKind::InvalidConfig,
                        format!("unknown config key `{key}`: the only key is `prefix`"),
                    ));
                }
            }
        }
        PREFIX.with(|slot| *slot.borrow_mut() = Some(prefix));
        Ok(())
    }

    fn execute(input: Input) -> Result<Output, Error> {
        let Some(prefix) = PREFIX.with(|slot| slot.borrow().clone()) else {
            return Err(error(ErrorKind::NotInitialized, "execute was called before init".to_string()));
        };
        let mut data = prefix.into_bytes();
        data.extend(input.data.iter().map(u8::to_ascii_uppercase));
        host::log(LogLevel::Debug, "upper-cased the input", &[("bytes".to_string(), input.data.len().to_string())]);
        Ok(Output { data, metadata: vec![("content-type".to_string(), Value::Text("text/plain".to_string()))] })
    }

    fn shutdown() -> Result<(), Error> {
        PREFIX.with(|slot| *slot.borrow_mut() = None);
        Ok(())
    }

    fn metadata() -> ComponentMetadata {
        ComponentMetadata {
            name: "{{name}}".to_string(),
            version: "0.1.0".to_string(),
            description: "Upper-cases the ASCII letters of its input".to_string(),
            accepts: vec!["text/plain".to_string()],
            produces: vec!["text/plain".to_string()],
            stateful: false,
        }
    }

    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    fn health() -> HealthStatus {
        HealthStatus::Healthy
    }
}

export!(Component);
