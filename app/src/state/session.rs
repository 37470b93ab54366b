//! This session's doings, lost when the studio closes: the target in use,
//! what is under way (opening, running, deploying, traffic), the last run,
//! the status-bar notice with its level, the errors, and the open dialogs
//! (capability grants, unsaved changes). Written only by `studio::apply`
//! and `studio::replies`; views read it. Nothing here sends anything.

use std::path::{Path, PathBuf};

use host_core::{Capability, deploy::Strategy, pipeline::PipelineRun, project::Project, security::file_paths};

use crate::worker::Target;

/// The session.
#[derive(Debug)]
pub struct Session {
    /// The target in use.
    pub target: Target,
    /// A project folder being opened (or applied on a new target).
    pub opening: Option<PathBuf>,
    /// A run is under way.
    pub running: bool,
    /// The last run's outcome.
    pub run: Option<Result<PipelineRun, String>>,
    /// A deploy or rollback is under way.
    pub deploying: bool,
    /// Keep running the pipeline (traffic for a canary).
    pub traffic: bool,
    /// The last problem or notice, shown in the status bar.
    pub notice: Option<Notice>,
    /// Errors of deploys, rollbacks, additions and saves, newest last.
    pub errors: Vec<String>,
    /// A service waits for the user's decision on its capabilities.
    pub grant: Option<GrantDialog>,
    /// Leaving the project waits for the user's answer on unsaved changes.
    pub leaving: Option<Leave>,
    /// Where to go once the save under way succeeds.
    pub after_save: Option<Leave>,
    /// The user chose to quit: the window closes.
    pub quit: bool,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            target: Target::Embedded,
            opening: None,
            running: false,
            run: None,
            deploying: false,
            traffic: false,
            notice: None,
            errors: Vec::new(),
            grant: None,
            leaving: None,
            after_save: None,
            quit: false,
        }
    }
}

impl Session {
    /// Shows `text` in the status bar.
    pub fn tell(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), level: Level::Info });
    }

    /// Reports a failure: the status bar shows it, the error list keeps it.
    pub fn fail(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.errors.push(text.clone());
        self.notice = Some(Notice { text, level: Level::Error });
    }
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
}

/// How a notice is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something happened as asked.
    Info,
    /// Something failed or was refused.
    Error,
}

/// Where the user goes once unsaved changes are answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// Close the window.
    Quit,
    /// Open another project.
    Open(PathBuf),
}

/// The grant dialog: what a service asks for and what the user decides.
#[derive(Debug)]
pub struct GrantDialog {
    /// The project being applied (it goes back with the decisions).
    pub project: Box<Project>,
    pub service: String,
    pub component: String,
    pub rows: Vec<GrantRow>,
    /// Why the last answer was not taken (a scope that is no capability).
    pub problem: Option<String>,
    /// The deploy's strategy, when a deploy asked.
    pub strategy: Option<Strategy>,
}

impl GrantDialog {
    /// The dialog for `missing`: nothing allowed, each scope as proposed by
    /// [`suggested_scope`].
    pub fn new(
        project: Box<Project>,
        service: String,
        component: String,
        missing: Vec<Capability>,
        strategy: Option<Strategy>,
    ) -> Self {
        let rows = missing
            .into_iter()
            .map(|requested| GrantRow { scope: suggested_scope(&requested, &project.dir), requested, allow: false })
            .collect();
        GrantDialog { project, service, component, rows, problem: None, strategy }
    }
}

/// One requested capability in the grant dialog.
#[derive(Debug)]
pub struct GrantRow {
    pub requested: Capability,
    /// Editable: a narrower scope may be granted.
    pub scope: String,
    pub allow: bool,
}

/// The scope the dialog proposes: a folder a component asks for is backed
/// by the same path inside the project (`file-read:/data=PROJECT/data`),
/// not by the machine's own `/data`; a folder already backed by another
/// (`GUEST=HOST`) and other capabilities as requested.
pub fn suggested_scope(requested: &Capability, project_dir: &Path) -> String {
    let in_project = |value: &str| {
        let (guest, host) = file_paths(value);
        (guest == value && host == value)
            .then(|| format!("{guest}={}", project_dir.join(guest.trim_start_matches('/')).display()))
    };
    let proposed = match requested {
        Capability::FileRead(value) => in_project(value).map(Capability::FileRead),
        Capability::FileWrite(value) => in_project(value).map(Capability::FileWrite),
        _ => None,
    };
    proposed.unwrap_or_else(|| requested.clone()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_folder_is_proposed_inside_the_project() {
        let dir = Path::new("/p");
        let read = Capability::FileRead("/data".into());
        assert_eq!(suggested_scope(&read, dir), "file-read:/data=/p/data");
        let write = Capability::FileWrite("/out".into());
        assert_eq!(suggested_scope(&write, dir), "file-write:/out=/p/out");
        let backed = Capability::FileRead("/data=/srv".into());
        assert_eq!(suggested_scope(&backed, dir), "file-read:/data=/srv", "a backed folder stays");
        let env = Capability::EnvironmentRead("HOME".into());
        assert_eq!(suggested_scope(&env, dir), "env:HOME");
    }
}
