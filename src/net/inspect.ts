// First-flight inspection of a tunnel: what the client sends before any byte goes upstream.
// For TLS we read the ClientHello's server_name; for plain HTTP the Host header. Either must
// name the host the tunnel was decided for (CONNECT target, SOCKS5 name, or the name behind a
// synthetic DNS address), so a tunnel opened for `allowed.test` cannot carry a request for
// `evil.test` (domain fronting at the SNI/Host level).
//
// NOT covered: TLS 1.3 Encrypted Client Hello (the outer SNI is checked; ECH's inner name is
// not visible without terminating TLS), and anything after the first request on a kept-alive
// plain-HTTP tunnel (use the forward proxy, where each request is decided, for that).

export const MAX_FIRST_FLIGHT = 16 * 1024 + 5;

export type Inspection =
  | { kind: 'tls'; sni?: string }
  | { kind: 'http'; host?: string }
  | { kind: 'other' }
  | { kind: 'need-more' }
  | { kind: 'malformed'; reason: string };

const HTTP_METHOD = /^[A-Z]{3,10} /;

/** Looks at the bytes seen so far; `need-more` until a verdict is possible. */
export function inspectFirstFlight(buf: Buffer): Inspection {
  if (buf.length === 0) return { kind: 'need-more' };
  if (buf[0] === 0x16) return inspectTls(buf);
  const prefix = buf.subarray(0, Math.min(buf.length, 11)).toString('latin1');
  if (HTTP_METHOD.test(prefix) || (buf.length < 11 && /^[A-Z]+$/.test(prefix))) return inspectHttp(buf);
  return { kind: 'other' };
}

function inspectHttp(buf: Buffer): Inspection {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length >= MAX_FIRST_FLIGHT ? { kind: 'malformed', reason: 'HTTP header over 16 KiB' } : { kind: 'need-more' };
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  if (!HTTP_METHOD.test(lines[0] ?? '')) return { kind: 'other' };
  const hosts = lines.slice(1).filter((l) => /^host\s*:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
  if (hosts.length > 1) return { kind: 'malformed', reason: 'more than one Host header' };
  return hosts.length === 1 ? { kind: 'http', host: hosts[0]! } : { kind: 'http' };
}

function inspectTls(buf: Buffer): Inspection {
  if (buf.length < 5) return { kind: 'need-more' };
  const recLen = buf.readUInt16BE(3);
  if (buf[1] !== 0x03 || recLen < 4 || recLen > 16384) return { kind: 'malformed', reason: 'not a TLS handshake record' };
  if (buf.length < 5 + recLen) return { kind: 'need-more' };
  // A ClientHello larger than one record (rare; post-quantum key shares can do it) would need
  // reassembly; we parse what the first record holds and refuse if the extensions are cut.
  const hs = buf.subarray(5, 5 + recLen);
  if (hs[0] !== 0x01) return { kind: 'malformed', reason: 'first TLS handshake message is not a ClientHello' };
  const hsLen = hs.readUIntBE(1, 3);
  const body = hs.subarray(4, 4 + hsLen);
  if (body.length < hsLen) return { kind: 'malformed', reason: 'ClientHello spans several TLS records' };
  let o = 2 + 32; // version, random
  if (o >= body.length) return { kind: 'malformed', reason: 'short ClientHello' };
  o += 1 + body[o]!; // session id
  if (o + 2 > body.length) return { kind: 'malformed', reason: 'short ClientHello' };
  o += 2 + body.readUInt16BE(o); // cipher suites
  if (o + 1 > body.length) return { kind: 'malformed', reason: 'short ClientHello' };
  o += 1 + body[o]!; // compression
  if (o === body.length) return { kind: 'tls' };
  if (o + 2 > body.length) return { kind: 'malformed', reason: 'short ClientHello' };
  const extEnd = o + 2 + body.readUInt16BE(o);
  if (extEnd > body.length) return { kind: 'malformed', reason: 'ClientHello extensions truncated' };
  o += 2;
  let sni: string | undefined;
  while (o + 4 <= extEnd) {
    const type = body.readUInt16BE(o);
    const len = body.readUInt16BE(o + 2);
    const ext = body.subarray(o + 4, o + 4 + len);
    if (ext.length < len) return { kind: 'malformed', reason: 'ClientHello extension truncated' };
    if (type === 0) {
      if (sni !== undefined) return { kind: 'malformed', reason: 'two server_name extensions' };
      // server_name_list: u16 len, then entries (u8 type, u16 len, name); only host_name (0).
      let p = 2;
      const names: string[] = [];
      while (p + 3 <= ext.length) {
        const nt = ext[p]!;
        const nl = ext.readUInt16BE(p + 1);
        const name = ext.subarray(p + 3, p + 3 + nl);
        if (nt === 0) names.push(name.toString('latin1'));
        p += 3 + nl;
      }
      if (names.length !== 1) return { kind: 'malformed', reason: 'server_name must hold exactly one host name' };
      sni = names[0]!;
    }
    o += 4 + len;
  }
  return sni === undefined ? { kind: 'tls' } : { kind: 'tls', sni };
}
