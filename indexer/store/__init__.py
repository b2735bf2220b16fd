"""Postgres: where it is (embedded or not), migrations, and the one atomic writer."""
