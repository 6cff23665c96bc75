# The seed's Python UDP client, adapted for tests:
#   python3 udp_client.py port [name ...]   (names default to Michael Tracy Sarah)
# Sends each name to 127.0.0.1:port and prints each reply (utf-8), one per line.
# recv times out after 10 s.
import socket
import sys

port = int(sys.argv[1])
names = [n.encode('utf-8') for n in sys.argv[2:]] or [b'Michael', b'Tracy', b'Sarah']

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
for data in names:
    # 发送数据:
    s.sendto(data, ('127.0.0.1', port))
    # 接收数据:
    print(s.recv(1024).decode('utf-8'), flush=True)
s.close()
