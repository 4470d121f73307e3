"""PostgreSQL capture: setup checks and slot (setup.py), the snapshot copy (snapshot.py), the
pgoutput decoder (pgoutput.py, columns.py), the streaming loop (stream.py), its type map
(types.py) and driver-error map (errors.py), driven by `PostgresCapture` (capture.py)."""
