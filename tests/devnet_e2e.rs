//! What a newcomer sees: `tos-pool devnet` as the README runs it (the binary, its defaults, its
//! SQLite under `--data-dir`) finds blocks, sees them mature, credits the demo miners and pays them
//! through the simulated wallet, within a few minutes — then stops cleanly on Ctrl-C.

use sqlx::Row;
use std::io::BufRead;
use std::time::{Duration, Instant};

/// A newcomer waits a few minutes, not more (the first payment confirms after ~2 minutes here).
const PATIENCE: Duration = Duration::from_secs(360);

struct Snapshot {
    mature: i64,
    credited_miners: i64,
    confirmed_batches: i64,
    confirmed_paid: i64,
    /// Settlements whose credits + fee + PPS fund differ from the reward.
    unbalanced: i64,
}

async fn snapshot(db: &sqlx::SqlitePool) -> sqlx::Result<Snapshot> {
    let one =
        |sql: &'static str| async move { sqlx::query(sql).fetch_one(db).await.map(|r| r.get::<i64, _>(0)) };
    Ok(Snapshot {
        mature: one("SELECT COUNT(*) FROM blocks WHERE status = 'mature'").await?,
        credited_miners: one("SELECT COUNT(*) FROM balances WHERE balance + pending + paid > 0").await?,
        confirmed_batches: one("SELECT COUNT(*) FROM payout_batches WHERE status = 'confirmed'").await?,
        confirmed_paid: one(
            "SELECT COALESCE(SUM(p.amount), 0) FROM payments p JOIN payout_batches b ON b.id = p.batch_id
             WHERE b.status = 'confirmed'",
        )
        .await?,
        unbalanced: one("SELECT COUNT(*) FROM settlements s
             WHERE s.reward != s.pool_fee + s.pps_fund + COALESCE((SELECT SUM(c.amount) FROM credits c
                   WHERE c.block_id = s.block_id AND c.stage = s.stage), 0)")
        .await?,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_matures_blocks_and_pays_its_demo_miners_within_minutes() {
    let dir = std::env::temp_dir().join(format!("tospool-devnet-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args([
            "devnet",
            "--stratum",
            "127.0.0.1:0",
            "--node-rpc",
            "127.0.0.1:0",
            "--wallet-rpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped");
    let lines = std::thread::spawn(move || {
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>()
    });

    let db_path = dir.join("pool.db");
    let started = Instant::now();
    let db = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "devnet created no database at {db_path:?}");
        if db_path.exists()
            && let Ok(db) =
                sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db_path.display())).await
        {
            break db;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let last = loop {
        if let Ok(s) = snapshot(&db).await
            && s.mature > 0
            && s.credited_miners >= 2
            && s.confirmed_batches > 0
        {
            break s;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no confirmed payment within {PATIENCE:?}: {:?}",
            snapshot(&db).await.map(|s| (s.mature, s.credited_miners, s.confirmed_batches))
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    db.close().await;
    assert_eq!(last.unbalanced, 0, "every settlement conserves the reward exactly");
    assert!(last.confirmed_paid > 0);

    // The status line prints every 5 s: let it catch up with the database.
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Ctrl-C: the ordered shutdown, exit 0, and the status line shows the payments.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("the devnet exits");
    let lines = lines.join().expect("reader");
    assert!(status.success(), "devnet exits cleanly on Ctrl-C: {status:?}");
    let line = lines.iter().rev().find(|l| l.contains("shares accepted")).expect("a status line");
    let payments: u64 = line
        .split(" payments")
        .next()
        .and_then(|l| l.rsplit(" in ").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a payment count in {line}"));
    assert!(payments >= 1, "the status line shows the confirmed payments: {line}");
    assert!(!line.contains("paid 0.00000000 TOS"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}
