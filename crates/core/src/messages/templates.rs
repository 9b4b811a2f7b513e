//! The texts of the messages, kept in `crates/core/templates/messages/<kind>.<language>.txt`: the
//! first line is the e-mail's subject, the rest its text; `{link}` is the message's link. Every
//! message ends with the footer of its language, which links to the patient's preferences page
//! (`{preferences_link}`). No template has a place for clinical content.

use super::MessageKind;

/// A message's subject and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

fn template(kind: MessageKind, language: &str) -> &'static str {
    let en = language == "en";
    macro_rules! pick {
        ($name:literal) => {
            if en {
                include_str!(concat!("../../templates/messages/", $name, ".en.txt"))
            } else {
                include_str!(concat!("../../templates/messages/", $name, ".nb.txt"))
            }
        };
    }
    match kind {
        MessageKind::JoinLink => pick!("join_link"),
        MessageKind::Cancellation => pick!("cancellation"),
        MessageKind::ThankYou => pick!("thank_you"),
        MessageKind::FormsInvitation => pick!("forms_invitation"),
        MessageKind::Welcome => pick!("welcome"),
    }
}

fn footer(language: &str) -> &'static str {
    if language == "en" {
        include_str!("../../templates/messages/footer.en.txt")
    } else {
        include_str!("../../templates/messages/footer.nb.txt")
    }
}

/// Renders a message in `language` (`nb` or `en`; anything else is bokmål).
pub fn render(kind: MessageKind, language: &str, link: Option<&str>, preferences_link: &str) -> Rendered {
    let text = template(kind, language);
    let (subject, rest) = text.split_once('\n').unwrap_or((text, ""));
    let body = format!("{}\n{}", rest.trim_end(), footer(language).trim_end())
        .replace("{link}", link.unwrap_or(""))
        .replace("{preferences_link}", preferences_link);
    Rendered { subject: subject.trim().to_string(), body: format!("{body}\n") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MessageKind; 5] = [
        MessageKind::JoinLink,
        MessageKind::Cancellation,
        MessageKind::ThankYou,
        MessageKind::FormsInvitation,
        MessageKind::Welcome,
    ];

    #[test]
    fn every_kind_has_both_languages_with_the_preferences_footer() {
        for kind in ALL {
            let nb = render(kind, "nb", Some("https://l.test/x"), "https://p.test/preferences/t");
            let en = render(kind, "en", Some("https://l.test/x"), "https://p.test/preferences/t");
            assert_ne!(nb, en, "{kind:?}");
            for r in [&nb, &en] {
                assert!(!r.subject.is_empty());
                assert!(r.body.contains("https://p.test/preferences/t"), "{kind:?}");
                assert!(!r.body.contains('{'), "{kind:?} leaves a placeholder: {}", r.body);
            }
            let with_link = matches!(kind, MessageKind::JoinLink | MessageKind::ThankYou | MessageKind::FormsInvitation);
            assert_eq!(nb.body.contains("https://l.test/x"), with_link, "{kind:?}");
        }
        assert!(render(MessageKind::JoinLink, "nb", Some("x"), "y").body.contains("Bli med"));
        assert!(render(MessageKind::JoinLink, "en", Some("x"), "y").body.contains("Join here"));
    }
}
