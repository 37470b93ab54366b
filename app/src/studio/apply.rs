//! Carries out the user's actions: the one writer of the document and the
//! session for what the user asks, and the one sender of requests to the
//! runtime thread. Every project edit goes through `Document::begin_edit`
//! or `graph_edited`, so each is one undo step and marks the document
//! unsaved. Draws nothing; answers are `replies`' job.

use host_core::{Capability, pipeline::Pipeline};

use crate::{
    action::{Action, LeaveChoice, PaletteItem},
    state::{
        State,
        document::EditKey,
        session::{Leave, Level, Notice},
    },
    worker::{Request, Worker},
};

/// Carries out `action`.
pub fn apply(state: &mut State, worker: &mut Worker, action: Action) {
    let State { doc, live, session, settings: _, view } = state;
    // A refused wire is the outcome of one gesture: the next edit's outcome
    // (a silent success) replaces it rather than leaving it standing.
    if is_edit(&action) && session.notice.as_ref().is_some_and(|n| n.text.starts_with(WIRE_REFUSED)) {
        session.notice = None;
    }
    match action {
        Action::Open(dir) => open(state, worker, dir),
        Action::OpenAsking(dir) => {
            if doc.is_dirty() && doc.project.is_some() {
                session.leaving = Some(Leave::Open(dir));
            } else {
                open(state, worker, dir);
            }
        }
        Action::Quit => {
            if doc.is_dirty() && session.leaving.is_none() {
                session.leaving = Some(Leave::Quit);
            }
        }
        Action::Leave(choice) => leave(state, worker, choice),
        Action::Connect(target) => {
            let project = doc.project.as_ref().map(|p| p.dir.clone()).or_else(|| session.opening.clone());
            session.opening.clone_from(&project);
            session.target = target.clone();
            session.notice = None;
            // Another target's nodes are not this one's.
            live.fleet = None;
            live.fleet_error = None;
            worker.send(Request::Connect { target, project });
        }
        Action::Save => save(state, worker),
        Action::SaveAs(dir) => {
            let current = doc.current_pipeline();
            let Some(project) = &doc.project else { return };
            let mut copy = project.clone();
            copy.set_pipeline(&current);
            worker.send(Request::SaveAs { project: copy, dir });
        }
        Action::LoadInput(path) => worker.send(Request::LoadInput(path)),
        Action::ShowPipeline(name) => {
            if name != doc.pipeline {
                // This pipeline's edits stay in the project (saved with the next Save).
                doc.keep_pipeline();
                doc.show_pipeline(&name, live);
                session.run = None;
                view.canvas.reset();
            }
        }
        Action::AddNode { item, at } => {
            if matches!(item, PaletteItem::Component(_)) && doc.project.is_none() {
                return;
            }
            doc.begin_edit(None);
            let service = match item {
                PaletteItem::Service(name) => Some(name),
                PaletteItem::Component(reference) => doc.service_for(&reference),
            };
            if let Some(service) = service {
                doc.insert_node(&service, at, live);
            }
        }
        Action::DeleteNodes(ids) => {
            if ids.is_empty() {
                return;
            }
            doc.begin_edit(None);
            for id in ids {
                if doc.graph.get_node(id).is_some() {
                    doc.graph.remove_node(id);
                }
            }
            view.canvas.forget_selection();
        }
        Action::GraphEdited { before } => doc.graph_edited(before),
        Action::NodesMoved => doc.touch(),
        Action::SetErrorPolicy { node, policy } => {
            let Some(id) = doc.node_id(&node) else { return };
            if doc.graph.get_node(id).is_some_and(|n| n.on_error != policy) {
                doc.begin_edit(None);
                if let Some(n) = doc.graph.get_node_mut(id) {
                    n.on_error = policy;
                }
            }
        }
        Action::SetConfig { service, key, value } => {
            let Some(entry) = doc.service(&service) else { return };
            let known = match entry.config.get(&key) {
                Some(old) if *old == value => return,
                Some(_) => true,
                None => false,
            };
            // A new key is a step of its own; typing its value is the next one.
            doc.begin_edit(known.then(|| EditKey::Config { service: service.clone(), key: key.clone() }));
            if let Some(entry) = doc.service_mut(&service) {
                entry.config.insert(key, value);
            }
        }
        Action::RemoveConfig { service, key } => {
            if doc.service(&service).is_some_and(|e| e.config.contains_key(&key)) {
                doc.begin_edit(None);
                if let Some(entry) = doc.service_mut(&service) {
                    entry.config.remove(&key);
                }
            }
        }
        Action::SetArgs { service, args } => {
            if doc.service(&service).is_some_and(|e| e.args != args) {
                // Typing is one step per service, like a limit.
                doc.begin_edit(Some(EditKey::Args { service: service.clone() }));
                if let Some(entry) = doc.service_mut(&service) {
                    entry.args = args;
                }
            }
        }
        Action::SetLimits { service, limits } => {
            if doc.service(&service).is_some_and(|e| e.limits != Some(limits)) {
                doc.begin_edit(Some(EditKey::Limits { service: service.clone() }));
                if let Some(entry) = doc.service_mut(&service) {
                    entry.limits = Some(limits);
                }
            }
        }
        Action::Undo => {
            if doc.undo(live) {
                view.canvas.forget_selection();
            }
        }
        Action::Redo => {
            if doc.redo(live) {
                view.canvas.forget_selection();
            }
        }
        Action::Run { input } => run(state, worker, input),
        Action::SetTraffic(on) => session.traffic = on,
        Action::Deploy(form) => {
            let strategy = match form.strategy() {
                Ok(strategy) => strategy,
                Err(message) => return session.fail(format!("cannot deploy: {message}")),
            };
            let Some(project) = &doc.project else { return };
            session.deploying = true;
            doc.deployed.pending = Some(doc.current_pipeline());
            session.tell(format!("deploying with {}…", strategy.name()));
            worker.send(Request::Deploy { project: project.clone(), strategy });
        }
        Action::Rollback(service) => {
            session.deploying = true;
            session.tell(format!("rolling back {service}…"));
            worker.send(Request::Rollback { service });
        }
        Action::ClearLogs => live.logs.clear(),
        Action::Refresh => worker.send(Request::Refresh),
        Action::AddFile(path) => worker.send(Request::AddFile(path)),
        Action::PullOci(reference) => match &doc.project {
            Some(project) => {
                session.tell(format!("pulling {reference}…"));
                worker.send(Request::PullOci { reference, origins_dir: project.data_dir() });
            }
            None => session.tell("open a project first".to_string()),
        },
        Action::WireRefused(reason) => {
            session.notice = Some(Notice { text: format!("{WIRE_REFUSED}{reason}"), level: Level::Error });
        }
        Action::EditGrant { row, allow, scope } => {
            if let Some(row) = session.grant.as_mut().and_then(|d| d.rows.get_mut(row)) {
                row.allow = allow;
                row.scope = scope;
            }
        }
        Action::AnswerGrants(take_ticks) => answer_grants(state, worker, take_ticks),
    }
}

/// How a refused wire's notice starts.
const WIRE_REFUSED: &str = "wire refused: ";

/// Whether `action` edits the project or the canvas.
fn is_edit(action: &Action) -> bool {
    matches!(
        action,
        Action::AddNode { .. }
            | Action::DeleteNodes(_)
            | Action::GraphEdited { .. }
            | Action::NodesMoved
            | Action::SetErrorPolicy { .. }
            | Action::SetConfig { .. }
            | Action::RemoveConfig { .. }
            | Action::SetLimits { .. }
            | Action::SetArgs { .. }
            | Action::Undo
            | Action::Redo
    )
}

/// Opens `dir` on the runtime thread; the document is empty until it
/// answers.
fn open(state: &mut State, worker: &mut Worker, dir: std::path::PathBuf) {
    state.session.opening = Some(dir.clone());
    state.session.notice = None;
    state.doc = Default::default();
    worker.send(Request::Open(dir));
}

/// Writes the document: the canvas's pipeline goes into the project, and
/// the project to `project.ron` on the runtime thread.
fn save(state: &mut State, worker: &mut Worker) {
    let doc = &mut state.doc;
    doc.keep_pipeline();
    let Some(project) = &doc.project else { return };
    worker.send(Request::Save { project: project.clone(), revision: doc.revision() });
}

/// The answer to the unsaved-changes question.
fn leave(state: &mut State, worker: &mut Worker, choice: LeaveChoice) {
    let Some(leave) = state.session.leaving.take() else { return };
    match choice {
        LeaveChoice::Cancel => {}
        LeaveChoice::Save if state.doc.project.is_some() => {
            // Left once `project.ron` is written (`replies`); a failed save stays.
            state.session.after_save = Some(leave);
            save(state, worker);
        }
        LeaveChoice::Save | LeaveChoice::Discard => {
            let revision = state.doc.revision();
            state.doc.saved_at(revision);
            match leave {
                Leave::Quit => state.session.quit = true,
                Leave::Open(dir) => open(state, worker, dir),
            }
        }
    }
}

/// Runs the pipeline on the canvas with `input`.
fn run(state: &mut State, worker: &mut Worker, input: String) {
    let session = &mut state.session;
    session.running = true;
    if !session.traffic {
        session.run = None;
    }
    let pipeline: Pipeline = state.doc.current_pipeline();
    worker.send(Request::Run { pipeline, input: input.into_bytes() });
}

/// Continue (`take_ticks`: the ticked rows, with their scopes) or Deny all:
/// every row is decided and sent; a scope that is no capability stops it.
fn answer_grants(state: &mut State, worker: &mut Worker, take_ticks: bool) {
    let Some(dialog) = &mut state.session.grant else { return };
    let mut decisions = Vec::new();
    for row in &dialog.rows {
        let allowed = take_ticks && row.allow;
        let capability = if allowed {
            match row.scope.trim().parse::<Capability>() {
                Ok(narrowed) => narrowed,
                Err(e) => {
                    dialog.problem = Some(format!("`{}` is not a capability: {e}", row.scope));
                    return;
                }
            }
        } else {
            row.requested.clone()
        };
        decisions.push((capability, allowed));
    }
    if let Some(dialog) = state.session.grant.take() {
        worker.send(Request::Decide {
            project: dialog.project,
            service: dialog.service,
            decisions,
            strategy: dialog.strategy,
        });
    }
}
