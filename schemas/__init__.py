"""Pydantic models at the program's boundaries: the config file, API responses, the flow record."""
