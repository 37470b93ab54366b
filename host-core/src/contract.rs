//! The contract's shape: the function types of `wit/component.wit`, checked
//! against a component's own when it is loaded.
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

use std::{fmt::Write as _, sync::LazyLock};

use serde::{Deserialize, Serialize};
use wasmtime::{
    Engine,
    component::{
        Component,
        types::{self as wt, ComponentFunc, ComponentItem},
    },
};

use crate::{CONTRACT_VERSION, Error, Result};

/// The contract's WIT text, compiled into the host.
const CONTRACT_WIT: &str = include_str!("../../wit/component.wit");
/// The package every contract interface belongs to.
const PACKAGE: &str = "airssys:component";
/// The world whose imports and exports are checked (the larger of the two).
const WORLD: &str = "stateful-plugin";
/// How deep a type the component has but the contract does not is spelled
/// out before `...`.
const FOUND_DEPTH: usize = 3;

/// One contract function whose type in the component differs from the
/// contract's (or which is missing, or which the contract does not have).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeMismatch {
    /// The interface as the component names it, e.g.
    /// `airssys:component/guest@0.1.0`.
    pub interface: String,
    /// Whether the component imports the interface (`host`) rather than
    /// exports it (`guest`, `state`).
    pub imported: bool,
    /// The function, e.g. `execute`.
    pub function: String,
    /// The contract's type, WIT-like, e.g.
    /// `func(input: record input { data: list<u8>, ... }) -> result<output, error>`;
    /// `(not in the contract)` for an imported function the host does not offer.
    pub expected: String,
    /// The component's type, WIT-like; `(missing)` when the component does
    /// not export the function.
    pub found: String,
    /// Where the two first differ, e.g.
    /// ``parameter `input`: expected record `input`, found list<u8>``.
    pub difference: String,
}

/// The message of [`Error::ContractShape`]: the mismatches grouped by
/// interface, then what to do.
pub(crate) fn mismatch_text(mismatches: &[ShapeMismatch]) -> String {
    let mut out = String::new();
    let mut current: Option<(&str, bool)> = None;
    for m in mismatches {
        if current != Some((m.interface.as_str(), m.imported)) {
            current = Some((m.interface.as_str(), m.imported));
            if !out.is_empty() {
                out.push('\n');
            }
            let import = if m.imported { "import of " } else { "" };
            let _ = write!(out, "the component's {import}{} does not match the contract:", m.interface);
        }
        let _ = write!(
            out,
            "\n  function `{}`: {}\n    expected {}\n    found    {}",
            m.function, m.difference, m.expected, m.found
        );
    }
    let _ = write!(out, "\nRebuild the component against wit/component.wit ({PACKAGE}@{CONTRACT_VERSION})");
    out
}

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
/// Errors: [`Error::Config`] if the built-in contract text does not parse
/// (a build defect, caught by this module's tests).
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<Vec<ShapeMismatch>> {
    let contract = CONTRACT.as_ref().map_err(|e| Error::Config(e.clone()))?;
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

// ---------------------------------------------------------------------------
// The contract, read from its WIT text.

static CONTRACT: LazyLock<std::result::Result<Contract, String>> = LazyLock::new(Contract::parse);

/// The contract's interfaces with their functions' types.
#[derive(Debug)]
struct Contract {
    exports: Vec<InterfaceShape>,
    imports: Vec<InterfaceShape>,
}

#[derive(Debug)]
struct InterfaceShape {
    /// The short name, e.g. `guest`.
    name: String,
    functions: Vec<FuncShape>,
}

impl InterfaceShape {
    fn function_names(&self) -> String {
        if self.functions.is_empty() {
            return "no functions".into();
        }
        self.functions.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug)]
struct FuncShape {
    name: String,
    params: Vec<(String, Shape)>,
    result: Option<Shape>,
}

/// A WIT type as the check compares it: structural, with the contract's own
/// type name kept (`input`, `metadata-map`) for messages only.
#[derive(Debug, Clone)]
struct Shape {
    name: Option<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `bool`, `u8`, ..., `f64`, `char`, `string`, `error-context`.
    Primitive(&'static str),
    List(Box<Shape>),
    FixedList(Box<Shape>, u32),
    Map(Box<Shape>, Box<Shape>),
    Tuple(Vec<Shape>),
    Option(Box<Shape>),
    Result(Option<Box<Shape>>, Option<Box<Shape>>),
    Record(Vec<(String, Shape)>),
    Variant(Vec<(String, Option<Shape>)>),
    Enum(Vec<String>),
    Flags(Vec<String>),
    /// Resource handles are compared by kind only (the contract has none).
    Own,
    Borrow,
    Future(Option<Box<Shape>>),
    Stream(Option<Box<Shape>>),
}

impl Contract {
    fn parse() -> std::result::Result<Contract, String> {
        use wit_parser::{Resolve, WorldItem};
        let broken = |e: String| format!("the built-in contract wit/component.wit is unusable: {e}");
        let mut resolve = Resolve::new();
        let package = resolve.push_source("wit/component.wit", CONTRACT_WIT).map_err(|e| broken(format!("{e:#}")))?;
        let world = resolve.packages[package]
            .worlds
            .get(WORLD)
            .copied()
            .ok_or_else(|| broken(format!("it has no world `{WORLD}`")))?;
        let interfaces = |items: &wit_parser::IndexMap<wit_parser::WorldKey, WorldItem>| {
            items
                .values()
                .filter_map(|item| match item {
                    WorldItem::Interface { id, .. } => Some(*id),
                    _ => None,
                })
                .map(|id| interface_shape(&resolve, id))
                .collect::<std::result::Result<Vec<_>, String>>()
        };
        let world = &resolve.worlds[world];
        Ok(Contract {
            exports: interfaces(&world.exports).map_err(broken)?,
            imports: interfaces(&world.imports).map_err(broken)?,
        })
    }
}

fn interface_shape(
    resolve: &wit_parser::Resolve,
    id: wit_parser::InterfaceId,
) -> std::result::Result<InterfaceShape, String> {
    let interface = &resolve.interfaces[id];
    let name = interface.name.clone().ok_or("an unnamed interface in the world")?;
    let functions = interface
        .functions
        .values()
        .map(|f| {
            let params = f
                .params
                .iter()
                .map(|p| Ok((p.name.clone(), shape(resolve, &p.ty)?)))
                .collect::<std::result::Result<Vec<_>, String>>()?;
            let result = f.result.as_ref().map(|t| shape(resolve, t)).transpose()?;
            Ok(FuncShape { name: f.name.clone(), params, result })
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(InterfaceShape { name, functions })
}

fn shape(resolve: &wit_parser::Resolve, ty: &wit_parser::Type) -> std::result::Result<Shape, String> {
    use wit_parser::{Handle, Type, TypeDefKind as K};
    let primitive = |name| Ok(Shape { name: None, kind: Kind::Primitive(name) });
    let id = match ty {
        Type::Bool => return primitive("bool"),
        Type::U8 => return primitive("u8"),
        Type::U16 => return primitive("u16"),
        Type::U32 => return primitive("u32"),
        Type::U64 => return primitive("u64"),
        Type::S8 => return primitive("s8"),
        Type::S16 => return primitive("s16"),
        Type::S32 => return primitive("s32"),
        Type::S64 => return primitive("s64"),
        Type::F32 => return primitive("f32"),
        Type::F64 => return primitive("f64"),
        Type::Char => return primitive("char"),
        Type::String => return primitive("string"),
        Type::ErrorContext => return primitive("error-context"),
        Type::Id(id) => *id,
    };
    let def = &resolve.types[id];
    let boxed = |t: &Type| shape(resolve, t).map(Box::new);
    let optional = |t: &Option<Type>| t.as_ref().map(boxed).transpose();
    let kind = match &def.kind {
        K::Type(aliased) => {
            let inner = shape(resolve, aliased)?;
            return Ok(Shape { name: def.name.clone().or(inner.name), kind: inner.kind });
        }
        K::Record(r) => Kind::Record(
            r.fields.iter().map(|f| Ok((f.name.clone(), shape(resolve, &f.ty)?))).collect::<Result<_, String>>()?,
        ),
        K::Variant(v) => Kind::Variant(
            v.cases
                .iter()
                .map(|c| Ok((c.name.clone(), c.ty.as_ref().map(|t| shape(resolve, t)).transpose()?)))
                .collect::<Result<_, String>>()?,
        ),
        K::Enum(e) => Kind::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
        K::Flags(f) => Kind::Flags(f.flags.iter().map(|f| f.name.clone()).collect()),
        K::Tuple(t) => Kind::Tuple(t.types.iter().map(|t| shape(resolve, t)).collect::<Result<_, String>>()?),
        K::Option(t) => Kind::Option(boxed(t)?),
        K::Result(r) => Kind::Result(optional(&r.ok)?, optional(&r.err)?),
        K::List(t) => Kind::List(boxed(t)?),
        K::FixedLengthList(t, n) => Kind::FixedList(boxed(t)?, *n),
        K::Map(k, v) => Kind::Map(boxed(k)?, boxed(v)?),
        K::Future(t) => Kind::Future(optional(t)?),
        K::Stream(t) => Kind::Stream(optional(t)?),
        K::Handle(Handle::Own(_)) => Kind::Own,
        K::Handle(Handle::Borrow(_)) => Kind::Borrow,
        K::Resource | K::Unknown => return Err(format!("unsupported type `{}`", def.kind.as_str())),
    };
    Ok(Shape { name: def.name.clone(), kind })
}

// ---------------------------------------------------------------------------
// Comparing (allocation-free: this runs on every load).

impl FuncShape {
    fn matches(&self, found: &ComponentFunc) -> bool {
        let mut results = found.results();
        !found.async_()
            && found.params().len() == self.params.len()
            && self.params.iter().zip(found.params()).all(|((_, e), (_, f))| e.matches(&f))
            && match (&self.result, results.next()) {
                (None, None) => true,
                (Some(e), Some(f)) => e.matches(&f),
                _ => false,
            }
            && results.next().is_none()
    }
}

fn matches_opt(expected: Option<&Shape>, found: Option<wt::Type>) -> bool {
    match (expected, found) {
        (None, None) => true,
        (Some(e), Some(f)) => e.matches(&f),
        _ => false,
    }
}

fn primitive_name(ty: &wt::Type) -> Option<&'static str> {
    use wt::Type as T;
    Some(match ty {
        T::Bool => "bool",
        T::S8 => "s8",
        T::U8 => "u8",
        T::S16 => "s16",
        T::U16 => "u16",
        T::S32 => "s32",
        T::U32 => "u32",
        T::S64 => "s64",
        T::U64 => "u64",
        T::Float32 => "f32",
        T::Float64 => "f64",
        T::Char => "char",
        T::String => "string",
        T::ErrorContext => "error-context",
        _ => return None,
    })
}

impl Shape {
    fn matches(&self, found: &wt::Type) -> bool {
        use wt::Type as T;
        match (&self.kind, found) {
            (Kind::Primitive(p), f) => primitive_name(f) == Some(*p),
            (Kind::List(e), T::List(f)) => e.matches(&f.ty()),
            (Kind::FixedList(e, n), T::FixedLengthList(f)) => f.len() == *n && e.matches(&f.ty()),
            (Kind::Map(k, v), T::Map(f)) => k.matches(&f.key()) && v.matches(&f.value()),
            (Kind::Tuple(e), T::Tuple(f)) => {
                f.types().len() == e.len() && e.iter().zip(f.types()).all(|(e, f)| e.matches(&f))
            }
            (Kind::Option(e), T::Option(f)) => e.matches(&f.ty()),
            (Kind::Result(ok, err), T::Result(f)) => {
                matches_opt(ok.as_deref(), f.ok()) && matches_opt(err.as_deref(), f.err())
            }
            (Kind::Record(e), T::Record(f)) => {
                f.fields().len() == e.len()
                    && e.iter().zip(f.fields()).all(|((name, e), f)| name == f.name && e.matches(&f.ty))
            }
            (Kind::Variant(e), T::Variant(f)) => {
                f.cases().len() == e.len()
                    && e.iter().zip(f.cases()).all(|((name, e), f)| name == f.name && matches_opt(e.as_ref(), f.ty))
            }
            (Kind::Enum(e), T::Enum(f)) => e.iter().map(String::as_str).eq(f.names()),
            (Kind::Flags(e), T::Flags(f)) => e.iter().map(String::as_str).eq(f.names()),
            (Kind::Own, T::Own(_)) | (Kind::Borrow, T::Borrow(_)) => true,
            (Kind::Future(e), T::Future(f)) => matches_opt(e.as_deref(), f.ty()),
            (Kind::Stream(e), T::Stream(f)) => matches_opt(e.as_deref(), f.ty()),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------
// Describing a difference (only when there is one).

impl FuncShape {
    /// The contract's type with every named type left as its name.
    fn collapsed(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|(n, s)| format!("{n}: {}", s.collapsed())).collect();
        let result = self.result.as_ref().map(|r| format!(" -> {}", r.collapsed())).unwrap_or_default();
        format!("func({}){result}", params.join(", "))
    }

    /// Both types, with what differs spelled out and what matches left as
    /// the contract's type names.
    fn pair(&self, found: &ComponentFunc) -> (String, String) {
        let (mut expected, mut got) = (Vec::new(), Vec::new());
        let found_params: Vec<(&str, wt::Type)> = found.params().collect();
        for i in 0..self.params.len().max(found_params.len()) {
            match (self.params.get(i), found_params.get(i)) {
                (Some((en, e)), Some((fname, f))) => {
                    let (e, f) = e.pair(f);
                    expected.push(format!("{en}: {e}"));
                    got.push(format!("{fname}: {f}"));
                }
                (Some((en, e)), None) => expected.push(format!("{en}: {}", e.expanded())),
                (None, Some((fname, f))) => got.push(format!("{fname}: {}", found_text(f, FOUND_DEPTH))),
                (None, None) => {}
            }
        }
        let (mut expected_result, mut found_result) = (String::new(), String::new());
        let results: Vec<wt::Type> = found.results().collect();
        match (&self.result, results.first()) {
            (Some(e), Some(f)) => {
                let (e, f) = e.pair(f);
                expected_result = format!(" -> {e}");
                found_result = format!(" -> {f}");
            }
            (Some(e), None) => expected_result = format!(" -> {}", e.expanded()),
            (None, Some(f)) => found_result = format!(" -> {}", found_text(f, FOUND_DEPTH)),
            (None, None) => {}
        }
        let prefix = if found.async_() { "async func" } else { "func" };
        (
            format!("func({}){expected_result}", expected.join(", ")),
            format!("{prefix}({}){found_result}", got.join(", ")),
        )
    }

    /// Where the component's type first departs from the contract's.
    fn difference(&self, found: &ComponentFunc) -> String {
        if found.async_() {
            return "expected a synchronous `func`, found an `async func`".into();
        }
        if found.params().len() != self.params.len() {
            let names = |n: Vec<&str>| if n.is_empty() { "none".to_string() } else { n.join(", ") };
            return format!(
                "expected {} parameter(s) ({}), found {} ({})",
                self.params.len(),
                names(self.params.iter().map(|(n, _)| n.as_str()).collect()),
                found.params().len(),
                names(found.params().map(|(n, _)| n).collect()),
            );
        }
        for ((name, e), (_, f)) in self.params.iter().zip(found.params()) {
            if let Some(d) = e.difference(&f) {
                return at(&format!("parameter `{name}`"), d);
            }
        }
        let results: Vec<wt::Type> = found.results().collect();
        match (&self.result, results.first()) {
            (Some(e), Some(f)) => e.difference(f).map(|d| at("the result", d)),
            (Some(e), None) => Some(format!("expected a result ({}), found none", e.collapsed())),
            (None, Some(f)) => Some(format!("expected no result, found {}", found_text(f, 1))),
            (None, None) => None,
        }
        .unwrap_or_else(|| "the types differ".into())
    }
}

/// `place: what`, or nested places joined with ` > `.
fn at(place: &str, what: String) -> String {
    if what.starts_with("expected") { format!("{place}: {what}") } else { format!("{place} > {what}") }
}

impl Shape {
    /// The type's name if it has one, else its structure with named parts
    /// left as names.
    fn collapsed(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.structure(&Shape::collapsed),
        }
    }

    /// Its structure one level deep, named parts left as names; a named
    /// record, variant, enum or flags keeps its name: `record input { ... }`.
    fn expanded(&self) -> String {
        self.structure(&Shape::collapsed)
    }

    fn structure(&self, child: &dyn Fn(&Shape) -> String) -> String {
        let name = self.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
        let optional = |s: &Option<Box<Shape>>| s.as_deref().map(child);
        match &self.kind {
            Kind::Primitive(p) => (*p).to_string(),
            Kind::List(e) => format!("list<{}>", child(e)),
            Kind::FixedList(e, n) => format!("list<{}, {n}>", child(e)),
            Kind::Map(k, v) => format!("map<{}, {}>", child(k), child(v)),
            Kind::Tuple(items) => format!("tuple<{}>", items.iter().map(child).collect::<Vec<_>>().join(", ")),
            Kind::Option(e) => format!("option<{}>", child(e)),
            Kind::Result(ok, err) => result_text(optional(ok), optional(err)),
            Kind::Record(fields) => {
                let fields: Vec<String> = fields.iter().map(|(n, s)| format!("{n}: {}", child(s))).collect();
                format!("record{name} {{ {} }}", fields.join(", "))
            }
            Kind::Variant(cases) => {
                let cases: Vec<String> = cases.iter().map(|(n, s)| case_text(n, s.as_ref().map(child))).collect();
                format!("variant{name} {{ {} }}", cases.join(", "))
            }
            Kind::Enum(names) => format!("enum{name} {{ {} }}", names.join(", ")),
            Kind::Flags(names) => format!("flags{name} {{ {} }}", names.join(", ")),
            Kind::Own => "own<resource>".into(),
            Kind::Borrow => "borrow<resource>".into(),
            Kind::Future(e) => optional(e).map_or("future".into(), |e| format!("future<{e}>")),
            Kind::Stream(e) => optional(e).map_or("stream".into(), |e| format!("stream<{e}>")),
        }
    }

    /// How a record, variant, enum or flags is referred to in a difference.
    fn brief(&self) -> String {
        match (&self.name, &self.kind) {
            (Some(name), Kind::Record(_) | Kind::Variant(_) | Kind::Enum(_) | Kind::Flags(_)) => {
                format!("{} `{name}`", kind_word(&self.kind))
            }
            _ => self.expanded(),
        }
    }

    /// Both renderings: equal parts as the contract's names, differing parts
    /// spelled out as deep as they differ.
    fn pair(&self, found: &wt::Type) -> (String, String) {
        use wt::Type as T;
        if self.matches(found) {
            let text = self.collapsed();
            return (text.clone(), text);
        }
        let name = self.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
        match (&self.kind, found) {
            (Kind::List(e), T::List(f)) => {
                let (e, f) = e.pair(&f.ty());
                (format!("list<{e}>"), format!("list<{f}>"))
            }
            (Kind::Option(e), T::Option(f)) => {
                let (e, f) = e.pair(&f.ty());
                (format!("option<{e}>"), format!("option<{f}>"))
            }
            (Kind::Result(ok, err), T::Result(f)) => {
                let (eo, fo) = pair_opt(ok.as_deref(), f.ok());
                let (ee, fe) = pair_opt(err.as_deref(), f.err());
                (result_text(eo, ee), result_text(fo, fe))
            }
            (Kind::Tuple(e), T::Tuple(f)) => {
                let found: Vec<wt::Type> = f.types().collect();
                let (e, f) = pair_items(e.iter().map(|s| ((), s)), found.iter().map(|t| ((), t)), |_| String::new());
                (format!("tuple<{e}>"), format!("tuple<{f}>"))
            }
            (Kind::Record(e), T::Record(f)) => {
                let found: Vec<wt::Field<'_>> = f.fields().collect();
                let (e, f) = pair_items(
                    e.iter().map(|(n, s)| (n.as_str(), s)),
                    found.iter().map(|field| (field.name, &field.ty)),
                    |n| format!("{n}: "),
                );
                (format!("record{name} {{ {e} }}"), format!("record {{ {f} }}"))
            }
            (Kind::Variant(e), T::Variant(f)) => {
                let found: Vec<wt::Case<'_>> = f.cases().collect();
                let (mut expected, mut got) = (Vec::new(), Vec::new());
                for i in 0..e.len().max(found.len()) {
                    match (e.get(i), found.get(i)) {
                        (Some((en, es)), Some(fc)) if *en == fc.name => {
                            let (es, fs) = pair_opt(es.as_ref(), fc.ty.clone());
                            expected.push(case_text(en, es));
                            got.push(case_text(fc.name, fs));
                        }
                        (ec, fc) => {
                            if let Some((en, es)) = ec {
                                expected.push(case_text(en, es.as_ref().map(Shape::collapsed)));
                            }
                            if let Some(fc) = fc {
                                got.push(case_text(fc.name, fc.ty.as_ref().map(|t| found_text(t, FOUND_DEPTH - 1))));
                            }
                        }
                    }
                }
                (format!("variant{name} {{ {} }}", expected.join(", ")), format!("variant {{ {} }}", got.join(", ")))
            }
            _ => (self.expanded(), found_text(found, FOUND_DEPTH)),
        }
    }

    /// Where `found` first departs from this type: `None` when it matches.
    fn difference(&self, found: &wt::Type) -> Option<String> {
        use wt::Type as T;
        let names = |n: &mut dyn Iterator<Item = &str>| n.collect::<Vec<_>>().join(", ");
        match (&self.kind, found) {
            (Kind::List(e), T::List(f)) => e.difference(&f.ty()).map(|d| at("the list element", d)),
            (Kind::FixedList(e, n), T::FixedLengthList(f)) if f.len() == *n => {
                e.difference(&f.ty()).map(|d| at("the list element", d))
            }
            (Kind::Map(k, v), T::Map(f)) => k
                .difference(&f.key())
                .map(|d| at("the map key", d))
                .or_else(|| v.difference(&f.value()).map(|d| at("the map value", d))),
            (Kind::Option(e), T::Option(f)) => e.difference(&f.ty()).map(|d| at("the option", d)),
            (Kind::Result(ok, err), T::Result(f)) => difference_opt(ok.as_deref(), f.ok())
                .map(|d| at("the ok type", d))
                .or_else(|| difference_opt(err.as_deref(), f.err()).map(|d| at("the error type", d))),
            (Kind::Tuple(e), T::Tuple(f)) if f.types().len() == e.len() => e
                .iter()
                .zip(f.types())
                .enumerate()
                .find_map(|(i, (e, f))| e.difference(&f).map(|d| at(&format!("tuple item {}", i + 1), d))),
            (Kind::Record(e), T::Record(f)) => {
                let same_names = f.fields().len() == e.len() && e.iter().zip(f.fields()).all(|((n, _), f)| n == f.name);
                if !same_names {
                    return Some(format!(
                        "expected {} with fields {}, found fields {}",
                        self.brief(),
                        names(&mut e.iter().map(|(n, _)| n.as_str())),
                        names(&mut f.fields().map(|f| f.name)),
                    ));
                }
                e.iter()
                    .zip(f.fields())
                    .find_map(|((n, e), f)| e.difference(&f.ty).map(|d| at(&format!("field `{n}`"), d)))
            }
            (Kind::Variant(e), T::Variant(f)) => {
                let same_names = f.cases().len() == e.len() && e.iter().zip(f.cases()).all(|((n, _), f)| n == f.name);
                if !same_names {
                    return Some(format!(
                        "expected {} with cases {}, found cases {}",
                        self.brief(),
                        names(&mut e.iter().map(|(n, _)| n.as_str())),
                        names(&mut f.cases().map(|c| c.name)),
                    ));
                }
                e.iter()
                    .zip(f.cases())
                    .find_map(|((n, e), f)| difference_opt(e.as_ref(), f.ty).map(|d| at(&format!("case `{n}`"), d)))
            }
            (Kind::Enum(e), T::Enum(f)) if !e.iter().map(String::as_str).eq(f.names()) => Some(format!(
                "expected {} with cases {}, found cases {}",
                self.brief(),
                e.join(", "),
                names(&mut f.names())
            )),
            (Kind::Flags(e), T::Flags(f)) if !e.iter().map(String::as_str).eq(f.names()) => Some(format!(
                "expected {} with flags {}, found flags {}",
                self.brief(),
                e.join(", "),
                names(&mut f.names())
            )),
            (Kind::Future(e), T::Future(f)) => difference_opt(e.as_deref(), f.ty()).map(|d| at("the future", d)),
            (Kind::Stream(e), T::Stream(f)) => difference_opt(e.as_deref(), f.ty()).map(|d| at("the stream", d)),
            _ if self.matches(found) => None,
            _ => Some(format!("expected {}, found {}", self.brief(), found_text(found, 1))),
        }
    }
}

fn difference_opt(expected: Option<&Shape>, found: Option<wt::Type>) -> Option<String> {
    match (expected, found) {
        (None, None) => None,
        (Some(e), Some(f)) => e.difference(&f),
        (Some(e), None) => Some(format!("expected {}, found nothing", e.brief())),
        (None, Some(f)) => Some(format!("expected nothing, found {}", found_text(&f, 1))),
    }
}

fn pair_opt(expected: Option<&Shape>, found: Option<wt::Type>) -> (Option<String>, Option<String>) {
    match (expected, found) {
        (Some(e), Some(f)) => {
            let (e, f) = e.pair(&f);
            (Some(e), Some(f))
        }
        (e, f) => (e.map(Shape::expanded), f.map(|f| found_text(&f, FOUND_DEPTH))),
    }
}

/// Renders two lists of (label, type) items side by side: items at the same
/// position with the same label are paired, the rest rendered on their own.
fn pair_items<'a, L: PartialEq + Copy + 'a>(
    expected: impl Iterator<Item = (L, &'a Shape)>,
    found: impl Iterator<Item = (L, &'a wt::Type)>,
    label: impl Fn(L) -> String,
) -> (String, String) {
    let expected: Vec<(L, &Shape)> = expected.collect();
    let found: Vec<(L, &wt::Type)> = found.collect();
    let (mut e_out, mut f_out) = (Vec::new(), Vec::new());
    for i in 0..expected.len().max(found.len()) {
        match (expected.get(i), found.get(i)) {
            (Some((el, e)), Some((fl, f))) if el == fl => {
                let (e, f) = e.pair(f);
                e_out.push(format!("{}{e}", label(*el)));
                f_out.push(format!("{}{f}", label(*fl)));
            }
            (e, f) => {
                if let Some((el, e)) = e {
                    e_out.push(format!("{}{}", label(*el), e.collapsed()));
                }
                if let Some((fl, f)) = f {
                    f_out.push(format!("{}{}", label(*fl), found_text(f, FOUND_DEPTH - 1)));
                }
            }
        }
    }
    (e_out.join(", "), f_out.join(", "))
}

fn result_text(ok: Option<String>, err: Option<String>) -> String {
    match (ok, err) {
        (None, None) => "result".into(),
        (Some(ok), None) => format!("result<{ok}>"),
        (None, Some(err)) => format!("result<_, {err}>"),
        (Some(ok), Some(err)) => format!("result<{ok}, {err}>"),
    }
}

fn case_text(name: &str, payload: Option<String>) -> String {
    match payload {
        Some(p) => format!("{name}({p})"),
        None => name.to_string(),
    }
}

fn kind_word(kind: &Kind) -> &'static str {
    match kind {
        Kind::Record(_) => "record",
        Kind::Variant(_) => "variant",
        Kind::Enum(_) => "enum",
        Kind::Flags(_) => "flags",
        _ => "type",
    }
}

/// A type of the component as WIT-like text, nested parts spelled out up
/// to `depth` levels and `...` below.
fn found_text(ty: &wt::Type, depth: usize) -> String {
    use wt::Type as T;
    if let Some(p) = primitive_name(ty) {
        return p.to_string();
    }
    let inner = |t: &wt::Type| if depth == 0 { "...".to_string() } else { found_text(t, depth - 1) };
    let inner_opt = |t: Option<wt::Type>| t.map(|t| inner(&t));
    let dots = depth == 0;
    match ty {
        T::List(l) => format!("list<{}>", inner(&l.ty())),
        T::FixedLengthList(l) => format!("list<{}, {}>", inner(&l.ty()), l.len()),
        T::Map(m) => format!("map<{}, {}>", inner(&m.key()), inner(&m.value())),
        T::Tuple(t) => format!("tuple<{}>", t.types().map(|t| inner(&t)).collect::<Vec<_>>().join(", ")),
        T::Option(o) => format!("option<{}>", inner(&o.ty())),
        T::Result(r) => result_text(inner_opt(r.ok()), inner_opt(r.err())),
        T::Record(_) if dots => "record { ... }".into(),
        T::Record(r) => {
            let fields: Vec<String> = r.fields().map(|f| format!("{}: {}", f.name, inner(&f.ty))).collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        T::Variant(_) if dots => "variant { ... }".into(),
        T::Variant(v) => {
            let cases: Vec<String> = v.cases().map(|c| case_text(c.name, inner_opt(c.ty))).collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        T::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        T::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
        T::Own(_) => "own<resource>".into(),
        T::Borrow(_) => "borrow<resource>".into(),
        T::Future(f) => inner_opt(f.ty()).map_or("future".into(), |t| format!("future<{t}>")),
        T::Stream(s) => inner_opt(s.ty()).map_or("stream".into(), |t| format!("stream<{t}>")),
        _ => "(unknown type)".into(),
    }
}

/// What a component item is, for a message: a function's type, or the kind
/// of item.
fn found_item_text(item: &ComponentItem) -> String {
    match item {
        ComponentItem::ComponentFunc(f) => {
            let params: Vec<String> =
                f.params().map(|(n, t)| format!("{n}: {}", found_text(&t, FOUND_DEPTH))).collect();
            let result = f.results().next().map(|t| format!(" -> {}", found_text(&t, FOUND_DEPTH))).unwrap_or_default();
            format!("{}({}){result}", if f.async_() { "async func" } else { "func" }, params.join(", "))
        }
        ComponentItem::CoreFunc(_) => "a core function".into(),
        ComponentItem::Module(_) => "a core module".into(),
        ComponentItem::Component(_) => "a component".into(),
        ComponentItem::ComponentInstance(_) => "an instance".into(),
        ComponentItem::Type(t) => format!("a type ({})", found_text(t, 1)),
        ComponentItem::Resource(_) => "a resource".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_contract_parses_with_its_interfaces_and_functions() {
        let contract = CONTRACT.as_ref().unwrap();
        let names = |list: &[InterfaceShape]| list.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&contract.exports), ["guest", "state"]);
        assert!(names(&contract.imports).contains(&"host".to_string()), "{:?}", names(&contract.imports));
        let guest = &contract.exports[0];
        let functions: Vec<&str> = guest.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(functions, ["init", "execute", "shutdown", "metadata", "required-capabilities", "health"]);
        let execute = &guest.functions[1];
        assert_eq!(execute.collapsed(), "func(input: input) -> result<output, error>");
        assert_eq!(
            execute.params[0].1.expanded(),
            "record input { data: list<u8>, metadata: metadata-map, context: execution-context }"
        );
    }

    #[test]
    fn compatible_contract_versions() {
        assert!(contract_compatible("0.1.0") && contract_compatible("0.1.7"));
        assert!(!contract_compatible("0.2.0") && !contract_compatible("1.1.0") && !contract_compatible("x"));
    }
}
