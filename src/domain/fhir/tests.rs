//! The mapping's own checks: references resolve, ids are stable, codes and units.

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn sample() -> Export {
    let patient = uuid::Uuid::now_v7();
    let doctor = uuid::Uuid::now_v7();
    let nurse = uuid::Uuid::now_v7();
    let doc = uuid::Uuid::now_v7();
    Export {
        generated_at: at("2026-12-07T10:00:00Z"),
        records: vec![Record {
            person: Person {
                id: patient,
                full_name: "Lúcia Prontuário".into(),
                social_name: Some("Lu".into()),
                cpf: "52998224725".into(),
                birth_date: NaiveDate::from_ymd_opt(1979, 3, 3).expect("date"),
                phone: Some("+5511999990000".into()),
                email: None,
                address: Some(crate::domain::Address {
                    street: "Rua da Aurora".into(),
                    number: "100".into(),
                    complement: Some("apto 3".into()),
                    district: "Boa Vista".into(),
                    city: "Recife".into(),
                    uf: "PE".into(),
                    postal_code: "50050-000".into(),
                }),
            },
            clinic: Some(Clinic {
                id: uuid::Uuid::now_v7(),
                name: "Aurora".into(),
                cnpj: "11.222.333/0001-81".into(),
            }),
            encounters: vec![Encounter {
                id: uuid::Uuid::now_v7(),
                author: doctor,
                start: at("2026-12-01T13:00:00Z"),
                end: Some(at("2026-12-01T13:30:00Z")),
                remote: true,
                chief_complaint: "Febre".into(),
                diagnoses: vec![Coded {
                    code: "J11.1".into(),
                    display: "Influenza".into(),
                    text: "gripe".into(),
                }],
                locked_at: at("2026-12-01T13:40:00Z"),
            }],
            problems: vec![Problem {
                id: uuid::Uuid::now_v7(),
                code: Coded {
                    code: "I10".into(),
                    display: "Hipertensão essencial (primária)".into(),
                    text: String::new(),
                },
                status: ProblemStatus::Resolved,
                onset: NaiveDate::from_ymd_opt(2020, 1, 1),
                resolved_at: Some(at("2026-12-02T10:00:00Z")),
                recorded_by: doctor,
                recorded_at: at("2026-12-01T13:10:00Z"),
            }],
            allergies: vec![Allergy {
                id: uuid::Uuid::now_v7(),
                substance: "Dipirona".into(),
                reaction: String::new(),
                severity: Severity::Severe,
                status: AllergyStatus::Active,
                recorded_by: nurse,
                recorded_at: at("2026-12-01T13:05:00Z"),
            }],
            medications: vec![Medication {
                document_id: doc,
                item: 0,
                text: "Losartana 50 mg comprimido".into(),
                instructions: "1 ao dia".into(),
                prescribed_at: at("2026-12-01T13:20:00Z"),
                stopped_at: None,
            }],
            vitals: vec![VitalSigns {
                id: uuid::Uuid::now_v7(),
                measured_at: at("2026-12-01T13:02:00Z"),
                values: Vitals {
                    systolic_mmhg: Some(130.0),
                    diastolic_mmhg: Some(85.0),
                    weight_kg: Some(70.0),
                    ..Default::default()
                },
                bmi: Some(22.9),
                recorded_by: nurse,
            }],
            documents: vec![Document {
                id: doc,
                kind: "prescription".into(),
                code: "ABCD-1234".into(),
                signed_at: at("2026-12-01T13:21:00Z"),
                author: doctor,
                url: format!("https://atende.example/v/{doc}"),
            }],
        }],
        practitioners: vec![
            Practitioner {
                user_id: doctor,
                name: "Helena".into(),
                registration: Some(Registration {
                    council: "CRM".into(),
                    number: "123456".into(),
                    uf: "SP".into(),
                }),
            },
            Practitioner {
                user_id: nurse,
                name: "Enfermeira".into(),
                registration: None,
            },
            Practitioner {
                user_id: uuid::Uuid::now_v7(),
                name: "Nobody referenced".into(),
                registration: None,
            },
        ],
    }
}

fn of_type<'a>(b: &'a Value, t: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == t)
        .collect()
}

fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "reference" {
                    out.push(x.as_str().unwrap_or_default().to_string());
                }
                references(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_inside_the_bundle_and_ids_are_stable() {
    let e = sample();
    let b = bundle(&e, uuid::Uuid::nil());
    let urls: Vec<&str> = b["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|x| x["fullUrl"].as_str().expect("fullUrl"))
        .collect();
    let mut refs = Vec::new();
    references(&b, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(urls.contains(&r.as_str()), "{r} does not resolve");
    }
    let mut sorted = urls.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), urls.len(), "duplicate fullUrl");
    assert_eq!(b, bundle(&e, uuid::Uuid::nil()), "same record, same bundle");
    // The practitioner nobody references is left out.
    assert_eq!(of_type(&b, "Practitioner").len(), 2);
}

#[test]
fn codes_and_units_follow_rnds_loinc_and_ucum() {
    let b = bundle(&sample(), uuid::Uuid::nil());
    let patient = of_type(&b, "Patient")[0];
    assert_eq!(patient["identifier"][0]["system"], CPF_SYSTEM);
    assert_eq!(patient["name"][1]["use"], "usual");
    assert!(patient.get("gender").is_none());
    assert_eq!(
        patient["address"],
        serde_json::json!([{"use": "home", "type": "physical",
            "line": ["Rua da Aurora, 100", "apto 3", "Boa Vista"], "city": "Recife",
            "state": "PE", "postalCode": "50050-000", "country": "BR"}])
    );
    let conditions = of_type(&b, "Condition");
    assert_eq!(conditions.len(), 2);
    assert!(
        conditions
            .iter()
            .all(|c| c["code"]["coding"][0]["system"] == CID10_SYSTEM)
    );
    let resolved = conditions
        .iter()
        .find(|c| c["code"]["coding"][0]["code"] == "I10")
        .expect("problem");
    assert_eq!(resolved["clinicalStatus"]["coding"][0]["code"], "resolved");
    assert_eq!(resolved["onsetDateTime"], "2020-01-01");
    let obs = of_type(&b, "Observation");
    let code = |o: &Value| o["code"]["coding"][0]["code"].as_str().map(str::to_string);
    let mut codes: Vec<_> = obs.iter().filter_map(|o| code(o)).collect();
    codes.sort();
    assert_eq!(codes, ["29463-7", "39156-5", "85354-9"]);
    let bp = obs
        .iter()
        .find(|o| code(o).as_deref() == Some("85354-9"))
        .expect("bp");
    assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
    let allergy = of_type(&b, "AllergyIntolerance")[0];
    assert_eq!(allergy["criticality"], "high");
    assert!(
        allergy.get("reaction").is_none(),
        "no manifestation, no reaction"
    );
    let enc = of_type(&b, "Encounter")[0];
    assert_eq!(enc["class"]["code"], "VR");
    let med = of_type(&b, "MedicationStatement")[0];
    assert_eq!(med["status"], "active");
    assert!(med["derivedFrom"].is_array());
}

#[test]
fn derived_ids_are_version_5_and_differ_by_name() {
    let base = uuid::Uuid::now_v7();
    let a = derived_id(base, "diagnosis/0");
    assert_eq!(a.get_version_num(), 5);
    assert_eq!(a, derived_id(base, "diagnosis/0"));
    assert_ne!(a, derived_id(base, "diagnosis/1"));
}
