"""From flows to figures: reference data in the database, and the incremental refresh."""
