"""Engines that run the warehouse models (DuckDB by default)."""
