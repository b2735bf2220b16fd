"""The config file of a CLI or service test on one EVM chain ("polygon", chain id 137)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

Label = tuple[str, str, str]  # (network, address, role)


def evm_config(
    tmp: Path,
    rpc: str | Sequence[str],
    token: str,
    *,
    finality: int | None = None,
    max_block_range: int | None = None,
    native_symbol: str | None = None,
    stablecoin: bool = False,
    labels: Sequence[Label] = (),
    service: Mapping[str, float | int] | None = None,
    chain: Mapping[str, float | int] | None = None,
    name: str = "depin.toml",
) -> Path:
    """Write ``tmp/name``: the chain (``chain``: more of its keys), its RNDR token (18
    decimals), labels and [service]."""
    urls = [rpc] if isinstance(rpc, str) else list(rpc)
    lines = [
        "[chains.polygon]",
        'kind = "evm"',
        "rpc = [" + ", ".join(f'"{u}"' for u in urls) + "]",
        "chain_id = 137",
    ]
    if finality is not None:
        lines.append(f"finality = {finality}")
    if max_block_range is not None:
        lines.append(f"max_block_range = {max_block_range}")
    if native_symbol is not None:
        lines.append(f'native_symbol = "{native_symbol}"')
    lines += [f"{key} = {value}" for key, value in (chain or {}).items()]
    lines += ["", "[[tokens]]", 'chain = "polygon"', f'address = "{token}"', 'symbol = "RNDR"', "decimals = 18"]
    if stablecoin:
        lines.append("stablecoin = true")
    for network, address, role in labels:
        lines += ["", "[[labels]]", f'network = "{network}"', 'chain = "polygon"', f'address = "{address}"']
        lines.append(f'role = "{role}"')
    if service is not None:
        lines += ["", "[service]", *(f"{key} = {value}" for key, value in service.items())]
    path = tmp / name
    path.write_text("\n".join(lines) + "\n")
    return path
