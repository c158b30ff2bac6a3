use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn clinic_body(cnpj: &str) -> Value {
    json!({
        "name": "Clínica Horizonte",
        "cnpj": cnpj,
        "address": {"street": "Rua XV de Novembro", "number": "100", "district": "Centro",
                    "city": "Curitiba", "uf": "PR", "postal_code": "80020-310"},
        "time_zone": "America/Sao_Paulo"
    })
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_platform_admin_creates_a_clinic_and_its_admin_builds_the_team() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let root = app.login("plataforma@atende.demo", PW).await;
    let (status, clinic) = json_of(
        app.post(
            "/api/clinics",
            Some(&root.access),
            &clinic_body("12.ABC.345/01DE-35"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clinic}");
    assert_eq!(clinic["cnpj"], "12.ABC.345/01DE-35");
    let id = clinic["id"].as_str().expect("id");

    let staff = json!({"email": "gestora@horizonte.com.br", "full_name": "Lúcia Prado", "password": "senha-inicial-1", "role": "clinic_admin"});
    assert_eq!(
        app.post(
            &format!("/api/clinics/{id}/staff"),
            Some(&root.access),
            &staff
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let admin = app
        .login("gestora@horizonte.com.br", "senha-inicial-1")
        .await;
    assert_eq!(admin.clinic("clinic_admin"), id);

    // The new admin adds a physiotherapist and a receptionist. A gender, when given, is
    // one the words can agree with.
    assert_error(
        app.post(
            &format!("/api/clinics/{id}/professionals"),
            Some(&admin.access),
            &json!({"email": "fisio@horizonte.com.br", "full_name": "Otávio Lins", "password": "senha-inicial-2",
                "profession": "physiotherapist", "council": "CREFITO", "council_number": "12345-F", "council_uf": "PR",
                "gender": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_gender",
    )
    .await;
    let physio = json!({"email": "fisio@horizonte.com.br", "full_name": "Otávio Lins", "password": "senha-inicial-2",
        "profession": "physiotherapist", "council": "CREFITO", "council_number": "12345-F", "council_uf": "PR",
        "gender": "male"});
    let (status, member) = json_of(
        app.post(
            &format!("/api/clinics/{id}/professionals"),
            Some(&admin.access),
            &physio,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["professional"]["council"], "CREFITO");
    assert_eq!(member["professional"]["gender"], "male");
    let recep = json!({"email": "recepcao@horizonte.com.br", "full_name": "Iara Souza", "password": "senha-inicial-3", "role": "receptionist"});
    assert_eq!(
        app.post(
            &format!("/api/clinics/{id}/staff"),
            Some(&admin.access),
            &recep
        )
        .await
        .status(),
        StatusCode::CREATED
    );

    let (_, members) = json_of(
        app.get(&format!("/api/clinics/{id}/members"), Some(&admin.access))
            .await,
    )
    .await;
    let roles: Vec<&str> = members
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles.len(), 3, "{members}");
    assert!(
        roles.contains(&"professional")
            && roles.contains(&"receptionist")
            && roles.contains(&"clinic_admin")
    );

    let physio_session = app.login("fisio@horizonte.com.br", "senha-inicial-2").await;
    assert_eq!(
        physio_session.me["professional"]["council_number"],
        "12345-F"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professional_can_work_in_two_clinics() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let helena = app.login("dra.helena@atende.demo", PW).await;
    let clinics: Vec<&str> = helena.me["memberships"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["clinic_name"].as_str())
        .collect();
    assert_eq!(clinics, vec!["Clínica Aurora", "Clínica Boa Vista"]);
    let (status, list) = json_of(app.get("/api/clinics", Some(&helena.access)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().expect("array").len(), 2);

    // Adding an existing professional to a third clinic needs no password.
    let root = app.login("plataforma@atende.demo", PW).await;
    let (status, clinic) = json_of(
        app.post(
            "/api/clinics",
            Some(&root.access),
            &clinic_body("45.723.174/0001-10"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{clinic}");
    check_third_clinic(&app, &root, clinic["id"].as_str().expect("id")).await;
}

async fn check_third_clinic(app: &TestApp, root: &Session, id: &str) {
    let again = json!({"email": "dra.helena@atende.demo", "full_name": "Helena Duarte",
        "profession": "doctor", "council": "CRM", "council_number": "123456", "council_uf": "SP"});
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{id}/professionals"),
            Some(&root.access),
            &again,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let helena = app.login("dra.helena@atende.demo", PW).await;
    assert_eq!(helena.me["memberships"].as_array().expect("array").len(), 3);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_receptionist_of_one_clinic_cannot_read_another_clinic() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let aurora = app.login("recepcao@aurora.demo", PW).await;
    let boavista = app.login("recepcao@boavista.demo", PW).await;
    let other = boavista.clinic("receptionist");
    for path in [
        format!("/api/clinics/{other}"),
        format!("/api/clinics/{other}/members"),
        format!("/api/clinics/{other}/patients"),
    ] {
        assert_error(
            app.get(&path, Some(&aurora.access)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let new_patient =
        json!({"full_name": "Intrusa", "cpf": "390.533.447-05", "birth_date": "2015-11-30"});
    assert_error(
        app.post(
            &format!("/api/clinics/{other}/patients"),
            Some(&aurora.access),
            &new_patient,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Their own clinic works, and lists only their clinic.
    let own = aurora.clinic("receptionist");
    assert_eq!(
        app.get(&format!("/api/clinics/{own}"), Some(&aurora.access))
            .await
            .status(),
        StatusCode::OK
    );
    let (_, list) = json_of(app.get("/api/clinics", Some(&aurora.access)).await).await;
    assert_eq!(list.as_array().expect("array").len(), 1);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn only_admins_manage_members_and_only_platform_admins_create_clinics() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let recep = app.login("recepcao@aurora.demo", PW).await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let clinic = recep.clinic("receptionist");
    let staff = json!({"email": "novo@aurora.demo", "full_name": "Novo", "password": "senha-inicial", "role": "clinic_admin"});
    assert_error(
        app.post(
            &format!("/api/clinics/{clinic}/staff"),
            Some(&recep.access),
            &staff,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            "/api/clinics",
            Some(&admin.access),
            &clinic_body("12ABC34501DE35"),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post("/api/clinics", None, &clinic_body("12ABC34501DE35"))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn invalid_cnpj_council_number_and_mismatched_council_are_rejected_with_codes() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let root = app.login("plataforma@atende.demo", PW).await;
    assert_error(
        app.post(
            "/api/clinics",
            Some(&root.access),
            &clinic_body("11.222.333/0001-82"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_cnpj",
    )
    .await;
    let mut bad_tz = clinic_body("12ABC34501DE35");
    bad_tz["time_zone"] = json!("America/Atlantida");
    assert_error(
        app.post("/api/clinics", Some(&root.access), &bad_tz).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_time_zone",
    )
    .await;
    assert_error(
        app.post(
            "/api/clinics",
            Some(&root.access),
            &clinic_body("11.222.333/0001-81"),
        )
        .await,
        StatusCode::CONFLICT,
        "cnpj_taken",
    )
    .await;

    let admin = app.login("admin@aurora.demo", PW).await;
    let clinic = admin.clinic("clinic_admin");
    let base = json!({"email": "dr.novo@aurora.demo", "full_name": "Dr. Novo", "password": "senha-inicial",
        "profession": "doctor", "council": "CRM", "council_number": "12A45", "council_uf": "SP"});
    let path = format!("/api/clinics/{clinic}/professionals");
    assert_error(
        app.post(&path, Some(&admin.access), &base).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_council_number",
    )
    .await;
    let mut mismatch = base.clone();
    mismatch["council"] = json!("CRO");
    mismatch["council_number"] = json!("4567");
    assert_error(
        app.post(&path, Some(&admin.access), &mismatch).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "council_mismatch",
    )
    .await;
    let mut bad_uf = base.clone();
    bad_uf["council_number"] = json!("4567");
    bad_uf["council_uf"] = json!("XX");
    assert_error(
        app.post(&path, Some(&admin.access), &bad_uf).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_uf",
    )
    .await;
    let mut taken = base.clone();
    taken["council_number"] = json!("123456");
    assert_error(
        app.post(&path, Some(&admin.access), &taken).await,
        StatusCode::CONFLICT,
        "council_number_taken",
    )
    .await;
}

/// The admin adds Renata Bastos, who has no account, as a receptionist without a password
/// (an invitation); the member as answered.
pub(crate) async fn invite_receptionist(
    app: &TestApp,
    admin: &Session,
    clinic: &str,
    email: &str,
) -> Value {
    let (status, member) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/staff"),
            Some(&admin.access),
            &json!({"email": email, "full_name": "Renata Bastos", "role": "receptionist"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    member
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_admin_adds_someone_new_by_invitation_without_ever_knowing_their_password() {
    // No e-mail channel: the invitation waits in the outbox.
    let app = spawn_app_with(|s| s.messaging.mail_dir = String::new()).await;
    app.seed_demo().await;
    let admin = app.login("admin@aurora.demo", PW).await;
    let clinic = admin.clinic("clinic_admin");
    let email = format!("convidada-{}@aurora.test", uuid::Uuid::new_v4().simple());
    let member = invite_receptionist(&app, &admin, &clinic, &email).await;
    assert_eq!(member["invitation_sent"], true);
    assert_eq!(member["role"], "receptionist");
    // Nobody can log in to the account before she creates her password.
    for guess in ["", "uma senha boa", "atende-demo"] {
        assert_eq!(
            app.login_response(&email, guess).await.status(),
            StatusCode::UNAUTHORIZED,
            "{guess:?}"
        );
    }
    // The invitation waits in the clinic's outbox, from the clinic, to her account.
    let (status, list) = json_of(
        app.get(
            &format!("/api/clinics/{clinic}/messages?channel=email"),
            Some(&admin.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let invitations: Vec<&Value> = list
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["template"] == "staff_invitation")
        .collect();
    assert_eq!(invitations.len(), 1, "{list}");
    assert_eq!(invitations[0]["status"], "queued");

    // Adding someone who already has an account sends nothing: they are linked.
    let (status, helena) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/staff"),
            Some(&admin.access),
            &json!({"email": "dra.helena@atende.demo", "full_name": "Helena Duarte", "role": "clinic_admin"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{helena}");
    assert_eq!(helena["invitation_sent"], false);
}
