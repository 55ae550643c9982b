//! Wallet RPC credentials (`user:password`), from an environment variable or a file. The
//! password never appears in a message, a log line or `Debug` output.

use anyhow::{Context as _, bail};
use std::fmt;
use std::path::Path;

/// HTTP Basic credentials for the wallet RPC.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"***").finish()
    }
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { user: user.into(), password: password.into() }
    }

    /// `user:password` (a trailing newline, as files have, is ignored; the password may hold `:`).
    /// `source` names where the text came from, for the error message.
    pub fn parse(text: &str, source: &str) -> anyhow::Result<Credentials> {
        let text = text.trim_end_matches(['\n', '\r']);
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Credentials::new(user, password)),
            _ => bail!(
                "{source} must hold the wallet RPC credentials as user:password (the wallet's --rpc-username and --rpc-password)"
            ),
        }
    }

    /// From the environment variable `var`.
    pub fn from_env(var: &str) -> anyhow::Result<Credentials> {
        let text = std::env::var(var).with_context(|| {
            format!("wallet.credentials_env: the environment variable {var} is not set (it must hold user:password)")
        })?;
        Credentials::parse(&text, &format!("the environment variable {var}"))
    }

    /// From the file at `path` (warns when other users may read it).
    pub fn from_file(path: &Path) -> anyhow::Result<Credentials> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("wallet.credentials_file: cannot read {}", path.display()))?;
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %path.display(), "the wallet credentials file is readable by other users: chmod 600 it");
        }
        Credentials::parse(&text, &path.display().to_string())
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_and_never_shown() {
        let c = Credentials::parse("pool:s3cr:et\n", "test").unwrap();
        assert_eq!((c.user.as_str(), c.password()), ("pool", "s3cr:et"));
        assert!(!format!("{c:?}").contains("s3cr"), "{c:?}");
        let e = Credentials::parse("no-colon-s3cret", "the file f").unwrap_err().to_string();
        assert!(e.contains("user:password") && !e.contains("s3cret"), "{e}");
        assert!(Credentials::parse(":pw", "x").is_err(), "a user is required");
    }
}
