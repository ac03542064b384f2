//! `tilldesk keys`: live channel settings and keys headless. Secrets are read from the environment or a file,
//! never from the command line (which other users can see); the vault passphrase from TILLDESK_PASSPHRASE.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use tilldesk::config::{AccessMode, DataHome, SETTING_ACCESS, SETTING_BACKEND_URL};
use tilldesk::keys::{self, LiveSettings};
use tilldesk::model::AcquirerKind;
use tilldesk::model::ChannelMode;
use tilldesk::secrets::{Backend, Vault};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LiveAcquirer {
    Alipay,
    Wechatpay,
}

impl LiveAcquirer {
    fn kind(self) -> AcquirerKind {
        match self {
            LiveAcquirer::Alipay => AcquirerKind::Alipay,
            LiveAcquirer::Wechatpay => AcquirerKind::WechatPay,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Where secrets are kept and what is configured (never the secrets).
    Status,
    /// Gateway URL and ids of a live acquirer.
    Set {
        #[arg(long)]
        acquirer: LiveAcquirer,
        #[arg(long)]
        gateway_url: Option<String>,
        /// Alipay app_id or WeChat appid.
        #[arg(long)]
        app_id: Option<String>,
        #[arg(long)]
        mch_id: Option<String>,
    },
    /// Generate an Alipay RSA-2048 app key pair; prints the public key as the console expects it.
    Generate {
        /// Also write the public key (one line of base64) to FILE.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
    /// Import the Alipay public key (支付宝公钥) from FILE (PEM or one line of base64).
    ImportPlatformKey { file: PathBuf },
    /// Import an existing Alipay app private key from FILE.
    ImportPrivateKey { file: PathBuf },
    /// Store the WeChat Pay API key, read from TILLDESK_WECHAT_API_KEY.
    SetApiKey,
    /// A harmless signed call; prints the exact error on failure.
    Test {
        #[arg(long)]
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

pub fn open_vault(home: &DataHome) -> anyhow::Result<Vault> {
    let passphrase = std::env::var("TILLDESK_PASSPHRASE")
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
            for kind in [AcquirerKind::Alipay, AcquirerKind::WechatPay] {
                let s = LiveSettings::load(&home.store, kind)?;
                println!("{kind}: gateway {:?} app_id {:?} mch_id {:?}", s.gateway_url, s.app_id, s.mch_id);
            }
            for name in [keys::ALIPAY_PRIVATE_KEY, keys::WECHAT_API_KEY] {
                match home.store.secret_ref(name)? {
                    Some(r) => println!("{name}: in {} ({}), set {}", r.backend, r.fingerprint, r.updated_at),
                    None => println!("{name}: not set"),
                }
            }
        }
        KeysCommand::Set { acquirer, gateway_url, app_id, mch_id } => {
            let kind = acquirer.kind();
            let mut s = LiveSettings::load(&home.store, kind)?;
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
        KeysCommand::Generate { export } => {
            let mut v = open_vault(home)?;
            let pk = keys::generate_alipay_key_pair(&mut home.store, &mut v)?;
            if let Some(path) = export {
                std::fs::write(&path, format!("{}\n", pk.console_base64))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{}", pk.console_base64);
        }
        KeysCommand::ImportPlatformKey { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            println!("imported {}", keys::import_alipay_platform_key(&mut home.store, &text)?);
        }
        KeysCommand::ImportPrivateKey { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut v = open_vault(home)?;
            println!("imported {}", keys::import_alipay_private_key(&mut home.store, &mut v, &text)?);
        }
        KeysCommand::SetApiKey => {
            let key = std::env::var("TILLDESK_WECHAT_API_KEY").context("set TILLDESK_WECHAT_API_KEY to the API key")?;
            let mut v = open_vault(home)?;
            println!("saved {}", keys::set_wechat_api_key(&mut home.store, &mut v, &key)?);
        }
        KeysCommand::Test { acquirer } => {
            let v = open_vault(home)?;
            let channel: Box<dyn tilldesk::channel::Channel> = match acquirer {
                LiveAcquirer::Alipay => Box::new(keys::alipay_client(&home.store, &v)?),
                LiveAcquirer::Wechatpay => Box::new(keys::wechat_client(&home.store, &v)?),
            };
            let result = rt.block_on(keys::test_connection(channel.as_ref()));
            match result {
                Ok(m) => println!("{m}"),
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
