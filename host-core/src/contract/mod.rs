//! The contract's shape: the function types of `wit/component.wit`, checked
//! against a component's own when it is loaded. Reads types only; loading
//! and linking are `component`'s.
//!
//! The expected types come from the WIT text itself (parsed once with
//! `wit-parser`, from the world `stateful-plugin`: exports `guest` and
//! `state`, imports `host` and `types`); the found types from wasmtime's view
//! of the compiled component. They are compared the way the canonical ABI's
//! typecheck compares them: records by field names and types in order,
//! variants by case names and payloads, enums and flags by names, lists,
//! options, results, tuples and primitives by structure (type names and
//! parameter names do not count). A component that passes here therefore
//! passes wasmtime's typed lookups at instantiation.
//!
//! A mismatch names the interface, the function, where the types first
//! differ, and both types as WIT-like text in which only the differing part
//! is spelled out:
//!
//! ```text
//! the component's airssys:component/guest@0.1.0 does not match the contract:
//!   function `execute`: parameter `input`: expected record `input`, found list<u8>
//!     expected func(input: record input { data: list<u8>, metadata: metadata-map, context: execution-context }) -> ...
//!     found    func(data: list<u8>) -> result<list<u8>, string>
//! Rebuild the component against wit/component.wit (airssys:component@0.1.0)
//! ```

use wasmtime::{
    Engine,
    component::{Component, types::ComponentItem},
};

pub use crate::types::ShapeMismatch;
use crate::{CONTRACT_VERSION, Error, Result};

mod describe;
mod shape;

use describe::found_item_text;
use shape::{CONTRACT, FuncShape, InterfaceShape};

/// The package every contract interface belongs to.
const PACKAGE: &str = "airssys:component";

/// Semver compatibility for the contract: same major, and for 0.x the same
/// minor too.
pub(crate) fn contract_compatible(found: &str) -> bool {
    let (Ok(found), Ok(ours)) = (semver::Version::parse(found), semver::Version::parse(CONTRACT_VERSION)) else {
        return false;
    };
    if ours.major == 0 { found.major == 0 && found.minor == ours.minor } else { found.major == ours.major }
}

/// Compares every contract function the component exports (`guest`, and
/// `state` when present) or imports (`host`) with the contract. Only
/// interfaces of a compatible contract version are looked at; others are
/// refused elsewhere (by version, or by the linker). Empty when all match.
///
/// Errors: [`Error::ContractText`] if the built-in contract text does not parse
/// (a build defect, caught by this module's tests).
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<Vec<ShapeMismatch>> {
    let contract = CONTRACT.as_ref().map_err(|e| Error::ContractText(e.clone()))?;
    let ty = component.component_type();
    let mut mismatches = Vec::new();
    for (name, item) in ty.exports(engine) {
        let Some(expected) = contract_interface(name, &contract.exports) else { continue };
        let ComponentItem::ComponentInstance(instance) = &item.ty else {
            mismatches.push(not_an_instance(name, false, expected, &item.ty));
            continue;
        };
        for func in &expected.functions {
            let found = instance.get_export(engine, &func.name).map(|e| e.ty);
            if let Some(m) = compare(func, found.as_ref()) {
                mismatches.push(m.into_mismatch(name, false, &func.name));
            }
        }
    }
    for (name, item) in ty.imports(engine) {
        let Some(expected) = contract_interface(name, &contract.imports) else { continue };
        let ComponentItem::ComponentInstance(instance) = &item.ty else {
            mismatches.push(not_an_instance(name, true, expected, &item.ty));
            continue;
        };
        for (function, found) in instance.exports(engine) {
            if matches!(found.ty, ComponentItem::Type(_) | ComponentItem::Resource(_)) {
                continue;
            }
            let m = match expected.functions.iter().find(|f| f.name == function) {
                Some(func) => compare(func, Some(&found.ty)),
                None => Some(Found {
                    expected: "(not in the contract)".into(),
                    found: found_item_text(&found.ty),
                    difference: format!(
                        "the host offers no function `{function}` in this interface (it offers: {})",
                        expected.function_names()
                    ),
                }),
            };
            if let Some(m) = m {
                mismatches.push(m.into_mismatch(name, true, function));
            }
        }
    }
    Ok(mismatches)
}

/// The contract interface `name` (`airssys:component/IFACE@VERSION`) stands
/// for, if it is one of `interfaces` at a compatible version.
fn contract_interface<'c>(name: &str, interfaces: &'c [InterfaceShape]) -> Option<&'c InterfaceShape> {
    let (interface, version) = name.strip_prefix(PACKAGE)?.strip_prefix('/')?.split_once('@')?;
    if !contract_compatible(version) {
        return None;
    }
    interfaces.iter().find(|i| i.name == interface)
}

fn not_an_instance(name: &str, imported: bool, expected: &InterfaceShape, item: &ComponentItem) -> ShapeMismatch {
    ShapeMismatch {
        interface: name.to_string(),
        imported,
        function: "(all)".into(),
        expected: format!("an instance with {}", expected.function_names()),
        found: found_item_text(item),
        difference: "expected an interface instance".into(),
    }
}

/// A difference found for one function, before it is placed in its interface.
struct Found {
    expected: String,
    found: String,
    difference: String,
}

impl Found {
    fn into_mismatch(self, interface: &str, imported: bool, function: &str) -> ShapeMismatch {
        ShapeMismatch {
            interface: interface.to_string(),
            imported,
            function: function.to_string(),
            expected: self.expected,
            found: self.found,
            difference: self.difference,
        }
    }
}

/// Compares one contract function with what the component has under its
/// name; `None` when they match.
fn compare(expected: &FuncShape, found: Option<&ComponentItem>) -> Option<Found> {
    let Some(found) = found else {
        return Some(Found {
            expected: expected.collapsed(),
            found: "(missing)".into(),
            difference: "the component does not have this function".into(),
        });
    };
    let ComponentItem::ComponentFunc(func) = found else {
        return Some(Found {
            expected: expected.collapsed(),
            found: found_item_text(found),
            difference: format!("expected a function, found {}", found_item_text(found)),
        });
    };
    if expected.matches(func) {
        return None;
    }
    let (expected_text, found_text) = expected.pair(func);
    Some(Found { expected: expected_text, found: found_text, difference: expected.difference(func) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_contract_versions() {
        assert!(contract_compatible("0.1.0") && contract_compatible("0.1.7"));
        assert!(!contract_compatible("0.2.0") && !contract_compatible("1.1.0") && !contract_compatible("x"));
    }
}
