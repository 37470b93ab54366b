//! Takes the runtime thread's answers into the state: the one writer of
//! live data, and of the document and session where an answer changes
//! them (a project opened, deployed or granted; a save done; a failure
//! reported with its cause). Sends nothing: what must follow an answer
//! (open the copy a Save As wrote, leave after a save) comes back as
//! actions for `apply`.

use std::path::Path;

use host_core::{events::RuntimeEvent, project::Project};

use crate::{
    action::Action,
    state::{
        State,
        session::{GrantDialog, Leave, Level, Notice},
    },
    worker::Reply,
};

/// Takes `reply`; what must follow goes into `then`.
pub fn on_reply(state: &mut State, reply: Reply, then: &mut Vec<Action>) {
    let State { doc, live, session, settings: _, view } = state;
    match reply {
        Reply::Opened { project, services } => {
            session.opening = None;
            live.services = services;
            take_project(state, project);
        }
        Reply::Deployed { project, services } => {
            if shown(state, &project) {
                state.live.services = services;
                state.doc.take_applied(*project, &state.live);
            }
            state.session.deploying = false;
            state.session.tell("deployed");
        }
        Reply::Granted { project, services } => {
            session.opening = None;
            live.services = services;
            take_project(state, project);
            // The grants the user allowed are kept in project.ron with the next Save.
            state.doc.touch();
            if std::mem::take(&mut state.session.deploying) {
                state.session.tell("deployed");
            }
        }
        Reply::OpenFailed { dir, cause } | Reply::GrantFailed { dir, cause } => not_applied(state, &dir, &cause),
        Reply::Denied { dir, service, denied } => {
            let denied: Vec<String> = denied.iter().map(ToString::to_string).collect();
            let cause =
                format!("service `{service}` was not deployed: it needs {}, which you denied", denied.join(", "));
            not_applied(state, &dir, &cause);
        }
        Reply::DeployFailed { cause } => {
            doc.deployed.pending = None;
            session.deploying = false;
            session.fail(format!("deploy failed: {cause}"));
        }
        Reply::Failed { action, cause } => {
            session.deploying = false;
            session.fail(format!("cannot {action}: {cause}"));
        }
        Reply::Connected => {}
        Reply::ConnectFailed { kept, cause } => {
            session.opening = None;
            session.target = kept;
            session.fail(cause);
        }
        Reply::NeedsGrants { project, service, component, missing, strategy } => {
            session.grant = Some(GrantDialog::new(project, service, component, missing, strategy));
        }
        Reply::Ran(outcome) => {
            session.running = false;
            if outcome.is_err() {
                session.traffic = false;
            }
            session.run = Some(outcome);
        }
        Reply::RolledBack { record, services } => {
            session.deploying = false;
            session.tell(format!("{} rolled back to {}", record.service, record.to));
            live.update_services(services);
        }
        Reply::Added { reference, reused } => {
            let how = if reused { "already in the registry as" } else { "added to the registry as" };
            session.tell(format!("{how} {reference}: drag it from the palette onto the canvas"));
        }
        Reply::Pulled { reference, component, moved_from } => {
            let moved = moved_from.map(|old| format!(" (the tag moved: it was {old})")).unwrap_or_default();
            session.tell(format!("pulled {reference} as {component}{moved}: drag it from the palette onto the canvas"));
        }
        Reply::Saved { file, revision } => {
            // A save of a project since closed says nothing of this one.
            if doc.project.as_ref().is_some_and(|p| file.parent() == Some(p.dir.as_path())) {
                doc.saved_at(revision);
            }
            session.tell(format!("saved {}", file.display()));
            match session.after_save.take() {
                Some(Leave::Quit) => session.quit = true,
                Some(Leave::Open(dir)) => then.push(Action::Open(dir)),
                None => {}
            }
        }
        Reply::SavedAs { dir } => then.push(Action::Open(dir)),
        Reply::SaveFailed { cause } => {
            // Nothing is left: the document stays unsaved, and so open.
            session.after_save = None;
            session.fail(cause);
        }
        Reply::InputLoaded { text } => view.input = text,
        Reply::InputFailed { path, cause } => {
            session.notice =
                Some(Notice { text: format!("cannot read {}: {cause}", path.display()), level: Level::Error });
        }
        Reply::Refreshed { registry, audit, rollouts } => {
            live.registry = registry;
            live.audit = audit;
            live.rollouts = rollouts;
        }
        Reply::Fleet(Ok(status)) => {
            live.fleet = Some(*status);
            live.fleet_error = None;
        }
        Reply::Fleet(Err(cause)) => live.fleet_error = Some(cause),
        Reply::Event(event) => match *event {
            RuntimeEvent::Metrics { snapshot } => live.take_metrics(snapshot),
            RuntimeEvent::Rollout { event } => live.rollout_events.push(event),
            RuntimeEvent::Log { line } => live.push_log(line),
        },
    }
}

/// Whether `project` is the one on the canvas.
fn shown(state: &State, project: &Project) -> bool {
    state.doc.project.as_ref().is_some_and(|p| p.dir == project.dir)
}

/// An applied project: the one on the canvas keeps its canvas and edits
/// (a new target, a grant); another is loaded fresh and remembered.
fn take_project(state: &mut State, project: Box<Project>) {
    if shown(state, &project) {
        state.doc.take_applied(*project, &state.live);
        return;
    }
    state.settings.remember(project.dir.clone());
    state.doc.load(project, &state.live);
    state.session.run = None;
    state.view.canvas.reset();
}

/// The project in `dir` was not applied, because of `cause`: a deploy
/// failed if one was under way or a project is shown, else it did not open.
fn not_applied(state: &mut State, dir: &Path, cause: &str) {
    let session = &mut state.session;
    session.opening = None;
    state.doc.deployed.pending = None;
    let text = if session.deploying || state.doc.project.is_some() {
        format!("deploy failed: {cause}")
    } else {
        format!("cannot open {}: {cause}", dir.display())
    };
    session.deploying = false;
    session.fail(text);
}
