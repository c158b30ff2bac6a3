//! Vital signs as FHIR Observations: LOINC codes, UCUM units, the blood pressure as a
//! panel of two components.

use serde_json::{Value, json};

use super::{
    LOINC, OBSERVATION_CATEGORY, UCUM, VitalSigns, concept, derived_id, instant, reference,
};

/// What one measurement is called in LOINC and written in UCUM.
struct Measure {
    loinc: &'static str,
    display: &'static str,
    unit: &'static str,
    ucum: &'static str,
}

const HEART_RATE: Measure = Measure {
    loinc: "8867-4",
    display: "Heart rate",
    unit: "bpm",
    ucum: "/min",
};
const TEMPERATURE: Measure = Measure {
    loinc: "8310-5",
    display: "Body temperature",
    unit: "°C",
    ucum: "Cel",
};
const SPO2: Measure = Measure {
    loinc: "59408-5",
    display: "Oxygen saturation in Arterial blood by Pulse oximetry",
    unit: "%",
    ucum: "%",
};
const WEIGHT: Measure = Measure {
    loinc: "29463-7",
    display: "Body weight",
    unit: "kg",
    ucum: "kg",
};
const HEIGHT: Measure = Measure {
    loinc: "8302-2",
    display: "Body height",
    unit: "cm",
    ucum: "cm",
};
const BMI: Measure = Measure {
    loinc: "39156-5",
    display: "Body mass index (BMI) [Ratio]",
    unit: "kg/m²",
    ucum: "kg/m2",
};
const GLUCOSE: Measure = Measure {
    loinc: "2339-0",
    display: "Glucose [Mass/volume] in Blood",
    unit: "mg/dL",
    ucum: "mg/dL",
};
const BP_PANEL: &str = "85354-9";
const SYSTOLIC: Measure = Measure {
    loinc: "8480-6",
    display: "Systolic blood pressure",
    unit: "mmHg",
    ucum: "mm[Hg]",
};
const DIASTOLIC: Measure = Measure {
    loinc: "8462-4",
    display: "Diastolic blood pressure",
    unit: "mmHg",
    ucum: "mm[Hg]",
};

fn quantity(m: &Measure, value: f64) -> Value {
    json!({"value": value, "unit": m.unit, "system": UCUM, "code": m.ucum})
}

fn loinc(m: &Measure) -> Value {
    concept(LOINC, m.loinc, m.display)
}

/// The observations of one set: the blood pressure as a panel with its two components,
/// every other measurement (and the BMI computed when it was recorded) on its own.
pub(super) fn observations(v: &VitalSigns, patient: uuid::Uuid) -> Vec<(uuid::Uuid, Value)> {
    let base = |code: Value| {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
            "code": code,
            "subject": reference(patient),
            "effectiveDateTime": instant(v.measured_at),
            "performer": [reference(v.recorded_by)],
        })
    };
    let mut out = Vec::new();
    if let (Some(s), Some(d)) = (v.values.systolic_mmhg, v.values.diastolic_mmhg) {
        let mut obs = base(concept(
            LOINC,
            BP_PANEL,
            "Blood pressure panel with all children optional",
        ));
        obs["component"] = json!([
            {"code": loinc(&SYSTOLIC), "valueQuantity": quantity(&SYSTOLIC, s)},
            {"code": loinc(&DIASTOLIC), "valueQuantity": quantity(&DIASTOLIC, d)},
        ]);
        out.push((derived_id(v.id, BP_PANEL), obs));
    }
    let single = [
        (&HEART_RATE, v.values.heart_rate_bpm),
        (&TEMPERATURE, v.values.temperature_c),
        (&SPO2, v.values.spo2_percent),
        (&WEIGHT, v.values.weight_kg),
        (&HEIGHT, v.values.height_cm),
        (&BMI, v.bmi),
        (&GLUCOSE, v.values.glucose_mg_dl),
    ];
    for (m, value) in single {
        if let Some(value) = value {
            let mut obs = base(loinc(m));
            obs["valueQuantity"] = quantity(m, value);
            out.push((derived_id(v.id, m.loinc), obs));
        }
    }
    out
}
