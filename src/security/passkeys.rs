//! The WebAuthn relying party: which site passkeys belong to, derived from the public base
//! URL. WebAuthn ties a credential to a domain name (the RP id) and accepts assertions only
//! from a secure context of that site's origin.

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// Where passkeys work, as derived from the public base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// A domain name: `clinica.example.com`, or `localhost` for a loopback address.
    pub id: String,
    /// The only origin assertions are accepted from (scheme, host and port).
    pub origin: Url,
}

/// The relying party for `public_base_url`. A domain is used as is; a loopback address
/// (`127.0.0.1`, `::1`) becomes `localhost` on the same scheme and port, because browsers
/// refuse an IP address as an RP id but treat `http://localhost` as a secure context. Any
/// other IP address, or plain `http://` on a real domain, has no passkeys (`Err` says why).
pub fn relying_party(public_base_url: &str) -> Result<RelyingParty, String> {
    let url = Url::parse(public_base_url).map_err(|e| format!("public URL unreadable: {e}"))?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = url.host_str().unwrap_or_default();
    match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_loopback() => local(url.scheme(), &port),
        Ok(_) => Err("passkeys need a domain name in server.public_url, not an IP address".into()),
        Err(_) if host.is_empty() => Err("public URL has no host".into()),
        Err(_) => {
            if url.scheme() != "https" && host != "localhost" {
                return Err("passkeys need https (or http://localhost)".into());
            }
            Ok(RelyingParty {
                id: host.to_string(),
                origin: Url::parse(&format!("{}://{host}{port}", url.scheme()))
                    .map_err(|e| e.to_string())?,
            })
        }
    }
}

fn local(scheme: &str, port: &str) -> Result<RelyingParty, String> {
    Ok(RelyingParty {
        id: "localhost".into(),
        origin: Url::parse(&format!("{scheme}://localhost{port}")).map_err(|e| e.to_string())?,
    })
}

/// The WebAuthn engine for a relying party, shown to users as `rp_name`.
pub fn engine(rp: &RelyingParty, rp_name: &str) -> Result<Webauthn, String> {
    WebauthnBuilder::new(&rp.id, &rp.origin)
        .map_err(|e| e.to_string())?
        .rp_name(rp_name)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_is_its_own_relying_party() {
        let rp = relying_party("https://clinica.example.com/").unwrap();
        assert_eq!(rp.id, "clinica.example.com");
        assert_eq!(rp.origin.as_str(), "https://clinica.example.com/");
    }

    #[test]
    fn loopback_addresses_become_localhost_on_the_same_port() {
        let rp = relying_party("http://127.0.0.1:41500").unwrap();
        assert_eq!(rp.id, "localhost");
        assert_eq!(rp.origin.as_str(), "http://localhost:41500/");
        assert!(engine(&rp, "atende").is_ok());
    }

    #[test]
    fn other_addresses_and_plain_http_have_no_passkeys() {
        assert!(relying_party("http://10.0.0.5:8080").is_err());
        assert!(relying_party("http://clinica.example.com").is_err());
    }
}
