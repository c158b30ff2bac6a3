//! OpenID Connect providers as atende reaches them: discovery
//! (`/.well-known/openid-configuration`), the signing keys (JWKS, cached, refetched at once
//! for an unknown key id), and the authorization code exchange (client_secret_basic, with
//! the PKCE verifier).
//!
//! A clinic admin chooses the issuer URL, so these requests go where an admin says: only
//! `https://` (unless `security.oidc.allow_http`), redirects are not followed, answers are
//! capped in size and time. Nothing here logs a code, a secret or a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::oidc::{Expected, IdTokenError, VerifiedIdToken, verify_id_token};
use crate::config::OidcSettings;

/// The largest answer read from a provider.
const MAX_BODY: usize = 512 * 1024;
/// An unknown key id refetches the keys at most this often per provider.
const MIN_REFETCH: Duration = Duration::from_secs(10);

/// Why a provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the issuer must be an https:// URL")]
    InsecureUrl,
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider answered {0}")]
    Status(u16),
    #[error("the provider's answer is not what OpenID Connect describes: {0}")]
    Invalid(String),
    #[error("the discovery document names issuer {found}, not {expected}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider does not support PKCE with S256")]
    NoPkce,
    #[error("the provider refused the code: {0}")]
    CodeRejected(String),
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}

/// What atende reads from a provider's discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
}

struct Cached {
    discovery: Arc<Discovery>,
    keys: Arc<JwkSet>,
    fetched: Instant,
    keys_fetched: Instant,
}

/// The relying party's client for every clinic's provider, with a cache per issuer.
pub struct OidcProviders {
    http: reqwest::Client,
    settings: OidcSettings,
    /// Where providers send the browser back: `<public url>/api/auth/oidc/callback`.
    redirect_uri: String,
    cache: Mutex<HashMap<String, Cached>>,
    /// Logins started per client address (each keeps a row until it dies).
    starts: super::throttle::MissThrottle,
}

/// A client's credentials at its provider (the secret decrypted for this one request).
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// Percent-encode for `application/x-www-form-urlencoded` (RFC 6749 §2.3.1 asks this of
/// the client id and secret before HTTP Basic).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl OidcProviders {
    pub fn new(
        settings: &OidcSettings,
        public_base_url: &str,
        counters: Option<std::sync::Arc<super::throttle::shared::SharedCounters>>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.http_timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("atende-oidc")
            .build()?;
        Ok(Self {
            http,
            settings: settings.clone(),
            redirect_uri: format!(
                "{}/api/auth/oidc/callback",
                public_base_url.trim_end_matches('/')
            ),
            cache: Mutex::new(HashMap::new()),
            starts: super::throttle::MissThrottle::new(
                "oidc_starts",
                settings.starts_per_address_per_hour,
                Duration::from_secs(3600),
            )
            .shared(counters),
        })
    }

    /// Count a login started from `address`: `Err(seconds to wait)` past
    /// `starts_per_address_per_hour`.
    pub async fn count_start(&self, address: &str) -> Result<(), u64> {
        self.starts.check(address).await?;
        self.starts.missed(address).await;
        Ok(())
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// `https://`, or `http://` when allowed.
    fn check_url(&self, url: &str) -> Result<reqwest::Url, ProviderError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|_| ProviderError::Invalid(format!("URL {url}")))?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.settings.allow_http => Ok(parsed),
            _ => Err(ProviderError::InsecureUrl),
        }
    }

    /// Read an answer's body, at most [`MAX_BODY`] bytes.
    async fn body(mut resp: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
        let mut out = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?
        {
            if out.len() + chunk.len() > MAX_BODY {
                return Err(ProviderError::Invalid("answer too large".into()));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, ProviderError> {
        let url = self.check_url(url)?;
        let resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ProviderError::Status(status.as_u16()));
        }
        let body = Self::body(resp).await?;
        serde_json::from_slice(&body).map_err(|e| ProviderError::Invalid(e.to_string()))
    }

    /// Fetch and check an issuer's discovery document (uncached): the issuer it names is
    /// the one asked for (OpenID Connect Discovery §4.3), its endpoints are allowed URLs,
    /// and it offers PKCE S256 when it lists methods at all.
    pub async fn discover(&self, issuer: &str) -> Result<Discovery, ProviderError> {
        let issuer = issuer.trim();
        self.check_url(issuer)?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let d: Discovery = self.get_json(&url).await?;
        if d.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(ProviderError::IssuerMismatch {
                expected: issuer.to_string(),
                found: d.issuer,
            });
        }
        for endpoint in [&d.authorization_endpoint, &d.token_endpoint, &d.jwks_uri] {
            self.check_url(endpoint)?;
        }
        if let Some(methods) = &d.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(ProviderError::NoPkce);
        }
        Ok(d)
    }

    /// The issuer's discovery document and keys, from the cache while fresh.
    async fn provider(&self, issuer: &str) -> Result<(Arc<Discovery>, Arc<JwkSet>), ProviderError> {
        let ttl = Duration::from_secs(self.settings.cache_secs);
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(issuer)
            && c.fetched.elapsed() < ttl
        {
            return Ok((c.discovery.clone(), c.keys.clone()));
        }
        let discovery = Arc::new(self.discover(issuer).await?);
        let keys: Arc<JwkSet> = Arc::new(self.get_json(&discovery.jwks_uri).await?);
        if let Ok(mut cache) = self.cache.lock() {
            let now = Instant::now();
            cache.insert(
                issuer.to_string(),
                Cached {
                    discovery: discovery.clone(),
                    keys: keys.clone(),
                    fetched: now,
                    keys_fetched: now,
                },
            );
        }
        Ok((discovery, keys))
    }

    /// The keys again (a key id the cached set lacks), unless fetched a moment ago.
    async fn refetch_keys(
        &self,
        issuer: &str,
        discovery: &Discovery,
    ) -> Result<Option<Arc<JwkSet>>, ProviderError> {
        let recent = self.cache.lock().ok().is_some_and(|cache| {
            cache
                .get(issuer)
                .is_some_and(|c| c.keys_fetched.elapsed() < MIN_REFETCH)
        });
        if recent {
            return Ok(None);
        }
        let keys: Arc<JwkSet> = Arc::new(self.get_json(&discovery.jwks_uri).await?);
        if let Ok(mut cache) = self.cache.lock()
            && let Some(c) = cache.get_mut(issuer)
        {
            c.keys = keys.clone();
            c.keys_fetched = Instant::now();
        }
        Ok(Some(keys))
    }

    /// The URL that sends the browser to the provider: code flow, PKCE S256, `state` and
    /// `nonce`, scope `openid email`.
    pub async fn authorization_url(
        &self,
        issuer: &str,
        client_id: &str,
        state: &str,
        nonce: &str,
        code_challenge: &str,
    ) -> Result<String, ProviderError> {
        let (discovery, _) = self.provider(issuer).await?;
        let mut url = self.check_url(&discovery.authorization_endpoint)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid email")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.to_string())
    }

    /// The issuer as the discovery document names it (what `iss` must equal).
    pub async fn issuer_of(&self, issuer: &str) -> Result<String, ProviderError> {
        Ok(self.provider(issuer).await?.0.issuer.clone())
    }

    /// Exchange the code (with the PKCE verifier) for an ID token, and verify it against
    /// this client, the login's nonce (its hash) and `now` (unix seconds).
    pub async fn redeem(
        &self,
        issuer: &str,
        client: &ClientCredentials<'_>,
        code: &str,
        verifier: &str,
        nonce_hash: &str,
        now: i64,
    ) -> Result<VerifiedIdToken, ProviderError> {
        let (discovery, keys) = self.provider(issuer).await?;
        let url = self.check_url(&discovery.token_endpoint)?;
        let resp = self
            .http
            .post(url)
            .basic_auth(
                form_encode(client.client_id),
                Some(form_encode(client.client_secret)),
            )
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.redirect_uri.as_str()),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(|e| ProviderError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        let body = Self::body(resp).await?;
        if !status.is_success() {
            // Only the OAuth error code (`invalid_grant`, …) is kept, never the body.
            let code = serde_json::from_slice::<TokenError>(&body)
                .ok()
                .and_then(|e| e.error)
                .map(|e| e.chars().take(64).collect::<String>())
                .unwrap_or_else(|| format!("status {}", status.as_u16()));
            return Err(ProviderError::CodeRejected(code));
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let token = answer
            .id_token
            .ok_or_else(|| ProviderError::Invalid("no id_token in the token answer".into()))?;
        let expected = Expected {
            issuer: &discovery.issuer,
            client_id: client.client_id,
            nonce_hash,
            now,
            skew: i64::try_from(self.settings.clock_skew_secs).unwrap_or(60),
            max_age: i64::try_from(self.settings.login_ttl_secs).unwrap_or(600),
            mfa_acr_values: &self.settings.mfa_acr_values,
        };
        match verify_id_token(&token, &keys, &expected) {
            Err(IdTokenError::UnknownKey) => {
                // The provider rotated its keys: fetch them once more.
                let Some(keys) = self.refetch_keys(issuer, &discovery).await? else {
                    return Err(IdTokenError::UnknownKey.into());
                };
                Ok(verify_id_token(&token, &keys, &expected)?)
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_are_form_encoded_before_basic() {
        assert_eq!(form_encode("a b:c/d%é"), "a+b%3Ac%2Fd%25%C3%A9");
        assert_eq!(form_encode("plain-Id_1.x"), "plain-Id_1.x");
    }
}
