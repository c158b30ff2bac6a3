//! A software WebAuthn authenticator for the API tests: what a phone or a security key does,
//! written from the WebAuthn Level 2 specification (§6.1 authenticator data, §6.5
//! attestation objects with the `none` format, §5.8.1 client data) and COSE (RFC 9052/9053,
//! EC2 P-256 keys). It makes ES256 credentials with a user handle (discoverable), signs
//! assertions with a counter, and produces what a browser hands the page after
//! `navigator.credentials.create/get`, binary fields in base64url, so webauthn-rs on the
//! server checks real signatures over real challenges.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Authenticator data flags (§6.1).
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_CREDENTIAL: u8 = 0x40;

/// A credential the authenticator holds.
#[derive(Clone)]
pub struct Credential {
    pub id: Vec<u8>,
    key: SigningKey,
    pub user_handle: Vec<u8>,
    pub rp_id: String,
    counter: u32,
}

/// A software authenticator with user verification, on a browser at `origin`.
#[derive(Clone)]
pub struct Authenticator {
    origin: String,
    pub credentials: Vec<Credential>,
}

/// The minimal CBOR (RFC 8949) an attestation object and a COSE key need.
enum Cbor {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
    Map(Vec<(Cbor, Cbor)>),
}

impl Cbor {
    fn encode(&self, out: &mut Vec<u8>) {
        fn head(out: &mut Vec<u8>, major: u8, n: u64) {
            let m = major << 5;
            if n < 24 {
                out.push(m | n as u8);
            } else if n < 256 {
                out.extend([m | 24, n as u8]);
            } else if n < 65_536 {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            } else {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
        }
        match self {
            Cbor::Int(i) if *i >= 0 => head(out, 0, *i as u64),
            Cbor::Int(i) => head(out, 1, (-1 - *i) as u64),
            Cbor::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend(b);
            }
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend(t.as_bytes());
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    B64.decode(s.trim_end_matches('=')).expect("base64url")
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

impl Authenticator {
    /// An authenticator in a browser showing `origin` (e.g. `http://localhost:8080`).
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_string(),
            credentials: Vec::new(),
        }
    }

    /// `navigator.credentials.create({publicKey})` with the server's
    /// `CreationChallengeResponse`: a new discoverable ES256 credential, or `None` when an
    /// excluded credential is already here (the browser's InvalidStateError).
    pub fn create(&mut self, options: &Value) -> Option<Value> {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id").to_string();
        let excluded: Vec<Vec<u8>> = pk["excludeCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        if self.credentials.iter().any(|c| excluded.contains(&c.id)) {
            return None;
        }
        let key = loop {
            if let Ok(k) = SigningKey::from_slice(&random_bytes(32)) {
                break k;
            }
        };
        let cred = Credential {
            id: random_bytes(16),
            key,
            user_handle: unb64(pk["user"]["id"].as_str().expect("user.id")),
            rp_id: rp_id.clone(),
            counter: 0,
        };
        let point = cred.key.verifying_key().to_encoded_point(false);
        let cose = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),  // kty: EC2
            (Cbor::Int(3), Cbor::Int(-7)), // alg: ES256
            (Cbor::Int(-1), Cbor::Int(1)), // crv: P-256
            (Cbor::Int(-2), Cbor::Bytes(point.x().expect("x").to_vec())),
            (Cbor::Int(-3), Cbor::Bytes(point.y().expect("y").to_vec())),
        ]);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(USER_PRESENT | USER_VERIFIED | ATTESTED_CREDENTIAL);
        auth_data.extend(cred.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((cred.id.len() as u16).to_be_bytes());
        auth_data.extend(&cred.id);
        cose.encode(&mut auth_data);
        let mut attestation = Vec::new();
        Cbor::Map(vec![
            (Cbor::Text("fmt"), Cbor::Text("none")),
            (Cbor::Text("attStmt"), Cbor::Map(vec![])),
            (Cbor::Text("authData"), Cbor::Bytes(auth_data)),
        ])
        .encode(&mut attestation);
        let challenge = pk["challenge"].as_str().expect("challenge");
        let answer = json!({
            "id": b64(&cred.id),
            "rawId": b64(&cred.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data("webauthn.create", challenge, &self.origin)),
            },
            "clientExtensionResults": {},
        });
        self.credentials.push(cred);
        Some(answer)
    }

    /// `navigator.credentials.get({publicKey})` with the server's `RequestChallengeResponse`:
    /// an assertion by the first credential the options allow (any of this site's when the
    /// list is empty: a discoverable login), or `None` when none fits.
    pub fn get(&mut self, options: &Value) -> Option<Value> {
        let pk = &options["publicKey"];
        let rp_id = pk["rpId"].as_str().expect("rpId").to_string();
        let allowed: Vec<Vec<u8>> = pk["allowCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        let cred = self
            .credentials
            .iter_mut()
            .find(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))?;
        cred.counter += 1;
        let challenge = pk["challenge"].as_str().expect("challenge");
        Some(assertion(cred, challenge, &self.origin))
    }
}

/// An assertion by `cred` over `challenge`, signed as the authenticator signs (§6.3.3):
/// ECDSA-SHA256 over the authenticator data followed by the client data's hash.
pub fn assertion(cred: &Credential, challenge: &str, origin: &str) -> Value {
    let client = client_data("webauthn.get", challenge, origin);
    let mut auth_data = Sha256::digest(cred.rp_id.as_bytes()).to_vec();
    auth_data.push(USER_PRESENT | USER_VERIFIED);
    auth_data.extend(cred.counter.to_be_bytes());
    let mut signed = auth_data.clone();
    signed.extend(Sha256::digest(&client));
    let signature: DerSignature = cred.key.sign(&signed);
    json!({
        "id": b64(&cred.id),
        "rawId": b64(&cred.id),
        "type": "public-key",
        "response": {
            "authenticatorData": b64(&auth_data),
            "clientDataJSON": b64(&client),
            "signature": b64(signature.as_bytes()),
            "userHandle": b64(&cred.user_handle),
        },
        "clientExtensionResults": {},
    })
}
