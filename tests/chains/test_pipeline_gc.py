"""While an ingestor syncs, the collector's young generation is collected less often."""

from __future__ import annotations

import gc

import pytest

from indexer.chains.pipeline import INGEST_GC_THRESHOLD, fewer_collections


def test_the_threshold_is_raised_while_ingesting_and_restored_by_the_last_one_out() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        raised = gc.get_threshold()
        with fewer_collections():  # a second chain syncing in the same process
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised, "the first sync is still running"
    assert raised == (max(INGEST_GC_THRESHOLD, before[0]), *before[1:])
    assert gc.get_threshold() == before


def test_an_error_still_restores_the_threshold() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a sync that fails")
    assert gc.get_threshold() == before
