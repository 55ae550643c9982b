-- Payout batches: what reconciliation needs to follow a transaction to a stable block, and to
-- decide — only on evidence — that it can never execute.

ALTER TABLE payout_batches ADD COLUMN submit_attempts INTEGER NOT NULL DEFAULT 0;
-- first time a node took the transaction (mempool or chain)
ALTER TABLE payout_batches ADD COLUMN submitted_ms INTEGER;
-- the executing block, once seen (it may still be reorganised away until stable)
ALTER TABLE payout_batches ADD COLUMN executed_block TEXT;
ALTER TABLE payout_batches ADD COLUMN executed_topoheight INTEGER;
-- the nodes refused the same hex for good (nonce used, unreadable) while it was in no block: the
-- topoheight then, and their words; the batch fails only once that topoheight is stable
ALTER TABLE payout_batches ADD COLUMN refused_topoheight INTEGER;
ALTER TABLE payout_batches ADD COLUMN refusal TEXT;
ALTER TABLE payout_batches ADD COLUMN final_ms INTEGER;

CREATE INDEX payments_by_batch ON payments (batch_id);
