"""The benchmark's mirror: Python's ``http.server``, set up the way real mirrors' servers are.

``python benchmarks/mirror_server.py PORT DIRECTORY`` serves DIRECTORY on 127.0.0.1:PORT.

The server shares the machine's cores with the installer it serves, which a real mirror on
another host does not; each change below removes a cost that nginx or S3 would not put on the
installer's machine:

* a listen backlog of 128 instead of socketserver's 5: with 5, the plan's concurrent
  connections sometimes overflowed it, and each dropped SYN stalled an install for the 1 s TCP
  retransmit (seen as ``TcpExtListenOverflows``);
* file bodies sent with ``sendfile(2)`` instead of a Python copy loop (~0.2 s of CPU per
  310 MiB);
* HTTP/1.1 keep-alive with ``TCP_NODELAY`` (nginx's defaults; keep-alive without NODELAY
  stalls small responses on delayed ACKs) instead of a connection and a thread per request;
* single ``Range`` requests answered with 206, as every real mirror does: without them each
  64 KiB build-prefix peek made the server start sending the whole tarball.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
from typing import Any

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    _span: tuple[int, int] | None = None

    def send_head(self) -> Any:
        self._span = None
        wanted = _RANGE.match(self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if wanted is None or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        start = int(wanted.group(1))
        end = min(int(wanted.group(2)) if wanted.group(2) else size - 1, size - 1)
        if start >= size or end < start:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller (do_GET)
        self._span = (start, end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return handle

    def copyfile(self, source: Any, outputfile: Any) -> None:
        offset, count = self._span or (0, None)
        self.connection.sendfile(source, offset, count)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    port, root = int(sys.argv[1]), sys.argv[2]
    http.server.ThreadingHTTPServer.request_queue_size = 128
    handler = functools.partial(MirrorHandler, directory=root)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
