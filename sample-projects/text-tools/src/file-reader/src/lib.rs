//! `file-reader`: returns the contents of a file under a granted folder.
//!
//! The input is a path relative to the folder named by config `root`
//! (default `/data`), as UTF-8 text; surrounding whitespace is ignored. The
//! output is the file's bytes, unchanged, with `content-type: text/plain`.
//!
//! The component asks for `file-read:/data`. The host decides what it really
//! gets: it preopens the granted folder at the same path inside the sandbox,
//! so a folder that was not granted does not exist for the component at all.
//! The checks here (no absolute path, no `..`) are defence in depth; the
//! host's sandbox is the real wall.
//!
//! Errors: an empty, absolute or `..` path and a missing file or a folder are
//! `invalid-input`; a file the OS refuses to open is `denied`; anything else
//! is `internal`. Messages carry the OS error text.

use std::io;
use std::path::{Component as PathPart, Path, PathBuf};

use airssys_sdk::prelude::*;

/// The folder read from when config `root` is absent.
pub const DEFAULT_ROOT: &str = "/data";

/// The component: the folder it reads from.
#[derive(Debug)]
pub struct FileReader {
    root: PathBuf,
}

impl Component for FileReader {
    fn metadata() -> Metadata {
        Metadata::new("file-reader", "1.0.0", "Returns the contents of a file under a granted folder")
            .accepts("text/plain")
            .produces("text/plain")
    }

    fn required_capabilities() -> Vec<Capability> {
        vec![Capability::FileRead(DEFAULT_ROOT.into())]
    }

    fn init(config: &Config) -> Result<Self, Error> {
        let root = config.get("root").map(str::trim).unwrap_or(DEFAULT_ROOT);
        if root.is_empty() {
            return Err(Error::invalid_config("config key `root` is empty; set it with --config root=/data"));
        }
        if !root.starts_with('/') {
            return Err(Error::invalid_config(format!("config key `root` must be an absolute path, got {root:?}")));
        }
        Ok(FileReader { root: PathBuf::from(root) })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let relative = checked_relative(input.text()?.trim())?;
        let path = self.root.join(relative);
        let data = std::fs::read(&path).map_err(|e| read_error(relative, &e))?;
        log::debug("read file", &[("path", &path.to_string_lossy()), ("bytes", &data.len().to_string())]);
        Ok(Output::new(data).with_content_type("text/plain"))
    }
}

/// `text` as a path under the root: not empty, not absolute, no `..`.
fn checked_relative(text: &str) -> Result<&Path, Error> {
    if text.is_empty() {
        return Err(Error::invalid_input("expected a relative file path, got empty input"));
    }
    let path = Path::new(text);
    if text.starts_with('/') || path.has_root() {
        return Err(Error::invalid_input(format!(
            "absolute paths are refused: {text:?}; give a path relative to the root"
        )));
    }
    for part in path.components() {
        match part {
            PathPart::Normal(_) | PathPart::CurDir => {}
            PathPart::ParentDir => {
                return Err(Error::invalid_input(format!("paths containing `..` are refused: {text:?}")));
            }
            PathPart::RootDir | PathPart::Prefix(_) => {
                return Err(Error::invalid_input(format!("absolute paths are refused: {text:?}")));
            }
        }
    }
    Ok(path)
}

/// Maps a failed read to the contract's error kinds, keeping the OS text.
fn read_error(relative: &Path, e: &io::Error) -> Error {
    let shown = relative.display();
    match e.kind() {
        io::ErrorKind::NotFound => Error::invalid_input(format!("no such file: {shown} ({e})")),
        io::ErrorKind::IsADirectory => Error::invalid_input(format!("not a file: {shown} is a directory ({e})")),
        io::ErrorKind::PermissionDenied => Error::denied(format!("cannot read {shown}: {e}")),
        _ => Error::internal(format!("cannot read {shown}: {e}")),
    }
}

airssys_sdk::export_component!(FileReader);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh folder under the system temp dir holding `files`.
    fn folder(files: &[(&str, &[u8])]) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "airssys-file-reader-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for (name, data) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, data).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn reader(root: &Path) -> FileReader {
        FileReader::init(&Config::from_pairs([("root", root.to_str().unwrap())])).unwrap()
    }

    #[test]
    fn reads_a_file_relative_to_root() {
        let dir = folder(&[("a.txt", b"hello\n"), ("sub/b.txt", &[0xff, 0x00, b'x'])]);
        let mut r = reader(&dir);
        let out = r.execute(Input::new(" a.txt\n")).unwrap();
        assert_eq!(out.data, b"hello\n");
        assert_eq!(out.content_type(), Some("text/plain"));
        // bytes come back unchanged, UTF-8 or not
        assert_eq!(r.execute(Input::new("./sub/b.txt")).unwrap().data, [0xff, 0x00, b'x']);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_absolute_and_parent_paths() {
        let dir = folder(&[("a.txt", b"x")]);
        let mut r = reader(&dir);
        for bad in ["/etc/passwd", "../a.txt", "sub/../../a.txt", "a/..", "", "   "] {
            let err = r.execute(Input::new(bad)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad:?}: {}", err.message);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_file_and_folder_are_invalid_input() {
        let dir = folder(&[("sub/b.txt", b"x")]);
        let mut r = reader(&dir);
        let err = r.execute(Input::new("nope.txt")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.starts_with("no such file: nope.txt ("), "{}", err.message);
        let err = r.execute(Input::new("sub")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{}", err.message);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn error_kinds_follow_the_os_error() {
        let p = Path::new("f");
        let denied = read_error(p, &io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(denied.kind, ErrorKind::Denied);
        assert!(denied.message.starts_with("cannot read f: "));
        assert_eq!(read_error(p, &io::Error::other("disk on fire")).kind, ErrorKind::Internal);
    }

    #[test]
    fn config_root_defaults_to_data_and_must_be_absolute() {
        assert_eq!(FileReader::init(&Config::default()).unwrap().root, Path::new("/data"));
        for bad in ["", "data", "  "] {
            let err = FileReader::init(&Config::from_pairs([("root", bad)])).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidConfig, "{bad:?}");
        }
    }

    #[test]
    fn metadata_and_capabilities_need_no_init() {
        let m = FileReader::metadata();
        assert_eq!((m.name.as_str(), m.version.as_str()), ("file-reader", "1.0.0"));
        assert_eq!(FileReader::required_capabilities(), [Capability::FileRead("/data".into())]);
    }
}
