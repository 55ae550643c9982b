//! Admin API keys: 32 random bytes shown once at creation (`tpk_` + 64 hex characters), stored as
//! their BLAKE3 hash; a presented key is hashed and compared in constant time (`blake3::Hash`'s
//! equality) against every stored hash. A revoked key is refused for good.

use crate::ledger::db::Db;
use crate::on_db;

/// What a key looks like, so a leaked one is recognisable in a scan.
pub const KEY_PREFIX: &str = "tpk_";

/// Names are shown in logs and the action table: short, plain.
const MAX_NAME: usize = 64;

/// A newly created key: the secret is in `key` and nowhere else.
pub struct NewKey {
    pub name: String,
    pub key: String,
}

/// A stored key's public facts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// Why a presented key is refused (all are a 401).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error("missing API key: send Authorization: Bearer <key>")]
    Missing,
    #[error("unknown API key")]
    Unknown,
    #[error("this API key was revoked")]
    Revoked,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key name {0:?}: use 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error("a key named {0:?} exists already (names are never reused, even once revoked)")]
    NameTaken(String),
    #[error("no active key named {0:?}")]
    NoSuchKey(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The stored form of a key.
pub fn hash_key(key: &str) -> blake3::Hash {
    blake3::hash(key.as_bytes())
}

/// Creates a key named `name`.
pub async fn create(db: &Db, name: &str, now_ms: i64) -> Result<NewKey, KeyError> {
    if !valid_name(name) {
        return Err(KeyError::BadName(crate::log_limit::clip(name)));
    }
    let key = format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let hash = hash_key(&key).to_hex().to_string();
    let q = "INSERT INTO admin_keys (name, key_hash, created_ms) VALUES ($1, $2, $3)";
    let r = on_db!(db, |p| sqlx::query(q).bind(name).bind(&hash).bind(now_ms).execute(p).await.map(|_| ()));
    match r {
        Ok(_) => Ok(NewKey { name: name.to_owned(), key }),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(KeyError::NameTaken(name.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Revokes the active key named `name`.
pub async fn revoke(db: &Db, name: &str, now_ms: i64) -> Result<(), KeyError> {
    let q = "UPDATE admin_keys SET revoked_ms = $2 WHERE name = $1 AND revoked_ms IS NULL";
    let n =
        on_db!(db, |p| sqlx::query(q).bind(name).bind(now_ms).execute(p).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(KeyError::NoSuchKey(crate::log_limit::clip(name)));
    }
    Ok(())
}

/// Every key, oldest first (never the hashes).
pub async fn list(db: &Db) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let q = "SELECT name, created_ms, revoked_ms FROM admin_keys ORDER BY created_ms, id";
    let rows: Vec<(String, i64, Option<i64>)> = on_db!(db, |p| sqlx::query_as(q).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(name, created_ms, revoked_ms)| KeyInfo { name, created_ms, revoked_ms })
        .collect())
}

/// A stored key as the gate compares it.
#[derive(Clone, Debug)]
pub struct StoredKey {
    name: String,
    hash: Option<blake3::Hash>,
    revoked: bool,
}

/// Every stored key (hashes only).
pub async fn load(db: &Db) -> Result<Vec<StoredKey>, sqlx::Error> {
    let q = "SELECT name, key_hash, revoked_ms FROM admin_keys";
    let rows: Vec<(String, String, Option<i64>)> = on_db!(db, |p| sqlx::query_as(q).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(name, hash, revoked)| StoredKey {
            name,
            hash: blake3::Hash::from_hex(&hash).ok(),
            revoked: revoked.is_some(),
        })
        .collect())
}

/// The name of the active key `presented` is, among `stored`.
pub fn match_key(stored: &[StoredKey], presented: Option<&str>) -> Result<String, KeyRefused> {
    let Some(presented) = presented.filter(|k| !k.is_empty()) else { return Err(KeyRefused::Missing) };
    let wanted = hash_key(presented);
    // Every row is compared (no early exit), each in constant time.
    let mut found: Option<&StoredKey> = None;
    for k in stored {
        if k.hash.is_some_and(|h| h == wanted) {
            found = Some(k);
        }
    }
    match found {
        Some(k) if !k.revoked => Ok(k.name.clone()),
        Some(_) => Err(KeyRefused::Revoked),
        None => Err(KeyRefused::Unknown),
    }
}

/// The name of the key `presented` is, if it is an active key (read from the database now).
pub async fn check(db: &Db, presented: Option<&str>) -> Result<Result<String, KeyRefused>, sqlx::Error> {
    Ok(match_key(&load(db).await?, presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_bounded() {
        assert!(valid_name("ops-1.alice_b"));
        for bad in ["", "a b", "x\n", "é", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_key_is_stored_hashed_checked_and_revoked_for_good() {
        let dir = std::env::temp_dir().join(format!("tospool-keys-{}", std::process::id()));
        let db = Db::connect(&format!("sqlite://{}/k.db", dir.display())).await.unwrap();
        db.migrate().await.unwrap();
        let k = create(&db, "ops", 1).await.unwrap();
        assert!(k.key.starts_with(KEY_PREFIX) && k.key.len() == KEY_PREFIX.len() + 64);
        let stored: Vec<String> =
            on_db!(&db, |p| sqlx::query_scalar("SELECT key_hash FROM admin_keys").fetch_all(p).await)
                .unwrap();
        assert_eq!(stored, vec![hash_key(&k.key).to_hex().to_string()]);
        assert!(!stored[0].contains(&k.key[KEY_PREFIX.len()..]), "the key itself is not stored");
        assert_eq!(check(&db, Some(&k.key)).await.unwrap(), Ok("ops".into()));
        assert_eq!(check(&db, Some("tpk_nope")).await.unwrap(), Err(KeyRefused::Unknown));
        assert_eq!(check(&db, None).await.unwrap(), Err(KeyRefused::Missing));
        assert!(matches!(create(&db, "ops", 2).await, Err(KeyError::NameTaken(_))));
        revoke(&db, "ops", 3).await.unwrap();
        assert_eq!(check(&db, Some(&k.key)).await.unwrap(), Err(KeyRefused::Revoked));
        assert!(matches!(revoke(&db, "ops", 4).await, Err(KeyError::NoSuchKey(_))));
        assert_eq!(
            list(&db).await.unwrap(),
            vec![KeyInfo { name: "ops".into(), created_ms: 1, revoked_ms: Some(3) }]
        );
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
