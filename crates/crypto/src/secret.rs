//! A wrapper that keeps a secret out of logs and wipes it from memory when dropped.

use std::fmt;

use zeroize::Zeroize;

/// A secret value: `Debug` prints `Secret([redacted])`, the memory is zeroed on drop, and the
/// value is only reachable through [`Secret::expose`].
///
/// ```
/// let s = digimed_crypto::SecretString::from("hunter2".to_string());
/// assert_eq!(format!("{s:?}"), "Secret([redacted])");
/// assert_eq!(s.expose(), "hunter2");
/// ```
///
/// `Secret` deliberately implements neither `Display` nor `serde::Serialize`, so printing or
/// serialising one is refused at compile time:
///
/// ```compile_fail
/// let s = digimed_crypto::SecretString::from("hunter2".to_string());
/// println!("{s}");
/// ```
///
/// ```compile_fail
/// let s = digimed_crypto::SecretString::from("hunter2".to_string());
/// serde_json::to_string(&s).unwrap();
/// ```
pub struct Secret<T: Zeroize>(T);

/// A secret string (password, API key, serialised key material).
pub type SecretString = Secret<String>;

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value. Keep the borrow short and never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = SecretString::from("sk_live_abc123");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret([redacted]))");
        assert_eq!(secret.expose(), "sk_live_abc123");
    }

    #[test]
    fn zeroize_clears_the_value() {
        // What `Drop` does, observed without reading freed memory.
        let mut secret = Secret::new(vec![7u8; 4]);
        secret.0.zeroize();
        assert!(secret.expose().is_empty());
        let mut key = Secret::new([9u8; 32]);
        key.0.zeroize();
        assert_eq!(key.expose(), &[0u8; 32]);
    }
}
