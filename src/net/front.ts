// The front door: one listener speaks HTTP proxy and SOCKS5 (told apart by the first byte),
// plus DNS over TCP. Captured connections are in transparent.ts. Nothing here decides: it hands
// canonical targets to the gateway.
import type http from 'node:http';
import net from 'node:net';
import { answerDns } from './dns.js';
import type { Gateway } from './gateway.js';
import type { ProxyLimits } from './http-proxy.js';
import { handleSocks5 } from './socks5.js';
import { armHeadTimer, clearHeadTimer } from './head-timer.js';

/** Sniffs the first byte: 0x05 is SOCKS5, anything else goes to the HTTP proxy parser. */
export function acceptProxyConnection(gw: Gateway, limits: ProxyLimits, server: http.Server, sock: net.Socket): void {
  sock.on('error', () => sock.destroy());
  armHeadTimer(sock, limits.headersTimeoutMs);
  sock.once('readable', function first() {
    const chunk: Buffer | null = sock.read();
    if (chunk === null) { sock.once('readable', first); return; }
    if (chunk[0] === 0x05) { clearHeadTimer(sock); handleSocks5(gw, limits, sock, chunk); return; }
    sock.unshift(chunk);
    server.emit('connection', sock);
  });
}

/** DNS over TCP (RFC 1035 4.2.2 framing: u16 length, message), answered in order. */
export function serveDnsStream(gw: Gateway, sock: net.Socket): void {
  let buf = Buffer.alloc(0);
  let chain = Promise.resolve();
  sock.setTimeout(30_000, () => sock.destroy());
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      chain = chain.then(async () => {
        const out = await answerDns(gw, msg).catch((e) => { gw.onError(e); return undefined; });
        if (out && !sock.destroyed) {
          const hdr = Buffer.alloc(2);
          hdr.writeUInt16BE(out.length);
          sock.write(Buffer.concat([hdr, out]));
        }
      });
    }
    if (buf.length > 70_000) sock.destroy();
  });
  sock.resume();
}
