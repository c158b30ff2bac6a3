//! Demo data for `atende serve --demo`: two clinics, a doctor who works in both, a
//! dentist, an admin and a receptionist per clinic, a platform admin and a few patients.
//! Seeding is idempotent: a second start finds the data and only prints the logins.
//! `serve --demo` adds a realistic week on top (`week`); the tests seed without it.

pub mod week;

use crate::app::auth::{PatientAccount, open_patient_account};
use crate::app::clinics::{
    NewClinicRequest, NewProfessionalRequest, NewStaffRequest, enroll_professional, enroll_staff,
    register_clinic,
};
use crate::app::error::AppError;
use crate::app::patient_links::{self, Actor};
use crate::app::patients::{NewPatientRequest, PatientIdentity, register_with_clinic};
use crate::app::state::AppState;
use crate::domain::{Address, ClinicId, PatientId, Role, UserId};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::store;
use crate::store::users::UserRow;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "atende-demo";

/// (e-mail, what the account is) for the printed list.
pub const DEMO_LOGINS: &[(&str, &str)] = &[
    ("plataforma@atende.demo", "administrador da plataforma"),
    (
        "admin@aurora.demo",
        "administradora da Clínica Aurora (São Paulo)",
    ),
    (
        "admin@boavista.demo",
        "administrador da Clínica Boa Vista (Recife)",
    ),
    (
        "dra.helena@atende.demo",
        "médica (CRM/SP), atende nas duas clínicas",
    ),
    ("dr.rafael@atende.demo", "dentista (CRO/SP), Clínica Aurora"),
    ("recepcao@aurora.demo", "recepcionista da Clínica Aurora"),
    (
        "recepcao@boavista.demo",
        "recepcionista da Clínica Boa Vista",
    ),
    ("joao@paciente.demo", "paciente"),
    ("maria@paciente.demo", "paciente"),
];

const AURORA_CNPJ: &str = "11222333000181";
const BOAVISTA_CNPJ: &str = "11444777000161";

/// What `serve --demo` runs: [`seed`], then, the first time only, a week of appointments
/// and today's waiting room relative to now ([`week::seed_week`]). Returns true when it
/// seeded.
pub async fn seed_with_week(state: &AppState) -> Result<bool, AppError> {
    if !seed(state).await? {
        return Ok(false);
    }
    let id = |cnpj: &'static str| async move {
        state
            .store
            .clinic_by_cnpj(cnpj)
            .await?
            .map(|c| c.id)
            .ok_or(AppError::NotFound)
    };
    let clinics = (id(AURORA_CNPJ).await?, id(BOAVISTA_CNPJ).await?);
    let professionals = (
        demo_user_id(state, "dra.helena@atende.demo").await?,
        demo_user_id(state, "dr.rafael@atende.demo").await?,
    );
    week::seed_week(state, clinics, professionals).await?;
    Ok(true)
}

/// Seed the demo data unless it is already there. Returns true when it seeded.
pub async fn seed(state: &AppState) -> Result<bool, AppError> {
    if state.store.clinic_by_cnpj(AURORA_CNPJ).await?.is_some() {
        return Ok(false);
    }
    let root = create_user(state, "plataforma@atende.demo", "Equipe atende", true).await?;
    let aurora = register_clinic(
        state,
        Some(root),
        None,
        &NewClinicRequest {
            name: "Clínica Aurora".into(),
            cnpj: AURORA_CNPJ.into(),
            address: Address {
                street: "Avenida Paulista".into(),
                number: "1578".into(),
                complement: Some("conjunto 42".into()),
                district: "Bela Vista".into(),
                city: "São Paulo".into(),
                uf: "SP".into(),
                postal_code: "01310-200".into(),
            },
            time_zone: Some("America/Sao_Paulo".into()),
        },
    )
    .await?;
    let boavista = register_clinic(
        state,
        Some(root),
        None,
        &NewClinicRequest {
            name: "Clínica Boa Vista".into(),
            cnpj: "11.444.777/0001-61".into(),
            address: Address {
                street: "Rua da Aurora".into(),
                number: "325".into(),
                complement: None,
                district: "Boa Vista".into(),
                city: "Recife".into(),
                uf: "PE".into(),
                postal_code: "50050-000".into(),
            },
            time_zone: Some("America/Recife".into()),
        },
    )
    .await?;
    let staff = |email: &str, name: &str, role: Role| NewStaffRequest {
        email: email.into(),
        full_name: name.into(),
        password: Some(DEMO_PASSWORD.into()),
        role: role.as_str().into(),
    };
    enroll_staff(
        state,
        Some(root),
        None,
        aurora.id,
        &staff("admin@aurora.demo", "Beatriz Almeida", Role::ClinicAdmin),
    )
    .await?;
    enroll_staff(
        state,
        Some(root),
        None,
        boavista.id,
        &staff("admin@boavista.demo", "Carlos Menezes", Role::ClinicAdmin),
    )
    .await?;
    enroll_staff(
        state,
        Some(root),
        None,
        aurora.id,
        &staff("recepcao@aurora.demo", "Juliana Costa", Role::Receptionist),
    )
    .await?;
    enroll_staff(
        state,
        Some(root),
        None,
        boavista.id,
        &staff(
            "recepcao@boavista.demo",
            "Severino Araújo",
            Role::Receptionist,
        ),
    )
    .await?;
    let helena = NewProfessionalRequest {
        email: "dra.helena@atende.demo".into(),
        full_name: "Helena Duarte".into(),
        password: Some(DEMO_PASSWORD.into()),
        profession: "doctor".into(),
        council: "CRM".into(),
        council_number: "123456".into(),
        council_uf: "SP".into(),
        gender: Some("female".into()),
        specialty: Some("Clínica Médica".into()),
        rqe: Some("54321".into()),
    };
    enroll_professional(state, Some(root), None, aurora.id, &helena).await?;
    enroll_professional(state, Some(root), None, boavista.id, &helena).await?;
    enroll_professional(
        state,
        Some(root),
        None,
        aurora.id,
        &NewProfessionalRequest {
            email: "dr.rafael@atende.demo".into(),
            full_name: "Rafael Nogueira".into(),
            password: Some(DEMO_PASSWORD.into()),
            profession: "dentist".into(),
            council: "CRO".into(),
            council_number: "98765".into(),
            council_uf: "SP".into(),
            gender: Some("male".into()),
            specialty: Some("Ortodontia".into()),
            rqe: None,
        },
    )
    .await?;

    // Patients with their own accounts (as if they had signed up), then registered by the
    // clinics (each clinic its own record), then linked by proof: the clinic issues a
    // one-time code and the patient redeems it, as at the front desk.
    let joao = patient_account(
        state,
        "joao@paciente.demo",
        "João Pereira da Silva",
        None,
        "52998224725",
        "1958-03-14",
    )
    .await?;
    let maria = patient_account(
        state,
        "maria@paciente.demo",
        "Maria Aparecida Santos",
        Some("Maria"),
        "11144477735",
        "1991-08-02",
    )
    .await?;
    let register =
        |name: &str, cpf: &str, birth: &str, allergies: Option<&str>| NewPatientRequest {
            full_name: name.into(),
            social_name: None,
            cpf: cpf.into(),
            birth_date: birth.into(),
            phone: Some("(11) 91234-5678".into()),
            email: None,
            address: Some(Address {
                street: "Rua Augusta".into(),
                number: "1500".into(),
                complement: Some("apto 42".into()),
                district: "Consolação".into(),
                city: "São Paulo".into(),
                uf: "SP".into(),
                postal_code: "01304-001".into(),
            }),
            allergies: allergies.map(Into::into),
            notes: Some("Paciente de demonstração.".into()),
        };
    let joao_aurora = register_with_clinic(
        state,
        None,
        aurora.id,
        &register(
            "João Pereira da Silva",
            "529.982.247-25",
            "1958-03-14",
            Some("Dipirona"),
        ),
    )
    .await?;
    let maria_aurora = register_with_clinic(
        state,
        None,
        aurora.id,
        &NewPatientRequest {
            social_name: Some("Maria".into()),
            ..register(
                "Maria Aparecida Santos",
                "111.444.777-35",
                "1991-08-02",
                None,
            )
        },
    )
    .await?;
    let maria_boavista = register_with_clinic(
        state,
        None,
        boavista.id,
        &NewPatientRequest {
            social_name: Some("Maria".into()),
            ..register(
                "Maria Aparecida Santos",
                "111.444.777-35",
                "1991-08-02",
                Some("Penicilina"),
            )
        },
    )
    .await?;
    register_with_clinic(
        state,
        None,
        aurora.id,
        &register("Ana Clara Ribeiro", "390.533.447-05", "2015-11-30", None),
    )
    .await?;
    register_with_clinic(
        state,
        None,
        boavista.id,
        &register(
            "Francisco das Chagas Lima",
            "153.509.460-56",
            "1940-06-21",
            Some("Látex"),
        ),
    )
    .await?;
    for (user, clinic, record) in [
        (joao, aurora.id, joao_aurora.identity.id),
        (maria, aurora.id, maria_aurora.identity.id),
        (maria, boavista.id, maria_boavista.identity.id),
    ] {
        let system = Actor::default();
        let issued = patient_links::issue(state, &system, clinic, record).await?;
        let as_patient = Actor {
            user: Some(user),
            ip: None,
        };
        patient_links::redeem(state, &as_patient, user, &issued.code).await?;
    }
    seed_agenda(
        state,
        aurora.id,
        boavista.id,
        [
            (joao_aurora.identity.id, 14, 0),
            (maria_aurora.identity.id, 14, 30),
        ],
    )
    .await?;
    Ok(true)
}

/// Working hours, services and a few appointments today, so the agenda screens have
/// something to show. Helena works in Aurora on weekdays and in Boa Vista on Saturdays.
async fn seed_agenda(
    state: &AppState,
    aurora: ClinicId,
    boavista: ClinicId,
    todays: [(PatientId, u32, u32); 2],
) -> Result<(), AppError> {
    use crate::actors::agenda::{Book, Record};
    use crate::domain::agenda::{AppointmentStatus, BookingRules, WorkingHours};
    use crate::store::agenda::ServiceRow;

    let helena = demo_user_id(state, "dra.helena@atende.demo").await?;
    let rafael = demo_user_id(state, "dr.rafael@atende.demo").await?;
    let rules = BookingRules {
        min_notice_minutes: 60,
        booking_window_days: 60,
        daily_limit: None,
        slot_step_minutes: 30,
    };
    let week = |days: &[i64], stretches: &[(&str, &str)]| -> Result<Vec<WorkingHours>, AppError> {
        let mut v = Vec::new();
        for d in days {
            for (a, b) in stretches {
                v.push(WorkingHours::new(*d, a, b)?);
            }
        }
        Ok(v)
    };
    let weekdays = [0, 1, 2, 3, 4];
    state
        .store
        .set_schedule(
            aurora,
            helena,
            &week(&weekdays, &[("08:00", "12:00"), ("14:00", "18:00")])?,
            &rules,
        )
        .await?;
    state
        .store
        .set_schedule(
            boavista,
            helena,
            &week(&[5], &[("08:00", "12:00")])?,
            &rules,
        )
        .await?;
    state
        .store
        .set_schedule(
            aurora,
            rafael,
            &week(&weekdays, &[("09:00", "12:00"), ("13:00", "17:00")])?,
            &rules,
        )
        .await?;
    let service = |clinic, pro, name: &str, minutes, price, after, tele| ServiceRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        professional_user_id: pro,
        name: name.into(),
        duration_minutes: minutes,
        price_cents: price,
        buffer_before_minutes: 0,
        buffer_after_minutes: after,
        teleconsultation: tele,
        active: true,
        created_at: store::now(),
    };
    let consulta = service(
        aurora,
        Some(helena),
        "Consulta clínica",
        30,
        30000,
        0,
        false,
    );
    let services = [
        consulta.clone(),
        service(aurora, Some(helena), "Teleconsulta", 30, 25000, 0, true),
        service(
            aurora,
            Some(rafael),
            "Avaliação odontológica",
            40,
            20000,
            10,
            false,
        ),
        service(
            boavista,
            Some(helena),
            "Consulta clínica",
            30,
            28000,
            0,
            false,
        ),
    ];
    for s in &services {
        state.store.insert_service(s).await?;
    }
    // Aurora receives Pix (a demo random key: a bank app reads the code, no bank knows it).
    let mut tx = state.store.begin().await?;
    state
        .store
        .put_pix_settings(
            &mut tx,
            &crate::store::billing::PixSettingsRow {
                clinic_id: aurora,
                pix_key: "5f8c2a1e-7b3d-4c9a-9e21-0d4b6a8f3c57".into(),
                merchant_name: "Clinica Aurora".into(),
                merchant_city: "Sao Paulo".into(),
                updated_at: store::now(),
            },
        )
        .await?;
    tx.commit().await?;
    // Today's appointments for João and Maria with Helena (14:00 and 14:30 local), fitted
    // in whatever the weekday.
    let tz = chrono_tz::America::Sao_Paulo;
    let today = state.clock.now().with_timezone(&tz).date_naive();
    for (patient, h, m) in todays {
        let Some(starts_at) = chrono::TimeZone::from_local_datetime(
            &tz,
            &today.and_hms_opt(h, m, 0).unwrap_or_default(),
        )
        .single() else {
            continue;
        };
        state
            .registry
            .agenda(aurora)
            .send(Book {
                by: None,
                professional: helena,
                patient,
                service: Some(consulta.clone()),
                duration_minutes: 30,
                starts_at: starts_at.with_timezone(&chrono::Utc),
                kind: "in_person".into(),
                notes: String::new(),
                require_free_slot: false,
                status: AppointmentStatus::Scheduled,
                hold_expires_at: None,
                new_patient: None,
                record: Record::default(),
                quota: None,
            })
            .await
            .map_err(|_| AppError::Unavailable)??;
    }
    Ok(())
}

/// A demo account's id by its e-mail.
pub(crate) async fn demo_user_id(state: &AppState, email: &str) -> Result<UserId, AppError> {
    state
        .store
        .user_by_email(email)
        .await?
        .map(|u| u.id)
        .ok_or(AppError::NotFound)
}

fn demo_user(email: &str, name: &str, platform_admin: bool, password_hash: String) -> UserRow {
    UserRow {
        id: UserId::new(),
        email: email.into(),
        password_hash,
        full_name: name.into(),
        platform_admin,
        created_at: store::now(),
        disabled_at: None,
    }
}

async fn create_user(
    state: &AppState,
    email: &str,
    name: &str,
    platform_admin: bool,
) -> Result<UserId, AppError> {
    let hash = password::hash(DEMO_PASSWORD.into()).await?;
    let user = demo_user(email, name, platform_admin, hash);
    let mut tx = state.store.begin().await?;
    state.store.insert_user(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(user.id)
}

/// A patient with their own account, as if they had signed up (no login session).
async fn patient_account(
    state: &AppState,
    email: &str,
    name: &str,
    social_name: Option<&str>,
    cpf: &str,
    birth_date: &str,
) -> Result<UserId, AppError> {
    let hash = password::hash(DEMO_PASSWORD.into()).await?;
    let user = demo_user(email, name, false, hash);
    let id = user.id;
    let audit = AuditEvent::new(Some(user.id), "auth.signup", "patient");
    let identity = PatientIdentity::parse(
        name,
        social_name,
        cpf,
        birth_date,
        None,
        state.clock.now().date_naive(),
    )?;
    open_patient_account(
        state,
        PatientAccount {
            user,
            identity,
            ip: None,
            audit,
        },
        false,
    )
    .await?;
    Ok(id)
}
