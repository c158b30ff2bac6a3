//! A professional's secret calendar address: their agenda in every clinic as an iCalendar
//! feed (RFC 5545) that calendar apps subscribe to.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::security::tokens::{random_token, token_hash};
use crate::store::agenda::{AppointmentView, AppointmentsOf};

/// Whether the caller has a calendar address now (its secret is shown only when made).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IcalStatus {
    pub active: bool,
    /// When the current address was made; null without one.
    pub created_at: Option<DateTime<Utc>>,
}

/// A new secret calendar address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IcalFeed {
    /// `/ical/<token>.ics`
    pub path: String,
}

async fn require_professional(state: &AppState, auth: &Auth) -> Result<(), AppError> {
    if state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .is_none()
    {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Whether the calling professional has a calendar address.
pub async fn ical_status(state: &AppState, auth: &Auth) -> Result<IcalStatus, AppError> {
    require_professional(state, auth).await?;
    let created_at = state.store.ical_feed_of(auth.user_id).await?;
    Ok(IcalStatus {
        active: created_at.is_some(),
        created_at,
    })
}

/// A new calendar address for the calling professional; the previous one stops working.
pub async fn create_ical(state: &AppState, auth: &Auth) -> Result<IcalFeed, AppError> {
    require_professional(state, auth).await?;
    let token = random_token();
    state
        .store
        .set_ical_feed(auth.user_id, &token_hash(&token))
        .await?;
    Ok(IcalFeed {
        path: format!("/ical/{token}.ics"),
    })
}

/// Revoke the caller's calendar address (if any).
pub async fn delete_ical(state: &AppState, auth: &Auth) -> Result<(), AppError> {
    state.store.delete_ical_feed(auth.user_id).await?;
    Ok(())
}

/// The calendar a secret address (with or without `.ics`) names: the professional's
/// appointments from 30 days ago to 180 days ahead, every clinic; patients by first name
/// and initial.
pub async fn ical_calendar(state: &AppState, token: &str) -> Result<String, AppError> {
    let token = token.strip_suffix(".ics").unwrap_or(token);
    let pro = state
        .store
        .ical_owner(&token_hash(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let name = state
        .store
        .user_by_id(pro)
        .await?
        .map(|u| u.full_name)
        .unwrap_or_default();
    let now = state.clock.now();
    let rows = state
        .store
        .appointments_of(
            AppointmentsOf::Professional(pro),
            now - Duration::days(30),
            now + Duration::days(180),
        )
        .await?;
    Ok(calendar(&name, &rows))
}

fn calendar(name: &str, rows: &[AppointmentView]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//atende//agenda//PT-BR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        ical_line(&mut out, l);
    }
    ical_line(
        &mut out,
        &format!("X-WR-CALNAME:{}", ical_text(&format!("atende — {name}"))),
    );
    for v in rows.iter().filter(|v| {
        !matches!(
            v.a.status,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow | AppointmentStatus::Held
        )
    }) {
        event(&mut out, v);
    }
    ical_line(&mut out, "END:VCALENDAR");
    out
}

fn event(out: &mut String, v: &AppointmentView) {
    let patient = crate::actors::queue::panel_name(
        v.patient_social_name.as_deref().unwrap_or(&v.patient_name),
    );
    let what = v.service_name.clone().unwrap_or_else(|| "Consulta".into());
    let tele = if v.a.kind == "teleconsultation" {
        " (teleconsulta)"
    } else {
        ""
    };
    ical_line(out, "BEGIN:VEVENT");
    ical_line(out, &format!("UID:{}@atende", v.a.id));
    ical_line(out, &format!("DTSTAMP:{}", ical_time(v.a.updated_at)));
    ical_line(out, &format!("DTSTART:{}", ical_time(v.a.starts_at)));
    ical_line(out, &format!("DTEND:{}", ical_time(v.a.ends_at)));
    ical_line(
        out,
        &format!(
            "SUMMARY:{}",
            ical_text(&format!("{what}{tele} — {patient}"))
        ),
    );
    ical_line(out, &format!("LOCATION:{}", ical_text(&v.clinic_name)));
    let status = if v.a.status == AppointmentStatus::Scheduled {
        "TENTATIVE"
    } else {
        "CONFIRMED"
    };
    ical_line(out, &format!("STATUS:{status}"));
    ical_line(out, "END:VEVENT");
}

/// Escape a text value (RFC 5545 §3.3.11).
fn ical_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1).
fn ical_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn ical_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}
