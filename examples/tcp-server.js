// The seed's Python TCP server, with sockfd: socket -> bind -> listen(5) -> accept, send a welcome,
// close the connection; loop for the next client.
//   node examples/tcp-server.js [port=9999] [clients=Infinity]
const s = require('sockfd');
const p = require('sockfd/promises');

async function main() {
  const port = Number(process.argv[2] ?? 9999);
  const limit = Number(process.argv[3] ?? Infinity);
  const serversocket = s.socket(s.AF_INET, s.SOCK_STREAM);
  s.setsockopt(serversocket, s.SOL_SOCKET, s.SO_REUSEADDR, true);
  s.bind(serversocket, { family: s.AF_INET, address: '127.0.0.1', port });
  s.listen(serversocket, 5); // 设置最大连接数，超过后排队
  console.log(`listening on ${s.getsockname(serversocket).port}`);
  for (let n = 0; n < limit; n++) {
    const { fd: clientsocket, address } = await p.accept(serversocket);
    console.log(`连接地址：('${address.address}', ${address.port})`);
    await p.send(clientsocket, Buffer.from('欢迎访问TCP服务器！' + '\r\n', 'utf8'));
    s.close(clientsocket);
  }
  s.close(serversocket);
}

main();
