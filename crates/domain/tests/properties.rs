//! Properties of the parsers that take input from outside (forms, the onboarding API, partner
//! referrals), tried on generated input: they never panic, what they accept comes back the same
//! when parsed again, formatting does not change the value, and their errors never repeat what
//! was typed.

use chrono::NaiveDate;
use digimed_domain::{
    Amount, BloodType, DateOfBirth, Email, FieldError, InsuranceEntry, NationalId, NationalIdKind, PersonName, Phone,
    ProfileList, ProfileListKind,
};
use proptest::prelude::*;

fn date(days_since_1920: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(days_since_1920)
}

/// A synthetic national id (the only kind fixtures may hold) and what it was made from.
fn any_national_id() -> impl Strategy<Value = (NationalId, NaiveDate)> {
    (0u64..(100 * 366), 0u16..1000).prop_filter_map("no such number", |(days, individual)| {
        NationalId::synthetic(date(days), individual).map(|id| (id, date(days)))
    })
}

fn digits(id: &NationalId) -> Vec<u8> {
    id.expose().bytes().map(|b| b - b'0').collect()
}

fn text(d: &[u8]) -> String {
    d.iter().map(|n| char::from(b'0' + n)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn national_id_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40), allow in any::<bool>()) {
        let _ = NationalId::parse(&String::from_utf8_lossy(&bytes), allow);
    }

    #[test]
    fn national_id_is_eleven_ascii_digits_or_refused(input in "[0-9０-９٠-٩ a\\-.]{0,16}") {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if !(compact.len() == 11 && compact.bytes().all(|b| b.is_ascii_digit())) {
            prop_assert!(NationalId::parse(&input, true).is_err(), "{input:?}");
        }
    }

    #[test]
    fn a_valid_national_id_round_trips(
        (id, born) in any_national_id(),
        spaces in proptest::collection::vec((0usize..12, "[ \t]{1,2}"), 0..4),
    ) {
        prop_assert_eq!(id.kind(), NationalIdKind::Synthetic);
        prop_assert_eq!(id.birth_date(), born);
        // Whitespace anywhere, as people type it, gives the same number.
        let mut typed = id.expose().to_string();
        for (at, ws) in spaces {
            typed.insert_str(at.min(typed.len()), &ws);
        }
        let again = NationalId::parse(&format!(" {typed} "), true);
        prop_assert_eq!(again.as_ref(), Ok(&id));
        let again = again.unwrap();
        prop_assert_eq!(again.expose(), id.expose());
    }

    #[test]
    fn any_single_digit_change_is_refused((id, _) in any_national_id(), at in 0usize..11, delta in 1u8..10) {
        let mut d = digits(&id);
        d[at] = (d[at] + delta) % 10;
        prop_assert!(NationalId::parse(&text(&d), true).is_err());
    }

    #[test]
    fn any_swap_of_two_different_neighbouring_digits_is_refused((id, _) in any_national_id(), at in 0usize..10) {
        let mut d = digits(&id);
        prop_assume!(d[at] != d[at + 1]);
        d.swap(at, at + 1);
        prop_assert!(NationalId::parse(&text(&d), true).is_err());
    }

    #[test]
    fn national_ids_are_never_printed((id, _) in any_national_id(), other in "[0-9]{11}") {
        let shown = format!("{id} {id:?} {:?}", Some(&id));
        prop_assert!(!shown.contains(id.expose()));
        if let Err(e) = NationalId::parse(&other, false) {
            prop_assert!(!e.to_string().contains(&other));
            prop_assert_eq!(FieldError::field(&e), "national_id");
        }
    }

    #[test]
    fn phones_are_e164_and_idempotent(input in any::<String>(), country in "[0-9]{0,3}") {
        if let Ok(p) = Phone::parse(&input, &country) {
            let s = p.as_str();
            prop_assert!(s.starts_with('+') && (9..=16).contains(&s.len()), "{s}");
            prop_assert!(s[1..].bytes().all(|b| b.is_ascii_digit()) && !s[1..].starts_with('0'), "{s}");
            prop_assert_eq!(Phone::parse(s, "1"), Ok(p.clone()));
        }
    }

    #[test]
    fn phone_formatting_does_not_change_the_number(
        (country, national) in prop_oneof![
            ("47", "[49][0-9]{7}"),
            ("31", "6[0-9]{8}"),
            ("44", "7[0-9]{9}"),
        ],
        seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just("."), Just(" - ")], 10),
    ) {
        let e164 = format!("+{country}{national}");
        let p = Phone::parse(&e164, "47").unwrap();
        prop_assert_eq!(p.as_str(), e164.as_str());
        // Separators between the national digits, a 00 prefix, or no prefix with the default country.
        let spaced: String = national.chars().zip(seps.iter().cycle()).map(|(c, s)| format!("{c}{s}")).collect();
        prop_assert_eq!(Phone::parse(&format!("+{country} {spaced}"), "47"), Ok(p.clone()));
        prop_assert_eq!(Phone::parse(&format!("00{country}{spaced}"), "1"), Ok(p.clone()));
        prop_assert_eq!(Phone::parse(&spaced, &country), Ok(p.clone()));
    }

    #[test]
    fn phone_errors_never_repeat_the_input(input in "[0-9+][0-9 ]{3,7}[a-z]{1,3}") {
        let e = Phone::parse(&input, "47").unwrap_err();
        prop_assert!(!e.to_string().contains(input.trim()));
    }

    #[test]
    fn emails_are_lower_case_ascii_and_idempotent(input in any::<String>()) {
        if let Ok(e) = Email::parse(&input) {
            let s = e.as_str();
            prop_assert!(s.is_ascii() && s.len() <= 254 && s.matches('@').count() == 1, "{s}");
            prop_assert_eq!(s.to_ascii_lowercase(), s);
            prop_assert_eq!(Email::parse(s), Ok(e.clone()));
        }
    }

    #[test]
    fn email_case_and_surrounding_space_do_not_matter(
        input in "[A-Za-z0-9_+-]{1,10}(\\.[A-Za-z0-9]{1,5})?@[A-Za-z0-9]{1,10}(-[a-z0-9]{1,4})?\\.[A-Za-z]{2,6}",
        pad in "[ \t]{0,2}",
    ) {
        let e = Email::parse(&input).unwrap();
        prop_assert_eq!(Email::parse(&format!("{pad}{}{pad}", input.to_uppercase())), Ok(e.clone()));
        prop_assert_eq!(Email::parse(&input.to_lowercase()), Ok(e));
    }

    #[test]
    fn email_errors_never_repeat_the_input(local in "[a-z]{5,12}", junk in "[@ ,;]{1,3}") {
        let input = format!("{local}{junk}");
        if let Err(e) = Email::parse(&input) {
            prop_assert!(!e.to_string().contains(&local));
        }
    }

    #[test]
    fn masked_national_ids_show_only_the_last_five_digits((id, _) in any_national_id()) {
        let masked = id.masked();
        prop_assert_eq!(masked.len(), 11);
        prop_assert!(masked.starts_with("******"));
        prop_assert_eq!(&masked[6..], &id.expose()[6..]);
    }

    #[test]
    fn blood_types_parse_to_their_own_notation(input in any::<String>()) {
        if let Ok(b) = BloodType::parse(&input) {
            prop_assert_eq!(BloodType::parse(b.as_str()), Ok(b));
        }
    }

    #[test]
    fn dates_of_birth_lie_between_1900_and_today(input in "[0-9]{4}-[0-9]{2}-[0-9]{2}|.{0,12}", today in 0u64..(150 * 366)) {
        let today = date(today);
        if let Ok(d) = DateOfBirth::parse(&input, today) {
            prop_assert!(d.date() <= today && d.date() >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap());
        }
    }

    #[test]
    fn profile_lists_are_normalised_once_and_errors_never_repeat_an_item(
        items in proptest::collection::vec("[ qxzQXZ\t\u{7}]{0,12}", 0..6),
        allergies in any::<bool>(),
    ) {
        let kind = if allergies { ProfileListKind::Allergies } else { ProfileListKind::ChronicConditions };
        match ProfileList::parse(kind, &items) {
            Ok(list) => {
                for item in list.items() {
                    prop_assert!(!item.is_empty() && item == item.trim() && !item.contains("  "), "{item:?}");
                }
                prop_assert_eq!(ProfileList::parse(kind, list.items()), Ok(list.clone()));
            }
            Err(e) => {
                prop_assert_eq!(FieldError::field(&e), kind.field());
                for item in items.iter().filter(|i| i.trim().len() > 3) {
                    prop_assert!(!e.to_string().contains(item.trim()));
                }
            }
        }
    }

    #[test]
    fn insurance_entries_keep_digits_only_and_never_repeat_the_input(insurer in ".{0,20}", policy in "[0-9 qxz]{0,20}") {
        match InsuranceEntry::parse(&insurer, &policy, 1) {
            Ok(e) => {
                prop_assert!(e.policy_number().bytes().all(|b| b.is_ascii_digit()) && (1..=18).contains(&e.policy_number().len()));
                prop_assert_eq!(InsuranceEntry::parse(e.insurer(), e.policy_number(), 1), Ok(e.clone()));
            }
            Err(e) => {
                prop_assert_eq!(FieldError::field(&e), "insurance_entries");
                if policy.trim().len() > 3 {
                    prop_assert!(!e.to_string().contains(policy.trim()));
                }
            }
        }
    }

    #[test]
    fn names_are_normalised_once(input in any::<String>()) {
        if let Ok(n) = PersonName::parse(&input) {
            let s = n.as_str();
            prop_assert!(!s.chars().any(char::is_control) && s.chars().count() <= 200);
            prop_assert!(s == s.trim() && !s.contains("  "), "{s:?}");
            prop_assert_eq!(PersonName::parse(s), Ok(n.clone()));
        }
    }
}

/// An amount of `ore` øre written the way people do: plain, with a decimal comma, grouped by spaces
/// or by the other separator.
fn written(ore: u64, style: u8) -> String {
    let (kroner, rest) = (ore / 100, ore % 100);
    let grouped = |sep: char| {
        let digits = kroner.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(c);
        }
        out
    };
    match style % 4 {
        0 => format!("{kroner}.{rest:02}"),
        1 => format!("{},{rest:02}", grouped(' ')),
        2 => format!("{}.{rest:02}", grouped(',')),
        _ => format!("{},{rest:02}", grouped('.')),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn amounts_never_panic_and_parse_back_exactly(input in any::<String>()) {
        if let Ok(a) = Amount::parse(&input) {
            prop_assert_eq!(Amount::parse(&a.to_string()), Ok(a));
            prop_assert_eq!(a.to_string().split_once('.').map(|(_, f)| f.len()), Some(2));
        }
    }

    #[test]
    fn however_an_amount_is_written_its_value_is_the_same(ore in 0u64..=99_999_999_999_999, style in any::<u8>()) {
        let a = Amount::parse(&written(ore, style)).unwrap();
        prop_assert_eq!(a.to_string(), format!("{}.{:02}", ore / 100, ore % 100));
    }

    #[test]
    fn amount_errors_never_repeat_the_input(digits in "[1-9][0-9]{3,6}", junk in "[a-z]{1,3}") {
        for bad in [format!("-{digits}"), format!("{digits}{junk}"), format!("{digits}.123")] {
            let e = Amount::parse(&bad).unwrap_err();
            prop_assert!(!e.to_string().contains(digits.as_str()));
            prop_assert_eq!(e.field(), "amount");
        }
    }
}
