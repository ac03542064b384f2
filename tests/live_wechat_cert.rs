//! Live WeChat Pay with the merchant API certificate, through the CLI, against a real HTTPS gateway on 127.0.0.1.
//!
//! The gateway is a TLS front (rustls) made at test time with `rcgen`: a CA, a server certificate for 127.0.0.1 and
//! client certificates whose CN is the mch_id, packed as PKCS#12 with `p12-keystore` (legacy 3DES/RC2 + SHA-1 MAC,
//! and modern AES). It asks every client for a certificate, verifies one when given (rustls'
//! `WebPkiClientVerifier`), allows none for micropay/orderquery, and refuses `/secapi/*` without one, the way WeChat
//! Pay does. Behind it the embedded sandbox speaks WeChat Pay v2. The till trusts the test CA through the live
//! setting `live.wechatpay.root_ca_pem` (`keys set --root-ca`).

mod cli_common;

use cli_common::{fails, ok};

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tilldesk::channel::wechatpay::sign::{self as wx_sign, SignType};
use tilldesk::channel::wechatpay::wire;
use tilldesk::channel::{CancelResult, Channel, PayRequest, PayResult};
use tilldesk::money::Amount;

const PASSPHRASE: &str = "till passphrase 2026";
const PIN: &str = "246810";

// -------------------------------------------------------------------------------------------------------------------
// Certificates

struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Test Tenpay.com Root CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "api.mch.test");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        issuer,
        server_der: server_cert.der().clone(),
        server_key: server_key.serialize_der(),
    }
}

/// How a PKCS#12 file is protected.
#[derive(Clone, Copy)]
enum P12 {
    /// Legacy, as WeChat's older downloads: RC2-40 (pbeWithSHA1And40BitRC2-CBC), SHA-1 MAC.
    Rc2,
    /// Legacy: pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC.
    TripleDes,
    /// Modern: PBES2 (PBKDF2 + AES-256), HMAC-SHA256 MAC.
    Aes,
}

/// A client certificate for `cn` valid from `from` to `until` (days from now), as a PKCS#12 file.
fn client_p12(pki: &Pki, cn: &str, from: i64, until: i64, password: &str, format: P12) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.distinguished_name.push(DnType::OrganizationName, "微信商户系统");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(from);
    params.not_after = now + time::Duration::days(until);
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let chain = PrivateKeyChain::new(
        b"tenpay-1".to_vec(),
        p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
        [p12_keystore::Certificate::from_der(cert.der()).unwrap()],
    );
    let mut store = KeyStore::new();
    store.add_entry("Tenpay Certificate", KeyStoreEntry::PrivateKeyChain(chain));
    let writer = store.writer(password);
    let writer = match format {
        P12::Rc2 => writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc)
            .mac_algorithm(MacAlgorithm::HmacSha1),
        P12::TripleDes => writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .mac_algorithm(MacAlgorithm::HmacSha1),
        P12::Aes => writer,
    };
    writer.write().unwrap()
}

fn cn_of(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    cert.subject().iter_common_name().next().unwrap().as_str().unwrap().to_owned()
}

// -------------------------------------------------------------------------------------------------------------------
// The HTTPS gateway

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    client_cn: Option<String>,
    fields: BTreeMap<String, String>,
    /// The signature checked with the algorithm the request declares.
    verified: Option<SignType>,
    peer_ip: IpAddr,
}

struct Gateway {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Gateway {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn secapi(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.starts_with("/secapi/")).collect()
    }
}

async fn start_gateway(pki: &Pki, sandbox_url: String, api_key: String) -> Gateway {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![pki.server_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let forward = reqwest::Client::new();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else { continue };
            let (acceptor, record, forward, sandbox_url, api_key) =
                (acceptor.clone(), record.clone(), forward.clone(), sandbox_url.clone(), api_key.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let client_cn = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|der| cn_of(der));
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (record, forward, sandbox_url, api_key, client_cn) =
                        (record.clone(), forward.clone(), sandbox_url.clone(), api_key.clone(), client_cn.clone());
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req.into_body().collect().await?.to_bytes();
                        let fields = wire::from_xml(std::str::from_utf8(&body).unwrap_or_default()).unwrap_or_default();
                        let verified =
                            SignType::of(&fields).ok().filter(|t| wx_sign::verify(&fields, &api_key, *t).is_ok());
                        record.lock().unwrap().push(Seen {
                            path: path.clone(),
                            client_cn: client_cn.clone(),
                            fields,
                            verified,
                            peer_ip: peer.ip(),
                        });
                        let response = if path.starts_with("/secapi/") && client_cn.is_none() {
                            hyper::Response::builder()
                                .status(403)
                                .body(Full::new(Bytes::from_static(b"client certificate required")))
                        } else {
                            let answer = forward.post(format!("{sandbox_url}{path}")).body(body).send().await;
                            match answer {
                                Ok(a) => {
                                    let status = a.status().as_u16();
                                    let bytes = a.bytes().await.unwrap_or_default();
                                    hyper::Response::builder().status(status).body(Full::new(bytes))
                                }
                                Err(_) => hyper::Response::builder().status(502).body(Full::new(Bytes::new())),
                            }
                        };
                        Ok::<_, hyper::Error>(response.unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Gateway { url, seen }
}

// -------------------------------------------------------------------------------------------------------------------
// The CLI

fn tilldesk(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    // Key changes and refunds name the owner once there is one (before that, --operator is not needed).
    cmd.arg("--data-dir").arg(home).arg("--operator").arg("boss").args(args);
    cmd.env("TILLDESK_PASSPHRASE", PASSPHRASE).env("TILLDESK_PIN", PIN).env_remove("TILLDESK_WECHAT_CERT_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn pay(home: &Path, auth_code: &str) -> String {
    let out = ok(tilldesk(home, &["pay", "--amount", "1.00", "--auth-code", auth_code, "--json"], &[]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "PAID", "{v}");
    v["out_trade_no"].as_str().unwrap().to_owned()
}

fn refund(home: &Path, out_trade_no: &str) -> Output {
    tilldesk(home, &["refund", out_trade_no, "--amount", "1.00", "--reason", "test", "--json"], &[])
}

const MISSING: &str = "the WeChat Pay API certificate (apiclient_cert.p12) is not imported: tilldesk keys import-cert --acquirer WECHATPAY FILE.p12";

#[test]
fn live_wechat_pay_with_the_api_certificate() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    sandbox.state.config.lock().unwrap().wechat_refund_delay_ms = 0;
    let m = sandbox.state.accounts().merchants[0].clone();
    let mch_id = m.wechatpay.mch_id.clone();
    let pki = pki();
    let gateway = rt.block_on(start_gateway(&pki, sandbox.base_url(), m.wechatpay.api_key.clone()));
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // Live Alipay (plain HTTP to the sandbox) so the live channels can be built; live WeChat Pay over HTTPS with
    // HMAC-SHA256, trusting the test CA.
    let alipay_gateway = format!("{}/gateway.do", sandbox.base_url());
    ok(tilldesk(
        &home,
        &["keys", "set", "--acquirer", "alipay", "--gateway-url", &alipay_gateway, "--app-id", &m.alipay.app_id],
        &[],
    ));
    ok(tilldesk(
        &home,
        &["keys", "import-platform-key", &file("alipay_public.pem", m.alipay.alipay_public_key_pem.as_bytes())],
        &[],
    ));
    ok(tilldesk(
        &home,
        &["keys", "import-private-key", &file("app_private.pem", m.alipay.app_private_key_pkcs8_pem.as_bytes())],
        &[],
    ));
    let ca = file("test_ca.pem", pki.ca_pem.as_bytes());
    ok(tilldesk(
        &home,
        &[
            "keys",
            "set",
            "--acquirer",
            "WECHATPAY",
            "--gateway-url",
            &gateway.url,
            "--app-id",
            &m.wechatpay.appid,
            "--mch-id",
            &mch_id,
            "--sign-type",
            "hmac-sha256",
            "--root-ca",
            &ca,
        ],
        &[],
    ));
    ok(tilldesk(&home, &["keys", "set-api-key"], &[("TILLDESK_WECHAT_API_KEY", &m.wechatpay.api_key)]));
    ok(tilldesk(&home, &["keys", "mode", "live"], &[]));
    ok(tilldesk(&home, &["operators", "add", "boss", "--role", "owner"], &[("TILLDESK_NEW_PIN", PIN)]));

    // Without the certificate: the connection test passes and says the certificate is missing; a payment works; the
    // refund fails at once, plainly, and no secapi request reaches the gateway.
    let test = tilldesk(&home, &["keys", "test", "--acquirer", "wechatpay"], &[]);
    let stdout = ok(test);
    assert!(stdout.contains("connected") && stdout.contains(MISSING), "{stdout}");
    let first = pay(&home, "130000000000000000");
    let err = fails(refund(&home, &first));
    assert!(err.contains(MISSING), "{err}");
    assert!(!err.contains("SUBMITTED"), "{err}");
    assert!(gateway.secapi().is_empty(), "no secapi request without a certificate: {:?}", gateway.secapi());

    // Imports refused with clear words: a wrong password, an expired certificate, another merchant's.
    let good = client_p12(&pki, &mch_id, -1, 365 * 5, &mch_id, P12::Rc2);
    let err = fails(tilldesk(
        &home,
        &["keys", "import-cert", "--acquirer", "WECHATPAY", &file("a.p12", &good)],
        &[("TILLDESK_WECHAT_CERT_PASSWORD", "not-the-password")],
    ));
    assert!(err.contains("the certificate password is wrong (WeChat sets it to the mch_id)"), "{err}");
    let expired = client_p12(&pki, &mch_id, -400, -2, &mch_id, P12::TripleDes);
    let err = fails(tilldesk(
        &home,
        &["keys", "import-cert", "--acquirer", "wechatpay", &file("expired.p12", &expired)],
        &[],
    ));
    assert!(err.contains("expired on"), "{err}");
    let other = client_p12(&pki, "1900000999", -1, 365, &mch_id, P12::TripleDes);
    let err =
        fails(tilldesk(&home, &["keys", "import-cert", "--acquirer", "wechatpay", &file("other.p12", &other)], &[]));
    assert!(err.contains("for merchant 1900000999, not for the configured mch_id"), "{err}");
    assert!(ok(tilldesk(&home, &["keys", "status"], &[])).contains("wechatpay API certificate: not imported"));

    // A modern (AES) file with an explicit password imports; then the legacy one (RC2-40, SHA-1 MAC, password = mch_id
    // by default) replaces it.
    let modern = client_p12(&pki, &mch_id, -1, 365, "s3cret", P12::Aes);
    let out = ok(tilldesk(
        &home,
        &["keys", "import-cert", "--acquirer", "wechatpay", &file("modern.p12", &modern)],
        &[("TILLDESK_WECHAT_CERT_PASSWORD", "s3cret")],
    ));
    assert!(out.contains(&format!("subject CN: {mch_id}")), "{out}");
    let out = ok(tilldesk(
        &home,
        &["keys", "import-cert", "--acquirer", "wechatpay", &file("apiclient_cert.p12", &good)],
        &[],
    ));
    let expiry = (time::OffsetDateTime::now_utc() + time::Duration::days(365 * 5)).date();
    assert!(out.contains(&format!("subject CN: {mch_id}")), "{out}");
    assert!(out.contains(&format!("expires: {expiry}")), "{out}");
    assert!(out.contains("sha256 fingerprint: ") && !out.contains("PRIVATE"), "{out}");
    let status = ok(tilldesk(&home, &["keys", "status"], &[]));
    assert!(status.contains(&format!("wechatpay API certificate: CN={mch_id}, expires {expiry}")), "{status}");
    assert!(status.contains("wechatpay.api_cert: in vault (sha256:"), "{status}");
    let stdout = ok(tilldesk(&home, &["keys", "test", "--acquirer", "wechatpay"], &[]));
    assert!(
        stdout.contains("connected") && stdout.contains(&format!("API certificate CN={mch_id} valid until {expiry}")),
        "{stdout}"
    );
    assert!(!stdout.contains("not imported"), "{stdout}");

    // With it: pay and refund through the CLI, reverse through the live client; the gateway saw the certificate.
    let second = pay(&home, "130000000000000001");
    let refunded: serde_json::Value = serde_json::from_str(&ok(refund(&home, &second))).unwrap();
    assert_eq!(refunded["status"], "SUCCESS", "{refunded}");
    let store = tilldesk::store::Store::open(&home.join("tilldesk.sqlite3")).unwrap();
    let vault = tilldesk::secrets::Vault::unlock(&home, PASSPHRASE).unwrap();
    let client = tilldesk::keys::wechat_client(&store, &vault).unwrap();
    let waiting = PayRequest {
        out_trade_no: "LIVEREVERSE0001".into(),
        auth_code: "130000000000000200".into(),
        amount: Amount::from_fen(500),
        subject: "waits for a password".into(),
        store_id: None,
        terminal_id: None,
        operator_id: None,
    };
    assert!(matches!(rt.block_on(client.pay(&waiting)), PayResult::Waiting(_)));
    assert_eq!(rt.block_on(client.cancel("LIVEREVERSE0001")), CancelResult::Done { refunded: false });
    let secapi = gateway.secapi();
    let paths: Vec<&str> = secapi.iter().map(|s| s.path.as_str()).collect();
    assert!(paths.contains(&"/secapi/pay/refund") && paths.contains(&"/secapi/pay/reverse"), "{paths:?}");
    for s in &secapi {
        assert_eq!(s.client_cn.as_deref(), Some(mch_id.as_str()), "{}: the client certificate", s.path);
    }

    // Every request was signed with HMAC-SHA256 (and verified so); micropay's spbill_create_ip is the address the
    // till's socket used.
    let seen = gateway.seen();
    assert!(seen.len() >= 6, "{seen:?}");
    for s in &seen {
        assert_eq!(s.fields.get("sign_type").map(String::as_str), Some("HMAC-SHA256"), "{}", s.path);
        assert_eq!(s.verified, Some(SignType::HmacSha256), "{}", s.path);
    }
    let micropays: Vec<&Seen> = seen.iter().filter(|s| s.path == "/pay/micropay").collect();
    assert_eq!(micropays.len(), 3);
    for s in micropays {
        assert_eq!(s.fields["spbill_create_ip"], s.peer_ip.to_string());
    }
    rt.block_on(sandbox.stop());
}
