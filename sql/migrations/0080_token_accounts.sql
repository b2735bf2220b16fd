-- 0080_token_accounts: every token account a followed Solana wallet has ever owned.
--
-- getTokenAccountsByOwner lists the accounts a wallet has *now*; wallets close accounts
-- all the time (to recover rent), and a payment into an account names the account, never
-- the wallet. The ingestor therefore records each account of a followed wallet and a
-- tracked mint that it sees in the token balances of any transaction it decodes (the
-- wallet signs the moves out of and the close of its accounts, so its own history names
-- them), in the same transaction as the page's flows and cursor, and walks each one's
-- signature history once, from its own cursor.
create table core.token_accounts (
    chain      text collate "C" not null,
    account    text collate "C" not null,
    owner      text collate "C" not null,  -- as of last_slot
    mint       text collate "C" not null,
    first_slot bigint not null,            -- first and last slot a decoded transaction showed it in
    last_slot  bigint not null,
    primary key (chain, account)
);
