"""Load and check the config file: TOML → :class:`schemas.config.Config`.

Where the file comes from: ``--config PATH``, else ``DEPIN_CONFIG``, else ``./depin.toml``;
a missing default file means an empty configuration (enough for ``migrate`` and ``db``).
``DEPIN_DATABASE_URL`` overrides ``[database] url``. Every problem is reported with its key
path (``chains.polygon.rpc[0]: not an http(s) URL``) and the CLI exits with code 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.decode.cosmos import Bech32Error, canonical_address
from indexer.decode.solana import NATIVE_MINT
from indexer.errors import ConfigError
from schemas.config import CHAIN_NAME, ChainConfig, Config, CosmosChain, EvmChain, SolanaChain

DEFAULT_CONFIG = Path("depin.toml")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")
_TOKEN_ROLES = ("burn_revenue", "mint_rewards")


class Environment(BaseSettings):
    """Settings read from ``DEPIN_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DEPIN_", extra="ignore")

    config: Path | None = None
    database_url: str | None = None
    data_dir: Path | None = None


def load_config(path: str | Path | None = None, env: Environment | None = None) -> Config:
    """Read, validate and cross-check the config; raise :class:`ConfigError` naming each problem."""
    env = env or Environment()
    explicit = path is not None or env.config is not None
    source = Path(path) if path is not None else (env.config or DEFAULT_CONFIG)
    if source.exists():
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(source), [f"not valid TOML: {exc}"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(source), [f"cannot read the file: {exc}"]) from None
    elif explicit:
        raise ConfigError(str(source), ["the file does not exist"])
    else:
        raw = {}
    config = parse_config(raw, str(source))
    if env.database_url:
        try:
            config.database = config.database.model_validate({**config.database.model_dump(), "url": env.database_url})
        except ValidationError as exc:
            raise ConfigError("DEPIN_DATABASE_URL", [e["msg"] for e in exc.errors()]) from None
    return config


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_environment(raw: Any, environ: dict[str, str], path: str = "") -> tuple[Any, list[str]]:
    """Replace ``${NAME}`` in every string by the environment variable NAME.

    Secrets (RPC keys, passwords) can then live in the environment instead of the file.
    Returns the expanded document and a problem per unset variable, with its key path.
    """
    problems: list[str] = []
    if isinstance(raw, str):

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                problems.append(f"{path or '(top level)'}: environment variable {name} is not set")
                return match.group(0)
            return environ[name]

        return _ENV_REFERENCE.sub(value, raw), problems
    if isinstance(raw, dict):
        out = {}
        for key, item in raw.items():
            out[key], found = expand_environment(item, environ, f"{path}.{key}" if path else str(key))
            problems += found
        return out, problems
    if isinstance(raw, list):
        items = []
        for i, item in enumerate(raw):
            expanded, found = expand_environment(item, environ, f"{path}[{i}]")
            items.append(expanded)
            problems += found
        return items, problems
    return raw, problems


def parse_config(raw: dict[str, Any], source: str = "<config>", environ: dict[str, str] | None = None) -> Config:
    """Validate a parsed TOML document; raise :class:`ConfigError` listing every problem."""
    raw, unset = expand_environment(raw, dict(os.environ) if environ is None else environ)
    if unset:
        raise ConfigError(source, unset)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(err) for err in exc.errors()]) from None
    problems = _cross_check(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        # The discriminated union adds the tag ('evm'/'solana') to the location; the
        # user never wrote that key, so it would only confuse.
        if i == 2 and loc[0] == "chains" and part in ("evm", "solana", "cosmos"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: Any) -> str:
    kind = err["type"]
    loc = _path(tuple(err["loc"]))
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required key is missing"
    if kind == "union_tag_invalid":
        return f'{loc}.kind: must be "evm", "solana" or "cosmos", got {err["input"].get("kind")!r}'
    if kind == "union_tag_not_found":
        return f'{loc}.kind: required key is missing ("evm", "solana" or "cosmos")'
    message = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {message}"


_DENOM = re.compile(r"^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$")


def _address_problem(chain: ChainConfig, address: str, *, token: bool = False) -> str | None:
    kind = chain.kind
    if isinstance(chain, CosmosChain):
        if token:
            return None if _DENOM.match(address) else "not a Cosmos denom (like 'attoaioz')"
        try:
            canonical_address(address, chain.bech32_prefix)
        except (Bech32Error, ValueError):
            return f"not a {chain.bech32_prefix}1... (bech32) or 0x-prefixed 20-byte hex address"
        return None
    if kind == "evm":
        return None if _EVM_ADDRESS.match(address) else "not a 0x-prefixed 20-byte hex address"
    return None if _BASE58.match(address) else "not a base58 Solana address"


def _normalise(chain: ChainConfig, address: str, *, token: bool = False) -> str:
    # Cosmos accounts are stored as 0x hex (aioz1... and 0x... name the same bytes), so a
    # label written either way matches the flows.
    if isinstance(chain, CosmosChain):
        return address if token else canonical_address(address, chain.bech32_prefix)
    return address.lower() if chain.kind == "evm" else address


def _check_tokens(config: Config, known: str, problems: list[str]) -> dict[tuple[str, str], int]:
    """Check ``[[tokens]]`` against the chains (problems appended); return (chain, address) -> index."""
    seen_tokens: dict[tuple[str, str], int] = {}
    for i, token in enumerate(config.tokens):
        chain = config.chains.get(token.chain)
        if chain is None:
            problems.append(f"tokens[{i}].chain: unknown chain {token.chain!r} (configured: {known})")
            continue
        if token.address == "native":
            if not isinstance(chain, EvmChain):
                problems.append(f"tokens[{i}].address: 'native' is only for EVM chains")
        elif (problem := _address_problem(chain, token.address, token=True)) is not None:
            problems.append(f"tokens[{i}].address: {problem}")
            continue
        if isinstance(chain, SolanaChain) and token.address == NATIVE_MINT:
            problems.append(f"tokens[{i}].address: {_WRAPPED_SOL}")
        token.address = _normalise(chain, token.address, token=True)
        key = (token.chain, token.address)
        if key in seen_tokens:
            problems.append(f"tokens[{i}]: same token as tokens[{seen_tokens[key]}]")
        seen_tokens[key] = i
    return seen_tokens


# Why the native mint is refused here rather than at the first transaction that moves it
# (docs/methodology.md, "Wrapped SOL").
_WRAPPED_SOL = (
    f"wrapped SOL ({NATIVE_MINT}) is not supported: its token balances follow the account's lamports "
    "(a System transfer then SyncNative, an account created with lamports, CloseAccount) without a token "
    "instruction that moves them, so its flows cannot be decoded and checked against the balances"
)


def _cross_check(config: Config) -> list[str]:
    """Rules that relate tables to each other; fixes the text form of EVM addresses."""
    problems: list[str] = []
    for name in config.chains:
        if not CHAIN_NAME.match(name):
            problems.append(
                f"chains.{name}: a chain name is lower-case letters, digits, '-' or '_', starting with a letter"
            )
    known = ", ".join(sorted(config.chains)) or "none"
    seen_tokens = _check_tokens(config, known, problems)
    for i, label in enumerate(config.labels):
        chain = config.chains.get(label.chain)
        if chain is None:
            problems.append(f"labels[{i}].chain: unknown chain {label.chain!r} (configured: {known})")
            continue
        # A role on a token names a denom on a Cosmos chain.
        on_token = label.role in _TOKEN_ROLES
        if (problem := _address_problem(chain, label.address, token=on_token)) is not None:
            problems.append(f"labels[{i}].address: {problem}")
            continue
        label.address = _normalise(chain, label.address, token=on_token)
        if label.role in _TOKEN_ROLES and (label.chain, label.address) not in seen_tokens:
            problems.append(
                f"labels[{i}].address: role {label.role!r} needs a token address, and "
                f"{label.address} is not in [[tokens]] for chain {label.chain!r}"
            )
        if label.valid_from and label.valid_to and label.valid_from >= label.valid_to:
            problems.append(f"labels[{i}].valid_to: must be after valid_from")
    for name, chain in config.chains.items():
        if isinstance(chain, SolanaChain | CosmosChain) and not any(t.chain == name for t in config.tokens):
            problems.append(f"chains.{name}: no [[tokens]] for this chain, nothing would be indexed")
        if (
            isinstance(chain, EvmChain)
            and chain.native_symbol is None
            and not any(t.chain == name for t in config.tokens)
        ):
            problems.append(f"chains.{name}: no [[tokens]] and no native_symbol, nothing would be indexed")
    networks = {label.network for label in config.labels}
    for i, assumption in enumerate(config.assumptions):
        if assumption.network != "*" and assumption.network not in networks:
            problems.append(
                f"assumptions[{i}].network: {assumption.network!r} has no labels "
                f"(networks: {', '.join(sorted(networks)) or 'none'}; '*' means every network)"
            )
    return problems
