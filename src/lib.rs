//! TillDesk: QR-code payments at the till (Alipay, WeChat Pay, Alipay+ CDS store codes).
//!
//! The core (everything but `ui`) never imports egui; `ui` holds the thin screens.

pub mod app;
pub mod channel;
pub mod checkout;
pub mod config;
pub mod dashboard;
pub mod doctor;
pub mod export;
pub mod i18n;
pub mod keys;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod mpm;
pub mod onboarding;
pub mod ownership;
pub mod print;
pub mod private_files;
pub mod queue;
pub mod receipt;
pub mod recon;
pub mod refund;
pub mod routing;
pub mod sandbox;
pub mod secrets;
pub mod serve;
pub mod shifts;
pub mod sound;
pub mod store;
pub mod sync;
pub mod thread_role;
pub mod time;
pub mod ui;
