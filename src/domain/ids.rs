//! Typed ids: UUIDv7 newtypes, so a `PatientId` can never be passed where a `ClinicId` is due.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A person who can log in.
    UserId
);
id_type!(
    /// A clinic (one CNPJ, one address, one time zone).
    ClinicId
);
id_type!(
    /// A patient record: one clinic's record of a person, or an account's own profile.
    PatientId
);
id_type!(
    /// A professional profile (council registration) belonging to one user.
    ProfessionalId
);
id_type!(
    /// A login session: the family of rotating refresh tokens issued from one login.
    SessionId
);
id_type!(
    /// A chat room: one patient–professional pair in a clinic, or a clinic's staff room.
    ChatRoomId
);
