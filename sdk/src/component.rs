//! The traits a component implements.

use crate::config::Config;
use crate::types::{Capability, Error, Health, Input, Metadata, Output};

/// An airssys component: implement this, then call
/// [`export_component!`](crate::export_component) once.
///
/// The host calls [`init`](Self::init) once after instantiation; the value it
/// returns lives in the instance and serves every later
/// [`execute`](Self::execute), [`health`](Self::health) and
/// [`shutdown`](Self::shutdown). Calls that arrive before a successful `init`
/// (or after `shutdown`) get an error of kind `not-initialized` without
/// reaching this trait.
pub trait Component: Sized + 'static {
    /// Describes the component. Runs without `init`, so it must not depend on
    /// configuration. The `stateful` flag is set by the export macro.
    fn metadata() -> Metadata;

    /// The capabilities the component needs. Runs without `init`.
    /// Default: none.
    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    /// Builds the instance from its configuration. Return an
    /// [`Error::invalid_config`] for missing or wrong keys; the host then
    /// refuses to serve the component. Calling `init` again replaces the
    /// instance.
    fn init(config: &Config) -> Result<Self, Error>;

    /// Processes one message.
    fn execute(&mut self, input: Input) -> Result<Output, Error>;

    /// Called once before the instance is dropped; release what you hold.
    /// Default: nothing to release.
    fn shutdown(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// The component's view of its own health. Default: [`Health::Healthy`].
    fn health(&self) -> Health {
        Health::Healthy
    }
}

/// A component whose state survives a hot upgrade; export it with
/// `export_component!(T, stateful)`.
///
/// On upgrade the host calls [`snapshot`](Self::snapshot) on the old version,
/// then `init` and [`restore`](Self::restore) on the new one. If `restore`
/// fails, the upgrade fails and the old version keeps serving.
pub trait Stateful: Component {
    /// Serializes the state.
    fn snapshot(&self) -> Result<Vec<u8>, Error>;

    /// Loads state written by `snapshot` of version `from_version` (which may
    /// be older than this one). Reject data you cannot read with
    /// [`Error::invalid_input`].
    fn restore(&mut self, data: Vec<u8>, from_version: &str) -> Result<(), Error>;
}
