//! Signed components: ed25519 over the component's sha256 digest.
//!
//! Key files are one line of text: `airssys-ed25519-secret:<64 hex>` (mode
//! 0600) and `airssys-ed25519-public:<64 hex>`. A signature file is JSON:
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

use crate::{Digest, Error, Result, fsutil};

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

/// Makes a key pair: the secret key at `path` (0600), the public key at
/// `path.pub`. Returns the public key's hex.
pub fn keygen(path: &Path) -> Result<String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Signature(format!("no entropy for a new key: {e}")))?;
    let secret = SigningKey::from_bytes(&seed);
    let public = hex::encode(secret.verifying_key().to_bytes());
    fsutil::write_atomic(path, format!("{SECRET_PREFIX}{}\n", hex::encode(seed)).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("protect the key file", path, e))?;
    }
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    fsutil::write_atomic(Path::new(&public_path), format!("{PUBLIC_PREFIX}{public}\n").as_bytes())?;
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
        let public = keygen(&key).unwrap();
        assert_eq!(read_public_key(&dir.path().join("k.pub")).unwrap(), public);
        let sig = sign(b"component bytes", &key).unwrap();
        verify(&Digest::of(b"component bytes"), &sig, &public).unwrap();
        assert!(verify(&Digest::of(b"other bytes"), &sig, &public).is_err());
        let mut forged = sig.clone();
        forged.signature.replace_range(0..2, if &sig.signature[0..2] == "00" { "11" } else { "00" });
        assert!(verify(&Digest::of(b"component bytes"), &forged, &public).is_err());
    }

    #[test]
    fn policy_refuses_unsigned_and_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let trusted = keygen(&dir.path().join("a")).unwrap();
        keygen(&dir.path().join("b")).unwrap();
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
