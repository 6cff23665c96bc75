// The seed's Node `net` server, with sockfd: greet each client, print what it sends, notice when it
// leaves.
//   node examples/greeting-server.js [port=3000] [clients=Infinity]
const s = require('sockfd');
const p = require('sockfd/promises');

async function serve(fd) {
  console.log('客户端已连接');
  await p.write(fd, Buffer.from('你好，来自服务器的问候!\n'));
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = await p.read(fd, buf);
    if (n === 0) break;
    console.log('收到客户端数据:', buf.toString('utf8', 0, n));
    s.shutdown(fd, s.SHUT_WR); // the seed's client ends the conversation after one reply
  }
  console.log('客户端已断开连接');
  s.close(fd);
}

async function main() {
  const port = Number(process.argv[2] ?? 3000);
  const limit = Number(process.argv[3] ?? Infinity);
  const server = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.setsockopt(server, s.SOL_SOCKET, s.SO_REUSEADDR, true);
  s.bind(server, { family: s.AF_INET, address: '127.0.0.1', port });
  s.listen(server);
  console.log(`服务器正在监听端口 ${s.getsockname(server).port}`);
  const served = [];
  for (let n = 0; n < limit; n++) served.push(serve((await p.accept(server)).fd));
  await Promise.all(served);
  s.close(server);
}

main();
