#!/usr/bin/env python3
"""Stand-in HTTP(S) endpoints for the degraded-mode check's tests (standard library only).

  GET  /v1/sys/health  -> --health-status (Vault's health endpoint; 200 active, 503 sealed)
  GET  /ready          -> 200 "ready" (the central log endpoint's readiness)
  POST anything        -> 200; the body is saved as RECORD_DIR/<n>.json (the emergency webhook)

Listens on 127.0.0.1 only, on --port (0: the kernel picks a free one) and writes the port it got to
--port-file once it accepts connections, so a test never races for a port.
"""
import argparse
import http.server
import os
import ssl
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--record-dir")
    parser.add_argument("--health-status", type=int, default=200)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    received = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            if path == "/v1/sys/health":
                self._reply(args.health_status, b'{"initialized":true}')
            elif path == "/ready":
                self._reply(200, b"ready\n", "text/plain")
            else:
                self._reply(404, b"{}")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if args.record_dir:
                received["n"] += 1
                tmp = os.path.join(args.record_dir, f".{received['n']}.tmp")
                with open(tmp, "wb") as f:
                    f.write(body)
                os.rename(tmp, os.path.join(args.record_dir, f"{received['n']}.json"))
            self._reply(200, b"{}")

        def log_message(self, format: str, *log_args: object) -> None:
            sys.stderr.write("fake_endpoints: " + (format % log_args) + "\n")

    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
