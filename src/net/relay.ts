// Byte relay between a sandbox client and the upstream Cordon connected it to, with the
// first-flight check (inspect.ts) held before any client byte goes upstream. Upstream bytes
// flow to the client at once, so server-speaks-first protocols (SSH, SMTP, databases) work.
import type { Socket } from 'node:net';
import { AddressError, canonicalHost } from './address.js';
import { inspectFirstFlight, MAX_FIRST_FLIGHT } from './inspect.js';

export interface TunnelOptions {
  client: Socket;
  upstream: Socket;
  /** Bytes the client already sent (e.g. after a CONNECT request line). */
  head?: Buffer;
  /** The name the tunnel was decided for; SNI / Host must agree. Undefined: no name to agree with. */
  expectedHost?: string;
  idleTimeoutMs: number;
  /** The first flight named another host (or was malformed); both sockets are already destroyed. */
  onRefused: (reason: string) => void;
  onClose: (bytesUp: number, bytesDown: number) => void;
}

/** Returns a sentence when `seen` disagrees with `expected`, undefined when they agree. */
export function disagreement(expected: string, seen: string, what: string): string | undefined {
  let c;
  try {
    const hostOnly = seen.startsWith('[') ? seen.slice(0, seen.indexOf(']') + 1) : seen.replace(/:\d+$/, '');
    c = canonicalHost(hostOnly);
  } catch (e) {
    if (e instanceof AddressError) return `${what} ${JSON.stringify(seen.slice(0, 100))} is not a valid host`;
    throw e;
  }
  const name = c.kind === 'name' ? c.host : c.ip;
  return name === expected ? undefined : `${what} names ${name} but the connection was decided for ${expected}`;
}

/** The verdict on a first flight seen so far, for a connection decided for `expected`. */
export function judgeFirstFlight(acc: Buffer, expected: string): 'more' | 'pass' | { refuse: string } {
  const r = inspectFirstFlight(acc);
  if (r.kind === 'need-more') return acc.length >= MAX_FIRST_FLIGHT ? { refuse: 'first flight over 16 KiB without a verdict' } : 'more';
  if (r.kind === 'malformed') return { refuse: r.reason };
  const seen = r.kind === 'tls' ? r.sni : r.kind === 'http' ? r.host : undefined;
  const bad = seen === undefined ? undefined : disagreement(expected, seen, r.kind === 'tls' ? 'TLS SNI' : 'Host header');
  return bad ? { refuse: bad } : 'pass';
}

export function tunnel(o: TunnelOptions): void {
  const { client, upstream } = o;
  let up = 0;
  let down = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    client.destroy();
    upstream.destroy();
    o.onClose(up, down);
  };
  client.on('error', finish).on('close', finish).on('timeout', finish);
  upstream.on('error', finish).on('close', finish).on('timeout', finish);
  client.setTimeout(o.idleTimeoutMs);
  upstream.setTimeout(o.idleTimeoutMs);
  upstream.on('data', (c: Buffer) => { down += c.length; });
  upstream.pipe(client);

  const pass = (buffered: Buffer) => {
    if (buffered.length > 0) {
      up += buffered.length;
      upstream.write(buffered);
    }
    client.on('data', (c: Buffer) => { up += c.length; });
    client.pipe(upstream);
  };
  if (o.expectedHost === undefined) {
    pass(o.head ?? Buffer.alloc(0));
    return;
  }
  const expected = o.expectedHost;
  let acc = o.head ?? Buffer.alloc(0);
  const refuse = (reason: string) => {
    done = true;
    client.destroy();
    upstream.destroy();
    o.onRefused(reason);
    o.onClose(0, down);
  };
  const judge = (): boolean => {
    const v = judgeFirstFlight(acc, expected);
    if (v === 'more') return false;
    client.off('data', onFirst);
    client.off('end', onEarlyEnd);
    if (v === 'pass') pass(acc);
    else refuse(v.refuse);
    return true;
  };
  const onFirst = (c: Buffer) => {
    acc = acc.length === 0 ? c : Buffer.concat([acc, c]);
    judge();
  };
  // A client that half-closes before sending anything: pass the (empty) flight along.
  const onEarlyEnd = () => { client.off('data', onFirst); pass(acc); upstream.end(); };
  if (acc.length > 0 && judge()) return;
  client.on('data', onFirst);
  client.once('end', onEarlyEnd);
  // Callers may have paused the socket while deciding; listeners are attached, so flow now.
  client.resume();
}
