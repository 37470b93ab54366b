//! Standard output that ends the process quietly when its reader has gone
//! (`airssys registry list | head -1`), as Unix tools do, where std's
//! `println!` would panic with "failed printing to stdout: Broken pipe".
//!
//! Every verb prints through here: `println!` and `print!` in this binary
//! are the macros of `main.rs`, which call [`print`]; raw output bytes go
//! through [`bytes`].
//!
//! The process keeps ignoring SIGPIPE (Rust's default): sockets to a server
//! or a client closing early must stay errors, not kill the process.

use std::io::{self, Write};

/// The exit status of a process whose output pipe was closed: 128 +
/// SIGPIPE (13), what a shell reports for a tool ended by SIGPIPE.
pub const CLOSED_STATUS: i32 = 141;

/// Writes formatted text to stdout. A closed stdout ends the process
/// quietly with [`CLOSED_STATUS`]; any other write error ends it with a
/// message and status 1.
pub fn print(args: std::fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        failed(&e);
    }
}

/// Writes bytes to stdout and flushes. A closed stdout ends the process
/// quietly with [`CLOSED_STATUS`]; other errors are returned.
pub fn bytes(data: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(data).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(CLOSED_STATUS),
        result => result,
    }
}

fn failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_STATUS);
    }
    eprintln!("error: cannot write the output: {e}");
    std::process::exit(1)
}
