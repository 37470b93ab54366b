//! HTTPS for `airssys serve`: the rustls acceptor made from PEM files and
//! the listener that hands axum TLS streams (each handshake on its own task,
//! bounded in time). Owns nothing else of the server.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use crate::{Error, Result};

/// A server's TLS certificate chain and private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The rustls acceptor for a certificate chain and key in PEM files.
pub(super) fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let cert_what = || format!("the certificate file {}", files.cert.display());
    let key_what = || format!("the key file {}", files.key.display());
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls { what: cert_what(), problem: format!("{e}; it must hold PEM certificates") })?;
    if certs.is_empty() {
        return Err(Error::Tls { what: cert_what(), problem: "it holds no PEM certificate".into() });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| Error::Tls {
        what: key_what(),
        problem: format!("{e}; it must hold one PEM private key (PKCS#8, PKCS#1 or SEC1)"),
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls { what: "the TLS protocol versions".into(), problem: e.to_string() })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls {
            what: format!("{} with {}", cert_what(), key_what()),
            problem: format!("{e}; the key must be the certificate's own"),
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// TLS connections for `axum::serve`: a task accepts TCP connections and
/// runs each handshake on a task of its own (a slow or silent client holds
/// up no one; a handshake gets 10 s), handing finished ones over.
pub(super) struct TlsListener {
    addr: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    _acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub(super) fn new(listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum does.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(target: "airssys::http", %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(target: "airssys::http", %peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener { addr, ready, _acceptor: task }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self._acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task never ends on its own.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
