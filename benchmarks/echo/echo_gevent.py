"""Python gevent's echo server (StreamServer, one greenlet per connection)."""
import socket
import sys

from gevent.server import StreamServer


def handle(sock, _addr):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = sock.recv(4096)
        if not data:
            break
        sock.sendall(data)


server = StreamServer(("127.0.0.1", int(sys.argv[1])), handle, backlog=1024)
server.init_socket()
print("ready", flush=True)
server.serve_forever()
