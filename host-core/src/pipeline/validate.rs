//! Checks a pipeline before it runs (and the studio before it wires):
//! dangling wires, cycles, unknown services and ports, media-type mismatches.
//! Every problem names the node or wire it is about. Pure: it reads the
//! pipeline and the node contracts it is given, nothing else.

use std::collections::{BTreeMap, BTreeSet};

use super::{DEFAULT_PORT, ERROR_PORT, ErrorPolicy, Pipeline, Wire};
pub use crate::types::PipelineError;

/// What a node's component says it accepts and produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeContract {
    /// Accepted media types (`*/*` and `type/*` wildcards allowed).
    pub accepts: Vec<String>,
    /// Produced media types.
    pub produces: Vec<String>,
}

/// Whether a produced media type satisfies an accepted one.
pub fn media_type_matches(produced: &str, accepted: &str) -> bool {
    let split = |t: &str| {
        let t = t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase();
        let (main, sub) = t.split_once('/').map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or((t, "*".into()));
        (main, sub)
    };
    let (pm, ps) = split(produced);
    let (am, asub) = split(accepted);
    (am == "*" || pm == "*" || am == pm) && (asub == "*" || ps == "*" || asub == ps)
}

/// Whether anything `from` produces is accepted by `to` (unknown = yes).
pub fn compatible(from: &NodeContract, to: &NodeContract) -> bool {
    from.produces.is_empty()
        || to.accepts.is_empty()
        || from.produces.iter().any(|p| to.accepts.iter().any(|a| media_type_matches(p, a)))
}

/// The ports a node may send on.
pub fn node_ports(pipeline: &Pipeline, id: &str) -> Vec<String> {
    let Some(node) = pipeline.nodes.get(id) else { return Vec::new() };
    let mut ports = vec![DEFAULT_PORT.to_string()];
    ports.extend(node.ports.iter().cloned());
    if node.on_error == ErrorPolicy::Route {
        ports.push(ERROR_PORT.to_string());
    }
    ports.dedup();
    ports
}

/// The node ids in topological order (ties by id), or the nodes left on a
/// cycle.
pub fn topological_order(pipeline: &Pipeline) -> Result<Vec<String>, Vec<String>> {
    let mut indegree: BTreeMap<&str, usize> = pipeline.nodes.keys().map(|k| (k.as_str(), 0)).collect();
    for wire in &pipeline.wires {
        if pipeline.nodes.contains_key(&wire.from)
            && let Some(d) = indegree.get_mut(wire.to.as_str())
        {
            *d += 1;
        }
    }
    let mut ready: BTreeSet<&str> = indegree.iter().filter(|(_, d)| **d == 0).map(|(k, _)| *k).collect();
    let mut order = Vec::new();
    while let Some(id) = ready.pop_first() {
        order.push(id.to_string());
        for wire in pipeline.wires.iter().filter(|w| w.from == id) {
            if let Some(d) = indegree.get_mut(wire.to.as_str()) {
                *d -= 1;
                if *d == 0 {
                    ready.insert(wire.to.as_str());
                }
            }
        }
    }
    if order.len() == pipeline.nodes.len() {
        Ok(order)
    } else {
        Err(indegree.into_iter().filter(|(_, d)| *d > 0).map(|(k, _)| k.to_string()).collect())
    }
}

/// Checks `pipeline`; `contract` gives a service's media types, or `None`
/// when the service does not exist. Returns every problem found.
pub fn validate(
    pipeline: &Pipeline,
    contract: impl Fn(&str) -> Option<NodeContract>,
) -> Result<Vec<String>, Vec<PipelineError>> {
    let mut errors = Vec::new();
    if pipeline.nodes.is_empty() {
        errors.push(PipelineError::Empty);
    }
    let contracts: BTreeMap<&str, Option<NodeContract>> =
        pipeline.nodes.iter().map(|(id, node)| (id.as_str(), contract(&node.service))).collect();
    for (id, node) in &pipeline.nodes {
        if contracts.get(id.as_str()).is_some_and(Option::is_none) {
            errors.push(PipelineError::UnknownService { node: id.clone(), service: node.service.clone() });
        }
    }
    for wire in &pipeline.wires {
        errors.extend(check_wire(pipeline, wire, &contracts));
    }
    let order = match topological_order(pipeline) {
        Ok(order) => Some(order),
        Err(nodes) => {
            errors.push(PipelineError::Cycle { nodes });
            None
        }
    };
    match order {
        Some(order) if errors.is_empty() => Ok(order),
        _ => Err(errors),
    }
}

fn check_wire(
    pipeline: &Pipeline,
    wire: &Wire,
    contracts: &BTreeMap<&str, Option<NodeContract>>,
) -> Vec<PipelineError> {
    let mut errors = Vec::new();
    for end in [&wire.from, &wire.to] {
        if !pipeline.nodes.contains_key(end) {
            errors.push(PipelineError::DanglingWire { wire: wire.to_string(), node: end.clone() });
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    let allowed = node_ports(pipeline, &wire.from);
    if !allowed.contains(&wire.port) {
        errors.push(PipelineError::UnknownPort {
            wire: wire.to_string(),
            node: wire.from.clone(),
            port: wire.port.clone(),
            allowed,
        });
    }
    // The error port carries error text, whatever the component produces.
    if wire.port != ERROR_PORT
        && let (Some(Some(from)), Some(Some(to))) = (contracts.get(wire.from.as_str()), contracts.get(wire.to.as_str()))
        && !compatible(from, to)
    {
        errors.push(PipelineError::MediaTypeMismatch {
            wire: wire.to_string(),
            from: wire.from.clone(),
            to: wire.to.clone(),
            produces: from.produces.clone(),
            accepts: to.accepts.clone(),
        });
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> NodeContract {
        NodeContract { accepts: vec!["text/plain".into()], produces: vec!["text/plain".into()] }
    }

    fn json() -> NodeContract {
        NodeContract { accepts: vec!["application/json".into()], produces: vec!["application/json".into()] }
    }

    fn contracts(service: &str) -> Option<NodeContract> {
        match service {
            "upper" => Some(text()),
            "pretty" => Some(json()),
            "any" => {
                Some(NodeContract { accepts: vec!["*/*".into()], produces: vec!["application/octet-stream".into()] })
            }
            _ => None,
        }
    }

    #[test]
    fn a_valid_graph_comes_back_in_topological_order() {
        let p = Pipeline::new("p")
            .node("b", "upper")
            .node("a", "upper")
            .node("c", "any")
            .wire("a", "out", "b")
            .wire("b", "out", "c");
        assert_eq!(validate(&p, contracts).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn each_problem_names_its_node_or_wire() {
        let p = Pipeline::new("p")
            .node("a", "upper")
            .node("b", "pretty")
            .node("c", "nope")
            .wire("a", "out", "b")
            .wire("a", "out", "ghost")
            .wire("a", "alert", "c");
        let errors = validate(&p, contracts).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.contains("a.out -> b") && e.contains("accepts application/json")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("`ghost`, which does not exist")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("node `c` calls service `nope`")), "{text:?}");
        assert!(text.iter().any(|e| e.contains("port `alert`") && e.contains("out")), "{text:?}");
    }

    #[test]
    fn cycles_are_refused_naming_the_nodes() {
        let p = Pipeline::new("p")
            .node("a", "upper")
            .node("b", "upper")
            .node("c", "upper")
            .wire("a", "out", "b")
            .wire("b", "out", "c")
            .wire("c", "out", "b");
        let errors = validate(&p, contracts).unwrap_err();
        assert_eq!(errors, vec![PipelineError::Cycle { nodes: vec!["b".into(), "c".into()] }]);
    }

    #[test]
    fn declared_and_error_ports_are_allowed() {
        let p = Pipeline::new("p")
            .node_with("a", "upper", ErrorPolicy::Route, &["alert"])
            .node("b", "any")
            .node("c", "any")
            .wire("a", "alert", "b")
            .wire("a", "error", "c");
        assert!(validate(&p, contracts).is_ok());
    }

    #[test]
    fn media_types_match_with_wildcards_and_parameters() {
        assert!(media_type_matches("text/plain; charset=utf-8", "text/*"));
        assert!(media_type_matches("application/json", "*/*"));
        assert!(!media_type_matches("application/json", "text/plain"));
    }
}
