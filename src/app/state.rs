//! What every request handler and actor shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::actors::EntityDeps;
use crate::actors::hub::Hub;
use crate::actors::registry::Registry;
use crate::bus::EventBus;
use crate::config::Settings;
use crate::security::crypto::FieldCipher;
use crate::security::links::LinkSigner;
use crate::security::throttle::{LoginThrottle, MissThrottle, UserFrameBudgets};
use crate::security::tokens::TokenKeys;
use crate::store::Store;

/// What the nodes of an installation share: the event bus and, with Redis, the throttles'
/// counters (`None`: each node counts in its own memory).
pub struct Shared {
    pub bus: Arc<dyn EventBus>,
    pub counters: Option<Arc<crate::security::throttle::shared::SharedCounters>>,
}

/// Shared application state, cloned into every worker as `web::Data<AppState>`.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub tokens: TokenKeys,
    /// Signs capability links (queue trackers, one-click links).
    pub links: LinkSigner,
    pub cipher: FieldCipher,
    pub throttle: LoginThrottle,
    /// Misses of public document lookups by code, per address.
    pub lookups: MissThrottle,
    /// Each user's WebSocket frames per second on this node, across their connections.
    pub frame_budgets: UserFrameBudgets,
    pub metrics: PrometheusHandle,
    /// This node's topic subscriptions and presence.
    pub hub: Arc<Hub>,
    /// Carries events to every node's hub.
    pub bus: Arc<dyn EventBus>,
    /// Live entity actors (chat rooms, …).
    pub registry: Registry,
    /// Signed documents: the signer pool and its keys.
    pub documents: std::sync::Arc<crate::documents::Documents>,
    /// This node's WebRTC peers: pre-call checks and the media relay.
    pub media: Arc<crate::media::Media>,
    /// Anchors the audit chain's head outside the database.
    pub audit: Arc<crate::app::audit::AuditAnchorer>,
    /// The time as the use cases that take it from here see it (tests move it forward).
    pub clock: crate::clock::SharedClock,
    /// Per address and per account: password reset requests.
    pub reset_requests: MissThrottle,
    /// Set when this node starts its graceful stop: `/health/ready` answers 503 from then on.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// The PSP's API Pix, when `pix.api_url` is set.
    pub pix: Option<Arc<dyn crate::billing::PixPsp>>,
    /// Every clinic's OpenID Connect provider (discovery and keys cached).
    pub oidc: Arc<crate::security::oidc_provider::OidcProviders>,
    /// The WebAuthn relying party, when the public URL allows passkeys (see
    /// `security::passkeys::relying_party`).
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

impl AppState {
    /// Build the shared state from settings whose secrets are already filled in.
    pub fn new(
        settings: Settings,
        store: Store,
        metrics: PrometheusHandle,
        hub: Arc<Hub>,
        shared: Shared,
        port: u16,
        clock: crate::clock::SharedClock,
    ) -> anyhow::Result<Self> {
        let Shared { bus, counters } = shared;
        let cipher = crate::app::keys::field_cipher(&settings)?;
        let tokens = TokenKeys::new(
            settings.security.jwt_secret.expose().as_bytes(),
            settings.security.access_token_ttl_secs,
        );
        let throttle =
            LoginThrottle::new(&settings.security.login_throttle).shared(counters.clone());
        let lookups = MissThrottle::new(
            "lookups",
            settings.security.limits.verification_misses_per_address,
            std::time::Duration::from_secs(settings.security.limits.verification_window_secs),
        )
        .shared(counters.clone());
        let frame_budgets = UserFrameBudgets::new(
            settings.realtime.user_rate_per_sec,
            settings.realtime.user_rate_burst,
        );
        let links = LinkSigner::new(settings.security.jwt_secret.expose().as_bytes());
        let media = Arc::new(crate::media::Media::new(
            settings.media.clone(),
            bus.clone(),
        ));
        let registry = Registry::new(EntityDeps {
            store: store.clone(),
            cipher: cipher.clone(),
            bus: bus.clone(),
            idle: std::time::Duration::from_secs(settings.realtime.entity_idle_secs),
            chat: settings.chat.clone(),
            agenda: settings.agenda.clone(),
            links: links.clone(),
            relay: settings.media.relay,
            media: media.clone(),
            clock: clock.clone(),
        });
        let documents = crate::documents::Documents::start(
            &settings,
            store.clone(),
            cipher.clone(),
            bus.clone(),
            settings.public_base_url(port),
            crate::documents::load_icp_roots(&settings.documents.icp_brasil_roots)?,
            clock.clone(),
        );
        let audit = Arc::new(crate::app::audit::AuditAnchorer::new(
            crate::security::audit::AnchorLog::new(settings.audit_anchor_path()),
            hub.node_id(),
        ));
        let reset_requests = MissThrottle::new(
            "reset_requests",
            settings.messaging.reset_requests_per_hour,
            std::time::Duration::from_secs(3600),
        )
        .shared(counters.clone());
        let pix: Option<Arc<dyn crate::billing::PixPsp>> = if settings.pix.enabled() {
            Some(Arc::new(crate::billing::pix_api::PixApi::new(
                &settings.pix,
            )?))
        } else {
            None
        };
        let oidc = Arc::new(crate::security::oidc_provider::OidcProviders::new(
            &settings.security.oidc,
            &settings.public_base_url(port),
            counters,
        )?);
        let passkeys = crate::security::passkeys::relying_party(&settings.public_base_url(port))
            .and_then(|rp| crate::security::passkeys::engine(&rp, &settings.security.mfa.issuer))
            .inspect_err(|why| tracing::warn!(why, "passkeys unavailable"))
            .ok()
            .map(Arc::new);
        Ok(Self {
            passkeys,
            pix,
            oidc,
            clock,
            reset_requests,
            draining: Arc::default(),
            audit,
            documents,
            media,
            settings: Arc::new(settings),
            store,
            tokens,
            links,
            cipher,
            throttle,
            lookups,
            frame_budgets,
            metrics,
            hub,
            bus,
            registry,
        })
    }
}
