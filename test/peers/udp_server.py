# The seed's Python UDP server, adapted for tests:
#   python3 udp_server.py [port=0] [messages=3]
# Binds 127.0.0.1, prints the bound port on the first line of stdout, answers each datagram with
# b'Hello, %s!' % data, and exits after `messages` datagrams. recvfrom times out after 10 s.
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
messages = int(sys.argv[2]) if len(sys.argv) > 2 else 3

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
# 绑定端口:
s.bind(('127.0.0.1', port))
port = s.getsockname()[1]
print(port, flush=True)
print('Bind UDP on %d...' % port, flush=True)
for _ in range(messages):
    # 接收数据:
    data, addr = s.recvfrom(1024)
    print('Received from %s:%s.' % addr, flush=True)
    s.sendto(b'Hello, %s!' % data, addr)
s.close()
