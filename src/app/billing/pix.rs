//! Pix: the clinic's receiving account, charging an appointment (a dynamic BR Code from the
//! PSP's API Pix, or a static one when no PSP is configured), and refunds.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::payment::{AppointmentPayment, payment_view, require_staff_or_patient};
use super::prices::appointment_price;
use super::{appointment_in, now};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::billing::{ChargeRequest, PspError};
use crate::domain::agenda::AppointmentStatus;
use crate::domain::billing::brcode::{self, Account, BrCode};
use crate::domain::{ClinicId, Role, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::billing::{PixChargeRow, PixRefundRow, PixSettingsRow};

/// Where the clinic receives Pix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PixSettings {
    /// The DICT key (CPF/CNPJ, e-mail, +55 phone or random key), up to 77 characters.
    pub pix_key: String,
    /// Shown to the payer; up to 25 characters (accents are dropped in the code).
    pub merchant_name: String,
    /// Up to 15 characters.
    pub merchant_city: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Centavos; everything still refundable when absent.
    #[serde(default)]
    pub amount_cents: Option<i64>,
    /// Told to the payer (up to 140 characters).
    #[serde(default)]
    pub reason: String,
}

fn psp_error(e: PspError) -> AppError {
    tracing::warn!(error = %e, "API Pix call failed");
    match e {
        PspError::Refused { detail, .. } => AppError::Overloaded {
            code: "psp_refused",
            message: format!("o PSP recusou o pedido: {detail}"),
        },
        _ => AppError::Overloaded {
            code: "psp_unavailable",
            message: "o serviço Pix do banco não respondeu; tente de novo em instantes".into(),
        },
    }
}

/// The clinic's Pix account (clinic administrators).
pub async fn get_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<PixSettings, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let s = state
        .store
        .pix_settings(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(PixSettings {
        pix_key: s.pix_key,
        merchant_name: s.merchant_name,
        merchant_city: s.merchant_city,
    })
}

/// Set the clinic's Pix account (clinic administrators; audited).
pub async fn put_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: PixSettings,
) -> Result<PixSettings, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let key = req.pix_key.trim().to_string();
    if key.is_empty() || key.len() > 77 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "invalid_pix_key",
            "chave Pix: até 77 caracteres, sem espaços nem acentos",
        )
        .into());
    }
    let name = req.merchant_name.trim().to_string();
    let city = req.merchant_city.trim().to_string();
    if name.is_empty() || name.chars().count() > 25 || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "invalid_merchant_name",
            "nome do recebedor: até 25 caracteres",
        )
        .into());
    }
    if city.is_empty() || city.chars().count() > 15 || city.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "invalid_merchant_city",
            "cidade do recebedor: até 15 caracteres",
        )
        .into());
    }
    // The code must build with these values (a key too long for field 26, say).
    BrCode {
        account: Account::Key(key.clone()),
        amount_cents: Some(100),
        merchant_name: name.clone(),
        merchant_city: city.clone(),
        txid: None,
    }
    .encode()?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .put_pix_settings(
            &mut tx,
            &PixSettingsRow {
                clinic_id: clinic,
                pix_key: key.clone(),
                merchant_name: name.clone(),
                merchant_city: city.clone(),
                updated_at: now(state),
            },
        )
        .await?;
    let event = AuditEvent::new(Some(auth.user_id), "pix.settings_changed", "clinic")
        .entity_id(clinic)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"pix_key": key, "merchant_name": name, "merchant_city": city}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(PixSettings {
        pix_key: key,
        merchant_name: name,
        merchant_city: city,
    })
}

/// Open a Pix charge for the appointment at its price, or return the open one (its
/// clinic's staff or its own patient). With an API Pix the PSP creates the charge and the
/// BR Code is dynamic; without one it is a static code with the amount and a txid.
pub async fn charge_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    appointment: uuid::Uuid,
) -> Result<AppointmentPayment, AppError> {
    let view = appointment_in(state, clinic, appointment).await?;
    require_staff_or_patient(auth, &view)?;
    if matches!(
        view.a.status,
        AppointmentStatus::Cancelled | AppointmentStatus::NoShow
    ) {
        return Err(AppError::conflict(
            "appointment_not_payable",
            "consulta cancelada ou com falta: não há o que pagar",
        ));
    }
    let current = payment_view(state, &view).await?;
    if current.paid_cents > 0 {
        return Err(AppError::conflict(
            "already_paid",
            "esta consulta já foi paga",
        ));
    }
    if current
        .charge
        .as_ref()
        .is_some_and(|c| c.status == "active")
    {
        return Ok(current);
    }
    let (amount, _) = appointment_price(state, &view.a).await?;
    if amount <= 0 {
        return Err(ValidationError::new(
            "nothing_to_pay",
            "esta consulta não tem preço: defina o preço do serviço",
        )
        .into());
    }
    let settings = state.store.pix_settings(clinic).await?.ok_or_else(|| {
        AppError::conflict(
            "pix_not_configured",
            "a clínica ainda não cadastrou sua chave Pix (Administração → Pix)",
        )
    })?;
    let at = now(state);
    let expiry = state.settings.pix.charge_expiry_secs;
    let payer_message = format!(
        "{} - {}",
        view.service_name
            .clone()
            .unwrap_or_else(|| "Consulta".into()),
        view.professional_name
    );
    let (txid, br_code, location) = match &state.pix {
        Some(psp) => {
            // API Pix txids are 26 to 35 letters and digits.
            let txid = format!("AT{}", uuid::Uuid::now_v7().simple());
            let created = psp
                .create_charge(&ChargeRequest {
                    txid: txid.clone(),
                    key: settings.pix_key.clone(),
                    amount_cents: amount,
                    expires_in_secs: expiry,
                    payer_message,
                })
                .await
                .map_err(psp_error)?;
            let code = match (created.pix_copia_e_cola, &created.location) {
                (Some(code), _) => {
                    brcode::decode(&code).map_err(|e| {
                        psp_error(PspError::Protocol(format!("pixCopiaECola: {}", e.message)))
                    })?;
                    code
                }
                (None, Some(loc)) => BrCode {
                    account: Account::Location(loc.clone()),
                    amount_cents: None,
                    merchant_name: settings.merchant_name.clone(),
                    merchant_city: settings.merchant_city.clone(),
                    txid: None,
                }
                .encode()?,
                (None, None) => {
                    return Err(psp_error(PspError::Protocol(
                        "no location nor pixCopiaECola".into(),
                    )));
                }
            };
            (txid, code, created.location)
        }
        None => {
            // A static code's txid is at most 25 characters.
            let txid: String = uuid::Uuid::now_v7().simple().to_string()[..25].to_string();
            let code = BrCode {
                account: Account::Key(settings.pix_key.clone()),
                amount_cents: Some(amount),
                merchant_name: settings.merchant_name.clone(),
                merchant_city: settings.merchant_city.clone(),
                txid: Some(txid.clone()),
            }
            .encode()?;
            (txid, code, None)
        }
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .expire_pix_charges(&mut tx, view.a.id, at)
        .await?;
    state
        .store
        .insert_pix_charge(
            &mut tx,
            &PixChargeRow {
                txid: txid.clone(),
                clinic_id: clinic,
                appointment_id: view.a.id,
                patient_id: view.a.patient_id,
                amount_cents: amount,
                status: "active".into(),
                br_code: br_code.clone(),
                location,
                expires_at: at + chrono::Duration::seconds(i64::from(expiry)),
                created_by: Some(auth.user_id),
                created_at: at,
                paid_at: None,
            },
        )
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => AppError::conflict(
                "charge_in_progress",
                "outro pedido de Pix para esta consulta acabou de ser feito; atualize a página",
            ),
            e => e.into(),
        })?;
    let event = AuditEvent::new(Some(auth.user_id), "pix.charge_created", "appointment")
        .entity_id(view.a.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"txid": txid, "amount_cents": amount}));
    state.store.append_audit(&mut tx, &event).await?;
    let expires_at = at + chrono::Duration::seconds(i64::from(expiry));
    let payment = AppointmentPayment {
        price_cents: amount,
        status: super::payment::PaymentStatus::Pending,
        charge: Some(super::payment::PixCharge {
            txid: txid.clone(),
            amount_cents: amount,
            status: "active".into(),
            qr_svg: crate::qr::svg(&br_code),
            br_code: br_code.clone(),
            expires_at,
        }),
        ..current
    };
    let events = super::payment_events(state, &mut tx, &view, &payment).await?;
    tx.commit().await?;
    for e in events {
        state.bus.publish(e);
    }
    Ok(payment)
}

/// Ask the PSP to return (part of) what the patient paid (clinic administrators;
/// audited). The ledger is reversed when the PSP reports the refund done (`DEVOLVIDO`).
pub async fn refund_appointment(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    appointment: uuid::Uuid,
    req: RefundRequest,
) -> Result<AppointmentPayment, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let view = appointment_in(state, clinic, appointment).await?;
    let psp = state.pix.as_ref().ok_or_else(|| {
        AppError::conflict(
            "pix_api_not_configured",
            "devoluções exigem a API Pix do banco configurada",
        )
    })?;
    if req.reason.chars().count() > 140 || req.reason.chars().any(char::is_control) {
        return Err(ValidationError::new("invalid_reason", "motivo: até 140 caracteres").into());
    }
    let payments = state.store.pix_payments_of(view.a.id).await?;
    let refunds = state.store.pix_refunds_of(view.a.id).await?;
    // What each Pix can still give back: its amount less refunds asked or done.
    let remaining = |e2e: &str, amount: i64| {
        amount
            - refunds
                .iter()
                .filter(|r| r.end_to_end_id == e2e && r.status != "failed")
                .map(|r| r.amount_cents)
                .sum::<i64>()
    };
    let refundable: i64 = payments
        .iter()
        .map(|p| remaining(&p.end_to_end_id, p.amount_cents))
        .sum();
    if refundable <= 0 {
        return Err(AppError::conflict(
            "nothing_to_refund",
            "não há pagamento a devolver nesta consulta",
        ));
    }
    let amount = req.amount_cents.unwrap_or(refundable);
    if amount <= 0 || amount > refundable {
        return Err(ValidationError::new(
            "invalid_refund_amount",
            format!("valor da devolução: de 1 a {refundable} centavos"),
        )
        .into());
    }
    let Some(payment) = payments
        .iter()
        .find(|p| remaining(&p.end_to_end_id, p.amount_cents) >= amount)
    else {
        return Err(ValidationError::new(
            "invalid_refund_amount",
            "a devolução passa do valor de um único Pix; devolva em partes",
        )
        .into());
    };
    let id = format!("D{}", uuid::Uuid::now_v7().simple());
    let at = now(state);
    // The request is recorded first, so a PSP answer lost on the way still leaves the
    // refund known (and settled by the next notification).
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_pix_refund(
            &mut tx,
            &PixRefundRow {
                id: id.clone(),
                end_to_end_id: payment.end_to_end_id.clone(),
                clinic_id: clinic,
                appointment_id: view.a.id,
                amount_cents: amount,
                status: "requested".into(),
                rtr_id: None,
                reason: req.reason.clone(),
                requested_by: Some(auth.user_id),
                requested_at: at,
                settled_at: None,
            },
        )
        .await?;
    let event = AuditEvent::new(Some(auth.user_id), "pix.refund_requested", "appointment")
        .entity_id(view.a.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"refund_id": id, "end_to_end_id": payment.end_to_end_id, "amount_cents": amount}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    let answer = psp
        .refund(&payment.end_to_end_id, &id, amount, &req.reason)
        .await;
    match answer {
        Ok(r) if r.status == "DEVOLVIDO" || r.status == "NAO_REALIZADO" => {
            super::reconcile::settle_refund(state, &view, &r).await?;
        }
        Ok(_) => {}
        Err(PspError::Refused { detail, .. }) => {
            // The PSP will never do it: the request is closed as failed.
            super::reconcile::settle_refund(
                state,
                &view,
                &crate::billing::RefundState {
                    id: id.clone(),
                    rtr_id: None,
                    amount_cents: amount,
                    status: "NAO_REALIZADO".into(),
                },
            )
            .await?;
            return Err(AppError::Overloaded {
                code: "psp_refused",
                message: format!("o PSP recusou a devolução: {detail}"),
            });
        }
        Err(e) => return Err(psp_error(e)),
    }
    payment_view(state, &view).await
}
