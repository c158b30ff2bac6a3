//! States and kinds kept in the database as their snake_case text.

/// For an enum with `ALL` (every value) and `as_str(self) -> &'static str`: `parse` (unknown
/// text is a [`ValidationError`](crate::domain::ValidationError) with `$code` and
/// "`$what`: <text>"), `Display`, `FromStr`, and `TryFrom<String>` for reading a row
/// (`#[sqlx(try_from = "String")]`; write with `.bind(x.as_str())`).
macro_rules! stored_as_text {
    ($t:ty, $code:literal, $what:literal) => {
        impl $t {
            pub fn parse(s: &str) -> Result<Self, $crate::domain::ValidationError> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        $crate::domain::ValidationError::new($code, format!("{}: {s}", $what))
                    })
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::domain::ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::domain::ValidationError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
    };
}
pub(crate) use stored_as_text;
