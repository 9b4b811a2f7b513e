//! Signing keys for Clerk session tokens, generated when a test asks for one (no private key is
//! kept in the repository): the RS256 tokens Clerk's Frontend API issues, the JSON Web Key the
//! Backend API's `GET /v1/jwks` serves for it, and its PEM public key (`CLERK_JWT_KEY`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// The issuer the tests' Clerk instance names in its tokens.
pub const ISSUER: &str = "https://clerk.clinic.example";
/// The patient app's origin, an authorized party.
pub const APP_ORIGIN: &str = "https://app.clinic.example";

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    /// The public key as a JSON Web Key (`kty`, `kid`, `use`, `alg`, `n`, `e`).
    pub jwk: Value,
    /// The public key in PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_pem: String,
}

impl SigningKey {
    /// A new 2048-bit RSA key with key id `kid`.
    pub fn generate(kid: &str) -> SigningKey {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("generate an RSA key");
        let public = private.to_public_key();
        let der = private.to_pkcs1_der().expect("encode the key");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let jwk = json!({
            "use": "sig",
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        let public_pem = public.to_public_key_pem(LineEnding::LF).expect("encode the public key");
        SigningKey { kid: kid.to_string(), encoding, jwk, public_pem }
    }

    /// A token with exactly these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign the token")
    }

    /// A session token for Clerk user `sub` as Clerk issues one: valid from a few seconds ago
    /// for a minute, issued to the patient app.
    pub fn session_token(&self, sub: &str) -> String {
        self.sign(&claims(sub))
    }
}

/// The claims of a fresh session token for `sub`; change them to make a bad one.
pub fn claims(sub: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "azp": APP_ORIGIN,
        "exp": now + 60,
        "iat": now - 5,
        "iss": ISSUER,
        "nbf": now - 5,
        "sid": format!("sess_{}", uuid::Uuid::new_v4().simple()),
        "sub": sub,
    })
}
