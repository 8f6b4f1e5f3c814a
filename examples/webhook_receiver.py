"""A webhook receiver for Porteiro, with nothing but the standard library.

    PORTEIRO_SECRET=shared-secret python examples/webhook_receiver.py 9000

It checks every POST's signature (HMAC-SHA256 over "<timestamp>.<body>" with the shared
secret, in ``X-Porteiro-Signature``), refuses stale or forged ones with 401, ignores
repeats of an event it already has (delivery is at least once: the same
``X-Porteiro-Event-Id`` may come twice), and prints each event's summary.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("PORTEIRO_SECRET", "shared-secret").encode()
MAX_AGE = 300  # seconds: older signatures are replays
seen: set[str] = set()  # use your database's unique key in production


class Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        stamp = self.headers.get("X-Porteiro-Timestamp", "0")
        expected = "sha256=" + hmac.new(SECRET, stamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= MAX_AGE
        if not fresh or not hmac.compare_digest(
                expected, self.headers.get("X-Porteiro-Signature", "")):
            self.send_response(401)
            self.end_headers()
            return
        event_id = self.headers["X-Porteiro-Event-Id"]
        if event_id not in seen:
            seen.add(event_id)
            event = json.loads(body)
            print(event_id, event["device"], event["summary"], flush=True)  # noqa: T201
        self.send_response(200)  # 2xx = delivered; 4xx = refused for good; else retried
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: one line per event is printed above."""


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
