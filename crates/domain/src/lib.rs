//! Values of the clinic's domain. Each type can only be built by parsing, so a value that
//! exists is a valid one.
//!
//! Parse errors carry a stable [`FieldError::code`] and [`FieldError::field`] for the UI, and
//! their messages never repeat the rejected input, so no patient data ends up in error text.

mod amount;
mod email;
mod name;
mod national_id;
mod phone;
mod profile;

pub use amount::{Amount, AmountError};
pub use email::{Email, EmailError};
pub use name::{NameError, PersonName};
pub use national_id::{NationalId, NationalIdError, NationalIdKind, NationalIdProblem};
pub use phone::{Phone, PhoneError};
pub use profile::{
    check_insurance_entries, BloodType, BloodTypeError, DateOfBirth, DateOfBirthError, InsuranceEntry, InsuranceError,
    ProfileList, ProfileListError, ProfileListKind,
};

/// What every parse error of this crate can tell a caller besides its message.
pub trait FieldError: std::error::Error {
    /// A stable machine-readable code, e.g. `invalid_email_format`.
    fn code(&self) -> &'static str;
    /// The name of the input field the error is about, e.g. `email`.
    fn field(&self) -> &'static str;
}

/// Implements [`FieldError`] by delegating to the inherent `code`/`field` methods.
macro_rules! field_error {
    ($ty:ty) => {
        impl $crate::FieldError for $ty {
            fn code(&self) -> &'static str {
                <$ty>::code(self)
            }
            fn field(&self) -> &'static str {
                <$ty>::field(self)
            }
        }
    };
}
pub(crate) use field_error;

/// Serialises a value as its normalised string.
macro_rules! serialize_as_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use serialize_as_str;
