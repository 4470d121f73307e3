"""The carrier's business systems: schemas, dictionary, simulator, private database servers."""
