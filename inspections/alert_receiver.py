"""A webhook receiver for Alertmanager, as an example of where alerts go: each alert of each
notification written as one JSON line (status, labels, annotations) to stdout, or appended to
``--out FILE``. A city would put its SMS gateway or duty roster here.

    python -m inspections.alert_receiver [--host 127.0.0.1] [--port 5001] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def lines(notification: dict) -> list[str]:
    """One line a alert: Alertmanager's webhook body holds them in ``alerts``."""
    return [json.dumps({"status": a.get("status"), "labels": a.get("labels", {}),
                        "annotations": a.get("annotations", {}),
                        "receiver": notification.get("receiver")}, ensure_ascii=False)
            for a in notification.get("alerts", [])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--out", help="append here instead of stdout")
    args = parser.parse_args(argv)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                written = lines(json.loads(body))
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            text = "".join(line + "\n" for line in written)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_) -> None:  # the alerts are the log
            pass

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
