use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn malformed_json_and_wrong_types_get_400_with_a_code() {
    let app = spawn_app().await;
    let raw = |body: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(
        raw("{\"email\": ").await.expect("send"),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    assert_error(
        raw("not json at all").await.expect("send"),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    assert_error(
        raw("{\"email\": 42, \"password\": []}")
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_error(
        raw("{\"email\": \"a@b.com\"}").await.expect("send"),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_error(
        raw("{\"email\": \"a@b.com\", \"password\": \"x\", \"admin\": true}")
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let wrong_type = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_error(
        wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(100_000)
    );
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    // The server is still fine afterwards.
    assert_eq!(app.get("/health", None).await.status(), StatusCode::OK);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bad_path_ids_and_unknown_api_routes_get_json_errors() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let s = app.login("admin@aurora.demo", PW).await;
    assert_error(
        app.get("/api/clinics/not-a-uuid", Some(&s.access)).await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    assert_error(
        app.get("/api/nothing-here", Some(&s.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let unknown = uuid::Uuid::now_v7();
    // Not a member of an unknown clinic: forbidden, without revealing whether it exists.
    assert_error(
        app.get(&format!("/api/clinics/{unknown}"), Some(&s.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let clinic = s.clinic("clinic_admin");
    assert_error(
        app.get(
            &format!("/api/clinics/{clinic}/patients/{unknown}"),
            Some(&s.access),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn health_checks_the_database_and_metrics_count_requests() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/health", None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["database_ok"], true);
    assert_eq!(
        body["database"],
        if app.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    let metrics = app.get("/metrics", None).await.text().await.expect("text");
    assert!(metrics.contains("atende_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/health\""), "{metrics}");
    // The pool and the signing backlog are read at each scrape (no document waits here).
    assert!(metrics.contains("atende_db_pool_max 5"), "{metrics}");
    assert!(metrics.contains("atende_db_pool_in_use "), "{metrics}");
    assert!(
        metrics.contains("atende_signing_oldest_pending_seconds 0"),
        "{metrics}"
    );

    // Readiness follows the database and the drain; liveness only the process.
    let (status, body) = json_of(app.get("/health/ready", None).await).await;
    assert_eq!(
        (status, &body["draining"]),
        (StatusCode::OK, &serde_json::json!(false))
    );
    app.state
        .draining
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = json_of(app.get("/health/ready", None).await).await;
    assert_eq!(
        (status, &body["draining"]),
        (StatusCode::SERVICE_UNAVAILABLE, &serde_json::json!(true))
    );
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status(), StatusCode::OK);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn every_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let (status, doc) = json_of(app.get("/api/openapi.json", None).await).await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/api/auth/signup", "post"),
        ("/api/auth/signup/confirm", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/mfa", "post"),
        ("/api/me/mfa", "get"),
        ("/api/me/mfa/totp", "post"),
        ("/api/me/mfa/totp", "delete"),
        ("/api/me/mfa/totp/confirm", "post"),
        ("/api/me/mfa/recovery-codes", "post"),
        ("/api/clinics/{clinic_id}/security", "get"),
        ("/api/clinics/{clinic_id}/security", "put"),
        ("/api/auth/refresh", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/logout-all", "post"),
        ("/api/auth/password", "post"),
        ("/api/auth/password-reset", "post"),
        ("/api/auth/password-reset/confirm", "post"),
        ("/api/clinics/{clinic_id}/messages", "get"),
        ("/api/clinics/{clinic_id}/messaging", "get"),
        ("/api/clinics/{clinic_id}/messaging", "put"),
        ("/api/terms", "get"),
        ("/api/me", "get"),
        ("/api/me/consents", "get"),
        ("/api/me/consents", "post"),
        ("/api/me/consents/withdraw", "post"),
        ("/api/clinics", "get"),
        ("/api/clinics", "post"),
        ("/api/clinics/{clinic_id}", "get"),
        ("/api/clinics/{clinic_id}/members", "get"),
        ("/api/clinics/{clinic_id}/professionals", "post"),
        ("/api/clinics/{clinic_id}/staff", "post"),
        (
            "/api/clinics/{clinic_id}/members/{user_id}/roles/{role}",
            "delete",
        ),
        ("/api/clinics/{clinic_id}/patients", "get"),
        ("/api/clinics/{clinic_id}/patients", "post"),
        ("/api/clinics/{clinic_id}/patients/{patient_id}", "get"),
        ("/api/clinics/{clinic_id}/patients/{patient_id}", "patch"),
        ("/api/patients/me", "get"),
        ("/api/patients/{patient_id}", "get"),
        ("/api/patients/{patient_id}/address", "put"),
        ("/health", "get"),
        ("/health/ready", "get"),
        ("/health/live", "get"),
        ("/metrics", "get"),
        ("/api/chat/rooms", "get"),
        ("/api/clinics/{clinic_id}/chat/rooms", "post"),
        ("/api/ws/ticket", "post"),
        ("/ws", "get"),
        ("/api/chat/rooms/{room_id}/messages", "get"),
        ("/api/chat/rooms/{room_id}/attachments", "post"),
        ("/api/chat/attachments/{attachment_id}", "get"),
        ("/api/me/chat/contacts", "get"),
        ("/api/me/chat/rooms", "post"),
        ("/api/me/office-hours", "get"),
        ("/api/me/office-hours", "put"),
        ("/api/clinics/{clinic_id}/queue", "get"),
        ("/api/clinics/{clinic_id}/queue", "post"),
        ("/api/clinics/{clinic_id}/queue/call-next", "post"),
        ("/api/clinics/{clinic_id}/queue/{entry_id}/{action}", "post"),
        ("/api/clinics/{clinic_id}/queue/panel", "get"),
        ("/api/clinics/{clinic_id}/queue/settings", "get"),
        ("/api/clinics/{clinic_id}/queue/settings", "put"),
        ("/api/clinics/{clinic_id}/queue/panel-token", "post"),
        ("/api/clinics/{clinic_id}/queue/checkin-link", "get"),
        ("/api/clinics/{clinic_id}/queue/checkin-link", "post"),
        ("/api/public/panel", "post"),
        ("/api/public/queue/track", "post"),
        ("/api/public/checkin/clinic", "post"),
        ("/api/public/checkin", "post"),
        ("/api/clinics/{clinic_id}/services", "get"),
        ("/api/clinics/{clinic_id}/services", "post"),
        ("/api/clinics/{clinic_id}/services/{service_id}", "put"),
        (
            "/api/clinics/{clinic_id}/professionals/{user_id}/schedule",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/professionals/{user_id}/schedule",
            "put",
        ),
        ("/api/clinics/{clinic_id}/exceptions", "get"),
        ("/api/clinics/{clinic_id}/exceptions", "post"),
        (
            "/api/clinics/{clinic_id}/exceptions/{exception_id}",
            "delete",
        ),
        ("/api/clinics/{clinic_id}/slots", "get"),
        ("/api/public/clinics/{clinic_id}/slots", "get"),
        ("/api/public/clinics/{clinic_id}/booking", "get"),
        ("/api/public/clinics", "get"),
        ("/api/clinics/{clinic_id}/appointments", "get"),
        ("/api/clinics/{clinic_id}/appointments", "post"),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/reschedule",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/cancel",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/confirm",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/status",
            "post",
        ),
        ("/api/me/agenda", "get"),
        ("/api/me/appointments", "get"),
        ("/api/public/links/preview", "post"),
        ("/api/public/links/use", "post"),
        ("/api/me/ical", "get"),
        ("/api/me/ical", "post"),
        ("/api/me/ical", "delete"),
        ("/ical/{token}", "get"),
        ("/api/clinics/{clinic_id}/waitlist", "get"),
        ("/api/clinics/{clinic_id}/waitlist", "post"),
        (
            "/api/clinics/{clinic_id}/waitlist/{entry_id}/cancel",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/waitlist/offers/{offer_id}/release",
            "post",
        ),
        ("/api/me/waitlist", "get"),
        ("/api/me/waitlist/offers/{offer_id}/{answer}", "post"),
        ("/api/documents", "post"),
        ("/api/documents/preview", "post"),
        ("/api/documents/{id}", "get"),
        ("/api/documents/{id}/pdf", "get"),
        ("/api/documents/{id}/revoke", "post"),
        ("/api/documents/{id}/send", "post"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/documents",
            "get",
        ),
        ("/api/clinics/{clinic_id}/document-grants", "get"),
        ("/api/clinics/{clinic_id}/document-grants", "put"),
        ("/api/me/documents", "get"),
        ("/api/me/document-scope", "get"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/links",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/links/code",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/revoke",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/links/{link_id}/confirm",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/links/email",
            "post",
        ),
        ("/api/me/links", "get"),
        ("/api/me/links/accept", "post"),
        ("/api/me/links/redeem", "post"),
        ("/api/me/links/{link_id}/revoke", "post"),
        ("/api/me/signing-key", "get"),
        ("/api/me/signing-key", "put"),
        ("/api/me/signing-key", "delete"),
        ("/api/public/signing-ca.pem", "get"),
        ("/api/public/documents/{code}", "get"),
        ("/api/public/documents/{code}/pdf", "get"),
        ("/api/public/documents/check", "post"),
        ("/v/{id}", "get"),
        ("/api/consults/{id}", "get"),
        ("/api/consults/{id}/ice", "get"),
        ("/api/consults/{id}/media", "get"),
        ("/api/consults/{id}/media/check", "post"),
        ("/api/consults/{id}/media/publish", "post"),
        ("/api/consults/{id}/media/publish", "delete"),
        ("/api/consults/{id}/media/subscribe", "post"),
        ("/api/consults/{id}/guests", "post"),
        ("/api/consults/{id}/guests", "get"),
        ("/api/consults/{id}/guests/{guest_id}", "delete"),
        ("/api/public/consults/{token}", "get"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}",
            "put",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}/sign",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/encounters/{id}/addenda",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/access",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/allergies/{id}",
            "patch",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/break-glass",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/timeline",
            "get",
        ),
        ("/api/me/record/encounters", "get"),
        ("/api/clinics/{clinic_id}/record/break-glass", "get"),
        ("/api/clinics/{clinic_id}/prices", "get"),
        (
            "/api/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}",
            "put",
        ),
        (
            "/api/clinics/{clinic_id}/prices/{service_id}/professionals/{user_id}",
            "delete",
        ),
        ("/api/clinics/{clinic_id}/pix/settings", "get"),
        ("/api/clinics/{clinic_id}/pix/settings", "put"),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/pix",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/refresh",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/appointments/{appointment_id}/payment/refund",
            "post",
        ),
        ("/api/clinics/{clinic_id}/payments", "get"),
        ("/api/clinics/{clinic_id}/ledger", "get"),
        ("/api/webhooks/pix/{secret}/pix", "post"),
        ("/api/clinics/{clinic_id}/cash", "get"),
        ("/api/clinics/{clinic_id}/cash/open", "post"),
        ("/api/clinics/{clinic_id}/cash/movements", "post"),
        ("/api/clinics/{clinic_id}/cash/close", "post"),
        ("/api/clinics/{clinic_id}/cash/sessions", "get"),
        (
            "/api/clinics/{clinic_id}/cash/sessions/{session_id}/adjustments",
            "post",
        ),
        ("/api/clinics/{clinic_id}/reports/revenue", "get"),
        ("/api/clinics/{clinic_id}/reports/revenue.csv", "get"),
        ("/api/clinics/{clinic_id}/reports/attendance", "get"),
        ("/api/webhooks/whatsapp", "get"),
        ("/api/webhooks/whatsapp", "post"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/consents",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/consents/{channel}",
            "put",
        ),
        ("/api/public/unsubscribe/{token}", "get"),
        ("/api/public/unsubscribe/{token}", "post"),
        ("/api/clinics/{clinic_id}/oidc", "get"),
        ("/api/clinics/{clinic_id}/oidc", "put"),
        ("/api/clinics/{clinic_id}/oidc", "delete"),
        ("/api/auth/oidc/{clinic_id}", "get"),
        ("/api/auth/oidc/{clinic_id}/start", "get"),
        ("/api/auth/oidc/callback", "get"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems",
            "post",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/problems/{id}",
            "patch",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/vitals",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/vitals",
            "post",
        ),
        ("/api/cid10", "get"),
        ("/api/documents/warnings", "post"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/medications",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/medications/stop",
            "post",
        ),
        ("/api/me/passkeys", "get"),
        ("/api/me/passkeys/register/start", "post"),
        ("/api/me/passkeys/register/finish", "post"),
        ("/api/me/passkeys/{id}", "delete"),
        ("/api/auth/mfa/passkey/start", "post"),
        ("/api/auth/passkey/start", "post"),
        ("/api/auth/passkey/finish", "post"),
        ("/api/me/day", "get"),
        ("/api/me/day/{appointment_id}/start", "post"),
        ("/api/me/day/{appointment_id}/finish", "post"),
        ("/api/webhooks/sms/status", "post"),
        ("/api/webhooks/sms/inbound", "post"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/export",
            "get",
        ),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/anonymise",
            "post",
        ),
        ("/api/me/export", "get"),
        (
            "/api/clinics/{clinic_id}/patients/{patient_id}/record/fhir",
            "get",
        ),
        ("/api/me/record/fhir", "get"),
        ("/api/clinics/{clinic_id}/messaging/texts", "get"),
        ("/api/clinics/{clinic_id}/messaging/texts/{template}", "put"),
        (
            "/api/clinics/{clinic_id}/messaging/texts/{template}",
            "delete",
        ),
        (
            "/api/clinics/{clinic_id}/messaging/texts/{template}/preview",
            "post",
        ),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from OpenAPI"
        );
    }
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        documented,
        expected.len(),
        "a route is documented that this test does not know: update both"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let resp = app.get("/", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    let csp = h
        .get("content-security-policy")
        .expect("CSP")
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(h.get("x-content-type-options").expect("nosniff"), "nosniff");
    assert!(
        h.get("content-type")
            .expect("type")
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let body = resp.text().await.expect("html");
    assert!(body.contains("lang=\"pt-BR\""));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("send");
    assert_eq!(
        resp.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or("")),
        Some("gzip")
    );
}
