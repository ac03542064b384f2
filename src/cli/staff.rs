//! Staff checks on the command line. Whoever runs `tilldesk` can read the data folder anyway, so imports,
//! reconciliation, onboarding and exports stay scriptable (audited with the actor "command line"); refunds, key and
//! mode changes and staff changes name an operator (`--operator NAME`) and their PIN (`TILLDESK_PIN`, or asked on a
//! terminal) once the first owner exists. Before that (first run) everything is allowed. On a till enrolled with a
//! merchant backend the PIN is checked by the backend (`routing::backend::sign_in`).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context as _, bail};
use tilldesk::config::DataHome;
use tilldesk::model::Operator;
use tilldesk::routing::backend;
use tilldesk::store::operators::{Permission, require, roles_allowed_words};

/// The actor of every audit entry this process writes.
pub const ACTOR: &str = "command line";

/// The PIN from `TILLDESK_PIN`, or asked on the terminal.
pub fn read_pin(name: &str) -> anyhow::Result<String> {
    if let Ok(pin) = std::env::var("TILLDESK_PIN") {
        return Ok(pin);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no PIN: set TILLDESK_PIN or run on a terminal");
    }
    eprint!("PIN for {name}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Checks `name`'s PIN (lockout and audit as in the window) and makes them the actor of what follows.
/// On a till enrolled with a merchant backend the PIN is checked there (staff live in the backend).
pub fn sign_in(home: &mut DataHome, name: &str) -> anyhow::Result<Operator> {
    let pin = read_pin(name)?;
    let operator = if backend::link(&home.store)?.is_some() {
        let vault = crate::cli::keys::open_vault(home).context("operators sign in at the merchant backend")?;
        on_backend(backend::sign_in(&mut home.store, &vault, name, &pin))?
    } else {
        home.store.staff_mut().verify_pin(name, &pin)?
    };
    home.store.set_audit_session(Some(operator.id), ACTOR)?;
    Ok(operator)
}

/// Lets `what` go ahead when nobody is set up yet (first run: None), or when `operator` signs in with their PIN and
/// may do `permission`. A refusal is audited and says what to pass.
pub fn authorize(
    home: &mut DataHome,
    operator: Option<&str>,
    permission: Permission,
    what: &str,
) -> anyhow::Result<Option<Operator>> {
    if !home.store.staff().has_owner()? {
        return Ok(None);
    }
    let Some(name) = operator else {
        home.store.staff_mut().audit(None, "permission.refused", what, None, Some("no --operator"))?;
        let who = roles_allowed_words(permission);
        bail!(
            "{what} needs an operator: pass --operator NAME ({who}) and the PIN in TILLDESK_PIN (to {})",
            permission.words()
        );
    };
    let operator = sign_in(home, name)?;
    if let Err(e) = require(&operator, permission) {
        home.store.staff_mut().audit(Some(operator.id), "permission.refused", what, None, Some(permission.words()))?;
        return Err(e.into());
    }
    Ok(Some(operator))
}

/// Runs one call to the merchant backend to its end (the command line's staff checks run outside the runtime).
pub fn on_backend<T>(work: impl std::future::Future<Output = Result<T, backend::StaffError>>) -> anyhow::Result<T> {
    Ok(backend::block_on(work)?)
}

/// `tilldesk operators add` on a till enrolled with a merchant backend: the operator is created there, `by`'s PIN
/// (`TILLDESK_PIN`) checked there; without `by` only a backend that has no owner yet takes its first owner.
pub fn add_operator_at_backend(
    home: &mut DataHome,
    name: &str,
    role: tilldesk::model::Role,
    by: Option<&str>,
) -> anyhow::Result<()> {
    let pin = std::env::var("TILLDESK_NEW_PIN").context("set TILLDESK_NEW_PIN to the new operator's PIN")?;
    let by_pin = match by {
        Some(who) => Some(read_pin(who)?),
        None => None,
    };
    let vault = crate::cli::keys::open_vault(home).context("operators are added at the merchant backend")?;
    let client = backend::client(&home.store, &vault)?.context("this till is not enrolled with a merchant backend")?;
    let by = by.zip(by_pin.as_deref());
    let op = on_backend(backend::add_operator(&mut home.store, &client, by, name, role, &pin))?;
    println!("added {} ({}) at the merchant backend", op.name, op.role.as_str());
    Ok(())
}

/// The till's client for the merchant backend, with the vault opened for `what`.
fn backend_client(home: &mut DataHome, what: &str) -> anyhow::Result<tilldesk::channel::backend::BackendClient> {
    let vault = crate::cli::keys::open_vault(home).with_context(|| what.to_owned())?;
    backend::client(&home.store, &vault)?.context("this till is not enrolled with a merchant backend")
}

/// `tilldesk operators set-pin NAME` on a till enrolled with a merchant backend: `by` (NAME themselves or an owner,
/// their PIN in `TILLDESK_PIN`) is checked there, and the new PIN (`TILLDESK_NEW_PIN`) is kept only there.
pub fn set_pin_at_backend(home: &mut DataHome, name: &str, by: Option<&str>) -> anyhow::Result<()> {
    let Some(by) = by else {
        bail!(
            "tilldesk operators set-pin {name} needs an operator: pass --operator {name} (or an owner's name) and \
             their PIN in TILLDESK_PIN"
        );
    };
    let new_pin = std::env::var("TILLDESK_NEW_PIN").context("set TILLDESK_NEW_PIN to the new PIN")?;
    let by_pin = read_pin(by)?;
    let client = backend_client(home, "PINs are changed at the merchant backend")?;
    let op = on_backend(backend::change_pin(&mut home.store, &client, (by, &by_pin), name, &new_pin))?;
    println!("changed the PIN of {} at the merchant backend", op.name);
    Ok(())
}

/// `tilldesk operators deactivate|reactivate NAME`: an owner (`--operator`, PIN in `TILLDESK_PIN`) takes an operator
/// off the staff or back. On a till enrolled with a merchant backend it happens there (every till at once, their
/// sessions ended); else in this till's database.
pub fn set_active(home: &mut DataHome, name: &str, active: bool, by: Option<&str>) -> anyhow::Result<()> {
    let verb = if active { "reactivate" } else { "deactivate" };
    let what = format!("tilldesk operators {verb} {name}");
    let op = if backend::link(&home.store)?.is_some() {
        let Some(by) = by else {
            bail!("{what} needs an owner: pass --operator NAME and the PIN in TILLDESK_PIN");
        };
        let by_pin = read_pin(by)?;
        let client = backend_client(home, "operators are managed at the merchant backend")?;
        on_backend(backend::set_operator_active(&mut home.store, &client, (by, &by_pin), name, active))?
    } else {
        let by = authorize(home, by, Permission::ManageStaff, &what)?;
        home.store.staff_mut().set_active(name, active, by.map(|o| o.id))?
    };
    let state = if op.active { "active" } else { "inactive" };
    let place = if backend::link(&home.store)?.is_some() { " at the merchant backend" } else { "" };
    println!("{} ({}) is {state}{place}", op.name, op.role.as_str());
    Ok(())
}
