//! Where a history lives: the `--db` value, parsed, and the same value safe to print.

use std::path::PathBuf;

use crate::Error;

/// A history database: an SQLite file or a PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `sqlite:PATH`, `sqlite://PATH` or a plain path.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, as given (the client parses it).
    Postgres(String),
}

impl Location {
    /// Parses a `--db` value.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Database`](crate::ErrorKind::Database) for an empty value, an empty SQLite
    /// path or a URL of another scheme.
    pub(crate) fn parse(db: &str) -> Result<Self, Error> {
        let refuse = |reason: &str| Error::database_refused(&masked(db), "open", reason.into());
        if db.trim().is_empty() {
            return Err(refuse("the database URL is empty"));
        }
        let sqlite = db
            .strip_prefix("sqlite://")
            .or_else(|| db.strip_prefix("sqlite:"));
        if let Some(path) = sqlite {
            if path.is_empty() {
                return Err(refuse("sqlite: needs a path, e.g. sqlite:flaky-history.db"));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            return Ok(Location::Postgres(db.to_owned()));
        }
        if db.contains("://") {
            return Err(refuse(
                "not a history database URL: expected sqlite:PATH, a file path or postgres://…",
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(db)))
    }
}

/// `db` with the password of its URL (`user:PASSWORD@`, `password=PASSWORD`) replaced by `***`,
/// for error messages and output.
pub(crate) fn masked(db: &str) -> String {
    let Some(scheme_end) = db.find("://").map(|at| at + 3) else {
        return db.to_owned();
    };
    let rest = &db[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = db[..scheme_end].to_owned();
    match authority.rfind('@') {
        Some(at) => {
            let user_info = &authority[..at];
            match user_info.split_once(':') {
                Some((user, _password)) => out.push_str(&format!("{user}:***")),
                None => out.push_str(user_info),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => param.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_plain_paths_name_a_file() {
        for (db, path) in [
            ("sqlite:flaky.db", "flaky.db"),
            ("sqlite:///tmp/flaky.db", "/tmp/flaky.db"),
            ("sqlite://flaky.db", "flaky.db"),
            ("history/flaky.db", "history/flaky.db"),
        ] {
            assert_eq!(
                Location::parse(db).unwrap(),
                Location::Sqlite(PathBuf::from(path)),
                "{db}"
            );
        }
    }

    #[test]
    fn postgres_urls_are_kept_whole_and_other_schemes_refused() {
        let url = "postgresql://ci@127.0.0.1:5432/flaky?options=-csearch_path%3Dh";
        assert_eq!(
            Location::parse(url).unwrap(),
            Location::Postgres(url.to_owned())
        );
        let err = Location::parse("mysql://root@127.0.0.1/flaky").unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not open the history database mysql://root@127.0.0.1/flaky: not a history \
             database URL: expected sqlite:PATH, a file path or postgres://…"
        );
        assert!(Location::parse("sqlite:").is_err());
        assert!(Location::parse(" ").is_err());
    }

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            masked("postgres://ci:hunter2@db:5432/h?sslmode=disable&password=x"),
            "postgres://ci:***@db:5432/h?sslmode=disable&password=***"
        );
        assert_eq!(masked("postgres://ci@db/h"), "postgres://ci@db/h");
        assert_eq!(masked("postgres://db"), "postgres://db");
        assert_eq!(masked("sqlite:a:b@c.db"), "sqlite:a:b@c.db");
    }
}
