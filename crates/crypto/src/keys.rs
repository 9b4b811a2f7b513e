//! Data keys: AES-256-GCM field encryption with key ids, row-bound associated data, and a
//! keyed blind index. Each key set belongs to one [`KeyDomain`], and each ciphertext says by its
//! first byte which domain's keys made it.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::Secret;

type Key = Zeroizing<[u8; 32]>;

const FORMAT_VERSION: u8 = 1;
/// The first byte of a ciphertext of the contact domain (the format of every ciphertext made
/// before key domains existed).
const FORMAT_CONTACT: u8 = 1;
/// The first byte of a ciphertext of the clinical domain.
const FORMAT_CLINICAL: u8 = 2;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Which set of keys a field is encrypted with. The two sets are held by different people
/// (`docs/operations.md`, "Key domains"): contact keys by everyone who works with patients'
/// contact data, the service included; clinical keys only by doctors' and admins' workstations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyDomain {
    /// Contact and administrative data: phone numbers, national ids, referrals, messages, faxes,
    /// partners' secrets.
    Contact,
    /// Clinical text: consultation results and drafts of them.
    Clinical,
}

impl KeyDomain {
    pub const ALL: [KeyDomain; 2] = [KeyDomain::Contact, KeyDomain::Clinical];

    /// `"contact"` or `"clinical"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyDomain::Contact => "contact",
            KeyDomain::Clinical => "clinical",
        }
    }

    /// The domain named `"contact"` or `"clinical"`.
    pub fn parse(name: &str) -> Option<KeyDomain> {
        KeyDomain::ALL.into_iter().find(|d| d.as_str() == name.trim())
    }

    fn format_byte(self) -> u8 {
        match self {
            KeyDomain::Contact => FORMAT_CONTACT,
            KeyDomain::Clinical => FORMAT_CLINICAL,
        }
    }

    fn of_format_byte(byte: u8) -> Option<KeyDomain> {
        match byte {
            FORMAT_CONTACT => Some(KeyDomain::Contact),
            FORMAT_CLINICAL => Some(KeyDomain::Clinical),
            _ => None,
        }
    }
}

impl fmt::Display for KeyDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The clinic's data keys of one [`KeyDomain`]: numbered AES-256 keys (one current, older ones kept so existing
/// ciphertexts still decrypt) and a blind-index key that is never rotated.
///
/// There is no `Serialize`, `Clone` or `Display`; `Debug` is redacted. Persist keys only with
/// [`DataKeys::to_json`] (which hands back a [`Secret`]) or through [`crate::KeyStore`].
pub struct DataKeys {
    domain: KeyDomain,
    keys: BTreeMap<u32, Key>,
    current: u32,
    blind_index_key: Key,
}

/// Where a field ciphertext belongs; bound as associated data, so a ciphertext copied to
/// another table, column or row fails to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldAad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: i64,
}

impl<'a> FieldAad<'a> {
    pub fn new(table: &'a str, column: &'a str, row_id: i64) -> Self {
        Self { table, column, row_id }
    }

    /// Canonical bytes: `digimed:v1:` (contact) or `digimed:clinical:v1:` (clinical), then
    /// table and column, each prefixed by its length as a big-endian u32, then the row id as a
    /// big-endian i64. The length prefixes keep e.g. (`a:b`, `c`) and (`a`, `b:c`) apart; the
    /// domain's prefix authenticates the domain byte of the ciphertext's header.
    fn to_bytes(self, domain: KeyDomain) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + 8 + self.table.len() + self.column.len() + 8);
        out.extend_from_slice(match domain {
            KeyDomain::Contact => b"digimed:v1:".as_slice(),
            KeyDomain::Clinical => b"digimed:clinical:v1:".as_slice(),
        });
        for part in [self.table, self.column] {
            let len = u32::try_from(part.len()).expect("table/column name under 4 GiB");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&self.row_id.to_be_bytes());
        out
    }
}

/// Why a ciphertext could not be decrypted. Messages never contain key material or data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext was encrypted with data key {0}, which is not loaded")]
    UnknownKey(u32),
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext failed authentication (wrong key, wrong row or tampered)")]
    Authentication,
    /// The ciphertext was made with another domain's keys than the ones given.
    #[error("ciphertext belongs to the {ciphertext} key domain, but {keys} keys were given")]
    WrongDomain { ciphertext: KeyDomain, keys: KeyDomain },
}

/// Why a serialised key document was refused (the reason names no key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid data-key document: {0}")]
pub struct InvalidKeys(pub &'static str);

/// The key document as read, wiped when dropped.
#[derive(serde::Deserialize)]
struct KeyDocument {
    version: u32,
    /// Absent in documents written before key domains existed: those are contact keys.
    #[serde(default)]
    domain: Option<String>,
    current: u32,
    keys: BTreeMap<String, String>,
    blind_index_key: String,
}

impl Drop for KeyDocument {
    fn drop(&mut self) {
        self.keys.values_mut().for_each(Zeroize::zeroize);
        self.blind_index_key.zeroize();
    }
}

fn random_key() -> Key {
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(key.as_mut());
    key
}

fn decode_key(text: &str) -> Result<Key, InvalidKeys> {
    let bytes = Zeroizing::new(BASE64.decode(text).map_err(|_| InvalidKeys("a key is not valid base64"))?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(InvalidKeys("a key is not 32 bytes long"));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

impl DataKeys {
    /// Fresh random contact keys (from the OS): data key 1 and a blind-index key.
    pub fn generate() -> Self {
        Self::generate_for(KeyDomain::Contact)
    }

    /// Fresh random keys of `domain`: data key 1 and a blind-index key.
    pub fn generate_for(domain: KeyDomain) -> Self {
        Self { domain, keys: BTreeMap::from([(1, random_key())]), current: 1, blind_index_key: random_key() }
    }

    /// The domain these keys belong to.
    pub fn domain(&self) -> KeyDomain {
        self.domain
    }

    /// Adds a new random data key, makes it current and returns its id. Older keys stay
    /// available for decryption; the blind-index key is unchanged.
    pub fn rotate(&mut self) -> u32 {
        let id = self.keys.keys().next_back().map_or(1, |last| last + 1);
        self.keys.insert(id, random_key());
        self.current = id;
        id
    }

    /// The id of the key new ciphertexts are made with.
    pub fn current_key_id(&self) -> u32 {
        self.current
    }

    /// All loaded data-key ids, ascending.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// The key document:
    /// `{"version":1,"domain":"contact","current":N,"keys":{"1":"<base64>",...},"blind_index_key":"<base64>"}`.
    pub fn to_json(&self) -> Secret<String> {
        let mut out = String::with_capacity(128 + 64 * (self.keys.len() + 1));
        let mut encoded = Zeroizing::new(String::with_capacity(44));
        let _ = write!(
            out,
            r#"{{"version":{FORMAT_VERSION},"domain":"{}","current":{},"keys":{{"#,
            self.domain.as_str(),
            self.current
        );
        for (i, (id, key)) in self.keys.iter().enumerate() {
            encoded.clear();
            BASE64.encode_string(key.as_slice(), &mut encoded);
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, r#"{sep}"{id}":"{}""#, encoded.as_str());
        }
        encoded.clear();
        BASE64.encode_string(self.blind_index_key.as_slice(), &mut encoded);
        let _ = write!(out, r#"}},"blind_index_key":"{}"}}"#, encoded.as_str());
        Secret::new(out)
    }

    /// Reads a key document written by [`DataKeys::to_json`].
    pub fn from_json(json: &str) -> Result<Self, InvalidKeys> {
        let doc: KeyDocument = serde_json::from_str(json).map_err(|_| InvalidKeys("not a data-key JSON document"))?;
        if doc.version != u32::from(FORMAT_VERSION) {
            return Err(InvalidKeys("unsupported version"));
        }
        let domain = match doc.domain.as_deref() {
            None => KeyDomain::Contact,
            Some(name) => KeyDomain::parse(name).ok_or(InvalidKeys("unknown key domain"))?,
        };
        let mut keys = BTreeMap::new();
        for (id, key) in &doc.keys {
            let id: u32 = id.parse().map_err(|_| InvalidKeys("a key id is not a number"))?;
            keys.insert(id, decode_key(key)?);
        }
        if !keys.contains_key(&doc.current) {
            return Err(InvalidKeys("the current key is missing"));
        }
        Ok(Self { domain, keys, current: doc.current, blind_index_key: decode_key(&doc.blind_index_key)? })
    }

    /// Encrypts `plaintext` for the field `aad` with the current key:
    /// `domain format (1: contact, 2: clinical) | key id (u32 BE) | nonce (12) | ciphertext + tag`.
    pub fn encrypt(&self, aad: &FieldAad, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let cipher = self.cipher(self.current).expect("current key is loaded");
        let aad_bytes = aad.to_bytes(self.domain);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad_bytes })
            .expect("AES-GCM encryption only fails for inputs over 64 GiB");
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(self.domain.format_byte());
        out.extend_from_slice(&self.current.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts a ciphertext made by [`DataKeys::encrypt`] for the same field, with keys of the
    /// same domain (another domain's ciphertext is [`CryptoError::WrongDomain`]).
    pub fn decrypt(&self, aad: &FieldAad, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (domain, key_id) = Self::header_of(ciphertext)?;
        if domain != self.domain {
            return Err(CryptoError::WrongDomain { ciphertext: domain, keys: self.domain });
        }
        let cipher = self.cipher(key_id).ok_or(CryptoError::UnknownKey(key_id))?;
        let nonce = Nonce::from_slice(&ciphertext[5..HEADER_LEN]);
        let aad_bytes = aad.to_bytes(domain);
        cipher
            .decrypt(nonce, Payload { msg: &ciphertext[HEADER_LEN..], aad: &aad_bytes })
            .map_err(|_| CryptoError::Authentication)
    }

    /// [`DataKeys::encrypt`] for text.
    pub fn encrypt_str(&self, aad: &FieldAad, plaintext: &str) -> Vec<u8> {
        self.encrypt(aad, plaintext.as_bytes())
    }

    /// [`DataKeys::decrypt`] for text; authentic but non-UTF-8 plaintext is `Malformed`.
    pub fn decrypt_string(&self, aad: &FieldAad, ciphertext: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(aad, ciphertext)?).map_err(|_| CryptoError::Malformed)
    }

    /// The domain and id of the key a ciphertext was made with (checks the header only).
    pub fn header_of(ciphertext: &[u8]) -> Result<(KeyDomain, u32), CryptoError> {
        if ciphertext.len() < HEADER_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let domain = KeyDomain::of_format_byte(ciphertext[0]).ok_or(CryptoError::Malformed)?;
        Ok((domain, u32::from_be_bytes(ciphertext[1..5].try_into().expect("4 bytes"))))
    }

    /// The id of the key a ciphertext was made with, in its domain (checks the header only).
    pub fn key_id_of(ciphertext: &[u8]) -> Result<u32, CryptoError> {
        Ok(Self::header_of(ciphertext)?.1)
    }

    /// The domain whose keys made a ciphertext (checks the header only).
    pub fn domain_of(ciphertext: &[u8]) -> Result<KeyDomain, CryptoError> {
        Ok(Self::header_of(ciphertext)?.0)
    }

    /// Whether a well-formed ciphertext of this domain was made with a key other than the current
    /// one (and so should be re-encrypted). Malformed input and other domains' ciphertexts give
    /// `false`: re-encryption with these keys cannot help them.
    pub fn needs_rotation(&self, ciphertext: &[u8]) -> bool {
        matches!(Self::header_of(ciphertext), Ok((domain, id)) if domain == self.domain && id != self.current)
    }

    /// A deterministic keyed look-up token: HMAC-SHA256(blind-index key, kind || 0x00 || value).
    /// `kind` (e.g. `"national_id"`) separates the token spaces and must not contain NUL;
    /// `value` must already be normalised (e.g. a parsed `NationalId`'s digits).
    pub fn blind_index(&self, kind: &str, normalised_value: &str) -> [u8; 32] {
        assert!(!kind.contains('\0'), "blind index kind must not contain NUL");
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.blind_index_key.as_slice()).expect("HMAC takes keys of any length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(normalised_value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self, key_id: u32) -> Option<Aes256Gcm> {
        self.keys.get(&key_id).map(|key| Aes256Gcm::new(key.as_ref().into()))
    }
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeys")
            .field("domain", &self.domain)
            .field("key_ids", &self.key_ids())
            .field("current", &self.current)
            .field("keys", &format_args!("[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AAD: FieldAad = FieldAad { table: "patient", column: "phone", row_id: 42 };

    #[test]
    fn round_trip() {
        let keys = DataKeys::generate();
        let ct = keys.encrypt_str(&AAD, "+4791234567");
        assert_eq!(ct.len(), HEADER_LEN + "+4791234567".len() + TAG_LEN);
        assert_eq!((ct[0], DataKeys::key_id_of(&ct)), (1, Ok(1)));
        assert_eq!(keys.decrypt_string(&AAD, &ct).unwrap(), "+4791234567");
        assert_ne!(keys.encrypt_str(&AAD, "+4791234567"), ct, "fresh nonce each time");
        assert_eq!(keys.decrypt(&AAD, &keys.encrypt(&AAD, b"")).unwrap(), b"");
    }

    #[test]
    fn wrong_keys_fail_authentication() {
        let ct = DataKeys::generate().encrypt(&AAD, b"secret");
        assert_eq!(DataKeys::generate().decrypt(&AAD, &ct), Err(CryptoError::Authentication));
    }

    #[test]
    fn moved_ciphertext_is_rejected() {
        let keys = DataKeys::generate();
        let ct = keys.encrypt(&AAD, b"12345678901");
        for moved in [
            FieldAad { row_id: 43, ..AAD },
            FieldAad { row_id: -42, ..AAD },
            FieldAad { column: "emergency_phone", ..AAD },
            FieldAad { table: "staff", ..AAD },
        ] {
            assert_eq!(keys.decrypt(&moved, &ct), Err(CryptoError::Authentication), "{moved:?}");
        }
        let ab = keys.encrypt(&FieldAad::new("a:b", "c", 1), b"x");
        assert!(keys.decrypt(&FieldAad::new("a", "b:c", 1), &ab).is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let keys = DataKeys::generate();
        let ct = keys.encrypt(&AAD, b"result: negative");
        for i in HEADER_LEN - NONCE_LEN..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            assert_eq!(keys.decrypt(&AAD, &bad), Err(CryptoError::Authentication), "byte {i}");
        }
        let mut bad_version = ct.clone();
        bad_version[0] = 9;
        assert_eq!(keys.decrypt(&AAD, &bad_version), Err(CryptoError::Malformed));
        assert_eq!(keys.decrypt(&AAD, &ct[..HEADER_LEN + TAG_LEN - 1]), Err(CryptoError::Malformed));
        assert_eq!(keys.decrypt(&AAD, &[]), Err(CryptoError::Malformed));
    }

    #[test]
    fn each_domain_reads_only_its_own_ciphertexts() {
        let contact = DataKeys::generate();
        let clinical = DataKeys::generate_for(KeyDomain::Clinical);
        assert_eq!((contact.domain(), clinical.domain()), (KeyDomain::Contact, KeyDomain::Clinical));
        let ct = clinical.encrypt(&AAD, b"R74 helped");
        assert_eq!((ct[0], DataKeys::domain_of(&ct)), (2, Ok(KeyDomain::Clinical)));
        assert_eq!(clinical.decrypt(&AAD, &ct).unwrap(), b"R74 helped");
        assert_eq!(
            contact.decrypt(&AAD, &ct),
            Err(CryptoError::WrongDomain { ciphertext: KeyDomain::Clinical, keys: KeyDomain::Contact })
        );
        let legacy = contact.encrypt(&AAD, b"x");
        assert_eq!((legacy[0], DataKeys::domain_of(&legacy)), (1, Ok(KeyDomain::Contact)));
        assert_eq!(
            clinical.decrypt(&AAD, &legacy),
            Err(CryptoError::WrongDomain { ciphertext: KeyDomain::Contact, keys: KeyDomain::Clinical })
        );
        assert!(!clinical.needs_rotation(&legacy), "another domain's ciphertext is moved, not rotated");
        // The domain byte is authenticated: relabelled, a clinical ciphertext does not decrypt even
        // with keys that share its key material.
        let twin = DataKeys::from_json(&clinical.to_json().expose().replace("\"clinical\"", "\"contact\"")).unwrap();
        let mut relabelled = ct.clone();
        relabelled[0] = 1;
        assert_eq!(twin.decrypt(&AAD, &relabelled), Err(CryptoError::Authentication));
        assert_eq!(
            CryptoError::WrongDomain { ciphertext: KeyDomain::Clinical, keys: KeyDomain::Contact }.to_string(),
            "ciphertext belongs to the clinical key domain, but contact keys were given"
        );
    }

    #[test]
    fn documents_say_their_domain_and_old_ones_are_contact() {
        let clinical = DataKeys::generate_for(KeyDomain::Clinical);
        let doc: serde_json::Value = serde_json::from_str(clinical.to_json().expose()).unwrap();
        assert_eq!(doc["domain"], "clinical");
        assert_eq!(DataKeys::from_json(clinical.to_json().expose()).unwrap().domain(), KeyDomain::Clinical);
        let k = BASE64.encode([1u8; 32]);
        let old = format!(r#"{{"version":1,"current":1,"keys":{{"1":"{k}"}},"blind_index_key":"{k}"}}"#);
        assert_eq!(DataKeys::from_json(&old).unwrap().domain(), KeyDomain::Contact);
        let odd = format!(r#"{{"version":1,"domain":"billing","current":1,"keys":{{"1":"{k}"}},"blind_index_key":"{k}"}}"#);
        assert_eq!(DataKeys::from_json(&odd).err(), Some(InvalidKeys("unknown key domain")));
        assert_eq!(KeyDomain::parse("clinical"), Some(KeyDomain::Clinical));
        assert_eq!(KeyDomain::parse("nope"), None);
    }

    #[test]
    fn unknown_key_id() {
        let mut keys = DataKeys::generate();
        keys.rotate();
        let ct = keys.encrypt(&AAD, b"x");
        assert_eq!(DataKeys::generate().decrypt(&AAD, &ct), Err(CryptoError::UnknownKey(2)));
    }

    #[test]
    fn rotation_keeps_old_keys() {
        let mut keys = DataKeys::generate();
        let old = keys.encrypt(&AAD, b"old");
        let blind = keys.blind_index("national_id", "15057212362");
        assert!(!keys.needs_rotation(&old));
        assert_eq!(keys.rotate(), 2);
        assert_eq!((keys.current_key_id(), keys.key_ids()), (2, vec![1, 2]));
        assert_eq!(keys.decrypt(&AAD, &old).unwrap(), b"old");
        assert!(keys.needs_rotation(&old));
        let new = keys.encrypt(&AAD, b"new");
        assert_eq!(DataKeys::key_id_of(&new), Ok(2));
        assert!(!keys.needs_rotation(&new));
        assert!(!keys.needs_rotation(b"garbage"));
        assert_eq!(keys.blind_index("national_id", "15057212362"), blind, "never rotated");
    }

    #[test]
    fn blind_index_is_deterministic_and_kind_separated() {
        let keys = DataKeys::generate();
        let a = keys.blind_index("national_id", "15057212362");
        assert_eq!(a, keys.blind_index("national_id", "15057212362"));
        assert_ne!(a, keys.blind_index("phone", "15057212362"));
        assert_ne!(a, keys.blind_index("national_id", "15057212363"));
        assert_ne!(keys.blind_index("ab", "c"), keys.blind_index("a", "bc"));
        assert_ne!(a, DataKeys::generate().blind_index("national_id", "15057212362"));
    }

    #[test]
    fn json_round_trip() {
        let mut keys = DataKeys::generate();
        keys.rotate();
        let json = keys.to_json();
        let doc: serde_json::Value = serde_json::from_str(json.expose()).unwrap();
        assert_eq!((doc["version"].as_u64(), doc["current"].as_u64()), (Some(1), Some(2)));
        assert_eq!(doc["keys"].as_object().unwrap().len(), 2);
        let loaded = DataKeys::from_json(json.expose()).unwrap();
        assert_eq!(loaded.to_json().expose(), json.expose());
        let ct = keys.encrypt(&AAD, b"x");
        assert_eq!(loaded.decrypt(&AAD, &ct).unwrap(), b"x");
    }

    #[test]
    fn invalid_documents_are_refused() {
        let k = BASE64.encode([1u8; 32]);
        let short = BASE64.encode([1u8; 31]);
        for (json, reason) in [
            ("nonsense".to_owned(), "not a data-key JSON document"),
            (format!(r#"{{"version":2,"current":1,"keys":{{"1":"{k}"}},"blind_index_key":"{k}"}}"#), "unsupported version"),
            (
                format!(r#"{{"version":1,"current":2,"keys":{{"1":"{k}"}},"blind_index_key":"{k}"}}"#),
                "the current key is missing",
            ),
            (
                format!(r#"{{"version":1,"current":1,"keys":{{"one":"{k}"}},"blind_index_key":"{k}"}}"#),
                "a key id is not a number",
            ),
            (
                format!(r#"{{"version":1,"current":1,"keys":{{"1":"{short}"}},"blind_index_key":"{k}"}}"#),
                "a key is not 32 bytes long",
            ),
            (format!(r#"{{"version":1,"current":1,"keys":{{"1":"{k}"}},"blind_index_key":"!!"}}"#), "a key is not valid base64"),
        ] {
            assert_eq!(DataKeys::from_json(&json).err(), Some(InvalidKeys(reason)));
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let mut keys = DataKeys::generate();
        keys.rotate();
        let debug = format!("{keys:?} {keys:#?}");
        assert!(debug.contains("current: 2"), "{debug}");
        let mut encoded = vec![BASE64.encode(keys.blind_index_key.as_slice())];
        encoded.extend(keys.keys.values().map(|k| BASE64.encode(k.as_slice())));
        for key in &encoded {
            assert!(!debug.contains(key.as_str()));
            assert!(keys.to_json().expose().contains(key.as_str()));
        }
        assert!(!format!("{:?}", keys.to_json()).contains(encoded[0].as_str()));
    }

    proptest! {
        #[test]
        fn encrypt_decrypt_round_trips(
            plaintext in proptest::collection::vec(any::<u8>(), 0..512),
            row_id in any::<i64>(),
            other_row in any::<i64>(),
        ) {
            let keys = DataKeys::generate();
            let aad = FieldAad::new("consultation_result", "summary", row_id);
            let ct = keys.encrypt(&aad, &plaintext);
            prop_assert_eq!(keys.decrypt(&aad, &ct), Ok(plaintext));
            if other_row != row_id {
                let moved = FieldAad { row_id: other_row, ..aad };
                prop_assert_eq!(keys.decrypt(&moved, &ct), Err(CryptoError::Authentication));
            }
        }

        #[test]
        fn decrypt_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = DataKeys::generate().decrypt(&AAD, &bytes);
        }
    }
}
