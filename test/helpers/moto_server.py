"""Runs moto's server for the tests: one request at a time, on a free loopback port.

moto's own `moto_server` serves requests on threads, and moto's backends are not guaranteed
thread-safe. Served one request at a time, every call (a conditional write, a transaction) is
applied whole before the next one starts — which is what DynamoDB guarantees for a single
conditional write or transaction — so concurrency tests that race clients against it exercise
our optimistic-concurrency logic, not moto's locking.

Prints `MOTO_READY <port>` once listening. Exits when its parent process goes away, so a
crashed test run never leaves a server behind.
"""

import os
import sys
import threading
import time

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

import moto_extensions


def watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1)
        try:
            os.kill(parent_pid, 0)
        except OSError:
            os._exit(0)


def main() -> None:
    moto_extensions.install()
    host = "127.0.0.1"
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    parent_pid = int(sys.argv[2]) if len(sys.argv) > 2 else os.getppid()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=False, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.port)
    threading.Thread(target=watch_parent, args=(parent_pid,), daemon=True).start()
    print(f"MOTO_READY {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
