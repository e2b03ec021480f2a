"""A TCP proxy on 127.0.0.1 between the console and a Controller, to lose or hold what TLS
carries without reading it: the bytes stay end-to-end encrypted, the proxy only counts them.

Modes, switched while it runs (``proxy.mode = ...``):

- ``pass``: forward both ways.
- ``drop_answer``: once a connection has carried more than ``threshold`` bytes from the client
  (a deploy's body, not a login), whatever the server sends back on it is thrown away and the
  connection is closed: the request arrived, its answer is lost.
- ``hold_answer``: the same, but the answer is kept (not forwarded) while the client waits:
  the request was applied and the client has not heard.
- ``hold_upload``: client bytes beyond ``threshold`` are kept from the server: the request
  never arrives whole.

``held`` is set once something is being held or dropped, so a test waits for that moment.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Proxy:
    def __init__(self, target_port: int, *, threshold: int = 8192) -> None:
        self.target_port = target_port
        self.threshold = threshold
        self.mode = "pass"
        self.held = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            uploaded = [0]
            threading.Thread(target=self._pump_up, args=(client, server, uploaded),
                             daemon=True).start()
            threading.Thread(target=self._pump_down, args=(server, client, uploaded),
                             daemon=True).start()

    def _pump_up(self, client: socket.socket, server: socket.socket, uploaded: list[int]) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                uploaded[0] += len(data)
                if self.mode == "hold_upload" and uploaded[0] > self.threshold:
                    self.held.set()
                    continue
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _pump_down(self, server: socket.socket, client: socket.socket,
                   uploaded: list[int]) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                big = uploaded[0] > self.threshold
                if big and self.mode == "drop_answer":
                    self.held.set()
                    client.close()
                    server.close()
                    return
                if big and self.mode == "hold_answer":
                    self.held.set()
                    continue
                client.sendall(data)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextmanager
def proxy_to(url: str, **options: int) -> Iterator[Proxy]:
    proxy = Proxy(int(url.rsplit(":", 1)[1]), **options)
    try:
        yield proxy
    finally:
        proxy.close()
