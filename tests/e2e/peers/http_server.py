"""A real HTTP service in another process, for the real-peers end-to-end tests.

Listens on 127.0.0.1 on a port the OS picks, prints `listening on http://127.0.0.1:PORT` as its
first line, and answers `GET /delay?ms=N` with `ok` after N milliseconds of real time. It exits
when its standard input closes, so it never outlives the test that started it.
"""

import http.server
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        time.sleep(int(query.get("ms", ["0"])[0]) / 1000)
        body = b"ok"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
