"""The data service of `kuaike run`: HTTP API (FastAPI, uvicorn), read-only SQL console, metrics.

    service = Service(store, settings, status=..., build_lock=...)   # built by the pipeline
    server = Server.start(service, "127.0.0.1", 8765)               # + the server file
    ...
    server.stop()

Every route reads through a cursor of its own on the pipeline's store connection; the CLI finds
the running server through the server file next to the store (`locator`) and talks to it with
`client`.
"""
