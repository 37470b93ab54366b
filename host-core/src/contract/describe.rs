//! Describing a difference between the contract's type and the one a
//! component has (only run when there is one): both as WIT-like text, the
//! parts that agree left as the contract's type names, and where they first
//! differ.

use wasmtime::component::types::{self as wt, ComponentFunc, ComponentItem};

use super::shape::{FuncShape, Kind, Shape, primitive_name};

/// How deep a type the component has but the contract does not is spelled
/// out before `...`.
const FOUND_DEPTH: usize = 3;

impl FuncShape {
    /// The contract's type with every named type left as its name.
    pub fn collapsed(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|(n, s)| format!("{n}: {}", s.collapsed())).collect();
        let result = self.result.as_ref().map(|r| format!(" -> {}", r.collapsed())).unwrap_or_default();
        format!("func({}){result}", params.join(", "))
    }

    /// Both types, with what differs spelled out and what matches left as
    /// the contract's type names.
    pub fn pair(&self, found: &ComponentFunc) -> (String, String) {
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
    pub fn difference(&self, found: &ComponentFunc) -> String {
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
    pub fn collapsed(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.structure(&Shape::collapsed),
        }
    }

    /// Its structure one level deep, named parts left as names; a named
    /// record, variant, enum or flags keeps its name: `record input { ... }`.
    pub fn expanded(&self) -> String {
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
pub(super) fn found_item_text(item: &ComponentItem) -> String {
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
