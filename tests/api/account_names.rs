//! Account names (`users.full_name_enc`) are sealed at rest: the name a patient typed at
//! sign-up and a staff member's. An installation upgraded from a version that kept them in
//! the clear has them sealed at the next start, and `atende keys status` counts them until
//! then.

use atende::store::keys::ENCRYPTED_COLUMNS;
use reqwest::StatusCode;

use crate::agenda::agenda_fixture;
use crate::helpers::*;
use crate::raw_db::{holds, whole_database, with_conn};

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn account_names_from_before_their_encryption_are_sealed_at_start_and_read_whole() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    // Put Dr. Rafael's account back the way the earlier version wrote it.
    with_conn!(app, c => {
        sqlx::query(
            "UPDATE users SET full_name_enc = 'Rafael Antiquissimo' WHERE email = 'dr.rafael@atende.demo'",
        )
        .execute(&mut c)
        .await
        .expect("legacy row");
    });
    let col = ENCRYPTED_COLUMNS
        .iter()
        .find(|c| c.table == "users" && c.column == "full_name_enc")
        .expect("users.full_name_enc is an encrypted column");
    let plain = app.state.store.count_not_under(col, "v1:").await;
    assert_eq!(
        plain.expect("count"),
        1,
        "keys status counts the plain name"
    );
    // Read as it is meanwhile.
    let rafael = app.login("dr.rafael@atende.demo", PW).await;
    assert_eq!(rafael.me["full_name"], "Rafael Antiquissimo");
    assert!(holds(&whole_database(&app).await, b"Rafael Antiquissimo"));

    let upgraded = spawn_node(Some(app.db_url.clone()), |_| {}).await;
    assert!(
        !holds(&whole_database(&upgraded).await, b"Antiquissimo"),
        "the account's name is still in the clear"
    );
    let left = upgraded.state.store.count_not_under(col, "v1:").await;
    assert_eq!(left.expect("count"), 0);
    let rafael = upgraded.login("dr.rafael@atende.demo", PW).await;
    assert_eq!(rafael.me["full_name"], "Rafael Antiquissimo");
    let (status, members) = json_of(
        upgraded
            .get(
                &format!("/api/clinics/{}/members", a.clinic),
                Some(&a.admin.access),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert!(
        members.to_string().contains("Rafael Antiquissimo"),
        "{members}"
    );
}
