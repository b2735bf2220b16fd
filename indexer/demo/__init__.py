"""``depin-indexer demo``: local chains, a three-month scenario, the whole pipeline."""
