// The seed's Node `net` client, with sockfd: connect, write a greeting, print what the server sends
// until it closes the connection.
//   node examples/tcp-client.js [port=3000] [message=你好，这是客户端!]
const s = require('sockfd');
const p = require('sockfd/promises');

async function main() {
  const port = Number(process.argv[2] ?? 3000);
  const message = process.argv[3] ?? '你好，这是客户端!';
  const client = s.socket(s.AF_INET, s.SOCK_STREAM);
  await p.connect(client, { family: s.AF_INET, address: '127.0.0.1', port }, { timeout: 5000 });
  console.log('已连接到服务器');
  await p.write(client, Buffer.from(message));
  const chunks = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = await p.read(client, buf, { timeout: 5000 });
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  process.stdout.write(Buffer.concat(chunks).toString());
  console.log('已从服务器断开');
  s.close(client);
}

main();
