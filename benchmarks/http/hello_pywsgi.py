"""gevent's pywsgi (Python): 200 "Hello, World!", no access log."""
import sys

from gevent.pywsgi import WSGIServer


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8080").rsplit(":", 1)
WSGIServer((host, int(port)), app, log=None).serve_forever()
