//! Email templates, compiled into the binary: for each email a `.txt` file (blocks `subject` and
//! `body`) and a `.html` file (extending `_layout.html`), per locale. French is the fallback.

use std::sync::OnceLock;

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;

use crate::users::Locale;

/// An email's data; `NAME` picks the template files `{NAME}.{locale}.txt` and `.html`.
pub trait EmailTemplate: Serialize {
    const NAME: &'static str;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The locale actually used (the requested one, or French when it has no translation).
    pub locale: Locale,
}

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embedded!(
    "_layout.html",
    "accreditation_update.fr.txt",
    "accreditation_update.fr.html",
    "accreditation_update.en.txt",
    "accreditation_update.en.html",
    "accreditation_update.tr.txt",
    "accreditation_update.tr.html",
    "badge_reissued.fr.txt",
    "badge_reissued.fr.html",
    "badge_reissued.en.txt",
    "badge_reissued.en.html",
    "badge_reissued.tr.txt",
    "badge_reissued.tr.html",
    "verify_email.fr.txt",
    "verify_email.fr.html",
    "verify_email.en.txt",
    "verify_email.en.html",
    "verify_email.tr.txt",
    "verify_email.tr.html",
    "reset_password.fr.txt",
    "reset_password.fr.html",
    "reset_password.en.txt",
    "reset_password.en.html",
    "reset_password.tr.txt",
    "reset_password.tr.html",
    "set_first_password.fr.txt",
    "set_first_password.fr.html",
    "set_first_password.en.txt",
    "set_first_password.en.html",
    "account_locked.fr.txt",
    "account_locked.fr.html",
    "account_locked.en.txt",
    "account_locked.en.html",
    "exhibitor_approved.fr.txt",
    "exhibitor_approved.fr.html",
    "exhibitor_approved.en.txt",
    "exhibitor_approved.en.html",
    "exhibitor_approved.tr.txt",
    "exhibitor_approved.tr.html",
    "exhibitor_rejected.fr.txt",
    "exhibitor_rejected.fr.html",
    "exhibitor_rejected.en.txt",
    "exhibitor_rejected.en.html",
    "exhibitor_rejected.tr.txt",
    "exhibitor_rejected.tr.html",
    "delegation_invitation.fr.txt",
    "delegation_invitation.fr.html",
    "delegation_invitation.en.txt",
    "delegation_invitation.en.html",
    "delegation_invitation.tr.txt",
    "delegation_invitation.tr.html",
    "registration_received.fr.txt",
    "registration_received.fr.html",
    "registration_received.en.txt",
    "registration_received.en.html",
    "registration_received.tr.txt",
    "registration_received.tr.html",
    "registration_attempt.fr.txt",
    "registration_attempt.fr.html",
    "registration_attempt.en.txt",
    "registration_attempt.en.html",
    "registration_attempt.tr.txt",
    "registration_attempt.tr.html",
    "mfa_reset.fr.txt",
    "mfa_reset.fr.html",
    "mfa_reset.en.txt",
    "mfa_reset.en.html",
    "mfa_reset.tr.txt",
    "mfa_reset.tr.html",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("email template {name} does not parse: {e}"));
        }
        env
    })
}

fn has_template(name: &str) -> bool {
    TEMPLATES.iter().any(|(n, _)| *n == name)
}

pub fn render<T: EmailTemplate>(locale: Locale, email: &T) -> anyhow::Result<RenderedEmail> {
    let locale = [locale, Locale::Fr]
        .into_iter()
        .find(|l| has_template(&format!("{}.{}.txt", T::NAME, l.as_str())))
        .with_context(|| format!("no template for email {}", T::NAME))?;
    let env = environment();
    let txt = env.get_template(&format!("{}.{}.txt", T::NAME, locale.as_str()))?;
    let (subject, text) = txt.render_captured(email)?.with_state_mut(|state| {
        Ok::<_, minijinja::Error>((state.render_block("subject")?, state.render_block("body")?))
    })?;
    let subject = subject.trim().to_owned();
    let text = text.trim().to_owned() + "\n";
    let html = env
        .get_template(&format!("{}.{}.html", T::NAME, locale.as_str()))?
        .render(
            minijinja::context! { subject => &subject, ..minijinja::Value::from_serialize(email) },
        )?;
    Ok(RenderedEmail {
        subject,
        text,
        html,
        locale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct VerifyEmail<'a> {
        full_name: &'a str,
        link: &'a str,
    }
    impl EmailTemplate for VerifyEmail<'_> {
        const NAME: &'static str = "verify_email";
    }

    #[test]
    fn every_template_parses_and_has_both_parts() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).unwrap();
            if let Some(stem) = name.strip_suffix(".txt") {
                assert!(
                    has_template(&format!("{stem}.html")),
                    "{stem}.html is missing"
                );
            }
            if let Some(stem) = name.strip_suffix(".html").filter(|s| !s.starts_with('_')) {
                assert!(
                    has_template(&format!("{stem}.txt")),
                    "{stem}.txt is missing"
                );
            }
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let email = VerifyEmail {
            full_name: "Ayşe <b>& Co</b>",
            link: "https://bamex.ml/verify-email?token=abc",
        };
        let fr = render(Locale::Fr, &email).unwrap();
        assert!(fr.text.contains("Ayşe <b>& Co</b>"));
        assert!(fr.html.contains("Ayşe &lt;b&gt;&amp; Co&lt;"));
        assert!(!fr.html.contains("<b>"));
        assert_ne!(fr.subject, render(Locale::En, &email).unwrap().subject);
        assert_eq!(render(Locale::Tr, &email).unwrap().locale, Locale::Tr);
    }
}
