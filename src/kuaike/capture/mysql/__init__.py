"""MySQL/MariaDB capture: setup checks (setup.py), the consistent snapshot (snapshot.py), the
binlog reader (binlog.py, positions.py), batches of whole transactions (source.py), its type map
(types.py) and driver-error map (errors.py), driven by `MySQLCapture` (capture.py)."""
