"""Change data capture: the change model (events.py) and one reader per source kind."""
