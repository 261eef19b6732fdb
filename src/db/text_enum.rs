//! Enums stored in `text` columns, mapped once: `text_enum!` declares the enum with its stored
//! names and implements diesel's `ToSql`/`FromSql` for it. Reading a value the enum does not know
//! is an error (a 500 whose log names the value), never a silent default: a default would hide a
//! corrupted row or a migration that added a value the code does not have yet.

/// Declares a fieldless enum stored as text: each variant is written `Variant = "stored_name"`.
/// The enum gets `ALL`, `as_str`, `from_text` and diesel's text mapping; other derives (serde,
/// utoipa) are given as attributes, as on any enum.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The variant stored as `raw`, if there is one.
            pub fn from_text(raw: &str) -> Option<Self> {
                match raw {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let raw = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Self::from_text(&raw).ok_or_else(|| {
                    format!("`{raw}` is not a known {} value", stringify!($name)).into()
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Light {
            Green = "green",
            Red = "red",
        }
    }

    #[test]
    fn stored_names_map_both_ways_and_unknown_ones_are_refused() {
        for light in Light::ALL {
            assert_eq!(Light::from_text(light.as_str()), Some(*light));
        }
        assert_eq!(Light::Red.as_str(), "red");
        assert_eq!(Light::from_text("amber"), None);
    }
}
