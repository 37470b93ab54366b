//! Signed components: ed25519 over the component's sha256 digest: keys,
//! signing, verifying and the trust policy's check (no data folder).
//!
//! Key files are one line of text: `airssys-ed25519-secret:<64 hex>` (mode
//! 0600 from its first byte; never replaced unless asked) and
//! `airssys-ed25519-public:<64 hex>`. A signature file is JSON:
//! `{"digest": "sha256:…", "public_key": "<hex>", "signature": "<hex>"}`.
//! The signed message is `airssys-component-v1:` followed by the 32 digest
//! bytes, so a signature cannot be replayed for another purpose.
//!
//! When the data folder's `trust.json` says `require_signatures`, a deploy
//! needs a signature (stored beside the blob by `registry add --sig`) made
//! by one of its `trusted_keys`; otherwise it is refused and audited.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{
    Digest, Error, Result,
    fsutil::{self, IfExists},
};

const SECRET_PREFIX: &str = "airssys-ed25519-secret:";
const PUBLIC_PREFIX: &str = "airssys-ed25519-public:";
const CONTEXT: &[u8] = b"airssys-component-v1:";

/// A component signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSignature {
    /// What was signed.
    pub digest: Digest,
    /// The signer's public key, hex.
    pub public_key: String,
    /// The ed25519 signature, hex.
    pub signature: String,
}

/// The data folder's signature policy (`DATA/trust.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrustPolicy {
    /// Refuse deploys without a valid signature from a trusted key.
    pub require_signatures: bool,
    /// Trusted public keys, hex.
    pub trusted_keys: Vec<String>,
}

fn message(digest: &Digest) -> Vec<u8> {
    let mut msg = CONTEXT.to_vec();
    msg.extend_from_slice(&hex::decode(digest.hex()).unwrap_or_default());
    msg
}

fn key_error(path: &Path, reason: &str) -> Error {
    Error::Signature(format!("{reason}: {}", path.display()))
}

fn read_key(path: &Path, prefix: &str) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read the key file", path, e))?;
    let hex_part = text
        .trim()
        .strip_prefix(prefix)
        .ok_or_else(|| key_error(path, &format!("not a key file (expected a line starting `{prefix}`)")))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut key).map_err(|_| key_error(path, "the key is not 64 hex digits"))?;
    Ok(key)
}

/// Makes a key pair: the secret key at `path` (mode 0600 from its first
/// byte, whatever the umask) and the public key at `path.pub` (the usual
/// mode). Returns the public key's hex. A bare file name means the current
/// folder; a missing folder is created 0700.
///
/// Both files are written or neither: a failure removes what this call
/// wrote. With `replace_existing` false, an existing secret or public key
/// file is refused ([`Error::Io`] with `AlreadyExists`) and left as it is;
/// with true, both are replaced (the old key is lost).
pub fn keygen(path: &Path, replace_existing: bool) -> Result<String> {
    let public_path = {
        let mut name = path.as_os_str().to_owned();
        name.push(".pub");
        std::path::PathBuf::from(name)
    };
    let if_exists = if replace_existing { IfExists::Replace } else { IfExists::Refuse };
    if if_exists == IfExists::Refuse {
        // Early and clear; the commits below refuse atomically anyway.
        for (file, action) in [(path, "write the secret key"), (public_path.as_path(), "write the public key")] {
            if file.symlink_metadata().is_ok() {
                return Err(Error::io(
                    action,
                    file,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a key file is already there and was left as it is; choose another name, or replace \
                         the key pair on purpose (`airssys keygen --force`: the old key is lost)",
                    ),
                ));
            }
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Randomness { purpose: "a new key", reason: e.to_string() })?;
    let secret = SigningKey::from_bytes(&seed);
    let public = hex::encode(secret.verifying_key().to_bytes());
    let secret_text = format!("{SECRET_PREFIX}{}\n", hex::encode(seed));
    let staged_secret = fsutil::stage(path, secret_text.as_bytes(), fsutil::SECRET_MODE, "write the secret key")?;
    let staged_public = fsutil::stage(
        &public_path,
        format!("{PUBLIC_PREFIX}{public}\n").as_bytes(),
        fsutil::FILE_MODE,
        "write the public key",
    )?;
    staged_secret.commit(if_exists)?;
    if let Err(e) = staged_public.commit(if_exists) {
        // Neither, then: take back the secret key this call put in place.
        if let Err(remove) = std::fs::remove_file(path) {
            tracing::warn!(error = %remove, path = %path.display(), "cannot remove the new secret key");
        }
        return Err(e);
    }
    Ok(public)
}

/// Reads a public key file; returns its hex.
pub fn read_public_key(path: &Path) -> Result<String> {
    Ok(hex::encode(read_key(path, PUBLIC_PREFIX)?))
}

/// Signs the component `bytes` with the secret key at `key`.
pub fn sign(bytes: &[u8], key: &Path) -> Result<ComponentSignature> {
    let secret = SigningKey::from_bytes(&read_key(key, SECRET_PREFIX)?);
    let digest = Digest::of(bytes);
    let signature = secret.sign(&message(&digest));
    Ok(ComponentSignature {
        digest,
        public_key: hex::encode(secret.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
    })
}

/// Checks that `signature` is valid for `digest` and made by `public_key`.
pub fn verify(digest: &Digest, signature: &ComponentSignature, public_key: &str) -> Result<()> {
    if signature.digest != *digest {
        return Err(Error::Signature(format!(
            "the signature is for {}, not for this component ({digest})",
            signature.digest
        )));
    }
    if !signature.public_key.eq_ignore_ascii_case(public_key) {
        return Err(Error::Signature("the signature was made by another key".into()));
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(public_key, &mut key).map_err(|_| Error::Signature("bad public key".into()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Error::Signature("bad public key".into()))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&signature.signature, &mut sig)
        .map_err(|_| Error::Signature("bad signature encoding".into()))?;
    key.verify(&message(digest), &Signature::from_bytes(&sig))
        .map_err(|_| Error::Signature("the signature does not match the component".into()))
}

/// Whether `signature` (if any) satisfies `policy` for `digest`.
pub fn check(policy: &TrustPolicy, digest: &Digest, signature: Option<&ComponentSignature>) -> Result<()> {
    if !policy.require_signatures {
        return Ok(());
    }
    let Some(signature) = signature else {
        return Err(Error::Signature(format!(
            "{digest} is unsigned and this runtime requires signatures; add it with `airssys registry add ... --sig FILE`"
        )));
    };
    if !policy.trusted_keys.iter().any(|k| k.eq_ignore_ascii_case(&signature.public_key)) {
        return Err(Error::Signature(format!(
            "{digest} is signed by key {}, which is not trusted here (`airssys trust add KEY.pub`)",
            signature.public_key
        )));
    }
    verify(digest, signature, &signature.public_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let public = keygen(&key, false).unwrap();
        assert_eq!(read_public_key(&dir.path().join("k.pub")).unwrap(), public);
        let sig = sign(b"component bytes", &key).unwrap();
        verify(&Digest::of(b"component bytes"), &sig, &public).unwrap();
        assert!(verify(&Digest::of(b"other bytes"), &sig, &public).is_err());
        let mut forged = sig.clone();
        forged.signature.replace_range(0..2, if &sig.signature[0..2] == "00" { "11" } else { "00" });
        assert!(verify(&Digest::of(b"component bytes"), &forged, &public).is_err());
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn keygen_never_replaces_a_key_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sub/k.key");
        let public_path = dir.path().join("sub/k.key.pub");
        let first = keygen(&key, false).unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&dir.path().join("sub")), 0o700, "the folder keygen made is private");
        let (secret_before, public_before) = (std::fs::read(&key).unwrap(), std::fs::read(&public_path).unwrap());

        let err = keygen(&key, false).unwrap_err();
        assert!(err.to_string().contains("already there"), "{err}");
        assert!(err.to_string().contains("--force"), "says how to replace it on purpose: {err}");
        assert_eq!(std::fs::read(&key).unwrap(), secret_before);
        assert_eq!(std::fs::read(&public_path).unwrap(), public_before);
        // A public key alone in the way is refused too, and nothing is written.
        std::fs::remove_file(&key).unwrap();
        assert!(keygen(&key, false).is_err());
        assert!(!key.exists());
        assert_eq!(std::fs::read(&public_path).unwrap(), public_before);
        std::fs::write(&key, &secret_before).unwrap();

        let second = keygen(&key, true).unwrap();
        assert_ne!(second, first);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(read_public_key(&public_path).unwrap(), second);
        let sig = sign(b"x", &key).unwrap();
        verify(&Digest::of(b"x"), &sig, &second).unwrap();
    }

    #[test]
    fn a_keygen_that_fails_leaves_neither_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        // The public key cannot be put in place: a folder has its name.
        std::fs::create_dir(dir.path().join("k.pub")).unwrap();
        assert!(keygen(&key, true).is_err());
        assert!(!key.exists(), "the secret key written first was taken back");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["k.pub"], "no temporary file is left");
    }

    #[test]
    fn policy_refuses_unsigned_and_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let trusted = keygen(&dir.path().join("a"), false).unwrap();
        keygen(&dir.path().join("b"), false).unwrap();
        let policy = TrustPolicy { require_signatures: true, trusted_keys: vec![trusted] };
        let digest = Digest::of(b"x");
        assert!(check(&policy, &digest, None).unwrap_err().to_string().contains("unsigned"));
        let by_b = sign(b"x", &dir.path().join("b")).unwrap();
        assert!(check(&policy, &digest, Some(&by_b)).unwrap_err().to_string().contains("not trusted"));
        let by_a = sign(b"x", &dir.path().join("a")).unwrap();
        check(&policy, &digest, Some(&by_a)).unwrap();
        check(&TrustPolicy::default(), &digest, None).unwrap();
    }
}
