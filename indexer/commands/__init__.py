"""One module per CLI command: ``register(subparsers)`` and the handler it installs."""
