//! OpenID Connect login for clinic staff: the clinic admin's connection to the clinic's
//! identity provider (Google Workspace, Microsoft Entra, Keycloak…), and the login itself
//! (authorization code with PKCE S256, `state` and `nonce`).
//!
//! The provider proves an e-mail address; atende maps it to an **existing** staff member
//! of the clinic whose connection was used — never creates an account, never logs in a
//! patient, never takes a role from the provider. The session is the one a password login
//! opens. Two-factor: an account with atende's TOTP is asked for it after the provider's
//! login unless the ID token shows the provider checked a second factor (`amr`/`acr`);
//! the clinic's policy (`require_mfa`) applies to the session as after a password login.
//! Every refusal has a stable code and is audited (`auth.oidc_refused`).

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::mfa;
use crate::app::session::{LoginOutcome, open_session, remember_device, token_response};
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role, ValidationError};
use crate::security::audit::AuditEvent;
use crate::security::oidc::{IdTokenError, challenge_s256, new_verifier, nonce_hash};
use crate::security::oidc_provider::{ClientCredentials, ProviderError};
use crate::security::tokens::{random_token, token_hash};
use crate::store;
use crate::store::oidc::{NewOidcLogin, OidcConnectionRow};

/// A clinic's connection as its admin sees it: never the client secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcConnectionView {
    pub issuer: String,
    pub client_id: String,
    /// The secret is stored (encrypted) and never shown again.
    pub client_secret_set: bool,
    /// The button's words on the login page ("Entrar com Google Workspace").
    pub display_name: String,
    /// Only addresses of this domain may log in (`clinica.com.br`), when set.
    pub allowed_domain: Option<String>,
    /// What to register at the provider as the redirect URI.
    pub redirect_uri: String,
    /// The page staff open to log in with the provider.
    pub login_path: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Setting a clinic's connection. The issuer is checked by fetching its discovery document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutOidcConnection {
    /// `https://accounts.google.com`, `https://login.microsoftonline.com/<tenant>/v2.0`, …
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; omitted (or null) keeps the stored one.
    #[serde(default)]
    pub client_secret: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub allowed_domain: Option<String>,
}

/// What the login page shows for a clinic with single sign-on.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcLoginInfo {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub display_name: String,
}

/// A login sent to the provider: where to send the browser, and the value of the cookie
/// that binds the login to this browser.
pub struct StartedLogin {
    pub redirect_url: String,
    pub browser_token: String,
    pub ttl_secs: u64,
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    /// Set by the provider when the login failed there (`access_denied`, …).
    #[serde(default)]
    pub error: Option<String>,
    /// RFC 9207: the issuer that answers (checked against the connection's).
    #[serde(default)]
    pub iss: Option<String>,
}

/// A refused login: its stable code (shown by the login page) and the clinic when known.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub clinic: Option<ClinicId>,
}

fn invalid(code: &'static str, message: &str) -> AppError {
    ValidationError::new(code, message.to_string()).into()
}

/// Refuse unless the caller administers `clinic` (or operates the platform).
fn require_clinic_admin(auth: &Auth, clinic: ClinicId) -> Result<(), AppError> {
    if auth.platform_admin {
        return Ok(());
    }
    auth.require_role(clinic, &[Role::ClinicAdmin])
}

fn view(state: &AppState, row: OidcConnectionRow) -> OidcConnectionView {
    OidcConnectionView {
        login_path: format!("/#/entrar/{}", row.clinic_id),
        issuer: row.issuer,
        client_id: row.client_id,
        client_secret_set: true,
        display_name: row.display_name,
        allowed_domain: row.allowed_domain,
        redirect_uri: state.oidc.redirect_uri().to_string(),
        updated_at: row.updated_at,
    }
}

/// The clinic's connection, or `None` when it has none (the admin's page shows the empty
/// form: not an error).
pub async fn connection(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Option<OidcConnectionView>, AppError> {
    require_clinic_admin(auth, clinic)?;
    state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let row = state.store.oidc_connection(clinic).await?;
    Ok(row.map(|row| view(state, row)))
}

/// A domain as typed (`@Clinica.com.br `) made canonical, or 422.
fn parse_domain(input: &str) -> Result<String, AppError> {
    let d = input.trim().trim_start_matches('@').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(invalid(
            "invalid_domain",
            "informe só o domínio dos e-mails, como clinica.com.br",
        ))
    }
}

/// Set (create or replace) the clinic's connection, after checking that the issuer
/// answers a valid discovery document (422 `oidc_issuer_invalid` otherwise). Audited;
/// the secret never reaches the audit row, a log line or an answer.
pub async fn set_connection(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: PutOidcConnection,
) -> Result<OidcConnectionView, AppError> {
    require_clinic_admin(auth, clinic)?;
    state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let issuer = body.issuer.trim().trim_end_matches('/').to_string();
    let client_id = body.client_id.trim().to_string();
    let display_name = body.display_name.trim().to_string();
    if client_id.is_empty() || client_id.len() > 255 {
        return Err(invalid(
            "invalid_client_id",
            "informe o client ID do provedor",
        ));
    }
    if display_name.is_empty() || display_name.chars().count() > 80 {
        return Err(invalid(
            "invalid_display_name",
            "informe o texto do botão (até 80 caracteres)",
        ));
    }
    let allowed_domain = match body.allowed_domain.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(parse_domain(d)?),
    };
    let current = state.store.oidc_connection(clinic).await?;
    let secret = body
        .client_secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let client_secret_enc = match (secret, &current) {
        (Some(s), _) if s.len() > 1024 => {
            return Err(invalid(
                "invalid_client_secret",
                "client secret longo demais",
            ));
        }
        (Some(s), _) => state
            .cipher
            .encrypt(s)
            .map_err(|e| AppError::Unexpected(e.into()))?,
        (None, Some(row)) => row.client_secret_enc.clone(),
        (None, None) => {
            return Err(invalid(
                "invalid_client_secret",
                "informe o client secret do provedor",
            ));
        }
    };
    if let Err(e) = state.oidc.discover(&issuer).await {
        tracing::info!(error = %e, "OpenID Connect issuer refused");
        return Err(match e {
            ProviderError::InsecureUrl => invalid(
                "oidc_issuer_invalid",
                "o endereço do provedor precisa começar com https://",
            ),
            _ => invalid(
                "oidc_issuer_invalid",
                "não foi possível ler a configuração OpenID Connect desse endereço \
                 (/.well-known/openid-configuration); confira o emissor (issuer)",
            ),
        });
    }
    let row = OidcConnectionRow {
        clinic_id: clinic,
        issuer,
        client_id,
        client_secret_enc,
        display_name,
        allowed_domain,
        updated_at: store::now(),
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .put_oidc_connection(&mut tx, &row, auth.user_id)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "clinic.oidc_connection_set", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(serde_json::json!({
                    "issuer": row.issuer,
                    "client_id": row.client_id,
                    "display_name": row.display_name,
                    "allowed_domain": row.allowed_domain,
                    "secret_changed": secret.is_some(),
                })),
        )
        .await?;
    tx.commit().await?;
    Ok(view(state, row))
}

/// Remove the clinic's connection (logins in flight die with it). Audited.
pub async fn delete_connection(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<(), AppError> {
    require_clinic_admin(auth, clinic)?;
    let mut tx = state.store.begin().await?;
    if !state.store.delete_oidc_connection(&mut tx, clinic).await? {
        return Err(AppError::NotFound);
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(
                Some(auth.user_id),
                "clinic.oidc_connection_removed",
                "clinic",
            )
            .entity_id(clinic)
            .clinic(clinic)
            .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The login page's button for a clinic (public: it says only that the clinic has one).
pub async fn login_info(state: &AppState, clinic: ClinicId) -> Result<OidcLoginInfo, AppError> {
    let row = state
        .store
        .oidc_connection(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let c = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(OidcLoginInfo {
        clinic_id: clinic,
        clinic_name: c.name,
        display_name: row.display_name,
    })
}

/// Start a login at the clinic's provider: fresh `state`, `nonce` and PKCE verifier, kept
/// server-side (hashes, and the verifier encrypted), single use, `login_ttl_secs` long, and
/// bound to the browser by a cookie the edge sets. Limited per client address
/// (`security.oidc.starts_per_address_per_hour`), since each start keeps a row.
pub async fn start_login(
    state: &AppState,
    clinic: ClinicId,
    ip: Option<String>,
) -> Result<StartedLogin, AppError> {
    state
        .oidc
        .count_start(ip.as_deref().unwrap_or("unknown"))
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let row = state
        .store
        .oidc_connection(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let login_state = random_token();
    let nonce = random_token();
    let verifier = new_verifier();
    let browser_token = random_token();
    let redirect_url = state
        .oidc
        .authorization_url(
            &row.issuer,
            &row.client_id,
            &login_state,
            &nonce,
            &challenge_s256(&verifier),
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %clinic, "OpenID Connect provider unavailable");
            AppError::Unavailable
        })?;
    let ttl = state.settings.security.oidc.login_ttl_secs;
    let verifier_enc = state
        .cipher
        .encrypt(&verifier)
        .map_err(|e| AppError::Unexpected(e.into()))?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_oidc_login(
            &mut tx,
            &NewOidcLogin {
                state_hash: &token_hash(&login_state),
                clinic,
                browser_hash: &token_hash(&browser_token),
                nonce_hash: &nonce_hash(&nonce),
                verifier_enc: &verifier_enc,
                expires_at: store::now() + Duration::seconds(ttl as i64),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(StartedLogin {
        redirect_url,
        browser_token,
        ttl_secs: ttl,
    })
}

fn refuse(code: &'static str, clinic: Option<ClinicId>) -> Refusal {
    Refusal { code, clinic }
}

/// Finish a login at the callback: every check, then the session (or the TOTP step).
/// A refusal is audited here, with its code and nothing the provider sent.
pub async fn finish_login(
    state: &AppState,
    ip: Option<String>,
    browser_token: Option<&str>,
    query: CallbackQuery,
) -> Result<LoginOutcome, Refusal> {
    match callback(state, ip.clone(), browser_token, query).await {
        Ok(outcome) => Ok(outcome),
        Err(refusal) => {
            metrics::counter!("atende_oidc_refusals_total", "code" => refusal.code).increment(1);
            tracing::info!(code = refusal.code, "OpenID Connect login refused");
            let mut event = AuditEvent::new(None, "auth.oidc_refused", "clinic")
                .ip(ip)
                .details(serde_json::json!({ "code": refusal.code }));
            if let Some(clinic) = refusal.clinic {
                event = event.entity_id(clinic).clinic(clinic);
            }
            let audited = async {
                let mut tx = state.store.begin().await?;
                state.store.append_audit(&mut tx, &event).await?;
                tx.commit().await?;
                Ok::<_, AppError>(())
            };
            if let Err(e) = audited.await {
                tracing::error!(error = %e, "cannot audit a refused OpenID Connect login");
            }
            Err(refusal)
        }
    }
}

async fn callback(
    state: &AppState,
    ip: Option<String>,
    browser_token: Option<&str>,
    query: CallbackQuery,
) -> Result<LoginOutcome, Refusal> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "OpenID Connect callback failed");
        refuse("oidc_unavailable", None)
    };
    let presented = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| refuse("oidc_state_mismatch", None))?;
    // Spend the state first: whatever follows, it never works twice.
    let mut tx = state.store.begin().await.map_err(|e| internal(&e))?;
    let login = state
        .store
        .take_oidc_login(&mut tx, &token_hash(presented))
        .await
        .map_err(|e| internal(&e))?;
    tx.commit().await.map_err(|e| internal(&e))?;
    let login = login.ok_or_else(|| refuse("oidc_state_mismatch", None))?;
    let clinic = Some(login.clinic_id);
    // The browser that comes back must be the one that started (no login planted by
    // someone else's link).
    let same_browser = browser_token.is_some_and(|b| token_hash(b) == login.browser_hash);
    if !same_browser {
        return Err(refuse("oidc_state_mismatch", clinic));
    }
    if login.expires_at <= store::now() {
        return Err(refuse("oidc_login_expired", clinic));
    }
    if query.error.is_some() {
        return Err(refuse("oidc_provider_refused", clinic));
    }
    let code = query
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| refuse("oidc_provider_refused", clinic))?;
    let connection = state
        .store
        .oidc_connection(login.clinic_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| refuse("oidc_not_configured", clinic))?;
    // RFC 9207: a provider that names itself must be this connection's (mix-up attacks).
    if let Some(iss) = query.iss.as_deref() {
        let expected = state
            .oidc
            .issuer_of(&connection.issuer)
            .await
            .map_err(|e| internal(&e))?;
        if iss != expected {
            return Err(refuse("oidc_issuer_mismatch", clinic));
        }
    }
    let verifier = state
        .cipher
        .decrypt(&login.verifier_enc)
        .map_err(|e| internal(&e))?;
    let secret = state
        .cipher
        .decrypt(&connection.client_secret_enc)
        .map_err(|e| internal(&e))?;
    let verified = state
        .oidc
        .redeem(
            &connection.issuer,
            &ClientCredentials {
                client_id: &connection.client_id,
                client_secret: &secret,
            },
            code,
            &verifier,
            &login.nonce_hash,
            chrono::Utc::now().timestamp(),
        )
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "OpenID Connect code or ID token refused");
            match e {
                ProviderError::IdToken(IdTokenError::EmailUnverified | IdTokenError::NoEmail) => {
                    refuse("oidc_email_unverified", clinic)
                }
                ProviderError::IdToken(_) => refuse("oidc_token_invalid", clinic),
                ProviderError::CodeRejected(_) => refuse("oidc_code_rejected", clinic),
                _ => refuse("oidc_unavailable", clinic),
            }
        })?;
    if let Some(domain) = connection.allowed_domain.as_deref() {
        let in_domain = verified
            .email
            .rsplit_once('@')
            .is_some_and(|(_, d)| d == domain);
        if !in_domain {
            return Err(refuse("oidc_domain_not_allowed", clinic));
        }
    }
    // An existing, active account holding a role in this very clinic.
    let user = state
        .store
        .user_by_email(&verified.email)
        .await
        .map_err(|e| internal(&e))?
        .filter(|u| u.disabled_at.is_none())
        .ok_or_else(|| refuse("oidc_not_a_member", clinic))?;
    let member = state
        .store
        .memberships_of(user.id)
        .await
        .map_err(|e| internal(&e))?
        .iter()
        .any(|m| m.clinic_id == login.clinic_id);
    if !member {
        return Err(refuse("oidc_not_a_member", clinic));
    }
    let has_totp = mfa::login_needs_second_factor(state, user.id)
        .await
        .map_err(|e| internal(&e))?;
    if has_totp && !verified.mfa {
        tracing::info!("provider login accepted; atende's second factor awaited");
        let challenge = mfa::open_challenge(state, user.id, false)
            .await
            .map_err(|e| internal(&e))?;
        return Ok(LoginOutcome::SecondFactor(challenge));
    }
    let second_factor = has_totp.then_some("provider_mfa");
    let opened = async {
        let mut tx = state.store.begin().await?;
        let (session, refresh) = open_session(state, &mut tx, user.id).await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(Some(user.id), "auth.login", "session")
                    .entity_id(session)
                    .clinic(login.clinic_id)
                    .ip(ip)
                    .details(serde_json::json!({
                        "method": "oidc",
                        "issuer": connection.issuer,
                        "second_factor": second_factor,
                    })),
            )
            .await?;
        tx.commit().await?;
        token_response(state, user.id, session, refresh).await
    };
    let tokens = opened.await.map_err(|e| internal(&e))?;
    Ok(LoginOutcome::LoggedIn {
        tokens: Box::new(tokens),
        known_device: remember_device(state, None, user.id),
    })
}
