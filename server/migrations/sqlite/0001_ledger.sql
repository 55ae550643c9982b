-- tos-pool ledger, SQLite (one instance). Amounts: INTEGER atomic units (8 decimals). Difficulties:
-- exact decimal TEXT (SQLite has no exact wide numeric; sums are done in Rust). Times: Unix ms.

CREATE TABLE instances (
    instance_id    INTEGER PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    version        TEXT NOT NULL,
    started_ms     INTEGER NOT NULL,
    seen_ms        INTEGER NOT NULL,
    -- batches waiting in this instance's on-disk spool (the unlocker waits for them)
    spooled        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE miners (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    address          TEXT NOT NULL UNIQUE,
    -- NULL: the pool's default threshold
    payout_threshold INTEGER CHECK (payout_threshold IS NULL OR payout_threshold > 0),
    created_ms       INTEGER NOT NULL
);

CREATE TABLE shares (
    created_ms   INTEGER NOT NULL,
    -- BLAKE3 of the solved header: unique per connection, issue and nonce
    share_id     BLOB NOT NULL,
    miner_id     INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    scheme       TEXT NOT NULL,
    difficulty   TEXT NOT NULL,
    height       INTEGER NOT NULL,
    instance_id  INTEGER NOT NULL,
    -- Time first: inserts append to the index instead of landing at random, and the key is the
    -- time index the reward windows scan. A replayed share keeps its time: replay is a no-op.
    PRIMARY KEY (created_ms, share_id)
) WITHOUT ROWID;

-- PPS shares waiting to be valued and credited (by the leader, exactly once).
CREATE TABLE pps_queue (
    share_id           BLOB PRIMARY KEY,
    miner_id           INTEGER NOT NULL,
    difficulty         TEXT NOT NULL,
    network_difficulty TEXT NOT NULL,
    created_ms         INTEGER NOT NULL
);

CREATE TABLE worker_stats (
    miner_id     INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    minute_ms    INTEGER NOT NULL,
    instance_id  INTEGER NOT NULL,
    shares       INTEGER NOT NULL,
    work         TEXT NOT NULL,
    last_ms      INTEGER NOT NULL,
    PRIMARY KEY (miner_id, worker, minute_ms, instance_id)
);
CREATE INDEX worker_stats_by_minute ON worker_stats (minute_ms);

CREATE TABLE blocks (
    block_id           BLOB PRIMARY KEY,
    height             INTEGER NOT NULL,
    finder_id          INTEGER NOT NULL,
    finder_worker      TEXT NOT NULL,
    -- the finder's scheme: 'solo' blocks pay the finder, the others the shared pool
    scheme             TEXT NOT NULL,
    network_difficulty TEXT NOT NULL,
    template_hex       TEXT NOT NULL,
    miner_work_hex     TEXT NOT NULL,
    found_ms           INTEGER NOT NULL,
    instance_id        INTEGER NOT NULL,
    -- 'accepted' | 'failed' | NULL while the submission is in progress
    submitted          TEXT,
    submit_note        TEXT,
    -- candidate | immature | mature | orphaned
    status             TEXT NOT NULL DEFAULT 'candidate',
    topoheight         INTEGER,
    block_type         TEXT,
    -- miner_reward + total_fees as the node reports them
    reward             INTEGER,
    round_work         TEXT,
    effort_bp          INTEGER,
    updated_ms         INTEGER NOT NULL
);
CREATE INDEX blocks_by_status ON blocks (status, found_ms);
CREATE INDEX blocks_by_time ON blocks (found_ms);

CREATE TABLE balances (
    miner_id  INTEGER PRIMARY KEY,
    balance   INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    immature  INTEGER NOT NULL DEFAULT 0 CHECK (immature >= 0),
    pending   INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    paid      INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0)
);

-- One row per balance change: the audit trail.
CREATE TABLE balance_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    miner_id    INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    d_balance   INTEGER NOT NULL,
    d_immature  INTEGER NOT NULL,
    d_pending   INTEGER NOT NULL,
    d_paid      INTEGER NOT NULL,
    block_id    BLOB,
    batch_id    INTEGER,
    note        TEXT
);
CREATE INDEX balance_changes_by_miner ON balance_changes (miner_id, id);

-- A block's credits, per stage: the primary key makes a second credit impossible.
CREATE TABLE credits (
    block_id  BLOB NOT NULL,
    miner_id  INTEGER NOT NULL,
    stage     TEXT NOT NULL,
    amount    INTEGER NOT NULL CHECK (amount >= 0),
    work      TEXT NOT NULL,
    PRIMARY KEY (block_id, miner_id, stage)
);

-- The non-miner parts of a block's split: credits + pool_fee + pps_fund = reward.
CREATE TABLE settlements (
    block_id  BLOB NOT NULL,
    stage     TEXT NOT NULL,
    reward    INTEGER NOT NULL,
    pool_fee  INTEGER NOT NULL,
    pps_fund  INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (block_id, stage)
);

-- PPS: each miner's carried fraction ("r/m").
CREATE TABLE pps_carry (
    miner_id  INTEGER PRIMARY KEY,
    carry     TEXT NOT NULL
);

-- The pool's own accounts (fees earned, PPS paid out less PPS portions taken back): signed.
CREATE TABLE pool_accounts (
    name    TEXT PRIMARY KEY,
    amount  INTEGER NOT NULL
);

CREATE TABLE payout_batches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- intent | built | submitted | confirmed | failed
    status        TEXT NOT NULL,
    tx_hash       TEXT UNIQUE,
    tx_hex        TEXT,
    tx_fee        INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    recipients    INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    error         TEXT,
    instance_id   INTEGER NOT NULL
);
CREATE INDEX payout_batches_by_status ON payout_batches (status);

CREATE TABLE payments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id   INTEGER NOT NULL,
    miner_id   INTEGER NOT NULL,
    address    TEXT NOT NULL,
    -- debited from the balance = amount sent + fee_share
    debit      INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    fee_share  INTEGER NOT NULL,
    status     TEXT NOT NULL,
    UNIQUE (batch_id, miner_id)
);
CREATE INDEX payments_by_miner ON payments (miner_id, id);
