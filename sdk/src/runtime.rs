//! What [`export_component!`](crate::export_component) expands to calls into
//! this module. Not part of the public API: names here may change.

pub use std::cell::RefCell;
use std::thread::LocalKey;

use crate::component::{Component, Stateful};
use crate::config::Config;
use crate::types::{Error, Health, Input, Metadata, Output};

pub use crate::bindings;
pub use crate::bindings::plugin::exports::airssys::component::guest::Guest as GuestExport;
pub use crate::bindings::state::exports::airssys::component::state::Guest as StateExport;

/// Where the macro keeps the one instance of a component.
pub type Slot<T> = RefCell<Option<T>>;

/// The thread-local the macro declares.
pub type Key<T> = &'static LocalKey<Slot<T>>;

/// The configuration as it crosses the component boundary.
pub type RawConfig = Vec<(String, String)>;

fn with_instance<T, R>(key: Key<T>, f: impl FnOnce(&mut T) -> Result<R, Error>) -> Result<R, Error> {
    key.with(|slot| {
        let mut guard =
            slot.try_borrow_mut().map_err(|_| Error::internal("component instance is busy (re-entrant call)"))?;
        match guard.as_mut() {
            Some(instance) => f(instance),
            None => Err(Error::not_initialized()),
        }
    })
}

/// `guest.init`: builds the instance, replacing any previous one.
pub fn init<T: Component>(key: Key<T>, config: RawConfig) -> Result<(), Error> {
    let instance = T::init(&Config::new(config))?;
    key.with(|slot| {
        let mut guard =
            slot.try_borrow_mut().map_err(|_| Error::internal("component instance is busy (re-entrant call)"))?;
        *guard = Some(instance);
        Ok(())
    })
}

/// `guest.execute`.
pub fn execute<T: Component>(key: Key<T>, input: Input) -> Result<Output, Error> {
    with_instance(key, |c| c.execute(input))
}

/// `guest.shutdown`: calls [`Component::shutdown`] and drops the instance
/// whatever it returns.
pub fn shutdown<T: Component>(key: Key<T>) -> Result<(), Error> {
    let taken = key.with(|slot| {
        slot.try_borrow_mut()
            .map(|mut guard| guard.take())
            .map_err(|_| Error::internal("component instance is busy (re-entrant call)"))
    })?;
    match taken {
        Some(mut instance) => instance.shutdown(),
        None => Err(Error::not_initialized()),
    }
}

/// `guest.health`: `unhealthy("not initialized")` before `init`.
pub fn health<T: Component>(key: Key<T>) -> Health {
    key.with(|slot| match slot.try_borrow() {
        Ok(guard) => match guard.as_ref() {
            Some(instance) => instance.health(),
            None => Health::Unhealthy("not initialized".to_owned()),
        },
        Err(_) => Health::Degraded("busy".to_owned()),
    })
}

/// `guest.metadata`, with `stateful` matching the exported world.
pub fn metadata<T: Component>(stateful: bool) -> Metadata {
    let mut metadata = T::metadata();
    metadata.stateful = stateful;
    metadata
}

/// `state.snapshot`.
pub fn snapshot<T: Stateful>(key: Key<T>) -> Result<Vec<u8>, Error> {
    with_instance(key, |c| c.snapshot())
}

/// `state.restore`.
pub fn restore<T: Stateful>(key: Key<T>, data: Vec<u8>, from_version: String) -> Result<(), Error> {
    with_instance(key, |c| c.restore(data, &from_version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ErrorKind, Value};

    struct Counter {
        n: u64,
        step: u64,
    }

    impl Component for Counter {
        fn metadata() -> Metadata {
            Metadata::new("counter", "1.0.0", "counts calls")
        }
        fn init(config: &Config) -> Result<Self, Error> {
            Ok(Counter { n: 0, step: config.parse_or("step", 1)? })
        }
        fn execute(&mut self, _input: Input) -> Result<Output, Error> {
            self.n += self.step;
            Ok(Output::text(self.n.to_string()))
        }
    }

    impl Stateful for Counter {
        fn snapshot(&self) -> Result<Vec<u8>, Error> {
            Ok(self.n.to_string().into_bytes())
        }
        fn restore(&mut self, data: Vec<u8>, _from: &str) -> Result<(), Error> {
            self.n = std::str::from_utf8(&data)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::invalid_input("bad snapshot"))?;
            Ok(())
        }
    }

    thread_local! {
        static SLOT: Slot<Counter> = const { RefCell::new(None) };
    }

    fn kind<R>(r: Result<R, Error>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn lifecycle() {
        assert_eq!(kind(execute(&SLOT, Input::new("x"))), Some(ErrorKind::NotInitialized));
        assert_eq!(kind(snapshot(&SLOT)), Some(ErrorKind::NotInitialized));
        assert_eq!(kind(shutdown(&SLOT)), Some(ErrorKind::NotInitialized));
        assert_eq!(health(&SLOT), Health::Unhealthy("not initialized".into()));
        assert!(metadata::<Counter>(true).stateful);
        assert!(!metadata::<Counter>(false).stateful);

        let bad = vec![("step".to_string(), "two".to_string())];
        assert_eq!(kind(init(&SLOT, bad)), Some(ErrorKind::InvalidConfig));

        assert_eq!(init(&SLOT, vec![("step".into(), "2".into())]), Ok(()));
        assert_eq!(health(&SLOT), Health::Healthy);
        let out = execute(&SLOT, Input::new("x")).map(|o| o.data);
        assert_eq!(out, Ok(b"2".to_vec()));
        assert_eq!(snapshot(&SLOT), Ok(b"2".to_vec()));
        assert_eq!(restore(&SLOT, b"40".to_vec(), "0.9.0".into()), Ok(()));
        assert_eq!(kind(restore(&SLOT, b"zz".to_vec(), "0.9.0".into())), Some(ErrorKind::InvalidInput));
        let out = execute(&SLOT, Input::new("x"));
        assert_eq!(out.map(|o| o.metadata_value("content-type").cloned()), Ok(Some(Value::from("text/plain"))));
        assert_eq!(snapshot(&SLOT), Ok(b"42".to_vec()));

        assert_eq!(shutdown(&SLOT), Ok(()));
        assert_eq!(kind(execute(&SLOT, Input::new("x"))), Some(ErrorKind::NotInitialized));
    }
}
