-- The terms a block was settled under, so `tos-pool audit block` recomputes it exactly even after
-- the configuration changed (or with only a database URL): the fee in basis points (rewards.fee for
-- a shared block, rewards.solo_fee for a solo one) and the PPLNS factor as "num/den".
ALTER TABLE settlements ADD COLUMN fee_bp INTEGER;
ALTER TABLE settlements ADD COLUMN pplns_factor TEXT;
