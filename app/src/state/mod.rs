//! The studio's state, split by how long each part lives: the
//! [`document`] (the project being edited, saved to `project.ron`), what
//! the runtime reports ([`live`]), this [`session`]'s doings and dialogs,
//! the persisted [`settings`], and the widgets' memory ([`view`]). Owns
//! the data and the rules that read it; nothing here draws, and nothing
//! here sends a request (that is `studio::apply`'s job).

pub mod document;
pub mod live;
pub mod session;
pub mod settings;
pub mod view;

use document::Document;
use live::Live;
use session::Session;
use settings::Settings;
use view::ViewState;

/// Everything the studio knows.
#[derive(Debug)]
pub struct State {
    pub doc: Document,
    pub live: Live,
    pub session: Session,
    pub settings: Settings,
    pub view: ViewState,
}

impl Default for State {
    fn default() -> Self {
        State {
            doc: Document::default(),
            live: Live::default(),
            session: Session::default(),
            settings: Settings::first_run(),
            view: ViewState::default(),
        }
    }
}
