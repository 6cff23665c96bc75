# The seed's Python TCP server, adapted for tests:
#   python3 tcp_server.py [port=0] [clients=1]
# Binds 127.0.0.1 (never gethostname), prints the bound port on the first line of stdout, sends
# '欢迎访问TCP服务器！\r\n' (utf-8) to each client and closes it, and exits after `clients` clients.
# Every socket has a timeout, so it can never hang.
import socket
import sys


def tcp_server(port, clients):
    # 创建 socket 对象
    serversocket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    serversocket.settimeout(10)
    serversocket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    # 绑定端口号
    serversocket.bind(('127.0.0.1', port))

    # 设置最大连接数，超过后排队
    serversocket.listen(5)
    print(serversocket.getsockname()[1], flush=True)

    for _ in range(clients):
        # 建立客户端连接
        clientsocket, addr = serversocket.accept()
        clientsocket.settimeout(10)
        print(f"连接地址：{str(addr)}", flush=True)

        msg = '欢迎访问TCP服务器！' + "\r\n"
        clientsocket.sendall(msg.encode('utf-8'))
        clientsocket.close()
    serversocket.close()


if __name__ == '__main__':
    tcp_server(int(sys.argv[1]) if len(sys.argv) > 1 else 0,
               int(sys.argv[2]) if len(sys.argv) > 2 else 1)
