//! `componentize [--command|--reactor] IN.wasm OUT.wasm`
//! `componentize --wit FILE.wasm`
//! `componentize --interfaces FILE.wasm`
//!
//! Wraps a `wasm32-wasip1` core module (for example one built by
//! `clang --target=wasm32-wasi`) into a WebAssembly component. Its
//! `wasi_snapshot_preview1` imports are satisfied by the preview1-to-preview2
//! adapter shipped for wasmtime 48, so the component imports `wasi:*@0.2.x`
//! interfaces only.
//!
//! * `--command` (default): the module is a command with `_start`; the
//!   component exports `wasi:cli/run` and can be run with `wasmtime run`.
//! * `--reactor`: the module is a library without `_start`.
//!
//! The result is validated before it is written.
//!
//! Two inspection modes help check built components without other tools:
//! `--wit` prints a component's WIT (like `wasm-tools component wit`), and
//! `--interfaces` prints one `import NAME` / `export NAME` line per item of its
//! world, for example `export airssys:component/guest@0.1.0`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, DecodedWasm, WitPrinter};
use wit_parser::{PackageId, Resolve, WorldId};

const USAGE: &str = "usage: componentize [--command|--reactor] IN.wasm OUT.wasm
       componentize --wit FILE.wasm
       componentize --interfaces FILE.wasm";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Reactor,
}

#[derive(Debug, PartialEq, Eq)]
enum Args {
    Wrap { kind: Kind, input: PathBuf, output: PathBuf },
    Wit(PathBuf),
    Interfaces(PathBuf),
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args> {
    let mut kind = Kind::Command;
    let mut inspect: Option<fn(PathBuf) -> Args> = None;
    let mut paths = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--command" => kind = Kind::Command,
            "--reactor" => kind = Kind::Reactor,
            "--wit" => inspect = Some(Args::Wit),
            "--interfaces" => inspect = Some(Args::Interfaces),
            "-h" | "--help" => bail!("{USAGE}"),
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n{USAGE}"),
            path => paths.push(PathBuf::from(path)),
        }
    }
    if let Some(make) = inspect {
        return match <[PathBuf; 1]>::try_from(paths) {
            Ok([file]) => Ok(make(file)),
            Err(_) => bail!("expected exactly one path\n{USAGE}"),
        };
    }
    match <[PathBuf; 2]>::try_from(paths) {
        Ok([input, output]) => Ok(Args::Wrap { kind, input, output }),
        Err(_) => bail!("expected exactly two paths\n{USAGE}"),
    }
}

/// Whether `bytes` start like a core module (`\0asm`, version 1).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}

/// Wraps a wasip1 core module into a component.
fn componentize(module: &[u8], kind: Kind) -> Result<Vec<u8>> {
    if !is_core_module(module) {
        bail!("input is not a core WebAssembly module (already a component, or not wasm at all)");
    }
    let adapter = match kind {
        Kind::Command => WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        Kind::Reactor => WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    ComponentEncoder::default()
        .module(module)
        .context("reading the core module")?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter)
        .context("adding the wasi_snapshot_preview1 adapter")?
        .validate(true)
        .encode()
        .context("encoding the component")
}

/// Decodes a component into its resolved WIT and world.
fn decode_component(bytes: &[u8]) -> Result<(Resolve, WorldId)> {
    match wit_component::decode(bytes).context("decoding the component")? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => bail!("this is a WIT package, not a component"),
    }
}

/// The component's WIT, every package it uses nested in its root package.
fn component_wit(bytes: &[u8]) -> Result<String> {
    let (resolve, world) = decode_component(bytes)?;
    let main = resolve.worlds[world].package.context("the component's world has no package")?;
    let nested: Vec<PackageId> = resolve.packages.iter().map(|(id, _)| id).filter(|id| *id != main).collect();
    let mut printer = WitPrinter::default();
    printer.print(&resolve, main, &nested)?;
    Ok(printer.output.to_string())
}

/// One `import NAME` / `export NAME` line per item of the component's world.
fn component_interfaces(bytes: &[u8]) -> Result<Vec<String>> {
    let (resolve, world) = decode_component(bytes)?;
    let world = &resolve.worlds[world];
    let imports = world.imports.keys().map(|key| format!("import {}", resolve.name_world_key(key)));
    let exports = world.exports.keys().map(|key| format!("export {}", resolve.name_world_key(key)));
    Ok(imports.chain(exports).collect())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn run() -> Result<()> {
    match parse_args(std::env::args().skip(1))? {
        Args::Wrap { kind, input, output } => {
            let module = read(&input)?;
            let component =
                componentize(&module, kind).with_context(|| format!("componentizing {}", input.display()))?;
            std::fs::write(&output, &component).with_context(|| format!("writing {}", output.display()))?;
            eprintln!(
                "componentize: {} ({} bytes) -> {} ({} bytes)",
                input.display(),
                module.len(),
                output.display(),
                component.len()
            );
        }
        Args::Wit(file) => {
            let wit = component_wit(&read(&file)?).with_context(|| file.display().to_string())?;
            print!("{wit}");
        }
        Args::Interfaces(file) => {
            let lines = component_interfaces(&read(&file)?).with_context(|| file.display().to_string())?;
            for line in lines {
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("componentize: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_kinds_and_paths() {
        let wrap = |kind, i: &str, o: &str| Args::Wrap { kind, input: i.into(), output: o.into() };
        assert_eq!(args(&["in.wasm", "out.wasm"]).unwrap(), wrap(Kind::Command, "in.wasm", "out.wasm"));
        assert_eq!(args(&["--reactor", "a", "b"]).unwrap(), wrap(Kind::Reactor, "a", "b"));
        assert_eq!(args(&["--wit", "c.wasm"]).unwrap(), Args::Wit("c.wasm".into()));
        assert_eq!(args(&["--interfaces", "c"]).unwrap(), Args::Interfaces("c".into()));
        assert!(args(&["--wit", "a", "b"]).is_err());
        assert!(args(&["a"]).is_err());
        assert!(args(&["a", "b", "c"]).is_err());
        assert!(args(&["--bogus", "a", "b"]).is_err());
    }

    #[test]
    fn rejects_non_modules() {
        assert!(componentize(b"not wasm", Kind::Command).is_err());
        // a component header (layer 1) is refused too
        assert!(componentize(b"\0asm\x0d\0\x01\0", Kind::Command).is_err());
    }

    #[test]
    fn wraps_a_minimal_command() {
        // A core module with `_start`, a memory and no imports.
        let module = wat_module();
        let component = componentize(&module, Kind::Command).unwrap();
        assert!(component.starts_with(b"\0asm\x0d\0\x01\0"));
        let interfaces = component_interfaces(&component).unwrap();
        assert!(interfaces.iter().any(|l| l.starts_with("export wasi:cli/run@0.2")), "{interfaces:?}");
        assert!(component_wit(&component).unwrap().contains("world root"));
    }

    /// `(module (memory (export "memory") 1) (func (export "_start")))`,
    /// encoded by hand to avoid a `wat` dependency.
    fn wat_module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type: () -> ()
        m.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]); // func 0: type 0
        m.extend_from_slice(&[0x05, 0x03, 0x01, 0x00, 0x01]); // memory min 1
        m.extend_from_slice(&[
            0x07, 0x13, 0x02, // export section, 2 exports
            0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // memory 0
            0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // func 0
        ]);
        m.extend_from_slice(&[0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b]); // code: empty body
        m
    }
}
