# The sources the examples of docs/connectors.md talk to, on 127.0.0.1 (ephemeral port, printed
# as "port N"). argv[1] is the API key / token every request must carry.
#   GET /v1/users?apikey=K&offset=&limit=     {"items": [...]} users (nested address, tags)
#   GET /v1/users/{id}/orders?apikey=K        [orders of the user]
#   GET /exports/rates.csv.gz                 a gzip CSV; needs "Authorization: Bearer K" and
#                                             "X-Api-Key: K"
# Every request path is printed to stderr.
import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KEY = sys.argv[1]
USERS = [
    {"id": 1, "name": "Ann", "status": "active", "address": {"city": "Prague"}, "tags": ["a", "b"]},
    {"id": 2, "name": "Bob", "status": "deleted", "address": {"city": "Brno"}, "tags": []},
    {"id": 3, "name": "Cy", "status": "active", "address": {"city": "Ostrava"}, "tags": ["c"]},
]
ORDERS = {
    1: [{"id": 10, "total": 5.5, "status": "paid"}, {"id": 11, "total": 7, "status": "open"}],
    2: [{"id": 20, "total": 1, "status": "paid"}],
    3: [{"id": 30, "total": 1.25, "status": "paid"}],
}
RATES = gzip.compress(b"day,currency,rate\n2026-12-01,EUR,24.31\n2026-12-01,USD,20.95\n"
                      b"2026-12-02,EUR,24.28\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        print(self.path, file=sys.stderr, flush=True)
        url = urlparse(self.path)
        q = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if url.path == "/exports/rates.csv.gz":
            if (self.headers.get("Authorization") != "Bearer " + KEY
                    or self.headers.get("X-Api-Key") != KEY):
                return self.send(401, {"error": "unauthorized"})
            return self.send(200, RATES, "application/gzip")
        if q.get("apikey", [""])[0] != KEY:
            return self.send(401, {"error": "unauthorized"})
        if parts == ["v1", "users"]:
            offset = int(q.get("offset", ["0"])[0])
            limit = int(q.get("limit", ["100"])[0])
            return self.send(200, {"items": USERS[offset:offset + limit]})
        if len(parts) == 4 and parts[:2] == ["v1", "users"] and parts[3] == "orders":
            return self.send(200, ORDERS.get(int(parts[2]), []))
        self.send(404, {"error": "no such endpoint"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
