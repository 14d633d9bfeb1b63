//! Server text made fit for an error or a log line: every secret the client knows blanked, on one
//! line, clipped.

use crate::config::{Auth, Secret};

/// Longest server text (error message, detail) kept in an error.
const MAX_SERVER_TEXT: usize = 240;

/// The secrets of one instance, to blank them out of any text shown. It has no `Debug`: it is
/// never printed.
pub(super) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// The secrets of `auth`, and the OAuth token currently in use, if any.
    pub(super) fn new(auth: &Auth, token: Option<&Secret>) -> Self {
        let mut secrets: Vec<String> = match auth {
            Auth::Basic { password, .. } => vec![password.expose().to_string()],
            Auth::OAuthPassword {
                client_secret,
                password,
                ..
            } => vec![
                client_secret.expose().to_string(),
                password.expose().to_string(),
            ],
            Auth::OAuthClientCredentials { client_secret, .. } => {
                vec![client_secret.expose().to_string()]
            }
            Auth::Bearer { token } => vec![token.expose().to_string()],
        };
        secrets.extend(token.map(|t| t.expose().to_string()));
        Redactor { secrets }
    }

    /// `text` with every known secret blanked, control characters and runs of whitespace made
    /// one space, clipped to [`MAX_SERVER_TEXT`] characters.
    pub(super) fn clean(&self, text: &str) -> String {
        let mut s: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        for secret in &self.secrets {
            if secret.len() >= 3 {
                s = s.replace(secret, "(redacted)");
            }
        }
        if s.chars().count() > MAX_SERVER_TEXT {
            s = s.chars().take(MAX_SERVER_TEXT).collect::<String>() + "...";
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth() -> Auth {
        Auth::OAuthPassword {
            client_id: "cid".to_string(),
            client_secret: Secret::new("s3cr3t-client".to_string()),
            username: "audit".to_string(),
            password: Secret::new("hunter2".to_string()),
        }
    }

    #[test]
    fn blanks_every_secret_and_the_token() {
        let token = Secret::new("tok-abc".to_string());
        let r = Redactor::new(&oauth(), Some(&token));
        assert_eq!(
            r.clean("client s3cr3t-client, user hunter2, token tok-abc"),
            "client (redacted), user (redacted), token (redacted)"
        );
    }

    #[test]
    fn one_line_and_clipped() {
        let r = Redactor::new(&oauth(), None);
        assert_eq!(r.clean("a\r\n\tb   c"), "a b c");
        let long = "x".repeat(500);
        let clipped = r.clean(&long);
        assert_eq!(clipped.chars().count(), MAX_SERVER_TEXT + 3);
        assert!(clipped.ends_with("..."));
    }

    #[test]
    fn very_short_secrets_are_left_alone() {
        let auth = Auth::Bearer {
            token: Secret::new("ab".to_string()),
        };
        assert_eq!(Redactor::new(&auth, None).clean("abc"), "abc");
    }
}
