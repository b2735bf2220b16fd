"""A config file for the `depin-indexer` CLI over the scenario world's server."""

from __future__ import annotations

from pathlib import Path

from tests.solana.scenario import World


def world_config(
    tmp: Path, url: str, world: World, pages: int = 4, batch: int = 2, *, follow_mints: bool = False
) -> Path:
    """The world's tracked mints and labels; small pages and batches make many commits.
    ``follow_mints``: every mint with ``follow = "mint"`` and no labels at all."""
    follow = 'follow = "mint"\n' if follow_mints else ""
    tokens = "".join(
        f'\n[[tokens]]\nchain = "solana"\naddress = "{m.address}"\nsymbol = "{name}"\ndecimals = {m.decimals}\n'
        + follow
        for name, m in (("IO", world.io), ("RENDER", world.render), ("USDC", world.usdc), ("IO22", world.io22))
    )
    labels = (
        ""
        if follow_mints
        else "".join(
            f'\n[[labels]]\nnetwork = "{network}"\nchain = "solana"\naddress = "{address}"\nrole = "{role}"\n'
            for network, address, role in (
                ("io.net", world.payments.pubkey(), "revenue"),
                ("io.net", world.distributor.pubkey(), "rewards"),
                ("render", world.render.address, "burn_revenue"),
                ("render", world.render.address, "mint_rewards"),
                ("render", world.emissions.pubkey(), "rewards"),
            )
        )
    )
    path = tmp / "depin.toml"
    path.write_text(
        f"""
[chains.solana]
kind = "solana"
rpc = ["{url}"]
signatures_per_request = {pages}
transactions_per_request = {batch}
{tokens}{labels}"""
    )
    return path
