//! The contract as the check sees it: the interfaces of the world
//! `stateful-plugin` in `wit/component.wit`, read once with `wit-parser`,
//! each function's type as a [`Shape`] tree; and the comparison of a shape
//! with a type wasmtime found in a component.

use std::sync::LazyLock;

use wasmtime::component::types::{self as wt, ComponentFunc};

/// The contract's WIT text, compiled into the host.
const CONTRACT_WIT: &str = include_str!("../../../wit/component.wit");
/// The world whose imports and exports are checked (the larger of the two).
const WORLD: &str = "stateful-plugin";

pub(super) static CONTRACT: LazyLock<std::result::Result<Contract, String>> = LazyLock::new(Contract::parse);

/// The contract's interfaces with their functions' types.
#[derive(Debug)]
pub(super) struct Contract {
    pub exports: Vec<InterfaceShape>,
    pub imports: Vec<InterfaceShape>,
}

#[derive(Debug)]
pub(super) struct InterfaceShape {
    /// The short name, e.g. `guest`.
    pub name: String,
    pub functions: Vec<FuncShape>,
}

impl InterfaceShape {
    pub fn function_names(&self) -> String {
        if self.functions.is_empty() {
            return "no functions".into();
        }
        self.functions.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug)]
pub(super) struct FuncShape {
    pub name: String,
    pub params: Vec<(String, Shape)>,
    pub result: Option<Shape>,
}

/// A WIT type as the check compares it: structural, with the contract's own
/// type name kept (`input`, `metadata-map`) for messages only.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub name: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
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

// Comparing: allocation-free, as this runs on every load.

impl FuncShape {
    pub fn matches(&self, found: &ComponentFunc) -> bool {
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

pub(super) fn primitive_name(ty: &wt::Type) -> Option<&'static str> {
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
    pub fn matches(&self, found: &wt::Type) -> bool {
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
}
