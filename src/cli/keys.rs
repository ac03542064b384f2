//! `tilldesk keys`: live channel settings and keys headless. Secrets are read from the environment or a file,
//! never from the command line (which other users can see); the vault passphrase from TILLDESK_PASSPHRASE.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use tilldesk::channel::wechatpay::SignType;
use tilldesk::config::{AccessMode, DataHome, SETTING_ACCESS, SETTING_BACKEND_URL};
use tilldesk::keys::{self, LiveSettings};
use tilldesk::model::AcquirerKind;
use tilldesk::model::ChannelMode;
use tilldesk::secrets::{Backend, Vault};

/// The signature algorithm of a WeChat Pay account.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum WechatSignType {
    Md5,
    HmacSha256,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LiveAcquirer {
    Alipay,
    Wechatpay,
    /// The Alipay+ partner acquirer (PARTNER1 in the sandbox): the Alipay protocol with its own app and keys.
    #[value(alias = "partner1")]
    Alipayplus,
}

impl LiveAcquirer {
    fn kind(self) -> AcquirerKind {
        match self {
            LiveAcquirer::Alipay => AcquirerKind::Alipay,
            LiveAcquirer::Wechatpay => AcquirerKind::WechatPay,
            LiveAcquirer::Alipayplus => AcquirerKind::AlipayPlus,
        }
    }

    /// The Alipay-protocol account this names, refusing WeChat Pay for an Alipay-only command.
    fn alipay_protocol(self, what: &str) -> anyhow::Result<AcquirerKind> {
        anyhow::ensure!(!matches!(self, LiveAcquirer::Wechatpay), "{what} is for Alipay-protocol acquirers");
        Ok(self.kind())
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Where secrets are kept and what is configured (never the secrets).
    Status,
    /// Gateway URL, ids and options of a live acquirer.
    Set {
        #[arg(long, ignore_case = true)]
        acquirer: LiveAcquirer,
        #[arg(long)]
        gateway_url: Option<String>,
        /// Alipay app_id or WeChat appid.
        #[arg(long)]
        app_id: Option<String>,
        #[arg(long)]
        mch_id: Option<String>,
        /// WeChat Pay: the signature algorithm of this account (md5 or hmac-sha256).
        #[arg(long, ignore_case = true)]
        sign_type: Option<WechatSignType>,
        /// Alipay ISV: the service provider's PID, sent as extend_params.sys_service_provider_id ("" to stop).
        #[arg(long)]
        sys_service_provider_id: Option<String>,
        /// Also trust the root certificate(s) in this PEM file for the gateway's TLS (a private gateway).
        #[arg(long, value_name = "FILE.pem", conflicts_with = "no_root_ca")]
        root_ca: Option<PathBuf>,
        /// Trust the system's roots only again.
        #[arg(long)]
        no_root_ca: bool,
    },
    /// Generate an Alipay RSA-2048 app key pair; prints the public key as the console expects it.
    Generate {
        /// Also write the public key (one line of base64) to FILE.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// alipay (default) or alipayplus.
        #[arg(long, ignore_case = true, default_value = "alipay")]
        acquirer: LiveAcquirer,
    },
    /// Import the Alipay public key (支付宝公钥) from FILE (PEM or one line of base64).
    ImportPlatformKey {
        file: PathBuf,
        /// alipay (default) or alipayplus.
        #[arg(long, ignore_case = true, default_value = "alipay")]
        acquirer: LiveAcquirer,
    },
    /// Import an existing Alipay app private key from FILE.
    ImportPrivateKey {
        file: PathBuf,
        /// alipay (default) or alipayplus.
        #[arg(long, ignore_case = true, default_value = "alipay")]
        acquirer: LiveAcquirer,
    },
    /// Store the WeChat Pay API key, read from TILLDESK_WECHAT_API_KEY.
    SetApiKey,
    /// Import the WeChat Pay API certificate (apiclient_cert.p12) for refunds and reversals. The password is read
    /// from TILLDESK_WECHAT_CERT_PASSWORD, by default the configured mch_id (as WeChat issues it).
    ImportCert {
        #[arg(long, ignore_case = true)]
        acquirer: LiveAcquirer,
        #[arg(value_name = "FILE.p12")]
        file: PathBuf,
    },
    /// Alipay ISV: store the merchant's app_auth_token, read from TILLDESK_ALIPAY_APP_AUTH_TOKEN (empty: none).
    SetAppAuthToken,
    /// A harmless signed call; prints the exact error on failure. For WeChat Pay, also where the API certificate
    /// stands (missing, expired, expiring within 30 days).
    Test {
        #[arg(long, ignore_case = true)]
        acquirer: LiveAcquirer,
    },
    /// store-direct, or merchant-backend with the backend's URL.
    Access {
        #[arg(value_parser = ["store-direct", "merchant-backend"])]
        mode: String,
        #[arg(long)]
        backend_url: Option<String>,
    },
    /// Take payments through the embedded sandbox or the live gateways configured here (keys from the vault).
    Mode {
        #[arg(value_parser = ["sandbox", "live"])]
        mode: String,
    },
}

impl KeysCommand {
    /// The subcommand's name when it changes the till (keys, gateways, access, mode); None when it only reads.
    pub fn changes(&self) -> Option<&'static str> {
        Some(match self {
            KeysCommand::Status | KeysCommand::Test { .. } => return None,
            KeysCommand::Set { .. } => "set",
            KeysCommand::Generate { .. } => "generate",
            KeysCommand::ImportPlatformKey { .. } => "import-platform-key",
            KeysCommand::ImportPrivateKey { .. } => "import-private-key",
            KeysCommand::SetApiKey => "set-api-key",
            KeysCommand::ImportCert { .. } => "import-cert",
            KeysCommand::SetAppAuthToken => "set-app-auth-token",
            KeysCommand::Access { .. } => "access",
            KeysCommand::Mode { .. } => "mode",
        })
    }
}

pub fn open_vault(home: &DataHome) -> anyhow::Result<Vault> {
    let passphrase = tilldesk::secrets::passphrase_from_env("TILLDESK_PASSPHRASE")
        .context("set TILLDESK_PASSPHRASE to the passphrase of the key vault (at least 8 characters)")?;
    Ok(Vault::unlock(&home.dir, &passphrase)?)
}

pub fn keys(rt: &tokio::runtime::Runtime, home: &mut DataHome, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Status => {
            match Backend::detect() {
                Backend::Keyring => println!("secrets: OS keyring"),
                Backend::Vault { reason } => println!("secrets: {reason}"),
            }
            println!("access mode: {}", tilldesk::config::access_mode(&home.store)?.as_str());
            for kind in [AcquirerKind::Alipay, AcquirerKind::AlipayPlus, AcquirerKind::WechatPay] {
                let s = LiveSettings::load(&home.store, kind)?;
                print!("{kind}: gateway {:?} app_id {:?}", s.gateway_url, s.app_id);
                match kind {
                    AcquirerKind::WechatPay => print!(" mch_id {:?} sign_type {}", s.mch_id, s.sign_type),
                    _ => print!(" sys_service_provider_id {:?}", s.sys_service_provider_id),
                }
                let roots = if s.root_ca_pem.is_empty() { "system" } else { "system + configured root CA" };
                println!(" trusted roots: {roots}");
            }
            match keys::wechat_api_certificate_info(&home.store)? {
                Some((cn, not_after, sha256)) => {
                    println!("wechatpay API certificate: CN={cn}, expires {} (sha256 {sha256})", not_after.date())
                }
                None => println!("wechatpay API certificate: not imported"),
            }
            for name in
                [keys::ALIPAY_PRIVATE_KEY, keys::ALIPAY_APP_AUTH_TOKEN, keys::WECHAT_API_KEY, keys::WECHAT_API_CERT]
            {
                match home.store.sync().secret_ref(name)? {
                    Some(r) => println!("{name}: in {} ({}), set {}", r.backend, r.fingerprint, r.updated_at),
                    None => println!("{name}: not set"),
                }
            }
        }
        KeysCommand::Set {
            acquirer,
            gateway_url,
            app_id,
            mch_id,
            sign_type,
            sys_service_provider_id,
            root_ca,
            no_root_ca,
        } => {
            let kind = acquirer.kind();
            let mut s = LiveSettings::load(&home.store, kind)?;
            if let Some(t) = sign_type {
                anyhow::ensure!(kind == AcquirerKind::WechatPay, "--sign-type is a WeChat Pay setting");
                s.sign_type = match t {
                    WechatSignType::Md5 => SignType::Md5,
                    WechatSignType::HmacSha256 => SignType::HmacSha256,
                };
            }
            if let Some(v) = sys_service_provider_id {
                anyhow::ensure!(kind != AcquirerKind::WechatPay, "--sys-service-provider-id is an Alipay setting");
                s.sys_service_provider_id = v;
            }
            if let Some(path) = root_ca {
                s.root_ca_pem =
                    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            }
            if no_root_ca {
                s.root_ca_pem.clear();
            }
            if let Some(v) = gateway_url {
                s.gateway_url = v;
            }
            if let Some(v) = app_id {
                s.app_id = v;
            }
            if let Some(v) = mch_id {
                s.mch_id = v;
            }
            s.save(&mut home.store, kind)?;
            println!("saved");
        }
        KeysCommand::Generate { export, acquirer } => {
            let kind = acquirer.alipay_protocol("an app key pair")?;
            let mut v = open_vault(home)?;
            let pk = keys::generate_alipay_key_pair_for(&mut home.store, &mut v, kind)?;
            if let Some(path) = export {
                keys::export_alipay_public_key(&pk, &path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{}", pk.console_base64);
        }
        KeysCommand::ImportPlatformKey { file, acquirer } => {
            let kind = acquirer.alipay_protocol("the platform public key")?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            println!("imported {}", keys::import_alipay_platform_key_for(&mut home.store, kind, &text)?);
        }
        KeysCommand::ImportPrivateKey { file, acquirer } => {
            let kind = acquirer.alipay_protocol("an app private key")?;
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?,
            );
            let mut v = open_vault(home)?;
            println!("imported {}", keys::import_alipay_private_key_for(&mut home.store, &mut v, kind, &text)?);
        }
        KeysCommand::SetApiKey => {
            let key = tilldesk::secrets::passphrase_from_env("TILLDESK_WECHAT_API_KEY")
                .context("set TILLDESK_WECHAT_API_KEY to the API key")?;
            let mut v = open_vault(home)?;
            println!("saved {}", keys::set_wechat_api_key(&mut home.store, &mut v, &key)?);
        }
        KeysCommand::ImportCert { acquirer, file } => {
            anyhow::ensure!(
                matches!(acquirer, LiveAcquirer::Wechatpay),
                "only WeChat Pay uses an API certificate (apiclient_cert.p12)"
            );
            let p12 = zeroize::Zeroizing::new(
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?,
            );
            let password = std::env::var("TILLDESK_WECHAT_CERT_PASSWORD").ok().map(zeroize::Zeroizing::new);
            let mut v = open_vault(home)?;
            let info = keys::import_wechat_api_certificate(
                &mut home.store,
                &mut v,
                &p12,
                password.as_deref().map(String::as_str),
            )?;
            println!("imported the WeChat Pay API certificate");
            println!("subject CN: {}", info.subject_cn);
            println!("expires: {} (UTC)", info.expiry_date());
            println!("sha256 fingerprint: {}", info.sha256);
        }
        KeysCommand::SetAppAuthToken => {
            let token = zeroize::Zeroizing::new(
                std::env::var("TILLDESK_ALIPAY_APP_AUTH_TOKEN")
                    .context("set TILLDESK_ALIPAY_APP_AUTH_TOKEN to the app_auth_token (empty to remove it)")?,
            );
            let mut v = open_vault(home)?;
            println!("saved {}", keys::set_alipay_app_auth_token(&mut home.store, &mut v, &token)?);
        }
        KeysCommand::Test { acquirer } => {
            let v = open_vault(home)?;
            let channel: Box<dyn tilldesk::channel::Channel> = match acquirer {
                LiveAcquirer::Alipay => Box::new(keys::alipay_client(&home.store, &v)?),
                LiveAcquirer::Alipayplus => {
                    Box::new(keys::alipay_client_for(&home.store, &v, AcquirerKind::AlipayPlus)?)
                }
                LiveAcquirer::Wechatpay => Box::new(keys::wechat_client(&home.store, &v)?),
            };
            let certificate = match acquirer {
                LiveAcquirer::Wechatpay => {
                    Some(keys::wechat_certificate_status(&home.store, &v, time::OffsetDateTime::now_utc())?)
                }
                LiveAcquirer::Alipay | LiveAcquirer::Alipayplus => None,
            };
            let result = rt.block_on(keys::check_connection(channel.as_ref()));
            if let Some(status) = &certificate {
                if status.is_warning() {
                    eprintln!("warning: {status}");
                }
                println!("{status}");
            }
            match result {
                Ok(()) => println!("connected: the acquirer answered a signed query (and its signature verified)"),
                Err(e) => anyhow::bail!("the connection test failed: {e}"),
            }
        }
        KeysCommand::Mode { mode } => {
            let mode = if mode == "live" { ChannelMode::Live } else { ChannelMode::Sandbox };
            home.store.set_setting(tilldesk::config::SETTING_MODE, mode.as_str(), None)?;
            println!("mode: {}", mode.as_str());
        }
        KeysCommand::Access { mode, backend_url } => {
            let mode = if mode == "merchant-backend" { AccessMode::MerchantBackend } else { AccessMode::StoreDirect };
            if let Some(url) = backend_url {
                home.store.set_setting(SETTING_BACKEND_URL, url.trim(), None)?;
            }
            home.store.set_setting(SETTING_ACCESS, mode.as_str(), None)?;
            println!("access mode: {}", mode.as_str());
        }
    }
    Ok(())
}
