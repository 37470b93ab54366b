//! `hostile`: a test fixture that misbehaves on purpose, so a host can prove
//! it survives.
//!
//! Config `mode` (read at `init`) chooses the misbehaviour:
//!
//! | mode | what happens |
//! | --- | --- |
//! | `echo` (default) | `execute` returns its input unchanged (data and metadata) |
//! | `panic-in-init` | `init` panics, so the instance traps during `init` |
//! | `panic` | `execute` panics with `hostile: deliberate panic` (a trap: `panic = "abort"`) |
//! | `huge-output` | `execute` returns 100 MiB of `x` |
//! | `spin` | `execute` loops forever without yielding |
//! | `alloc-bomb` | `execute` allocates and touches 1 MiB chunks forever, keeping them all |
//! | `recurse` | `execute` recurses without bound, 4 KiB of stack per frame |
//!
//! Any other mode is an `invalid-config` error at `init`.

use std::hint::black_box;

use airssys_sdk::prelude::*;

/// The size of the `huge-output` answer: 100 MiB.
pub const HUGE_OUTPUT_BYTES: usize = 100 * 1024 * 1024;

/// The size of each `alloc-bomb` allocation: 1 MiB.
pub const ALLOC_CHUNK_BYTES: usize = 1024 * 1024;

/// The misbehaviour chosen by config `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Return the input unchanged.
    Echo,
    /// Panic inside `init`.
    PanicInInit,
    /// Panic inside `execute`.
    Panic,
    /// Return [`HUGE_OUTPUT_BYTES`] bytes.
    HugeOutput,
    /// Never return.
    Spin,
    /// Allocate until the memory runs out.
    AllocBomb,
    /// Recurse until the stack runs out.
    Recurse,
}

impl Mode {
    /// Every mode, with its config spelling.
    pub const ALL: [(&'static str, Mode); 7] = [
        ("echo", Mode::Echo),
        ("panic-in-init", Mode::PanicInInit),
        ("panic", Mode::Panic),
        ("huge-output", Mode::HugeOutput),
        ("spin", Mode::Spin),
        ("alloc-bomb", Mode::AllocBomb),
        ("recurse", Mode::Recurse),
    ];

    /// The mode spelled `name` in config.
    pub fn parse(name: &str) -> Result<Mode, Error> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, m)| *m).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            Error::invalid_config(format!(
                "config key `mode`: unknown mode {name:?}; expected one of: {}",
                known.join(", ")
            ))
        })
    }
}

/// The component: the mode it was started in.
#[derive(Debug)]
pub struct Hostile {
    mode: Mode,
}

impl Component for Hostile {
    fn metadata() -> Metadata {
        Metadata::new("hostile", "1.0.0", "Test fixture: misbehaves on purpose, as chosen by config `mode`")
            .accepts("*/*")
            .produces("*/*")
    }

    fn required_capabilities() -> Vec<Capability> {
        Vec::new()
    }

    fn init(config: &Config) -> Result<Self, Error> {
        let mode = Mode::parse(config.get("mode").map(str::trim).unwrap_or("echo"))?;
        if mode == Mode::PanicInInit {
            panic!("hostile: deliberate panic in init");
        }
        Ok(Hostile { mode })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        match self.mode {
            Mode::Echo | Mode::PanicInInit => Ok(Output { data: input.data, metadata: input.metadata }),
            Mode::Panic => panic!("hostile: deliberate panic"),
            Mode::HugeOutput => {
                Ok(Output::new(vec![b'x'; HUGE_OUTPUT_BYTES]).with_content_type("application/octet-stream"))
            }
            Mode::Spin => spin(),
            Mode::AllocBomb => alloc_bomb(),
            Mode::Recurse => {
                let depth = recurse(0);
                Err(Error::internal(format!("recursion ended at depth {depth}, which it never should")))
            }
        }
    }
}

/// Loops forever; `black_box` keeps the loop from being optimised away.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates 1 MiB chunks forever, writing every byte and keeping them all.
fn alloc_bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let chunk = black_box(vec![0xa5_u8; ALLOC_CHUNK_BYTES]);
        hoard.push(chunk);
        black_box(&mut hoard);
    }
}

/// Recurses without bound. Each frame holds a 4 KiB array whose address
/// escapes through `black_box`, and the result is used after the call, so it
/// is neither a tail call nor optimised into a loop. Returns only if
/// `black_box` says the depth is `u64::MAX`, which it never does.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0_u8; 4096];
    frame[(depth % 4096) as usize] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return depth;
    }
    let deeper = recurse(depth + 1);
    deeper.wrapping_add(u64::from(black_box(&frame)[0]))
}

airssys_sdk::export_component!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;

    fn init(mode: &str) -> Result<Hostile, Error> {
        Hostile::init(&Config::from_pairs([("mode", mode)]))
    }

    #[test]
    fn echo_is_the_default_and_returns_the_input() {
        let mut h = Hostile::init(&Config::default()).unwrap();
        let out = h.execute(Input::new(b"abc".to_vec()).with_metadata("content-type", "text/plain")).unwrap();
        assert_eq!(out.data, b"abc");
        assert_eq!(out.content_type(), Some("text/plain"));
    }

    #[test]
    fn unknown_mode_is_invalid_config() {
        let err = init("explode").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidConfig);
        assert!(err.message.contains("alloc-bomb"), "{}", err.message);
    }

    #[test]
    fn every_mode_parses() {
        for (name, mode) in Mode::ALL {
            assert_eq!(Mode::parse(name), Ok(mode));
        }
    }

    #[test]
    #[should_panic(expected = "hostile: deliberate panic in init")]
    fn panic_in_init_panics() {
        let _ = init("panic-in-init");
    }

    #[test]
    #[should_panic(expected = "hostile: deliberate panic")]
    fn panic_mode_panics() {
        let _ = init("panic").unwrap().execute(Input::new(b"x".to_vec()));
    }

    #[test]
    fn huge_output_is_100_mib_of_x() {
        let out = init("huge-output").unwrap().execute(Input::new(Vec::new())).unwrap();
        assert_eq!(out.data.len(), HUGE_OUTPUT_BYTES);
        assert!(out.data.iter().all(|&b| b == b'x'));
    }
}
