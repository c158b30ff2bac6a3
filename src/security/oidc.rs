//! OpenID Connect, the relying party's checks that need no network: PKCE (RFC 7636, S256),
//! and the ID token's verification (OpenID Connect Core §3.1.3.7) against a key set already
//! fetched. The provider's endpoints are reached by [`super::oidc_provider`].
//!
//! Every check here stops something named in `docs/security.md`: the signature a token
//! forged or altered on the way; `iss` a token of another provider (mix-up); `aud`/`azp` a
//! token issued to another client (another clinic's connection, or any site using the same
//! provider); `exp`/`iat` an old token replayed; `nonce` a token injected into this login
//! from another one; `email_verified` an address the provider never checked.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::tokens::random_token;

/// A PKCE verifier: 43 characters of base64url from 32 random bytes (RFC 7636 §4.1).
pub fn new_verifier() -> String {
    random_token()
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)), no padding.
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Why an ID token was refused. None of these carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("the ID token's algorithm {0} is not accepted")]
    Algorithm(String),
    /// The key id is not in the key set: refetch the keys once, then refuse.
    #[error("no key in the provider's key set matches the ID token's key id")]
    UnknownKey,
    #[error("the ID token's signature is invalid")]
    Signature,
    #[error("the ID token was issued by another provider")]
    Issuer,
    #[error("the ID token was issued to another client")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token's issue time is out of range")]
    IssuedAt,
    #[error("the ID token's nonce does not match this login")]
    Nonce,
    #[error("the ID token carries no e-mail address")]
    NoEmail,
    #[error("the provider has not verified the e-mail address")]
    EmailUnverified,
}

/// What the login must find in the ID token.
pub struct Expected<'a> {
    /// The issuer exactly as the provider's discovery document states it.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// SHA-256 (hex) of the nonce sent with this login.
    pub nonce_hash: &'a str,
    /// Unix seconds now.
    pub now: i64,
    /// Tolerated clock difference, seconds.
    pub skew: i64,
    /// The oldest `iat` accepted, seconds before `now` (the login's own life).
    pub max_age: i64,
    /// `acr` values that mean a second factor was checked.
    pub mfa_acr_values: &'a [String],
}

/// The verified facts the login uses.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub subject: String,
    /// Lower-cased.
    pub email: String,
    /// The provider says it checked a second factor (`amr` or `acr`).
    pub mfa: bool,
    pub amr: Vec<String>,
    pub acr: Option<String>,
}

/// `aud` is a string or an array of strings (Core §2).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn list(&self) -> Vec<&str> {
        match self {
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `email_verified` is a boolean; some providers send the string `"true"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
    #[serde(default)]
    amr: Option<Vec<String>>,
    #[serde(default)]
    acr: Option<String>,
}

/// Asymmetric algorithms only: an HMAC "signature" would be keyed by something the
/// provider publishes or the client shares, and `none` is no signature at all.
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The key that signed the token: the one with its `kid`, or, when the token names none,
/// the only signing key of the set.
fn signing_key<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Result<&'a Jwk, IdTokenError> {
    match kid {
        Some(kid) => keys.find(kid).ok_or(IdTokenError::UnknownKey),
        None => {
            let signing: Vec<&Jwk> = keys
                .keys
                .iter()
                .filter(|k| {
                    !matches!(
                        k.common.public_key_use,
                        Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
                    )
                })
                .collect();
            match signing.as_slice() {
                [one] => Ok(one),
                _ => Err(IdTokenError::UnknownKey),
            }
        }
    }
}

/// Hex SHA-256 of a nonce (what a login keeps instead of the nonce).
pub fn nonce_hash(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

/// Whether `amr`/`acr` show that the provider checked more than one factor: `amr` says
/// `mfa`, or holds a possession factor (one-time code, hardware or software key, smart
/// card, SMS or phone) beside another method (RFC 8176); or `acr` is a configured value.
pub fn shows_mfa(amr: &[String], acr: Option<&str>, mfa_acr_values: &[String]) -> bool {
    const POSSESSION: [&str; 6] = ["otp", "hwk", "swk", "sc", "sms", "tel"];
    let has = |v: &str| amr.iter().any(|a| a == v);
    let possession = POSSESSION.iter().any(|p| has(p));
    let methods: HashSet<&str> = amr.iter().map(String::as_str).collect();
    has("mfa")
        || (possession && methods.len() >= 2)
        || acr.is_some_and(|a| mfa_acr_values.iter().any(|v| v == a))
}

/// Verify an ID token: signature by a key of `keys` with an accepted algorithm, then every
/// claim the login relies on (see the module's comment for what each stops).
pub fn verify_id_token(
    token: &str,
    keys: &JwkSet,
    expected: &Expected<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(IdTokenError::Algorithm(format!("{:?}", header.alg)));
    }
    let jwk = signing_key(keys, header.kid.as_deref())?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
    // The claims are checked below, against `expected` (the injected time included).
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                IdTokenError::Algorithm(format!("{:?}", header.alg))
            }
            _ => IdTokenError::Malformed(e.to_string()),
        })?
        .claims;

    if claims.iss != expected.issuer {
        return Err(IdTokenError::Issuer);
    }
    let audiences = claims.aud.list();
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    // Several audiences: the token must say it was issued for this client (Core §3.1.3.7).
    if audiences.len() > 1 && claims.azp.as_deref() != Some(expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    if let Some(azp) = claims.azp.as_deref()
        && azp != expected.client_id
    {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + expected.skew <= expected.now {
        return Err(IdTokenError::Expired);
    }
    if claims.iat > expected.now + expected.skew
        || claims.iat < expected.now - expected.max_age - expected.skew
    {
        return Err(IdTokenError::IssuedAt);
    }
    // Hashes of a secret compared: the time taken tells nothing about the nonce.
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| nonce_hash(n) == expected.nonce_hash);
    if !nonce_ok {
        return Err(IdTokenError::Nonce);
    }
    let email = claims
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .ok_or(IdTokenError::NoEmail)?;
    let verified = match claims.email_verified {
        Some(Flag::Bool(b)) => b,
        Some(Flag::Text(t)) => t.eq_ignore_ascii_case("true"),
        None => false,
    };
    if !verified {
        return Err(IdTokenError::EmailUnverified);
    }
    let amr = claims.amr.unwrap_or_default();
    let mfa = shows_mfa(&amr, claims.acr.as_deref(), expected.mfa_acr_values);
    Ok(VerifiedIdToken {
        subject: claims.sub,
        email,
        mfa,
        amr,
        acr: claims.acr,
    })
}

#[cfg(test)]
mod tests {
    //! ID tokens crafted here and signed by a key made here, served as a key set: each
    //! claim the login relies on, wrong in turn.
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use serde_json::{Value, json};

    const ISS: &str = "https://idp.example.com";
    const CLIENT: &str = "atende-clinica";
    const NONCE: &str = "n-0S6_WzA2Mj";
    const NOW: i64 = 1_800_000_000;

    struct Idp {
        encoding: EncodingKey,
        keys: JwkSet,
    }

    fn idp() -> Idp {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("key");
        let pem = private
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .expect("pem");
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
        let public = private.to_public_key();
        let keys: JwkSet = serde_json::from_value(json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]}))
        .expect("jwks");
        Idp { encoding, keys }
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 5,
            "nonce": NONCE, "email": "Ana@Clinica.com.br", "email_verified": true,
        })
    }

    fn sign(idp: &Idp, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &idp.encoding).expect("sign")
    }

    fn verify(idp: &Idp, token: &str) -> Result<VerifiedIdToken, IdTokenError> {
        let acr = vec!["urn:mfa".to_string()];
        let expected = Expected {
            issuer: ISS,
            client_id: CLIENT,
            nonce_hash: &nonce_hash(NONCE),
            now: NOW,
            skew: 60,
            max_age: 600,
            mfa_acr_values: &acr,
        };
        verify_id_token(token, &idp.keys, &expected)
    }

    fn with(mut c: Value, key: &str, value: Value) -> Value {
        c[key] = value;
        c
    }

    #[test]
    fn a_token_signed_by_the_provider_for_this_client_and_login_is_accepted() {
        let idp = idp();
        let ok = verify(&idp, &sign(&idp, &claims(), Some("k1"))).expect("valid");
        assert_eq!(ok.email, "ana@clinica.com.br");
        assert!(!ok.mfa);
        let mfa = with(claims(), "amr", json!(["pwd", "otp"]));
        assert!(
            verify(&idp, &sign(&idp, &mfa, Some("k1")))
                .expect("valid")
                .mfa
        );
        let acr = with(claims(), "acr", json!("urn:mfa"));
        assert!(
            verify(&idp, &sign(&idp, &acr, Some("k1")))
                .expect("valid")
                .mfa
        );
        // No kid, one key: that key.
        assert!(verify(&idp, &sign(&idp, &claims(), None)).is_ok());
    }

    #[test]
    fn every_claim_the_login_relies_on_is_checked() {
        let idp = idp();
        let cases = [
            (
                with(claims(), "aud", json!("another-client")),
                IdTokenError::Audience,
            ),
            (
                with(claims(), "aud", json!([CLIENT, "another-client"])),
                IdTokenError::Audience,
            ),
            (
                with(claims(), "azp", json!("another-client")),
                IdTokenError::Audience,
            ),
            (
                with(claims(), "iss", json!("https://evil.example")),
                IdTokenError::Issuer,
            ),
            (
                with(claims(), "nonce", json!("another-login")),
                IdTokenError::Nonce,
            ),
            (with(claims(), "nonce", Value::Null), IdTokenError::Nonce),
            (
                with(claims(), "exp", json!(NOW - 61)),
                IdTokenError::Expired,
            ),
            (
                with(claims(), "iat", json!(NOW + 120)),
                IdTokenError::IssuedAt,
            ),
            (
                with(claims(), "iat", json!(NOW - 3600)),
                IdTokenError::IssuedAt,
            ),
            (
                with(claims(), "email_verified", json!(false)),
                IdTokenError::EmailUnverified,
            ),
            (
                with(claims(), "email_verified", Value::Null),
                IdTokenError::EmailUnverified,
            ),
            (with(claims(), "email", Value::Null), IdTokenError::NoEmail),
        ];
        for (c, expected) in cases {
            assert_eq!(
                verify(&idp, &sign(&idp, &c, Some("k1"))).map(|v| v.email),
                Err(expected.clone()),
                "{c}"
            );
        }
    }

    #[test]
    fn a_forged_or_altered_token_is_refused() {
        let idp = idp();
        let other = self::idp();
        // Signed by another key under the provider's key id.
        assert_eq!(
            verify(&idp, &sign(&other, &claims(), Some("k1"))).map(|v| v.email),
            Err(IdTokenError::Signature)
        );
        // An unknown key id asks for the keys to be refetched.
        assert_eq!(
            verify(&idp, &sign(&idp, &claims(), Some("k2"))).map(|v| v.email),
            Err(IdTokenError::UnknownKey)
        );
        // A payload changed after signing.
        let token = sign(&idp, &claims(), Some("k1"));
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let forged = with(claims(), "email", json!("chefe@clinica.com.br"));
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(
            verify(&idp, &parts.join(".")).map(|v| v.email),
            Err(IdTokenError::Signature)
        );
        // `alg: none` and HMAC are never accepted.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims().to_string());
        assert!(verify(&idp, &format!("{header}.{body}.")).is_err());
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"k"),
        )
        .expect("sign");
        assert!(matches!(verify(&idp, &hs), Err(IdTokenError::Algorithm(_))));
    }

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(new_verifier().len(), 43);
    }

    #[test]
    fn mfa_is_read_from_amr_and_acr() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(shows_mfa(&s(&["pwd", "mfa"]), None, &[]));
        assert!(shows_mfa(&s(&["pwd", "otp"]), None, &[]));
        assert!(!shows_mfa(&s(&["pwd"]), None, &[]));
        assert!(!shows_mfa(&s(&["otp"]), None, &[]));
        assert!(!shows_mfa(&[], Some("1"), &s(&["2"])));
        assert!(shows_mfa(&[], Some("2"), &s(&["2"])));
    }
}
