//! `flood`: a test fixture, a plain WASI command (`wasi:cli/run`) that writes
//! stdout in 4 KiB chunks until told to stop, to test the host's output cap.
//!
//! Arguments (airssys passes a service's config as `--KEY=VALUE`):
//!
//! * `--bytes=N`: how much to write (default: without end);
//! * `--on-refusal=stop|ignore|panic`: what to do when a write is refused:
//!   exit with status 1 as C code checking `fwrite` would (`stop`, the
//!   default), carry on and exit 0 with cut output (`ignore`), or panic
//!   (`panic`, a trap).

use std::io::Write;

fn main() {
    let mut limit = u64::MAX;
    let mut on_refusal = String::from("stop");
    for arg in std::env::args().skip(1) {
        if let Some(n) = arg.strip_prefix("--bytes=") {
            limit = n.parse().unwrap_or(u64::MAX);
        } else if let Some(mode) = arg.strip_prefix("--on-refusal=") {
            on_refusal = mode.to_string();
        }
    }
    let chunk = [b'x'; 4096];
    let mut stdout = std::io::stdout().lock();
    let mut written = 0u64;
    while written < limit {
        let n = usize::try_from((limit - written).min(chunk.len() as u64)).unwrap_or(chunk.len());
        match stdout.write_all(&chunk[..n]).and_then(|()| stdout.flush()) {
            Ok(()) => written += n as u64,
            Err(error) => match on_refusal.as_str() {
                "ignore" => break,
                "panic" => panic!("flood: write refused after {written} bytes: {error}"),
                _ => {
                    eprintln!("flood: write refused after {written} bytes: {error}");
                    std::process::exit(1);
                }
            },
        }
    }
}
