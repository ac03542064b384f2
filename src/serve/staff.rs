//! Staff at the merchant backend: the backend's own `operators` are the chain's staff. Tills sign their operators
//! in here (`POST /v1/sign-in`: the PIN checked with the same lockout and audit as at a till) and get an operator
//! session, a bearer token kept only as its hash that names the till and the operator, so the lists of the till API
//! are scoped by the operator's role at the backend. `POST /v1/operators` adds an operator, checked with an owner's
//! PIN (or anyone allowed to manage staff); the first owner of a backend without one needs no `by`. Tills see names
//! and roles, never PIN hashes. May import the store's operator checks and the till API's shapes.

use super::db::AddFailed;
use super::{Backend, Till, enrol, internal};
use crate::channel::backend::api::{AddOperatorRequest, ApiError, OperatorRef, OperatorsResponse, SignInRequest};
use crate::channel::backend::api::{
    ChangePinRequest, SetActiveRequest, SignInResponse, SignOutResponse, VerifyResponse,
};
use crate::model::{Operator, Role};
use crate::store::operators::{AuthError, Permission, SetActiveError, require};

/// How long an operator session works (a shift and then some).
pub const SESSION_HOURS: i64 = 16;

/// The header carrying an operator session.
pub use crate::channel::backend::client::SESSION_HEADER;

fn operator_ref(o: &Operator) -> OperatorRef {
    OperatorRef { operator_id: o.id.0, name: o.name.clone(), role: o.role }
}

fn verify_error(e: AuthError) -> ApiError {
    match e {
        AuthError::LockedOut { seconds, .. } => ApiError::LockedOut { seconds },
        _ => ApiError::NameOrPin,
    }
}

fn add_error(e: AddFailed, role: Role) -> ApiError {
    match e {
        AddFailed::Auth(AuthError::PinFormat { min, .. }) => ApiError::PinFormat { min },
        AddFailed::Auth(AuthError::NameFormat) => {
            ApiError::BadRequest { field: "name".into(), detail: "1 to 32 characters".into() }
        }
        AddFailed::Auth(_) => ApiError::PinFormat { min: crate::store::operators::min_pin_len(role) },
        AddFailed::Taken(name) => ApiError::OperatorTaken { name },
        AddFailed::Db(s) => internal(&s),
    }
}

/// The permission's name as it travels.
pub(super) fn permission_name(p: Permission) -> String {
    p.words().replace(' ', "_")
}

impl Backend {
    /// Every active operator: names and roles.
    async fn operator_refs(&self) -> Result<Vec<OperatorRef>, ApiError> {
        let ops = self.db_operators().await?;
        Ok(ops.iter().filter(|o| o.active).map(operator_ref).collect())
    }

    /// Checks a PIN at the backend (Argon2: slow on purpose).
    async fn verify(&self, req: &SignInRequest) -> Result<Operator, ApiError> {
        self.db_verify_pin(&req.name, &req.pin).await?.map_err(verify_error)
    }

    /// `POST /v1/operators/verify`: the operator whose PIN is right, and the list; no session is made (a till asks
    /// it again for each refund, whoever is signed in there). Wrong PINs count toward the lockout as at sign-in.
    pub async fn verify_operator(&self, till: &Till, req: &SignInRequest) -> Result<VerifyResponse, ApiError> {
        let operator = self.verify(req).await?;
        tracing::info!(till = %till.id, operator = operator.name, "operator PIN checked");
        Ok(VerifyResponse { operator: operator_ref(&operator), operators: self.operator_refs().await? })
    }

    /// `POST /v1/sign-in`: the operator, a new operator session for this till, and the list of operators.
    pub async fn sign_in(&self, till: &Till, req: &SignInRequest) -> Result<SignInResponse, ApiError> {
        let operator = self.verify(req).await?;
        let session = enrol::new_token();
        let now = self.now();
        let until = now + time::Duration::hours(SESSION_HOURS);
        self.db_add_session(&enrol::token_hash(session.expose()), till.id, operator.id, now, until).await?;
        tracing::info!(till = %till.id, operator = operator.name, "operator signed in");
        Ok(SignInResponse {
            operator: operator_ref(&operator),
            session: session.expose().to_owned(),
            operators: self.operator_refs().await?,
        })
    }

    /// `POST /v1/sign-out`: ends the operator session `token` of `till` at once (it opens nothing after, wherever it
    /// was copied). Answers the same whether there was one or not, so a till asking again is told the same.
    pub async fn sign_out(&self, till: &Till, token: Option<&str>) -> Result<SignOutResponse, ApiError> {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(SignOutResponse { signed_out: true });
        };
        let ended = self.db_end_session(&enrol::token_hash(token), till.id).await?;
        if ended {
            tracing::info!(till = %till.id, "operator signed out");
        }
        Ok(SignOutResponse { signed_out: true })
    }

    /// The operator a session token of `till` names: refused as `sign_in_required` when missing or expired.
    pub async fn session_operator(&self, till: &Till, token: Option<&str>) -> Result<Operator, ApiError> {
        let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(ApiError::SignInRequired)?;
        let hash = enrol::token_hash(token);
        let Some(id) = self.db_session(&hash, till.id, self.now()).await? else {
            return Err(ApiError::SignInRequired);
        };
        self.db_operator(id).await?.ok_or(ApiError::SignInRequired)
    }

    /// `POST /v1/operators`: `by` must be allowed to manage staff (an owner); without `by`, only the first owner.
    pub async fn add_operator(&self, till: &Till, req: &AddOperatorRequest) -> Result<OperatorsResponse, ApiError> {
        let has_owner = self.db_has_owner().await?;
        let by = match &req.by {
            None if !has_owner && req.role == Role::Owner => None,
            None => return Err(ApiError::SignInRequired),
            Some(by) => Some(self.manager(by, &format!("add operator {}", req.name)).await?.id),
        };
        let added =
            self.db_add_operator(&req.name, req.role, &req.pin, by).await.map_err(|e| add_error(e, req.role))?;
        tracing::info!(till = %till.id, operator = added.name, role = added.role.as_str(), "operator added");
        Ok(OperatorsResponse {
            added: Some(operator_ref(&added)),
            changed: None,
            operators: self.operator_refs().await?,
        })
    }

    /// `by` checked and allowed to manage staff (a refusal audited), or refused.
    async fn manager(&self, by: &SignInRequest, what: &str) -> Result<Operator, ApiError> {
        let op = self.verify(by).await?;
        if require(&op, Permission::ManageStaff).is_err() {
            self.db_audit(Some(op.id), "permission.refused", what).await?;
            return Err(ApiError::NotAllowed { role: op.role, permission: permission_name(Permission::ManageStaff) });
        }
        Ok(op)
    }

    /// `POST /v1/operators/pin`: an operator changes their own PIN (their current one checked), or a manager of
    /// staff gives anyone a new one (a forgotten PIN). The lockout count starts again.
    pub async fn change_pin(&self, till: &Till, req: &ChangePinRequest) -> Result<OperatorsResponse, ApiError> {
        let name = req.name.trim();
        let by = if req.by.name.trim() == name {
            self.verify(&req.by).await?
        } else {
            self.manager(&req.by, &format!("change the PIN of {name}")).await?
        };
        let target = self.db_operators().await?.into_iter().find(|o| o.name == name && o.active);
        let Some(target) = target else { return Err(ApiError::NoSuchOperator { name: name.to_owned() }) };
        let changed = match self.db_change_pin(target.id, &req.new_pin, Some(by.id)).await? {
            Ok(op) => op,
            Err(e) => return Err(add_error(AddFailed::from(e), target.role)),
        };
        tracing::info!(till = %till.id, operator = changed.name, by = by.name, "PIN changed");
        Ok(OperatorsResponse {
            added: None,
            changed: Some(operator_ref(&changed)),
            operators: self.operator_refs().await?,
        })
    }

    /// `POST /v1/operators/active`: a manager of staff deactivates or reactivates an operator (never the last active
    /// owner). A deactivated operator's sessions end at once, at every till.
    pub async fn set_operator_active(
        &self,
        till: &Till,
        req: &SetActiveRequest,
    ) -> Result<OperatorsResponse, ApiError> {
        let name = req.name.trim();
        let verb = if req.active { "reactivate" } else { "deactivate" };
        let by = self.manager(&req.by, &format!("{verb} {name}")).await?;
        let changed = match self.db_set_active(name, req.active, Some(by.id)).await? {
            Ok(op) => op,
            Err(SetActiveError::Unknown(name)) => return Err(ApiError::NoSuchOperator { name }),
            Err(SetActiveError::LastOwner(name)) => return Err(ApiError::LastOwner { name }),
            Err(SetActiveError::Store(e)) => return Err(internal(&e)),
        };
        tracing::info!(till = %till.id, operator = changed.name, by = by.name, active = req.active, "operator {verb}d");
        Ok(OperatorsResponse {
            added: None,
            changed: Some(operator_ref(&changed)),
            operators: self.operator_refs().await?,
        })
    }

    /// `GET /v1/operators`.
    pub async fn operator_list(&self) -> Result<OperatorsResponse, ApiError> {
        Ok(OperatorsResponse { added: None, changed: None, operators: self.operator_refs().await? })
    }
}
