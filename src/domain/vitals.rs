//! Vital signs and measurements as a clinic records them: blood pressure, heart rate,
//! temperature, SpO2, weight, height and capillary glucose, each in one fixed unit and
//! refused when outside what a living patient can show (a typo such as 1200 mmHg or a
//! weight in grams), and the body-mass index computed from a weight and the latest height.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// One measurement: its JSON name, unit and plausible range (inclusive).
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub field: &'static str,
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
}

pub const SYSTOLIC: Range = Range {
    field: "systolic_mmhg",
    unit: "mmHg",
    min: 50.0,
    max: 300.0,
};
pub const DIASTOLIC: Range = Range {
    field: "diastolic_mmhg",
    unit: "mmHg",
    min: 20.0,
    max: 200.0,
};
pub const HEART_RATE: Range = Range {
    field: "heart_rate_bpm",
    unit: "bpm",
    min: 20.0,
    max: 300.0,
};
pub const TEMPERATURE: Range = Range {
    field: "temperature_c",
    unit: "°C",
    min: 25.0,
    max: 45.0,
};
pub const SPO2: Range = Range {
    field: "spo2_percent",
    unit: "%",
    min: 40.0,
    max: 100.0,
};
pub const WEIGHT: Range = Range {
    field: "weight_kg",
    unit: "kg",
    min: 0.2,
    max: 500.0,
};
pub const HEIGHT: Range = Range {
    field: "height_cm",
    unit: "cm",
    min: 20.0,
    max: 260.0,
};
pub const GLUCOSE: Range = Range {
    field: "glucose_mg_dl",
    unit: "mg/dL",
    min: 10.0,
    max: 2000.0,
};

/// Every measurement with its range, in the order forms show them.
pub const RANGES: [Range; 8] = [
    SYSTOLIC,
    DIASTOLIC,
    HEART_RATE,
    TEMPERATURE,
    SPO2,
    WEIGHT,
    HEIGHT,
    GLUCOSE,
];

/// One set of vital signs taken together; any may be absent, not all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vitals {
    /// Pressão arterial sistólica (mmHg); with the diastolic or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systolic_mmhg: Option<f64>,
    /// Pressão arterial diastólica (mmHg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diastolic_mmhg: Option<f64>,
    /// Frequência cardíaca (bpm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_bpm: Option<f64>,
    /// Temperatura (°C).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Saturação de oxigênio (%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spo2_percent: Option<f64>,
    /// Peso (kg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    /// Altura (cm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_cm: Option<f64>,
    /// Glicemia capilar (mg/dL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glucose_mg_dl: Option<f64>,
}

impl Vitals {
    fn value(&self, field: &str) -> Option<f64> {
        match field {
            "systolic_mmhg" => self.systolic_mmhg,
            "diastolic_mmhg" => self.diastolic_mmhg,
            "heart_rate_bpm" => self.heart_rate_bpm,
            "temperature_c" => self.temperature_c,
            "spo2_percent" => self.spo2_percent,
            "weight_kg" => self.weight_kg,
            "height_cm" => self.height_cm,
            "glucose_mg_dl" => self.glucose_mg_dl,
            _ => None,
        }
    }

    /// Refuse an empty set, a value outside its range (422 `implausible_vital`, naming the
    /// field), half a blood pressure or a diastolic not below the systolic.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if RANGES.iter().all(|r| self.value(r.field).is_none()) {
            return Err(ValidationError::new(
                "no_vitals",
                "informe ao menos uma medida",
            ));
        }
        for r in RANGES {
            if let Some(v) = self.value(r.field)
                && !(v.is_finite() && (r.min..=r.max).contains(&v))
            {
                return Err(ValidationError::new(
                    "implausible_vital",
                    format!(
                        "{}: {v} {} está fora do intervalo plausível ({}–{} {})",
                        r.field, r.unit, r.min, r.max, r.unit
                    ),
                )
                .field(r.field));
            }
        }
        match (self.systolic_mmhg, self.diastolic_mmhg) {
            (Some(s), Some(d)) if d >= s => Err(ValidationError::new(
                "implausible_vital",
                "diastolic_mmhg: a pressão diastólica deve ser menor que a sistólica",
            )
            .field(DIASTOLIC.field)),
            (Some(_), None) => Err(ValidationError::new(
                "incomplete_blood_pressure",
                "informe a pressão sistólica e a diastólica",
            )
            .field(DIASTOLIC.field)),
            (None, Some(_)) => Err(ValidationError::new(
                "incomplete_blood_pressure",
                "informe a pressão sistólica e a diastólica",
            )
            .field(SYSTOLIC.field)),
            _ => Ok(()),
        }
    }
}

/// Body-mass index (kg/m²) from a weight and a height, to one decimal.
pub fn bmi(weight_kg: f64, height_cm: f64) -> Option<f64> {
    let m = height_cm / 100.0;
    (m > 0.0 && weight_kg > 0.0).then(|| (weight_kg / (m * m) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_vitals_pass_and_implausible_ones_name_their_field() {
        let ok = Vitals {
            systolic_mmhg: Some(120.0),
            diastolic_mmhg: Some(80.0),
            temperature_c: Some(36.8),
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad = Vitals {
            spo2_percent: Some(140.0),
            ..Default::default()
        };
        let e = bad.validate().expect_err("implausible");
        assert_eq!(
            (e.code, e.field),
            ("implausible_vital", Some("spo2_percent"))
        );
        let nan = Vitals {
            weight_kg: Some(f64::NAN),
            ..Default::default()
        };
        assert_eq!(nan.validate().map_err(|e| e.field), Err(Some("weight_kg")));
        assert_eq!(
            Vitals::default().validate().map_err(|e| e.code),
            Err("no_vitals")
        );
        let inverted = Vitals {
            systolic_mmhg: Some(80.0),
            diastolic_mmhg: Some(120.0),
            ..Default::default()
        };
        assert_eq!(
            inverted.validate().map_err(|e| e.field),
            Err(Some("diastolic_mmhg"))
        );
    }

    #[test]
    fn bmi_is_weight_over_height_squared() {
        assert_eq!(bmi(70.0, 175.0), Some(22.9));
        assert_eq!(bmi(70.0, 0.0), None);
    }
}
