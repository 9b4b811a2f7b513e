//! Properties of the two pure parsers of outside input in the core, tried on generated input:
//! the partner referral body (`PridokReferral::parse`) and the ICPC-2 search query folding
//! (`icpc2::fold`). Neither may panic; what the referral parser accepts is what was sent; what it
//! refuses is named by field, without repeating the national id; folding is idempotent and leaves
//! nothing a SQL pattern or regular expression could read as an operator.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use digimed_core::icpc2::fold;
use digimed_core::referrals::PridokReferral;
use digimed_core::ErrorCode;
use digimed_domain::NationalId;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

const REQUIRED: &[&str] = &["JournalGuid", "PID", "MessageTimestamp", "Firstname", "Lastname", "PhoneNumber"];
const KNOWN: &[&str] = &["JournalGuid", "PID", "FormatId", "MessageTimestamp", "Firstname", "Lastname", "Email", "PhoneNumber"];

fn any_national_id() -> impl Strategy<Value = NationalId> {
    (0u64..(100 * 366), 0u16..1000).prop_filter_map("no such number", |(days, individual)| {
        NationalId::synthetic(NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(days), individual)
    })
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[0-9]{11}".prop_map(Value::from),
        "'; DROP TABLE [a-z]{3,8}; --".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[A-Za-z]{1,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid referral: the fields as sent.
#[derive(Debug, Clone)]
struct Valid {
    guid: Uuid,
    nid: NationalId,
    timestamp: DateTime<Utc>,
    first: String,
    last: String,
    email: Option<String>,
    phone: String,
}

impl Valid {
    fn body(&self) -> Value {
        let mut b = json!({
            "JournalGuid": self.guid.to_string(),
            "PID": self.nid.as_str(),
            "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
            "MessageTimestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "Firstname": self.first,
            "Lastname": self.last,
            "PhoneNumber": self.phone,
        });
        if let Some(e) = &self.email {
            b["Email"] = json!(e);
        }
        b
    }
}

fn any_valid() -> impl Strategy<Value = Valid> {
    (
        any::<u128>(),
        any_national_id(),
        0i64..4_000_000_000,
        "[A-ZÆØÅ][a-zæøå]{0,15}( [A-Z][a-z]{1,10})?",
        "[A-ZÆØÅ][a-zæøå'-]{1,20}",
        proptest::option::of("[a-z0-9.]{1,10}[a-z0-9]@[a-z]{2,10}\\.(no|com|nl)"),
        "[49][0-9]{7}",
    )
        .prop_map(|(g, nid, secs, first, last, email, national)| Valid {
            guid: Uuid::from_u128(g),
            nid,
            timestamp: DateTime::from_timestamp(secs, 0).unwrap(),
            first,
            last,
            email: email.filter(|e| !e.contains("..") && !e.starts_with('.')),
            phone: format!("+47{national}"),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn referral_parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256), allow in any::<bool>()) {
        let _ = PridokReferral::parse(&bytes, allow);
    }

    #[test]
    fn referral_parse_never_panics_whatever_the_fields_hold(
        fields in proptest::collection::vec((proptest::sample::select(KNOWN), any_json()), 0..10),
        allow in any::<bool>(),
    ) {
        let body: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        match PridokReferral::parse(Value::Object(body).to_string().as_bytes(), allow) {
            Ok(r) => prop_assert!(r.extra.is_empty()),
            Err(e) => {
                let field = e.field.clone().unwrap_or_default();
                prop_assert!(KNOWN.contains(&field.as_str()), "the error names a field of the referral: {e:?}");
                let listed = e.details.as_ref().and_then(|d| d["fields"].as_array()).map_or(0, Vec::len);
                prop_assert!(listed >= 1);
            }
        }
    }

    #[test]
    fn a_valid_referral_is_read_as_sent(v in any_valid(), extra in proptest::collection::btree_map("X[A-Za-z0-9]{0,10}", any_json(), 0..4)) {
        let mut body = v.body();
        for (k, val) in &extra {
            body[k] = val.clone();
        }
        let sent = body.to_string();
        let r = PridokReferral::parse(sent.as_bytes(), true).unwrap();
        prop_assert_eq!(r.journal_guid, v.guid);
        prop_assert_eq!(&r.national_id, &v.nid);
        prop_assert_eq!(r.message_timestamp, v.timestamp);
        prop_assert_eq!(r.name.as_str(), format!("{} {}", v.first, v.last));
        prop_assert_eq!(r.phone.as_str(), v.phone.as_str());
        prop_assert_eq!(r.email.as_ref().map(|e| e.as_str().to_string()), v.email.clone());
        // Fields the referral contract does not name are kept, as JSON reads them from what was sent.
        let read: Map<String, Value> = serde_json::from_str(&sent).unwrap();
        let kept: Map<String, Value> = read.into_iter().filter(|(k, _)| extra.contains_key(k)).collect();
        prop_assert_eq!(kept.len(), extra.len());
        prop_assert_eq!(&r.extra, &kept);
        // A synthetic number only from a test partner.
        let e = PridokReferral::parse(body.to_string().as_bytes(), false).unwrap_err();
        prop_assert_eq!((e.code, e.field.as_deref()), (ErrorCode::SyntheticNationalIdNotAllowed, Some("PID")));
    }

    #[test]
    fn a_missing_required_field_is_named(v in any_valid(), which in proptest::sample::select(REQUIRED), null in any::<bool>()) {
        let mut body = v.body();
        if null {
            body[which] = Value::Null;
        } else {
            body.as_object_mut().unwrap().remove(which);
        }
        let e = PridokReferral::parse(body.to_string().as_bytes(), true).unwrap_err();
        prop_assert_eq!(e.field.as_deref(), Some(which));
    }

    #[test]
    fn a_damaged_national_id_is_refused_and_never_repeated(v in any_valid(), at in 0usize..11, delta in 1u8..10) {
        let mut pid: Vec<u8> = v.nid.as_str().bytes().collect();
        pid[at] = b'0' + (pid[at] - b'0' + delta) % 10;
        let pid = String::from_utf8(pid).unwrap();
        let mut body = v.body();
        body["PID"] = json!(pid);
        body["PhoneNumber"] = json!("not a phone");
        let e = PridokReferral::parse(body.to_string().as_bytes(), true).unwrap_err();
        prop_assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidNationalId, Some("PID")));
        let shown = format!("{} {}", e.message, e.details.map(|d| d.to_string()).unwrap_or_default());
        prop_assert!(!shown.contains(&pid) && !shown.contains(v.nid.as_str()), "{shown}");
    }

    #[test]
    fn folding_never_panics_and_is_idempotent(q in any::<String>()) {
        let f = fold(&q);
        prop_assert_eq!(fold(&f), f.clone());
        // Only what a word of a title can hold: no SQL wildcard, quote or regular-expression operator.
        prop_assert!(f.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '), "{f:?}");
        prop_assert!(f == f.trim() && !f.contains("  "), "{f:?}");
    }

    #[test]
    fn folding_ignores_case_and_punctuation(q in "[A-Za-zÆØÅæøåÉéÖöÜü0-9 ,./()%_'-]{0,40}") {
        prop_assert_eq!(fold(&q.to_uppercase()), fold(&q));
        prop_assert_eq!(fold(&q.to_lowercase()), fold(&q));
        prop_assert_eq!(fold(&q.replace([',', '.', '/', '(', ')', '%', '_', '\'', '-'], " ")), fold(&q));
    }
}
