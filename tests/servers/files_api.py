# Files over HTTP on 127.0.0.1 (ephemeral port, printed as "port N") for the HTTP file extractor:
#   /people.csv           a CSV                      /people.csv.gz   the same, gzip-compressed
#   /people.tsv           tab-separated              /events.jsonl    JSON lines
#   /encoded.csv          the CSV with Content-Encoding: gzip
#   /flaky.csv            500 on the first request, then the CSV
#   /limited.csv          429 with Retry-After: 1 on the first request, then the CSV
#   /secure.csv           needs basic auth user:pass (401 otherwise)
#   /bearer.csv           needs Authorization: Bearer tok-123 and X-Api-Key: key-456
#   /cut.csv.gz           a gzip stream cut short
#   /stall.csv            sends the headers and a line, then stalls
import gzip
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CSV = b'id,name\n1,Ann\n2,"Bob, Jr."\n3,\n'
TSV = b'id\tname\n1\tAnn\n2\tBob\n'
JSONL = b'{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view"}\n'
seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        seen[path] = seen.get(path, 0) + 1
        if path == "/people.csv":
            self.send(200, CSV)
        elif path == "/people.csv.gz":
            self.send(200, gzip.compress(CSV), {"Content-Type": "application/gzip"})
        elif path == "/people.tsv":
            self.send(200, TSV)
        elif path == "/events.jsonl":
            self.send(200, JSONL)
        elif path == "/encoded.csv":
            self.send(200, gzip.compress(CSV), {"Content-Encoding": "gzip"})
        elif path == "/flaky.csv":
            self.send(500, b"try later") if seen[path] == 1 else self.send(200, CSV)
        elif path == "/limited.csv":
            if seen[path] == 1:
                self.send(429, b"slow down", {"Retry-After": "1"})
            else:
                self.send(200, CSV)
        elif path == "/secure.csv":
            import base64
            want = "Basic " + base64.b64encode(b"user:pass").decode()
            self.send(200, CSV) if self.headers.get("Authorization") == want else self.send(401, b"who are you")
        elif path == "/bearer.csv":
            ok = (self.headers.get("Authorization") == "Bearer tok-123" and
                  self.headers.get("X-Api-Key") == "key-456")
            self.send(200, CSV) if ok else self.send(403, b"forbidden")
        elif path == "/cut.csv.gz":
            body = gzip.compress(b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(100000)))
            self.send(200, body[: len(body) * 6 // 10])
        elif path == "/stall.csv":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"id,name\n1,a\n")
            self.wfile.flush()
            time.sleep(30)
        elif path == "/requests":
            self.send(200, json.dumps(seen).encode())
        else:
            self.send(404, b"no such file")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("port", server.server_address[1], flush=True)
server.serve_forever()
