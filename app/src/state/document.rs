//! The document: the open project, the pipeline on the canvas (a `Snarl`
//! of graph nodes), undo history over every project edit, the revision
//! that tells saved from unsaved, and what the last deploy put live. Its
//! `&mut self` methods are the edit primitives, called only by `studio`
//! (the canvas alone edits the `Snarl` in place, as egui-snarl wants, and
//! reports it). Nothing here sends requests or draws.

use std::collections::{BTreeMap, BTreeSet};

use egui_snarl::{NodeId, Snarl};
use host_core::{
    pipeline::{NodeContract, Pipeline},
    project::{Project, ServiceEntry},
    registry::ComponentRef,
};

use crate::{
    graph::{self, GraphNode, History},
    state::live::Live,
    worker::contract_of,
};

/// The project being edited.
#[derive(Debug, Default)]
pub struct Document {
    /// The open project (`None` until one opened).
    pub project: Option<Box<Project>>,
    /// The name of the pipeline on the canvas.
    pub pipeline: String,
    /// The pipeline on the canvas.
    pub graph: Snarl<GraphNode>,
    /// Undo and redo over the pipeline and the project's services.
    history: History<Snapshot>,
    /// The edit that made the last undo step, when the next edit of the
    /// same field joins it (typing a value is one step, not one a key).
    last_edit: Option<EditKey>,
    /// Bumped by every change `project.ron` would hold.
    revision: u64,
    /// The revision `project.ron` holds.
    saved: u64,
    /// What the last deploy put live.
    pub deployed: Deployed,
}

/// What the last deploy put live: the project's service entries and each
/// pipeline as it was.
#[derive(Debug, Default)]
pub struct Deployed {
    pub services: BTreeMap<String, ServiceEntry>,
    pub pipelines: BTreeMap<String, Pipeline>,
    /// The pipeline as it was when the deploy under way was asked for.
    pub pending: Option<Pipeline>,
}

/// One undo step: the pipeline and the project's services before an edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub pipeline: Pipeline,
    pub services: BTreeMap<String, ServiceEntry>,
}

/// An edit that may join the undo step of the edit before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditKey {
    /// A configuration value of a service.
    Config { service: String, key: String },
    /// The limits of a service.
    Limits { service: String },
    /// A WASI command's arguments.
    Args { service: String },
}

impl Document {
    /// The pipeline on the canvas.
    pub fn current_pipeline(&self) -> Pipeline {
        graph::from_snarl(&self.pipeline, &self.graph)
    }

    /// Whether the project has changes not saved to `project.ron`.
    pub fn is_dirty(&self) -> bool {
        self.revision != self.saved
    }

    /// The revision a save now would write.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// `project.ron` now holds `revision`.
    pub fn saved_at(&mut self, revision: u64) {
        self.saved = revision;
    }

    /// Whether there is an edit to undo, or to redo.
    pub fn can_undo(&self) -> bool {
        self.history.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.history.can_redo()
    }

    /// The service entry `name` of the project.
    pub fn service(&self, name: &str) -> Option<&ServiceEntry> {
        self.project.as_ref()?.file.services.get(name)
    }

    /// The nodes of `current` (the canvas) changed since the last deploy.
    pub fn changed_since_deploy(&self, current: &Pipeline) -> BTreeSet<String> {
        let Some(project) = &self.project else { return BTreeSet::new() };
        let services: BTreeSet<String> = project
            .file
            .services
            .iter()
            .filter(|(name, entry)| self.deployed.services.get(name.as_str()) != Some(entry))
            .map(|(name, _)| name.clone())
            .collect();
        let empty = Pipeline::new(&self.pipeline);
        let deployed = self.deployed.pipelines.get(&self.pipeline).unwrap_or(&empty);
        graph::changed_nodes(current, deployed, &services)
    }

    /// The media types of a service: deployed, or planned from the registry.
    pub fn contract_for(&self, live: &Live, service: &str) -> Option<NodeContract> {
        if let Some(info) = live.services.get(service) {
            return Some(info.contract());
        }
        let reference: ComponentRef = self.service(service)?.component.parse().ok()?;
        live.registry.iter().find(|r| r.name == reference.name)?.description.as_ref().map(contract_of)
    }

    /// The canvas node whose pipeline id is `id`.
    pub fn node_id(&self, id: &str) -> Option<NodeId> {
        self.graph.nodes_ids_data().find(|(_, node)| node.value.id == id).map(|(node, _)| node)
    }

    /// Takes a freshly opened project: the canvas shows its default
    /// pipeline, nothing is unsaved, and all of it counts as deployed.
    pub fn load(&mut self, project: Box<Project>, live: &Live) {
        self.deployed = Deployed {
            services: project.file.services.clone(),
            pipelines: project
                .file
                .pipelines
                .keys()
                .filter_map(|name| project.pipeline(name).ok().map(|p| (name.clone(), p)))
                .collect(),
            pending: None,
        };
        // host-core's rule for the default pipeline; where it has no answer
        // (several pipelines, none of them the default) the first is shown.
        let name = project
            .default_pipeline()
            .map(str::to_string)
            .or_else(|| project.file.pipelines.keys().next().cloned())
            .unwrap_or_else(|| "main".to_string());
        self.project = Some(project);
        self.show_pipeline(&name, live);
        self.revision = 0;
        self.saved = 0;
    }

    /// Takes the services of the project as applied on the target (a
    /// deploy, a grant, a new target): the canvas and its edits stay.
    pub fn take_applied(&mut self, applied: Project, live: &Live) {
        self.deployed.services = applied.file.services.clone();
        if let Some(pipeline) = self.deployed.pending.take() {
            self.deployed.pipelines.insert(pipeline.name.clone(), pipeline);
        }
        if let Some(project) = &mut self.project {
            project.file.services = applied.file.services;
        }
        self.refresh_contracts(live);
    }

    /// Shows the project's pipeline `name` (empty if it has none by that
    /// name), with a fresh undo history.
    pub fn show_pipeline(&mut self, name: &str, live: &Live) {
        let Some(project) = &self.project else { return };
        let pipeline = project.pipeline(name).unwrap_or_else(|_| Pipeline::new(name));
        self.graph = graph::to_snarl(&pipeline, |s| self.contract_for(live, s));
        self.pipeline = name.to_string();
        self.history = History::default();
        self.last_edit = None;
    }

    /// Keeps the canvas's pipeline in the project (saved with it).
    pub fn keep_pipeline(&mut self) {
        let current = self.current_pipeline();
        if let Some(project) = &mut self.project {
            project.set_pipeline(&current);
        }
    }

    /// Gives every node the contract of its service as known now.
    pub fn refresh_contracts(&mut self, live: &Live) {
        let contracts: Vec<(NodeId, Option<NodeContract>)> =
            self.graph.nodes_ids_data().map(|(id, node)| (id, self.contract_for(live, &node.value.service))).collect();
        for (id, contract) in contracts {
            if let Some(node) = self.graph.get_node_mut(id) {
                node.contract = contract;
            }
        }
    }

    /// The pipeline and the services now.
    fn snapshot(&self, pipeline: Pipeline) -> Snapshot {
        let services = self.project.as_ref().map(|p| p.file.services.clone()).unwrap_or_default();
        Snapshot { pipeline, services }
    }

    /// Starts an edit: one undo step (joined to the previous one when both
    /// edit the same field `key`), and the document is unsaved.
    pub fn begin_edit(&mut self, key: Option<EditKey>) {
        if key.is_none() || key != self.last_edit {
            let before = self.snapshot(self.current_pipeline());
            self.history.push(before);
        }
        self.last_edit = key;
        self.revision += 1;
    }

    /// The canvas changed the graph; `before` was the pipeline before.
    pub fn graph_edited(&mut self, before: Pipeline) {
        let before = self.snapshot(before);
        self.history.push(before);
        self.last_edit = None;
        self.revision += 1;
    }

    /// A change that is saved but no undo step (moved nodes, new grants).
    pub fn touch(&mut self) {
        self.revision += 1;
    }

    /// Goes back one edit; whether anything changed.
    pub fn undo(&mut self, live: &Live) -> bool {
        let now = self.snapshot(self.current_pipeline());
        let Some(before) = self.history.undo(now) else { return false };
        self.restore(before, live);
        true
    }

    /// Goes forward one undone edit; whether anything changed.
    pub fn redo(&mut self, live: &Live) -> bool {
        let now = self.snapshot(self.current_pipeline());
        let Some(next) = self.history.redo(now) else { return false };
        self.restore(next, live);
        true
    }

    fn restore(&mut self, snapshot: Snapshot, live: &Live) {
        if let Some(project) = &mut self.project {
            let mut services = snapshot.services;
            // Grants are the user's answers in the grant dialog, audited and
            // live on the target: undo does not take them back.
            for (name, entry) in &mut services {
                if let Some(now) = project.file.services.get(name) {
                    entry.grants.clone_from(&now.grants);
                }
            }
            project.file.services = services;
        }
        self.graph = graph::to_snarl(&snapshot.pipeline, |s| self.contract_for(live, s));
        self.last_edit = None;
        self.revision += 1;
    }

    /// The project's service for `reference`: the one that runs it, or a
    /// new one named after the component (`name`, `name-2`, ...); `None`
    /// without a project.
    pub fn service_for(&mut self, reference: &ComponentRef) -> Option<String> {
        let services = &mut self.project.as_mut()?.file.services;
        let text = reference.to_string();
        if let Some((name, _)) = services.iter().find(|(_, e)| e.component == text) {
            return Some(name.clone());
        }
        let base = &reference.name;
        let name = std::iter::once(base.clone())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .find(|n| !services.contains_key(n))
            .unwrap_or_else(|| base.clone());
        let entry = ServiceEntry {
            component: text,
            config: BTreeMap::new(),
            grants: Vec::new(),
            pool: 2,
            limits: None,
            args: Vec::new(),
        };
        services.insert(name.clone(), entry);
        Some(name)
    }

    /// Puts a node calling `service` at `at` (graph coordinates), or next
    /// to the others.
    pub fn insert_node(&mut self, service: &str, at: Option<egui::Pos2>, live: &Live) {
        let id = graph::fresh_id(&self.graph, service);
        let contract = self.contract_for(live, service);
        let at = at.unwrap_or_else(|| egui::pos2(60.0 + 30.0 * self.graph.nodes().count() as f32, 60.0));
        let node =
            GraphNode { id, service: service.to_string(), on_error: Default::default(), ports: Vec::new(), contract };
        self.graph.insert_node(at, node);
    }

    /// The project's service entry `name`, to edit.
    pub fn service_mut(&mut self, name: &str) -> Option<&mut ServiceEntry> {
        self.project.as_mut()?.file.services.get_mut(name)
    }
}
