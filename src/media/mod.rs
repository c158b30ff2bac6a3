//! WebRTC media support. For now: TURN credentials in the coturn REST scheme, which the
//! teleconsultation ICE endpoint hands to browsers.

pub mod turn;
