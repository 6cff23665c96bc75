# A Python TCP client for tests:
#   python3 tcp_client.py port [message='你好，这是客户端!']
# Connects to 127.0.0.1:port, sends the message (utf-8), half-closes its side, then writes what
# it receives to stdout until EOF and exits. Every socket operation times out after 10 s.
import socket
import sys


def tcp_client(port, message):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(('127.0.0.1', port))
    s.sendall(message.encode('utf-8'))
    s.shutdown(socket.SHUT_WR)
    received = b''
    while True:
        data = s.recv(1024)
        if not data:
            break
        received += data
    s.close()
    sys.stdout.buffer.write(received)
    sys.stdout.flush()


if __name__ == '__main__':
    tcp_client(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else '你好，这是客户端!')
