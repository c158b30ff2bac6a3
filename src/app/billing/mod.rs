//! Money use cases: prices, the clinic's Pix account, charging an appointment by Pix,
//! reconciling what the PSP reports (webhook or on request), refunds, and the ledger.
//!
//! Amounts and states come from the price table and the PSP, never from the browser: a
//! charge's amount is the appointment's price when it is created, and an appointment is
//! paid only when the PSP's own `GET /cob/{txid}` lists the Pix.

pub mod cash;
pub mod ledger;
pub mod payment;
pub mod pix;
pub mod prices;
pub mod reconcile;
pub mod reports;

use serde_json::json;

use crate::actors::protocol::Topic;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::bus::TopicEvent;
use crate::domain::ClinicId;
use crate::domain::agenda::AppointmentStatus;
use crate::store::Tx;
use crate::store::agenda::AppointmentView;

/// The appointment `id` of `clinic`, or 404.
pub(crate) async fn appointment_in(
    state: &AppState,
    clinic: ClinicId,
    id: uuid::Uuid,
) -> Result<AppointmentView, AppError> {
    state
        .store
        .appointment_view(id)
        .await?
        .filter(|v| v.a.clinic_id == clinic && v.a.status != AppointmentStatus::Held)
        .ok_or(AppError::NotFound)
}

/// Write `payment.updated` on the clinic's agenda topic (reception screens) and on each of
/// the patient's `user:<id>` topics, inside `tx`; publish the returned events after commit.
pub(crate) async fn payment_events(
    state: &AppState,
    tx: &mut Tx,
    view: &AppointmentView,
    payment: &payment::AppointmentPayment,
) -> Result<Vec<TopicEvent>, AppError> {
    let payload = json!({"appointment_id": view.a.id, "payment": payment});
    let mut events = Vec::new();
    let agenda = Topic::ClinicAgenda(view.a.clinic_id).to_string();
    let seq = state.store.next_topic_seq(tx, &agenda).await?;
    let enc = state
        .cipher
        .encrypt(&payload.to_string())
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("encrypt event: {e}")))?;
    state
        .store
        .insert_topic_event(tx, &agenda, seq, "payment.updated", &enc)
        .await?;
    events.push(TopicEvent {
        topic: agenda,
        event: "payment.updated".into(),
        seq: Some(seq),
        payload: payload.clone(),
    });
    for u in state.store.accounts_of_patient(view.a.patient_id).await? {
        events.push(TopicEvent {
            topic: Topic::User(u).to_string(),
            event: "payment.updated".into(),
            seq: None,
            payload: payload.clone(),
        });
    }
    Ok(events)
}

/// Tell reception and the patient how an appointment's payment stands now (a Pix the PSP
/// reported, a refund, a payment at the front desk). The change is committed
/// already; the event is stored (for replay) and published in a small transaction after
/// it, because the view is read from the committed state.
pub(crate) async fn announce_payment(
    state: &AppState,
    view: &AppointmentView,
) -> Result<(), AppError> {
    let payment = payment::payment_view(state, view).await?;
    let mut tx = state.store.begin().await?;
    let events = payment_events(state, &mut tx, view, &payment).await?;
    tx.commit().await?;
    for e in events {
        state.bus.publish(e);
    }
    Ok(())
}

/// The clock's time, truncated to microseconds (it round-trips through both backends).
pub(crate) fn now(state: &AppState) -> chrono::DateTime<chrono::Utc> {
    let t = state.clock.now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
