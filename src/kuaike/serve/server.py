"""uvicorn in a thread of the pipeline process: started after the store opens, stopped first."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import uvicorn

from kuaike.errors import ServeError
from kuaike.serve import locator
from kuaike.serve.app import create_app
from kuaike.serve.auth import check_bind
from kuaike.serve.service import Service

log = logging.getLogger("kuaike.serve")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0  # SIGTERM to exit stays within 10 s with capture's own batch to finish

SWITCH_INTERVAL_S = 0.001
"""How long a thread may hold the GIL while another waits, while serving. Python's default
(5 ms) lets capture's decoding keep the HTTP thread waiting 5 ms at every hand-off — several per
request — which put /api/sql's p99 at 418 ms and /api/kpi's at 142 ms (200 requests/s, capture at
5,000 changes/s, bench/serve.py); at 1 ms: 27 ms each, capture's freshness no worse."""


class Server:
    """The HTTP server of one Service; `start` returns once it listens."""

    def __init__(self, service: Service, host: str, port: int) -> None:
        token = service.settings.serve.token
        check_bind(host, token.get_secret_value() if token else None)
        self.service = service
        self.host = host
        config = uvicorn.Config(
            create_app(service),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # a request line could carry what a user typed
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="kuaike-http", daemon=True)
        self.url = ""

    def start(self) -> Server:
        """Listen, then write the server file next to the store."""
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(
                    f"cannot serve on {self.host}:{self._server.config.port}; is the port "
                    "taken? choose another with --port or serve.port"
                )
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}"
        store = Path(self.service.store.path)
        locator.write(store, locator.ServerInfo(self.url, self.service.pid, str(store.resolve())))
        log.info("serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Remove the server file, then stop answering (open connections get 2 s)."""
        locator.remove(Path(self.service.store.path), self.service.pid)
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        sys.setswitchinterval(self._switch_interval)
