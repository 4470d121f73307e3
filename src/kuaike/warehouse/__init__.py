"""The warehouse: SQL models ODS → DWD → DWS, built incrementally by day, audited, scheduled."""
