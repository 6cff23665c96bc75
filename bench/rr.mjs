// Request/response on loopback (sockfd/promises and sync against dgram, net, C and Python, each
// talking to the C echo peer bench/peers/echo.c) is now part of the suite; this file is kept as a
// shortcut for it:  node bench/rr.mjs [options]  =  node bench/index.mjs --only udp-rr,tcp-rr [options]
process.argv.splice(2, 0, '--only', 'udp-rr,tcp-rr');
await import('./index.mjs');
