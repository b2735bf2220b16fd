"""The read-only JSON API over the ``analytics`` views."""
