// The seed's udp_server.py, with sockfd: bind, then recvfrom/sendto "Hello, <name>!" for each datagram.
//   node examples/udp-server.js [port=9999] [messages=Infinity]
// Prints "Bind UDP on <port>..." and "Received from <address>:<port>." as the Python original does.
const s = require('sockfd');
const p = require('sockfd/promises');

async function main() {
  const port = Number(process.argv[2] ?? 9999);
  const limit = Number(process.argv[3] ?? Infinity);
  const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
  s.bind(fd, { family: s.AF_INET, address: '127.0.0.1', port });
  console.log(`Bind UDP on ${s.getsockname(fd).port}...`);
  const data = Buffer.alloc(1024);
  for (let n = 0; n < limit; n++) {
    const { bytes, address } = await p.recvfrom(fd, data);
    console.log(`Received from ${address.address}:${address.port}.`);
    await p.sendto(fd, Buffer.from(`Hello, ${data.toString('utf8', 0, bytes)}!`), undefined, 0, address);
  }
  s.close(fd);
}

main();
