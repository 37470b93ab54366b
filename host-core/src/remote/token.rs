//! The server's bearer token: read from or created in a private file, and
//! compared in constant time. Owns the token file's format.

use std::path::Path;

use crate::{
    Error, Result,
    fsutil::{self, IfExists},
};

/// Reads the token from `path`, or makes one and writes it there as a
/// secret (mode 0600 from its first byte, whatever the umask; a missing
/// folder is created 0700; an existing file is never replaced). Returns the
/// token and whether it was new.
pub fn load_or_create_token(path: &Path) -> Result<(String, bool)> {
    if let Some(token) = read_token(path)? {
        return Ok((token, false));
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Randomness { purpose: "a server token", reason: e.to_string() })?;
    let token = hex::encode(bytes);
    match fsutil::write_secret(path, format!("{token}\n").as_bytes(), IfExists::Refuse, "create the token file") {
        Ok(()) => Ok((token, true)),
        // Another server made it meanwhile: use that one.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            read_token(path)?.map(|token| (token, false)).ok_or_else(|| Error::TokenFile {
                path: path.to_path_buf(),
                problem: "it was removed while it was made; start the server again".into(),
            })
        }
        Err(e) => Err(e),
    }
}

/// The token in `path`; `None` when there is no such file.
pub(super) fn read_token(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Err(Error::TokenFile {
            path: path.to_path_buf(),
            problem: "it is empty; delete it to get a new token".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read the token file", path, e)),
    }
}

/// Same time for every token of the same length; a wrong length is refused at once.
pub(super) fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
