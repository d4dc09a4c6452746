"""Tiny HTTP server for the fault lab (standard library only).

Run as a script inside the ISP namespace:

    python3 httpd.py --bind 203.0.113.80 --port 80 --mode connectivity
    python3 httpd.py --bind 203.0.113.81 --port 80 --mode portal

connectivity: GET /generate_204 -> 204, GET / -> 200 "lab web", else 404.
portal:       GET /notice -> 200 HTML notice, every other path -> 302 to the notice.

Logs go to stderr only. Readiness: the port accepts connections.
"""
import argparse
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORTAL_HOST = "portal.lab.test"
NOTICE_PATH = "/notice"
NOTICE_URL = f"http://{PORTAL_HOST}{NOTICE_PATH}?reason=arrears"
WEB_BODY = b"lab web\n"
NOTICE_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Service suspended</title></head>\n"
    b"<body><h1>Lab Telecom</h1>\n"
    b"<p>Your broadband service is suspended because of arrears. "
    b"Please call 10000.</p></body></html>\n"
)


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind() calls socket.getfqdn() on the bound address:
        # a reverse DNS lookup that hangs for seconds in a namespace whose
        # resolver is unreachable. Bind like a plain TCP server instead.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class LabHandler(BaseHTTPRequestHandler):
    server_version = "LabHTTPd/1.0"
    mode = "connectivity"

    def do_GET(self):
        self._respond(send_body=True)

    def do_HEAD(self):
        self._respond(send_body=False)

    def _respond(self, send_body):
        path = urlsplit(self.path).path
        if self.mode == "portal":
            status, body, headers = self._portal(path)
        else:
            status, body, headers = self._connectivity(path)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    @staticmethod
    def _connectivity(path):
        if path == "/generate_204":
            return 204, b"", []
        if path == "/":
            return 200, WEB_BODY, [("Content-Type", "text/plain; charset=utf-8")]
        return 404, b"not found\n", [("Content-Type", "text/plain; charset=utf-8")]

    @staticmethod
    def _portal(path):
        if path == NOTICE_PATH:
            return 200, NOTICE_BODY, [("Content-Type", "text/html; charset=utf-8")]
        return 302, b"", [("Location", NOTICE_URL)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--mode", choices=("connectivity", "portal"), required=True)
    args = parser.parse_args(argv)

    handler = type("Handler", (LabHandler,), {"mode": args.mode})
    with LabServer((args.bind, args.port), handler) as server:
        print(f"httpd {args.mode} on {args.bind}:{args.port}", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
