"""``depin-indexer demo``: a three-month scenario on the local chains, the whole pipeline.

:mod:`indexer.demo.runner` runs it; the two scenarios (:mod:`~indexer.demo.evm_scenario`,
:mod:`~indexer.demo.solana_scenario`) are the demo's traffic, played on the chains of
:mod:`indexer.localchains`. Needs the ``demo`` extra (``pip install 'depin-indexer[demo]'``).
"""
