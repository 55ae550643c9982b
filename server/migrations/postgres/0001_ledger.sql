-- tos-pool ledger, PostgreSQL. Amounts: BIGINT atomic units (8 decimals). Difficulties: exact
-- NUMERIC(78,0) (up to 2^256 - 1). Times: Unix milliseconds.

CREATE TABLE instances (
    instance_id    SMALLINT PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            BIGINT NOT NULL,
    version        TEXT NOT NULL,
    started_ms     BIGINT NOT NULL,
    seen_ms        BIGINT NOT NULL,
    -- batches waiting in this instance's on-disk spool (the unlocker waits for them)
    spooled        BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE miners (
    id               BIGSERIAL PRIMARY KEY,
    address          TEXT NOT NULL UNIQUE,
    -- NULL: the pool's default threshold
    payout_threshold BIGINT CHECK (payout_threshold IS NULL OR payout_threshold > 0),
    created_ms       BIGINT NOT NULL
);

CREATE TABLE shares (
    created_ms   BIGINT NOT NULL,
    -- BLAKE3 of the solved header: unique per connection, issue and nonce
    share_id     BYTEA NOT NULL,
    miner_id     BIGINT NOT NULL,
    worker       TEXT NOT NULL,
    scheme       TEXT NOT NULL,
    difficulty   NUMERIC(78,0) NOT NULL,
    height       BIGINT NOT NULL,
    instance_id  SMALLINT NOT NULL,
    -- Time first: inserts append to the index instead of landing at random, and the key is the
    -- time index the reward windows scan. A replayed share keeps its time: replay is a no-op.
    PRIMARY KEY (created_ms, share_id)
);

-- PPS shares waiting to be valued and credited (by the leader, exactly once).
CREATE TABLE pps_queue (
    share_id           BYTEA PRIMARY KEY,
    miner_id           BIGINT NOT NULL,
    difficulty         NUMERIC(78,0) NOT NULL,
    network_difficulty NUMERIC(78,0) NOT NULL,
    created_ms         BIGINT NOT NULL
);

CREATE TABLE worker_stats (
    miner_id     BIGINT NOT NULL,
    worker       TEXT NOT NULL,
    minute_ms    BIGINT NOT NULL,
    instance_id  SMALLINT NOT NULL,
    shares       BIGINT NOT NULL,
    work         NUMERIC(78,0) NOT NULL,
    last_ms      BIGINT NOT NULL,
    PRIMARY KEY (miner_id, worker, minute_ms, instance_id)
);
CREATE INDEX worker_stats_by_minute ON worker_stats (minute_ms);

CREATE TABLE blocks (
    block_id           BYTEA PRIMARY KEY,
    height             BIGINT NOT NULL,
    finder_id          BIGINT NOT NULL,
    finder_worker      TEXT NOT NULL,
    -- the finder's scheme: 'solo' blocks pay the finder, the others the shared pool
    scheme             TEXT NOT NULL,
    network_difficulty NUMERIC(78,0) NOT NULL,
    template_hex       TEXT NOT NULL,
    miner_work_hex     TEXT NOT NULL,
    found_ms           BIGINT NOT NULL,
    instance_id        SMALLINT NOT NULL,
    -- 'accepted' | 'failed' | NULL while the submission is in progress
    submitted          TEXT,
    submit_note        TEXT,
    -- candidate | immature | mature | orphaned
    status             TEXT NOT NULL DEFAULT 'candidate',
    topoheight         BIGINT,
    block_type         TEXT,
    -- miner_reward + total_fees as the node reports them
    reward             BIGINT,
    round_work         NUMERIC(78,0),
    effort_bp          BIGINT,
    updated_ms         BIGINT NOT NULL
);
CREATE INDEX blocks_by_status ON blocks (status, found_ms);
CREATE INDEX blocks_by_time ON blocks (found_ms);

CREATE TABLE balances (
    miner_id  BIGINT PRIMARY KEY,
    balance   BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    immature  BIGINT NOT NULL DEFAULT 0 CHECK (immature >= 0),
    pending   BIGINT NOT NULL DEFAULT 0 CHECK (pending >= 0),
    paid      BIGINT NOT NULL DEFAULT 0 CHECK (paid >= 0)
);

-- One row per balance change: the audit trail.
CREATE TABLE balance_changes (
    id          BIGSERIAL PRIMARY KEY,
    miner_id    BIGINT NOT NULL,
    at_ms       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    d_balance   BIGINT NOT NULL,
    d_immature  BIGINT NOT NULL,
    d_pending   BIGINT NOT NULL,
    d_paid      BIGINT NOT NULL,
    block_id    BYTEA,
    batch_id    BIGINT,
    note        TEXT
);
CREATE INDEX balance_changes_by_miner ON balance_changes (miner_id, id);

-- A block's credits, per stage: the primary key makes a second credit impossible.
CREATE TABLE credits (
    block_id  BYTEA NOT NULL,
    miner_id  BIGINT NOT NULL,
    stage     TEXT NOT NULL,
    amount    BIGINT NOT NULL CHECK (amount >= 0),
    work      NUMERIC(78,0) NOT NULL,
    PRIMARY KEY (block_id, miner_id, stage)
);

-- The non-miner parts of a block's split: credits + pool_fee + pps_fund = reward.
CREATE TABLE settlements (
    block_id  BYTEA NOT NULL,
    stage     TEXT NOT NULL,
    reward    BIGINT NOT NULL,
    pool_fee  BIGINT NOT NULL,
    pps_fund  BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (block_id, stage)
);

-- PPS: each miner's carried fraction ("r/m").
CREATE TABLE pps_carry (
    miner_id  BIGINT PRIMARY KEY,
    carry     TEXT NOT NULL
);

-- The pool's own accounts (fees earned, PPS paid out less PPS portions taken back): signed.
CREATE TABLE pool_accounts (
    name    TEXT PRIMARY KEY,
    amount  BIGINT NOT NULL
);

CREATE TABLE payout_batches (
    id            BIGSERIAL PRIMARY KEY,
    -- intent | built | submitted | confirmed | failed
    status        TEXT NOT NULL,
    tx_hash       TEXT UNIQUE,
    tx_hex        TEXT,
    tx_fee        BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    recipients    INTEGER NOT NULL,
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    error         TEXT,
    instance_id   SMALLINT NOT NULL
);
CREATE INDEX payout_batches_by_status ON payout_batches (status);

CREATE TABLE payments (
    id         BIGSERIAL PRIMARY KEY,
    batch_id   BIGINT NOT NULL,
    miner_id   BIGINT NOT NULL,
    address    TEXT NOT NULL,
    -- debited from the balance = amount sent + fee_share
    debit      BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    fee_share  BIGINT NOT NULL,
    status     TEXT NOT NULL,
    UNIQUE (batch_id, miner_id)
);
CREATE INDEX payments_by_miner ON payments (miner_id, id);
