//! `tilldesk serve` and `tilldesk backend` as a merchant runs them: add a till (the code alone on one line), serve
//! (the first line exact), join from another data folder, pay through the backend, list and revoke tills.

mod cli_common;

use std::path::Path;
use std::process::Command;

use cli_common::{fails, ok};

const PASSPHRASE: &str = "till vault passphrase";

fn tilldesk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    c.arg("--data-dir").arg(data).env("TILLDESK_PASSPHRASE", PASSPHRASE).env_remove("TILLDESK_DATABASE_URL");
    c
}

#[test]
fn a_merchant_adds_a_till_serves_and_the_till_joins_and_pays_through_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dir.path().join("backend");
    let till = dir.path().join("till");

    // The code alone on one line of stdout; the rest on stderr.
    let out =
        ok(tilldesk(&backend).args(["serve", "add-till", "--store", "S001", "--name", "till 1"]).output().unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let code = lines[0].to_owned();
    assert_eq!(code.len(), 39, "{code}");
    assert!(code.chars().all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()), "{code}");
    assert!(backend.join(tilldesk::serve::DATABASE_FILE).is_file());

    // Waiting for enrolment.
    let listed = ok(tilldesk(&backend).args(["serve", "tills"]).output().unwrap());
    assert!(listed.contains("#1\tS001\ttill 1\twaiting for enrolment"), "{listed}");

    // Serve: the first line says where, exactly.
    let mut command = tilldesk(&backend);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let (serving, url) = cli_common::serve(command);
    let port: u16 = url.strip_prefix("http://127.0.0.1:").and_then(|p| p.parse().ok()).expect(&url);
    assert_ne!(port, 0, "the real bound port");

    // The till joins from its own folder; its token goes to its vault.
    let joined = ok(tilldesk(&till).args(["backend", "join", &url, "--code", &code]).output().unwrap());
    assert!(joined.starts_with(&format!("joined {url} as till #1 \"till 1\" of store S001")), "{joined}");
    assert!(!joined.contains("tdt_"), "the token is never printed");
    // A code works once.
    let again =
        fails(tilldesk(&dir.path().join("till2")).args(["backend", "join", &url, "--code", &code]).output().unwrap());
    assert!(again.contains("enrolment_code_used"), "{again}");

    let status = ok(tilldesk(&till).args(["backend", "status", "--json"]).output().unwrap());
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!((status["till_id"].as_i64(), status["contact"].as_str()), (Some(1), Some("ok")), "{status}");
    assert_eq!(status["store"], "S001");

    // `tilldesk pay` at the till goes through the backend (no acquirer keys at the till).
    let paid = ok(tilldesk(&till)
        .args(["pay", "--amount", "6.60", "--auth-code", "286000111122220000", "--json"])
        .output()
        .unwrap());
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    assert_eq!((order["status"].as_str(), order["outcome"].as_str()), (Some("PAID"), Some("paid")), "{order}");
    let no = order["out_trade_no"].as_str().unwrap();
    let at_backend = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE))
        .unwrap()
        .orders()
        .order_by_out_trade_no(no)
        .unwrap()
        .expect("the backend took it under the till's number");
    assert_eq!(at_backend.total_amount.fen(), 660);

    // A dynamic code (主扫) through the backend: `pay --dynamic` prints the code the backend had the acquirer make;
    // nobody pays it, so the command closes it (through the backend) when its time is up.
    let out = tilldesk(&till)
        .args(["pay", "--dynamic", "--json", "--amount", "3.30", "--wallet", "alipay", "--timeout", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "unpaid: exit 2: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let (code_line, rest) = stdout.split_once('\n').expect("the code line first");
    let code: serde_json::Value = serde_json::from_str(code_line).unwrap();
    assert!(code["code"].as_str().is_some_and(|c| c.starts_with("https://qr.alipay.com/")), "{code}");
    let order: serde_json::Value = serde_json::from_str(rest).unwrap();
    assert_eq!(order["status"], "CLOSED", "{order}");
    let backend_db = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    let no = code["out_trade_no"].as_str().unwrap();
    let at_backend = backend_db.orders().order_by_out_trade_no(no).unwrap().expect("made at the backend");
    assert_eq!(at_backend.status, tilldesk::model::OrderStatus::Closed);
    let row = backend_db.orders().dynamic_code(at_backend.id).unwrap().expect("a dynamic order");
    assert_eq!(row.code_text.as_deref(), code["code"].as_str());
    drop(backend_db);

    // Staff live in the backend: the first owner, then a cashier with the owner's PIN; the cashier signs in for a
    // payment, checked there, and the backend records who took it.
    let added = ok(tilldesk(&till)
        .args(["operators", "add", "老板", "--role", "owner"])
        .env("TILLDESK_NEW_PIN", "246810")
        .output()
        .unwrap());
    assert_eq!(added.trim(), "added 老板 (owner) at the merchant backend");
    let added = ok(tilldesk(&till)
        .args(["operators", "add", "Wang", "--role", "cashier", "--by", "老板"])
        .env("TILLDESK_PIN", "246810")
        .env("TILLDESK_NEW_PIN", "1357")
        .output()
        .unwrap());
    assert_eq!(added.trim(), "added Wang (cashier) at the merchant backend");
    let refused = fails(
        tilldesk(&till)
            .args(["operators", "add", "Zhao", "--role", "cashier", "--by", "Wang"])
            .env("TILLDESK_PIN", "1357")
            .env("TILLDESK_NEW_PIN", "2468")
            .output()
            .unwrap(),
    );
    assert!(refused.contains("may not manage staff"), "{refused}");
    let paid = ok(tilldesk(&till)
        .args(["--operator", "Wang", "pay", "--amount", "1.20", "--auth-code", "286000333344440000", "--json"])
        .env("TILLDESK_PIN", "1357")
        .output()
        .unwrap());
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    let backend_db = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    let at_backend =
        backend_db.orders().order_by_out_trade_no(order["out_trade_no"].as_str().unwrap()).unwrap().unwrap();
    assert_eq!(at_backend.operator_id, backend_db.staff().operator_by_name("Wang").unwrap().map(|o| o.id));
    let wrong = fails(
        tilldesk(&till)
            .args(["--operator", "Wang", "pay", "--amount", "1.20", "--auth-code", "286000333344440000"])
            .env("TILLDESK_PIN", "0000")
            .output()
            .unwrap(),
    );
    assert!(wrong.contains("the name or the PIN is wrong"), "{wrong}");
    let doctor = ok(tilldesk(&backend).args(["serve", "doctor", "--json"]).output().unwrap());
    let doctor: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    assert_eq!(
        (doctor["tables"]["backend_tills"].as_i64(), doctor["tables"]["operators"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(doctor["tables"]["backend_operator_sessions"].as_i64(), Some(1), "{doctor}");

    let listed = ok(tilldesk(&backend).args(["serve", "tills", "--json"]).output().unwrap());
    let tills: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(tills[0]["name"], "till 1");
    assert!(tills[0]["enrolled_at"].is_string() && tills[0]["last_contact_at"].is_string(), "{tills}");

    // PINs and leavers are the backend's too: Wang changes their PIN, the owner deactivates Wang (who can then sign
    // in nowhere; the last owner stays), and takes them back with a new PIN.
    let changed = ok(tilldesk(&till)
        .args(["--operator", "Wang", "operators", "set-pin", "Wang"])
        .env("TILLDESK_PIN", "1357")
        .env("TILLDESK_NEW_PIN", "8642")
        .output()
        .unwrap());
    assert_eq!(changed.trim(), "changed the PIN of Wang at the merchant backend");
    let as_wang = |pin: &str| {
        tilldesk(&till)
            .args(["--operator", "Wang", "pay", "--amount", "0.10", "--auth-code", "286000555566660000"])
            .env("TILLDESK_PIN", pin)
            .output()
            .unwrap()
    };
    assert!(fails(as_wang("1357")).contains("the name or the PIN is wrong"));
    let by_owner = |args: &[&str]| tilldesk(&till).args(args).env("TILLDESK_PIN", "246810").output().unwrap();
    let refused = fails(by_owner(&["--operator", "老板", "operators", "deactivate", "老板"]));
    assert!(refused.contains("老板 is the only active owner"), "{refused}");
    let off = ok(by_owner(&["--operator", "老板", "operators", "deactivate", "Wang"]));
    assert_eq!(off.trim(), "Wang (cashier) is inactive at the merchant backend");
    assert!(fails(as_wang("8642")).contains("the name or the PIN is wrong"));
    let listed = ok(tilldesk(&till).args(["operators", "list"]).output().unwrap());
    assert!(listed.contains("Wang\tcashier\tinactive"), "{listed}");
    let no_owner = fails(tilldesk(&till).args(["operators", "reactivate", "Wang"]).output().unwrap());
    assert!(no_owner.contains("needs an owner"), "{no_owner}");
    ok(by_owner(&["--operator", "老板", "operators", "reactivate", "Wang"]));
    ok(tilldesk(&till)
        .args(["--operator", "老板", "operators", "set-pin", "Wang"])
        .env("TILLDESK_PIN", "246810")
        .env("TILLDESK_NEW_PIN", "9753")
        .output()
        .unwrap());
    ok(as_wang("9753"));

    // Shifts go up: Wang's handover is sent to the backend as it closes, and the owner lists every till's from here.
    let as_wang_shift = |verb: &str| {
        tilldesk(&till).args(["--operator", "Wang", "shifts", verb]).env("TILLDESK_PIN", "9753").output().unwrap()
    };
    ok(as_wang_shift("open"));
    let closed = as_wang_shift("close");
    assert!(closed.status.success(), "{}", String::from_utf8_lossy(&closed.stderr));
    assert!(String::from_utf8_lossy(&closed.stderr).contains("sent to the merchant backend"));
    let listed = ok(by_owner(&["--operator", "老板", "shifts", "tills", "--json"]));
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let report = &listed["reports"][0];
    assert_eq!((report["kind"].as_str(), report["operator"].as_str()), (Some("shift"), Some("Wang")), "{listed}");
    assert_eq!((report["till_name"].as_str(), report["store_code"].as_str()), (Some("till 1"), Some("S001")));
    let text = ok(by_owner(&["--operator", "老板", "shifts", "tills"]));
    assert!(text.contains("S001 till #1 till 1") && text.contains("Wang"), "{text}");

    // Revoked: the till is refused at once.
    let revoked = ok(tilldesk(&backend).args(["serve", "revoke", "till 1"]).output().unwrap());
    assert_eq!(revoked.trim(), "revoked till #1 \"till 1\" of store S001");
    let status = ok(tilldesk(&till).args(["backend", "status", "--json"]).output().unwrap());
    assert!(status.contains("\"contact\": \"revoked\""), "{status}");
    drop(serving);
}

#[test]
fn an_unknown_database_url_is_refused_and_listen_is_needed_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(
        tilldesk(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", "mysql://till:s3cret@db/chain"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("a SQLite file or a postgres:// URL"), "{err}");
    assert!(!err.contains("s3cret"), "the password is never shown: {err}");
    let err = fails(tilldesk(dir.path()).args(["serve"]).output().unwrap());
    assert!(err.contains("--listen"), "{err}");
    let err = fails(
        tilldesk(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--bill-time", "25:00"]).output().unwrap(),
    );
    assert!(err.contains("--bill-time") && err.contains("like 10:00") && err.contains("or off"), "{err}");
}

/// The same commands administer a backend on PostgreSQL, given `TILLDESK_DATABASE_URL` (a schema of the test's own).
#[test]
fn a_backend_on_postgresql_is_administered_with_the_same_commands() {
    let Some(url) = std::env::var("TILLDESK_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) else {
        println!("skipped: TILLDESK_TEST_DATABASE_URL is not set");
        return;
    };
    let bytes: [u8; 8] = rand::random();
    let schema = format!("tilldesk_cli_{}", hex::encode(bytes));
    let sql = |statement: String| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute(&statement).await.unwrap();
        });
    };
    sql(format!("CREATE SCHEMA {schema}"));
    let separator = if url.contains('?') { '&' } else { '?' };
    let database = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = tilldesk(dir.path());
        c.env("TILLDESK_DATABASE_URL", &database).args(args);
        c.output().unwrap()
    };
    let code = ok(run(&["serve", "add-till", "--store", "S001", "--name", "till 1"]));
    assert_eq!(code.trim().len(), 39, "the code alone: {code:?}");
    let tills = ok(run(&["serve", "tills", "--json"]));
    let tills: serde_json::Value = serde_json::from_str(&tills).unwrap();
    assert_eq!(tills[0]["name"], "till 1");
    assert_eq!(tills[0]["store_code"], "S001");

    // Serve on PostgreSQL: the first line as on SQLite; a till joins and pays through it.
    let mut command = tilldesk(dir.path());
    command.env("TILLDESK_DATABASE_URL", &database).args(["serve", "--listen", "127.0.0.1:0"]);
    let (serving, url) = cli_common::serve(command);
    let till = dir.path().join("till");
    let joined = ok(tilldesk(&till).args(["backend", "join", &url, "--code", code.trim()]).output().unwrap());
    assert!(joined.starts_with(&format!("joined {url} as till #1 \"till 1\" of store S001")), "{joined}");
    let paid = ok(tilldesk(&till)
        .args(["pay", "--amount", "6.60", "--auth-code", "286000111122220000", "--json"])
        .output()
        .unwrap());
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    assert_eq!((order["status"].as_str(), order["outcome"].as_str()), (Some("PAID"), Some("paid")), "{order}");
    drop(serving);

    let doctor = ok(run(&["serve", "doctor", "--json"]));
    let doctor: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    let newest = i64::from(tilldesk::store::pg::SCHEMA_VERSION);
    assert_eq!((doctor["engine"].as_str(), doctor["schema_version"].as_i64()), (Some("postgresql"), Some(newest)));
    assert_eq!(doctor["tables"]["tills"], 1);
    assert_eq!(doctor["tables"]["enrolment_codes"], 1);
    assert_eq!(doctor["tables"]["orders"], 1, "the till's payment is in the shared database");
    let revoked = ok(run(&["serve", "revoke", "till 1"]));
    assert_eq!(revoked.trim(), "revoked till #1 \"till 1\" of store S001");
    // The catalogue (stores, accounts, routes) may be another file of the folder, e.g. a live one's tilldesk.sqlite3.
    let elsewhere = dir.path().join("catalogue.sqlite3");
    let args = ["serve", "add-till", "--store", "S001", "--name", "till 2", "--catalogue"];
    ok(run(&[&args[..], &[elsewhere.to_str().unwrap()]].concat()));
    assert!(elsewhere.is_file(), "the catalogue named was used");
    sql(format!("DROP SCHEMA {schema} CASCADE"));
}

/// `keys`, `onboard` and `acquirers` given `--database` configure the backend's catalogue (the file `serve` reads),
/// never a till database in the backend's folder; on PostgreSQL the catalogue is the folder's serve.sqlite3.
#[test]
fn keys_onboard_and_acquirers_configure_the_backend_given_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let backend = dir.path().join("backend");
    let catalogue = backend.join(tilldesk::serve::DATABASE_FILE);
    // The backend's first command prepares its catalogue (the sandbox's acquirers, store S001).
    ok(tilldesk(&backend).args(["serve", "add-till", "--store", "S001", "--name", "till 1"]).output().unwrap());
    let db = catalogue.to_str().unwrap();

    let stores = ok(tilldesk(&backend).args(["onboard", "stores", "--json", "--database", db]).output().unwrap());
    let stores: serde_json::Value = serde_json::from_str(&stores).unwrap();
    assert_eq!(stores[0]["store"]["store_code"], "S001", "{stores}");
    let routes = ok(tilldesk(&backend).args(["acquirers", "list", "--json", "--database", db]).output().unwrap());
    assert!(routes.contains("S001"), "the backend's routes: {routes}");

    ok(tilldesk(&backend)
        .args(["keys", "set", "--acquirer", "wechatpay", "--gateway-url", "https://api.mch.weixin.qq.com"])
        .args(["--app-id", "wx2421b1c4370ec43b", "--mch-id", "1900000109", "--database", db])
        .output()
        .unwrap());
    let read = |path: &Path| {
        let store = tilldesk::store::Store::open(path).unwrap();
        tilldesk::keys::LiveSettings::load(&store, tilldesk::model::AcquirerKind::WechatPay).unwrap().mch_id
    };
    assert_eq!(read(&catalogue), "1900000109");
    assert!(!backend.join(tilldesk::config::DATABASE_FILE).exists(), "no till database in the backend's folder");

    // A PostgreSQL backend's catalogue is published in its database: with the database unreachable nothing is changed.
    let pg = dir.path().join("pg-backend");
    let err = fails(
        tilldesk(&pg)
            .args(["keys", "set", "--acquirer", "wechatpay", "--mch-id", "1230000109"])
            .args(["--database", "postgres://tilldesk:secret@db.invalid:5432/chain"])
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("cannot read the backend's catalogue from postgres://tilldesk:***@db.invalid:5432/chain"),
        "{err}"
    );
    assert!(!err.contains("secret"), "the URL's password is never shown: {err}");
    assert!(!pg.join(tilldesk::serve::DATABASE_FILE).exists(), "nothing was made");
    // A URL of no known engine is refused, naming what is expected.
    let err = fails(tilldesk(&pg).args(["acquirers", "list", "--database", "mysql://till@db/chain"]).output().unwrap());
    assert!(err.contains("a SQLite file or a postgres:// URL"), "{err}");
}

/// A schema of the test's own on the test database, dropped at the end, and the URL that works in it.
struct PgSchema {
    url: String,
    name: String,
    database: String,
}

impl PgSchema {
    fn new() -> Option<PgSchema> {
        let Some(url) = std::env::var("TILLDESK_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) else {
            println!("skipped: TILLDESK_TEST_DATABASE_URL is not set");
            return None;
        };
        let bytes: [u8; 8] = rand::random();
        let name = format!("tilldesk_cli_{}", hex::encode(bytes));
        let separator = if url.contains('?') { '&' } else { '?' };
        let database = format!("{url}{separator}options=-c%20search_path%3D{name}");
        let schema = PgSchema { url, name, database };
        schema.sql(&format!("CREATE SCHEMA {}", schema.name));
        Some(schema)
    }

    fn sql(&self, statement: &str) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute(statement).await.unwrap();
        });
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        self.sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// GET `url` as JSON (a runtime of its own).
fn get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

/// The PostgreSQL backend in live mode with nothing copied between hosts: the catalogue and the encrypted
/// keys are configured once from an administrator's folder (each command publishing a version), two instances
/// start from empty folders, unlock the keys from the database with TILLDESK_PASSPHRASE and take payments through
/// the live gateway (another TillDesk sandbox, reached only through the URL and keys configured); a store onboarded
/// later is served by the running instances without a restart; a wrong passphrase stops an instance at start; two
/// administrators changing the catalogue at once never lose a change silently.
#[test]
fn a_live_backend_on_postgresql_shares_its_catalogue_and_keys_through_the_database() {
    let Some(schema) = PgSchema::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (gateway, gateway_url) = cli_common::spawn_sandbox(&dir.path().join("gateway"));
    let _gateway = cli_common::Serving(gateway);
    let accounts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gateway/sandbox.json")).unwrap()).unwrap();
    let alipay = accounts["acquirers"].as_array().unwrap().iter().find(|a| a["acquirer_id"] == "ALIPAY").unwrap();
    let account = &alipay["account"]["alipay"];
    let private = dir.path().join("app-private.pem");
    std::fs::write(&private, account["app_private_key_pkcs8_pem"].as_str().unwrap()).unwrap();
    let platform = dir.path().join("alipay-public.pem");
    std::fs::write(&platform, account["alipay_public_key_pem"].as_str().unwrap()).unwrap();

    let admin = dir.path().join("admin");
    let configure = |args: &[&str]| {
        let mut c = tilldesk(&admin);
        c.args(args).args(["--database", &schema.database]);
        c.output().unwrap()
    };
    // The first command makes the catalogue (the acquirer accounts, store S001 and its routes) and publishes it.
    let first = configure(&["acquirers", "list", "--json"]);
    ok(first.clone());
    assert!(String::from_utf8_lossy(&first.stderr).contains("as version 1"), "{first:?}");
    let gateway_do = format!("{gateway_url}/acquirers/ALIPAY/gateway.do");
    let app_id = account["app_id"].as_str().unwrap();
    ok(configure(&["keys", "set", "--acquirer", "alipay", "--gateway-url", &gateway_do, "--app-id", app_id]));
    ok(configure(&["keys", "import-private-key", "--acquirer", "alipay", private.to_str().unwrap()]));
    ok(configure(&["keys", "import-platform-key", "--acquirer", "alipay", platform.to_str().unwrap()]));
    ok(configure(&["keys", "mode", "live"]));
    // A command that only reads publishes nothing.
    let status = configure(&["keys", "status"]);
    ok(status.clone());
    assert!(!String::from_utf8_lossy(&status.stderr).contains("published"), "{status:?}");

    // Two instances, each from an empty folder: everything comes from the database.
    // The instances' timers are ten minutes: a newer version reaches them only because a call asks for it.
    let instance = |name: &str, passphrase: &str, poll_ms: &str| {
        let mut c = tilldesk(&dir.path().join(name));
        c.env("TILLDESK_PASSPHRASE", passphrase).env("TILLDESK_CATALOGUE_POLL_MS", poll_ms);
        c.args(["serve", "--listen", "127.0.0.1:0", "--database", &schema.database]);
        c
    };
    let (_a, url_a) = cli_common::serve(instance("host-a", PASSPHRASE, "600000"));
    let (_b, url_b) = cli_common::serve(instance("host-b", PASSPHRASE, "600000"));
    let published = get_json(&format!("{url_a}/health"))["catalogue_version"].as_i64().unwrap();
    assert_eq!(published, 5, "the five changing commands published five versions");
    assert!(!dir.path().join("host-a").join(tilldesk::secrets::VAULT_FILE).exists(), "no vault was copied there");
    assert!(!dir.path().join("host-a").join(tilldesk::serve::DATABASE_FILE).exists(), "nor a catalogue");
    // A wrong passphrase stops an instance before it listens, saying why.
    let mut wrong = instance("host-c", "not the passphrase", "100");
    let refused = fails(wrong.output().unwrap());
    assert!(refused.contains("passphrase"), "{refused}");

    // The tills are added from yet another folder and join different instances; each pays through the live gateway.
    let office = dir.path().join("office");
    let add_till = |store: &str, name: &str| {
        let mut c = tilldesk(&office);
        c.args(["serve", "add-till", "--store", store, "--name", name, "--database", &schema.database]);
        ok(c.output().unwrap()).trim().to_owned()
    };
    for (n, url, amount) in [(1, &url_a, "1.11"), (2, &url_b, "2.22")] {
        let till = dir.path().join(format!("till-{n}"));
        let code = add_till("S001", &format!("till {n}"));
        let joined = ok(tilldesk(&till).args(["backend", "join", url, "--code", &code]).output().unwrap());
        assert!(joined.contains("(live mode)"), "{joined}");
        let paid = ok(tilldesk(&till)
            .args(["pay", "--amount", amount, "--auth-code", "2800000000000000", "--json"])
            .output()
            .unwrap());
        let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
        assert_eq!(order["status"], "PAID", "{order}");
        let ledger = get_json(&format!("{gateway_url}/admin/ledger"));
        let trade = ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == order["out_trade_no"]);
        assert_eq!(trade.and_then(|t| t["acquirer_id"].as_str()), Some("ALIPAY"), "{ledger}");
    }

    // A store onboarded later, taking Alipay through the direct contract: published, and served by the running
    // instances without a restart.
    let onboarded = configure(&["onboard", "store", "--store", "S002", "--name", "Second Street", "--name-zh", "二店"]);
    ok(onboarded.clone());
    assert!(String::from_utf8_lossy(&onboarded.stderr).contains("as version 6"), "{onboarded:?}");
    ok(configure(&["acquirers", "route", "--store", "S002", "--wallet", "alipay", "--acquirer", "ALIPAY"]));
    for url in [&url_a, &url_b] {
        assert_eq!(get_json(&format!("{url}/health"))["catalogue_version"], 5, "not looked yet");
    }
    for (n, url) in [(3, &url_a), (4, &url_b)] {
        // The enrolment itself asks for the newest version first.
        let code = add_till("S002", &format!("till {n}"));
        let till = dir.path().join(format!("till-{n}"));
        let joined = ok(tilldesk(&till).args(["backend", "join", url, "--code", &code]).output().unwrap());
        assert!(joined.contains("of store S002"), "{joined}");
        let paid = ok(tilldesk(&till)
            .args(["pay", "--amount", "3.33", "--auth-code", "2800000000000000", "--json"])
            .output()
            .unwrap());
        let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
        assert_eq!(order["status"], "PAID", "the new store pays at once: {order}");
    }
    for url in [&url_a, &url_b] {
        assert_eq!(get_json(&format!("{url}/health"))["catalogue_version"], 7, "served without a restart");
    }
    let doctor =
        ok(tilldesk(&office).args(["serve", "doctor", "--json", "--database", &schema.database]).output().unwrap());
    let doctor: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    assert_eq!((doctor["catalogue"]["version"].as_i64(), doctor["catalogue"]["stores"].as_i64()), (Some(7), Some(2)));
    assert_eq!(doctor["catalogue"]["has_vault"], true, "{doctor}");

    // An administrator whose folder is behind starts from the newest version (publishing at once is refused:
    // tests/serve_pg.rs), so a change made meanwhile elsewhere stays.
    let other = dir.path().join("admin-2");
    let second = |args: &[&str]| {
        let mut c = tilldesk(&other);
        c.args(args).args(["--database", &schema.database]);
        c.output().unwrap()
    };
    ok(second(&["acquirers", "list"]));
    ok(configure(&["onboard", "store", "--store", "S003", "--name", "Third Street"]));
    // admin-2's copy is behind now: its next command starts from the newest version, so S003 stays.
    let stores = ok(second(&["onboard", "stores", "--json"]));
    assert!(stores.contains("S003"), "{stores}");
}

/// `tilldesk serve bills` on PostgreSQL: yesterday's bills (a payment taken then through a served backend, the
/// stand-alone sandbox's clock a day back) downloaded and reconciled by the command; done once unless asked again;
/// a bad date and a backend on SQLite get clear refusals.
#[test]
fn serve_bills_reconciles_a_day_on_postgresql_once_unless_asked_again() {
    let Some(schema) = PgSchema::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    let (sandbox, sandbox_url) = cli_common::spawn_sandbox(&sandbox_dir);
    let _sandbox = cli_common::Serving(sandbox);
    let clock = |secs: i64| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .post(format!("{sandbox_url}/admin/config"))
                .json(&serde_json::json!({ "clock_offset_secs": secs }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        });
    };
    let backend = dir.path().join("backend");
    let run = |args: &[&str]| {
        let mut c = tilldesk(&backend);
        // The sandbox is the serve command's own option: before its subcommand.
        c.env("TILLDESK_DATABASE_URL", &schema.database).args(["serve", "--sandbox-url", &sandbox_url]);
        c.arg("--sandbox-data").arg(&sandbox_dir).args(&args[1..]);
        c.output().unwrap()
    };
    let code = ok(run(&["serve", "add-till", "--store", "S001", "--name", "till 1"]));
    // The instance serving the payment downloads no bills by itself (from 10:00 China time it would, and the command
    // below would find the day done): `serve bills` does, whatever the time of day.
    let mut command = tilldesk(&backend);
    command.env("TILLDESK_DATABASE_URL", &schema.database).args(["serve", "--listen", "127.0.0.1:0"]);
    command.args(["--bill-time", "off", "--sandbox-url", &sandbox_url, "--sandbox-data"]).arg(&sandbox_dir);
    let code = code.trim().to_owned();
    let (serving, url) = cli_common::serve(command);
    let till = dir.path().join("till");
    ok(tilldesk(&till).args(["backend", "join", &url, "--code", &code]).output().unwrap());
    clock(-86_400);
    let paid = ok(tilldesk(&till)
        .args(["pay", "--amount", "6.60", "--auth-code", "286000111122220000", "--json"])
        .output()
        .unwrap());
    clock(0);
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    assert_eq!(order["status"], "PAID", "{order}");
    drop(serving);

    let first = ok(run(&["serve", "bills"]));
    let alipay = first.lines().find(|l| l.contains("\tAlipay (sandbox)\t")).unwrap_or_else(|| panic!("{first}"));
    assert!(alipay.contains("reconciled now: run"), "{first}");
    let listed = ok(run(&["serve", "bills", "--json"]));
    let days: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let done: Vec<&serde_json::Value> = days.as_array().unwrap().iter().filter(|d| d["state"] == "done").collect();
    assert!(done.iter().any(|d| d["acquirer"] == "Alipay (sandbox)"), "{days}");
    assert!(done.iter().all(|d| d["differences"].is_null() && d["run_id"].is_i64()), "not done again: {days}");
    let again = ok(run(&["serve", "bills", "--again"]));
    assert!(again.contains("reconciled now: run"), "{again}");
    let doctor: serde_json::Value = serde_json::from_str(&ok(run(&["serve", "doctor", "--json"]))).unwrap();
    // Each day with a bill has two runs now, each with the bill it read.
    assert_eq!(doctor["tables"]["recon_runs"], 2 * done.len(), "{doctor}");
    assert_eq!(doctor["tables"]["recon_bills"], 2 * done.len(), "{doctor}");

    // The owner closes the Alipay day from the till (nothing open: the payment matched); asked again, the backend
    // leaves the closed day and says so.
    let mut command = tilldesk(&backend);
    command.env("TILLDESK_DATABASE_URL", &schema.database).args(["serve", "--listen", &url.replace("http://", "")]);
    command.args(["--bill-time", "off", "--sandbox-url", &sandbox_url, "--sandbox-data"]).arg(&sandbox_dir);
    let (serving, _) = cli_common::serve(command);
    ok(tilldesk(&till)
        .args(["operators", "add", "老板", "--role", "owner"])
        .env("TILLDESK_NEW_PIN", "246810")
        .output()
        .unwrap());
    let day = tilldesk::recon::date_text(tilldesk::time::china_business_day(time::OffsetDateTime::now_utc()));
    let closed = ok(tilldesk(&till)
        .args(["--operator", "老板", "reconcile", "close", "--date", &day, "--acquirer", "ALIPAY"])
        .env("TILLDESK_PIN", "246810")
        .output()
        .unwrap());
    assert!(closed.contains(&format!("Closed the Alipay day {day}")), "{closed}");
    drop(serving);
    let left = ok(run(&["serve", "bills", "--again"]));
    let alipay = left.lines().find(|l| l.contains("\tAlipay (sandbox)\t")).unwrap_or_else(|| panic!("{left}"));
    assert!(alipay.contains("closed by 老板") && alipay.contains("reopen the day"), "{left}");
    let doctor: serde_json::Value = serde_json::from_str(&ok(run(&["serve", "doctor", "--json"]))).unwrap();
    assert_eq!(doctor["tables"]["recon_closed_days"], 1, "{doctor}");

    let refused = fails(run(&["serve", "bills", "--date", "yesterday"]));
    assert!(refused.contains("--date \"yesterday\": give the bill day as YYYY-MM-DD"), "{refused}");
    let on_sqlite = fails(tilldesk(&dir.path().join("other")).args(["serve", "bills"]).output().unwrap());
    assert!(on_sqlite.contains("keeps its data in SQLite"), "{on_sqlite}");
}

/// A till that took a payment store-direct (through a stand-alone sandbox, refunded in part) joins a backend on that
/// sandbox: `backend join` sends the order up as the till's history and says so; the backend has it with its refund;
/// the backend's account holds the payment (the same sandbox merchant), so a refund of it at the enrolled till goes
/// through the backend to the acquirer; the owner's summary counts both refunds.
#[test]
fn a_till_that_took_payments_store_direct_joins_and_sends_them_up() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    let (sandbox, sandbox_url) = cli_common::spawn_sandbox(&sandbox_dir);
    let _sandbox = cli_common::Serving(sandbox);
    let till = dir.path().join("till");
    let at_till = |args: &[&str]| {
        let mut c = tilldesk(&till);
        c.args(args).args(["--sandbox-url", &sandbox_url, "--sandbox-data"]).arg(&sandbox_dir);
        c.env("TILLDESK_PIN", "246810");
        c.output().unwrap()
    };
    ok(tilldesk(&till)
        .args(["operators", "add", "老板", "--role", "owner"])
        .env("TILLDESK_NEW_PIN", "246810")
        .output()
        .unwrap());
    let paid = ok(at_till(&["pay", "--amount", "5.00", "--auth-code", "286000111122220000", "--json"]));
    let order: serde_json::Value = serde_json::from_str(&paid).unwrap();
    assert_eq!(order["status"], "PAID", "{order}");
    let no = order["out_trade_no"].as_str().unwrap().to_owned();
    ok(at_till(&["--operator", "老板", "refund", &no, "--amount", "1.00", "--reason", "少收"]));

    let backend = dir.path().join("backend");
    let code =
        ok(tilldesk(&backend).args(["serve", "add-till", "--store", "S001", "--name", "till 1"]).output().unwrap());
    let mut command = tilldesk(&backend);
    command.args(["serve", "--listen", "127.0.0.1:0", "--bill-time", "off", "--sandbox-url", &sandbox_url]);
    command.arg("--sandbox-data").arg(&sandbox_dir);
    let (_serving, url) = cli_common::serve(command);
    let joined = ok(tilldesk(&till)
        .args(["--operator", "老板", "backend", "join", &url, "--code", code.trim()])
        .env("TILLDESK_PIN", "246810")
        .output()
        .unwrap());
    assert!(
        joined.contains(
            "sent the 1 order(s) taken here before joining to the merchant backend as this till's history: 1 recorded, \
             0 already there"
        ),
        "{joined}"
    );
    let at_backend = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    let kept = at_backend.orders().order_by_out_trade_no(&no).unwrap().expect("sent up");
    assert_eq!((kept.status.as_str(), kept.refunded_amount.fen()), ("PARTIALLY_REFUNDED", 100));
    assert!(at_backend.orders().is_history_order(kept.id).unwrap());
    let status = ok(tilldesk(&till).args(["backend", "status", "--json"]).output().unwrap());
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!((status["history_unsent"].as_i64(), status["history_kept"].as_i64()), (Some(0), Some(0)), "{status}");

    // Staff live in the backend now: the owner again, there; the order is refunded through the backend.
    ok(tilldesk(&till)
        .args(["operators", "add", "老板", "--role", "owner"])
        .env("TILLDESK_NEW_PIN", "246810")
        .output()
        .unwrap());
    let refunded = ok(at_till(&["--operator", "老板", "refund", &no, "--amount", "1.00", "--reason", "再退"]));
    assert!(refunded.contains("1.00 SUCCESS"), "{refunded}");
    let at_backend = tilldesk::store::Store::open(&backend.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    let kept = at_backend.orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!((kept.status.as_str(), kept.refunded_amount.fen()), ("PARTIALLY_REFUNDED", 200));
    let summary = ok(tilldesk(&till)
        .args(["--operator", "老板", "orders", "summary", "--period", "7d", "--json"])
        .env("TILLDESK_PIN", "246810")
        .output()
        .unwrap());
    let figures: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        (figures["source"].as_str(), figures["totals"]["paid_amount"].as_str()),
        (Some("backend"), Some("5.00"))
    );
    assert_eq!(figures["totals"]["refunded_amount"], "2.00", "{figures}");
}
