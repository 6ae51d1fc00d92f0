"""The ceiling of a web server: a WSGI app that answers 12 bytes and does nothing else (bench/server_bench.py)."""

BODY = b"Hello world\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", list(HEADERS))
    return [BODY]
