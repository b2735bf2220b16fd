-- Solana transactions indexed at `confirmed` commitment that were not finalized yet.
-- Each run asks the chain for their status: one that disappeared (its fork was dropped)
-- or landed in another slot has its flows deleted, like an EVM reorg; a finalized one
-- leaves this table. Written in the same transaction as the flows it covers.
create table core.unfinalised_transactions (
    chain     text collate "C" not null,
    signature text collate "C" not null,
    slot      bigint           not null,
    primary key (chain, signature)
);
