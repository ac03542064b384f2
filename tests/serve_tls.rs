//! `tilldesk serve --tls-cert/--tls-key` as a chain runs it on its own address: the backend serves HTTPS (the first
//! line says `listening on https://…`), a till that does not trust the chain's certificate authority is refused
//! before anything reaches the backend (its enrolment code still works), the same till given the authority's root
//! with `TILLDESK_BACKEND_CA_FILE` joins and pays through the backend. A key that is not a key, or a key of another
//! certificate, stops `serve` with the file's name before it listens.

mod cli_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli_common::{fails, ok};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};

fn tilldesk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    c.arg("--data-dir")
        .arg(data)
        .env("TILLDESK_PASSPHRASE", "till vault passphrase")
        .env_remove("TILLDESK_DATABASE_URL")
        .env_remove("TILLDESK_BACKEND_CA_FILE");
    c
}

/// The chain's own certificate authority and a server certificate for 127.0.0.1 it issued, as PEM files in `dir`:
/// (ca.pem, cert.pem, key.pem).
fn chain_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Chain Stores Root CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "backend.chain.test");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = server.signed_by(&key, &issuer).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn a_backend_serves_https_and_a_till_that_trusts_its_authority_joins_and_pays() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, till) = (dir.path().join("backend"), dir.path().join("till"));
    let (ca, cert, key) = chain_pki(dir.path());
    let code =
        ok(tilldesk(&backend).args(["serve", "add-till", "--store", "S001", "--name", "till 1"]).output().unwrap())
            .trim()
            .to_owned();

    let mut command = tilldesk(&backend);
    command.args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"]).arg(&cert).arg("--tls-key").arg(&key);
    let (serving, url) = cli_common::serve(command);
    let port: u16 = url.strip_prefix("https://127.0.0.1:").and_then(|p| p.parse().ok()).expect(&url);
    assert_ne!(port, 0);

    // Not trusted: refused at the handshake, in words; the code was never sent, so it still works.
    let refused = fails(tilldesk(&till).args(["backend", "join", &url, "--code", &code]).output().unwrap());
    assert!(refused.contains("did not answer"), "{refused}");
    assert!(refused.contains("invalid peer certificate: UnknownIssuer"), "the reason names the certificate: {refused}");

    // A root file that holds no certificate is named.
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let refused = fails(
        tilldesk(&till)
            .args(["backend", "join", &url, "--code", &code])
            .env("TILLDESK_BACKEND_CA_FILE", &not_pem)
            .output()
            .unwrap(),
    );
    assert!(refused.contains("TILLDESK_BACKEND_CA_FILE=") && refused.contains("not-a-ca.pem"), "{refused}");

    // Trusted: joined, and a payment goes through the backend over HTTPS.
    let trusted = |c: &mut Command| {
        c.env("TILLDESK_BACKEND_CA_FILE", &ca);
    };
    let mut join = tilldesk(&till);
    trusted(&mut join);
    let joined = ok(join.args(["backend", "join", &url, "--code", &code]).output().unwrap());
    assert!(joined.starts_with(&format!("joined {url} as till #1 \"till 1\" of store S001")), "{joined}");
    let mut pay = tilldesk(&till);
    trusted(&mut pay);
    let paid =
        ok(pay.args(["pay", "--amount", "8.80", "--auth-code", "286000555566660000", "--json"]).output().unwrap());
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    assert_eq!(order["status"], "PAID", "{order}");
    let at_backend = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE))
        .unwrap()
        .orders()
        .order_by_out_trade_no(order["out_trade_no"].as_str().unwrap())
        .unwrap()
        .expect("the backend took the payment");
    assert_eq!(at_backend.total_amount.fen(), 880);
    drop(serving);
}

#[test]
fn a_wrong_certificate_or_key_stops_serve_with_the_files_name() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dir.path().join("backend");
    let (ca, cert, key) = chain_pki(dir.path());
    let serve = |cert: &Path, key: &Path| {
        fails(
            tilldesk(&backend)
                .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
                .arg(cert)
                .arg("--tls-key")
                .arg(key)
                .output()
                .unwrap(),
        )
    };
    // The certificate given as the key.
    let err = serve(&cert, &cert);
    assert!(err.contains("holds no private key") && err.contains("cert.pem"), "{err}");
    // Another certificate's key: the CA's certificate with the server's key.
    let err = serve(&ca, &key);
    assert!(err.contains("cannot serve TLS") && err.contains("ca.pem") && err.contains("key.pem"), "{err}");
    // A missing file.
    let err = serve(&dir.path().join("missing.pem"), &key);
    assert!(err.contains("cannot read") && err.contains("missing.pem"), "{err}");
    // One without the other.
    let err =
        fails(tilldesk(&backend).args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"]).arg(&cert).output().unwrap());
    assert!(err.contains("--tls-key"), "{err}");
}
