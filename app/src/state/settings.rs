//! What the studio remembers between runs (eframe persists it): recent
//! projects, the theme, the remote form, the tab and the body view. Window
//! and panel sizes are remembered by eframe itself. Owns only preferences;
//! nothing here reaches the project, the runtime or a widget.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How the run console shows bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyView {
    Text,
    Hex,
    Json,
}

/// The tabs under the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    Console,
    Deploy,
    Metrics,
    Logs,
    Audit,
}

/// The preferences, as stored (fields left out of an older file take their
/// defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Projects opened, newest first.
    pub recent: Vec<PathBuf>,
    /// Dark theme (`None`: follow the system).
    pub dark: Option<bool>,
    /// The remote form's fields.
    pub remote_url: String,
    pub remote_token_file: String,
    /// The fleet form's fields: NATS URL(s), fleet name, credentials file
    /// (empty: none).
    pub fleet_url: String,
    pub fleet_name: String,
    pub fleet_creds: String,
    /// The tab shown under the canvas (`None`: the run console).
    pub tab: Option<Tab>,
    /// How the console shows bodies (`None`: as text).
    pub body_view: Option<BodyView>,
}

/// Recent projects kept.
const RECENT: usize = 8;
/// The remote form's URL until the user types another.
const REMOTE_URL: &str = "http://127.0.0.1:7411";
/// The fleet form's URL and name until the user types others (NATS's
/// default port; host-core's default fleet name).
const FLEET_URL: &str = "nats://127.0.0.1:4222";
const FLEET_NAME: &str = "default";

impl Settings {
    /// The settings of a first run.
    pub fn first_run() -> Self {
        Settings::default().completed()
    }

    /// Every field that has a default in use filled in (what the studio
    /// holds and hands back).
    pub fn completed(mut self) -> Self {
        if self.remote_url.is_empty() {
            self.remote_url = REMOTE_URL.to_string();
        }
        if self.fleet_url.is_empty() {
            self.fleet_url = FLEET_URL.to_string();
        }
        if self.fleet_name.is_empty() {
            self.fleet_name = FLEET_NAME.to_string();
        }
        self.tab = Some(self.tab());
        self.body_view = Some(self.body_view());
        self
    }

    /// The tab shown under the canvas.
    pub fn tab(&self) -> Tab {
        self.tab.unwrap_or(Tab::Console)
    }

    /// How the console shows bodies.
    pub fn body_view(&self) -> BodyView {
        self.body_view.unwrap_or(BodyView::Text)
    }

    /// Puts `dir` first among the recent projects.
    pub fn remember(&mut self, dir: PathBuf) {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        self.recent.retain(|d| *d != dir);
        self.recent.insert(0, dir);
        self.recent.truncate(RECENT);
    }
}
