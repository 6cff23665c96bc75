// The seed's udp_client.py, with sockfd: send each name, print the server's reply.
//   node examples/udp-client.js [port=9999] [names...=Michael Tracy Sarah]
const s = require('sockfd');
const p = require('sockfd/promises');

async function main() {
  const port = Number(process.argv[2] ?? 9999);
  const names = process.argv.length > 3 ? process.argv.slice(3) : ['Michael', 'Tracy', 'Sarah'];
  const fd = s.socket(s.AF_INET, s.SOCK_DGRAM);
  const server = { family: s.AF_INET, address: '127.0.0.1', port };
  const reply = Buffer.alloc(1024);
  for (const name of names) {
    await p.sendto(fd, Buffer.from(name), undefined, 0, server);
    const n = await p.recv(fd, reply, { timeout: 5000 });
    console.log(reply.toString('utf8', 0, n));
  }
  s.close(fd);
}

main();
