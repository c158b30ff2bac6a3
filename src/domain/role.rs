use serde::{Deserialize, Serialize};

/// What a user may do inside one clinic. A user may hold several roles in several clinics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ClinicAdmin,
    Professional,
    Receptionist,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ClinicAdmin => "clinic_admin",
            Role::Professional => "professional",
            Role::Receptionist => "receptionist",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "clinic_admin" => Some(Role::ClinicAdmin),
            "professional" => Some(Role::Professional),
            "receptionist" => Some(Role::Receptionist),
            _ => None,
        }
    }
}
