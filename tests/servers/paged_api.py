# A small REST API on 127.0.0.1 (ephemeral port, printed as "port N"): GET /items?offset=&limit=
# answers {"items": [...]} pages of ITEMS items with a nested object and an array, and demands
# "Authorization: Bearer <argv[1]>" (401 otherwise). Every request line is appended to argv[2].
# GET /hang never answers; GET /busy answers 429 with "Retry-After: 600". GET /many?offset=&limit=
# &total=N[&change_at=K] answers a JSON array: items offset.. of N generated ones (an object and
# an array each), those from id K on with one more field (a structure that changes late).
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = sys.argv[1]
LOG = sys.argv[2]
ITEMS = [
    {"id": i, "name": "item %d" % i, "price": i * 1.5, "maker": {"country": "CZ" if i % 2 else "DE"},
     "tags": ["t%d" % j for j in range(i % 3)]}
    for i in range(1, 6)
]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(LOG, "a") as f:
            f.write(self.path + "\n")
        url = urlparse(self.path)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            self.answer(401, {"error": "unauthorized"})
            return
        if url.path == "/hang":
            time.sleep(600)
            return
        if url.path == "/busy":
            self.send_response(429)
            self.send_header("Retry-After", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/many":
            q = parse_qs(url.query)
            offset = int(q.get("offset", ["0"])[0])
            limit = int(q.get("limit", ["100"])[0])
            total = int(q.get("total", ["0"])[0])
            change_at = int(q.get("change_at", ["0"])[0])
            page = []
            for i in range(offset + 1, min(offset + limit, total) + 1):
                item = {"id": i, "name": "item %d" % i, "price": i / 4,
                        "maker": {"country": "CZ" if i % 2 else "DE"},
                        "tags": ["t%d" % j for j in range(i % 3 + 1)]}
                if change_at and i >= change_at:
                    item["late"] = "L%d" % i
                page.append(item)
            self.answer(200, page)
            return
        if url.path != "/items":
            self.answer(404, {"error": "no such endpoint"})
            return
        q = parse_qs(url.query)
        offset = int(q.get("offset", ["0"])[0])
        limit = int(q.get("limit", ["100"])[0])
        self.answer(200, {"items": ITEMS[offset:offset + limit]})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
