// HTTP forward proxy (absolute-form requests) and CONNECT tunnels, on Node's own HTTP parser
// (malformed input, oversized headers and slow senders are its job, bounded by the limits
// below). A denied request gets a 403 whose body names the rule and says why, so the agent
// reading it knows what happened; no byte goes upstream.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { CanonicalHost } from './address.js';
import { AddressError, canonicalHost, parseAuthority, parseHostHeader, sameHost, formatHost } from './address.js';
import type { Gateway, Verdict } from './gateway.js';
import { tunnel } from './relay.js';
import { armHeadTimer, clearHeadTimer } from './head-timer.js';
import type { Decision } from '../policy/index.js';

export interface ProxyLimits {
  /** Largest request head accepted (default 16 KiB); larger gets 431. */
  maxHeaderBytes: number;
  /** A request head must arrive within this (default 10 s): slowloris protection. */
  headersTimeoutMs: number;
  /** Idle time after which a tunnel or kept-alive connection is closed (default 5 min). */
  idleTimeoutMs: number;
  /** Upstream connect timeout (default 10 s). */
  connectTimeoutMs: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 5 * 60_000,
  connectTimeoutMs: 10_000,
};

/** The text an agent reads when Cordon refuses a request. */
export function denialBody(d: Decision, target: string): string {
  const why = d.message ?? d.reason;
  return `Cordon denied the connection to ${target}: rule "${d.rule}" (${d.list}) decided ${d.decision}. ${why}\n`;
}

function rawResponse(status: number, text: string, body: string, extra: Record<string, string> = {}): string {
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...extra };
  return `HTTP/1.1 ${status} ${text}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** The end-to-end headers of a request or response (hop-by-hop ones are this hop's only). */
export function endToEndHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, val] of Object.entries(h)) if (!HOP_BY_HOP.has(k) && val !== undefined) out[k] = val;
  return out;
}

/** Sends the upstream response on to the client, counting its body bytes. */
export function relayResponse(ur: http.IncomingMessage, res: http.ServerResponse, onBytes: (n: number) => void): void {
  res.writeHead(ur.statusCode ?? 502, ur.statusMessage, endToEndHeaders(ur.headers));
  ur.on('data', (c: Buffer) => onBytes(c.length));
  ur.pipe(res);
}

/** Opens a TCP connection to exactly the decided address. */
export function connectUpstream(ip: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ip, port, allowHalfOpen: true, noDelay: true });
    const t = setTimeout(() => s.destroy(new Error(`connect to ${ip}:${port} timed out`)), timeoutMs);
    s.once('connect', () => { clearTimeout(t); s.off('error', reject); resolve(s); });
    s.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

export function createHttpProxy(gw: Gateway, limits: ProxyLimits): http.Server {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, noDelay: true } as http.AgentOptions);
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    // How often Node checks headersTimeout; its default (30 s) would let a slowloris
    // connection live far past the limit.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
    keepAliveTimeout: 5_000,
    noDelay: true,
  });
  server.timeout = limits.idleTimeoutMs;

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) { socket.destroy(); return; }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(rawResponse(status, status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request',
      `Cordon egress proxy: ${status === 431 ? 'request head too large' : status === 408 ? 'request head not received in time' : 'malformed HTTP request'}\n`));
  });

  server.on('request', (req, res) => {
    const sock = req.socket as net.Socket;
    clearHeadTimer(sock);
    res.once('finish', () => { if (!sock.destroyed) armHeadTimer(sock, limits.headersTimeoutMs); });
    forward(gw, agent, limits, req, res).catch((e) => {
      gw.onError(e);
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end('Cordon egress proxy: internal error\n');
    });
  });

  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    clearHeadTimer(socket);
    connect(gw, limits, req, socket, head).catch((e) => { gw.onError(e); socket.destroy(); });
  });
  return server;
}

function deny(res: http.ServerResponse, d: Decision, target: string, status = 403): void {
  const body = denialBody(d, target);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body),
    'X-Cordon-Decision': d.decision, 'X-Cordon-Rule': d.rule.replace(/[^\x20-\x7e]/g, '?'), Connection: 'close',
  });
  res.end(body);
}

function badRequest(res: http.ServerResponse, why: string): void {
  const body = `Cordon egress proxy: bad request: ${why}\n`;
  res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

// Encoded separators and dot segments would let `/public/..%2fadmin` match `/public/*` here
// and mean `/admin` upstream: refused on hosts http_rules govern.
const AMBIGUOUS_PATH = /%2f|%5c|%2e|\\/i;

async function forward(gw: Gateway, agent: http.Agent, limits: ProxyLimits, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const raw = req.url ?? '';
  if (!/^http:\/\//i.test(raw)) {
    badRequest(res, raw.startsWith('/') ? 'this is an egress proxy: send absolute-form requests (http://host/path)' : 'only http:// URLs are forwarded; use CONNECT for TLS');
    return;
  }
  let url: URL;
  let host: CanonicalHost;
  try {
    url = new URL(raw);
    if (url.username || url.password) throw new AddressError(raw, 'userinfo (user@) is not accepted in a request URL');
    host = canonicalHost(url.hostname);
  } catch (e) {
    badRequest(res, e instanceof AddressError ? e.reason : 'unparseable URL');
    return;
  }
  const port = url.port ? Number(url.port) : 80;
  if (req.headers.host !== undefined && req.headers.host !== url.host) {
    // (Equal to the URL's own authority text: agreement without a second parse.)
    try {
      const h = parseHostHeader(req.headers.host);
      if (!sameHost(h.host, host) || (h.port ?? 80) !== port) {
        badRequest(res, `Host header ${JSON.stringify(req.headers.host)} does not match the request URL host ${formatHost(host)}:${port}`);
        return;
      }
    } catch (e) {
      badRequest(res, e instanceof AddressError ? `Host header: ${e.reason}` : 'bad Host header');
      return;
    }
  }
  const target = `${formatHost(host)}:${port}`;
  let v: Verdict = await gw.decideConnect(host, port, 'http');
  if (!v.allowed) { deny(res, v.decision, target); return; }
  const name = host.kind === 'name' ? host.host : v.host;
  const governed = gw.httpSubject(name, host.kind === 'ip' ? (v.ip ?? host.ip) : undefined);
  if (governed !== undefined) {
    if (AMBIGUOUS_PATH.test(url.pathname)) { badRequest(res, 'encoded separators or dot segments in the path are refused on hosts http_rules govern'); return; }
    const hd = gw.decider.decideHttp(req.method ?? 'GET', governed, url.pathname, port)!;
    const settled = await gw.decider.settle({ kind: 'http', method: req.method ?? 'GET', host: governed, path: url.pathname, port }, hd);
    v = await gw.record({ ...v, allowed: settled.allowed, decision: settled.decision }, { action: 'http', via: 'http', method: req.method ?? 'GET', path: url.pathname });
    if (!v.allowed) { deny(res, v.decision, `${target}${url.pathname}`); return; }
  }
  const headers = endToEndHeaders(req.headers);
  let bytesUp = 0;
  let bytesDown = 0;
  req.on('data', (c: Buffer) => { bytesUp += c.length; });
  const bodiless = IDEMPOTENT.has(req.method ?? '') && req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
  const send = (retry: boolean): void => {
    const up = http.request({
      host: v.connect!.ip, port: v.connect!.port, method: req.method, path: url.pathname + url.search, headers, agent, setHost: false,
      timeout: limits.connectTimeoutMs,
    });
    up.on('response', (ur) => {
      relayResponse(ur, res, (n) => { bytesDown += n; });
      ur.on('end', () => gw.note({ action: 'close', via: 'http', host: name, ip: v.ip, port, decision: v.decision.decision, rule: v.decision.rule, reason: 'request complete', bytesUp, bytesDown }));
    });
    up.on('timeout', () => up.destroy(new Error('upstream timed out')));
    up.on('error', (e: NodeJS.ErrnoException) => {
      // A kept-alive upstream connection the server closed just as we reused it: send the
      // bodiless idempotent request once more, on a fresh connection (the decision stands:
      // same address, same request).
      if (retry && bodiless && up.reusedSocket && e.code === 'ECONNRESET' && !res.headersSent) {
        send(false);
        return;
      }
      if (!res.headersSent) {
        const body = `Cordon egress proxy: upstream ${target} failed: ${e.message}\n`;
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy();
    });
    if (bodiless) {
      if (req.readableEnded) up.end();
      else { req.resume(); req.once('end', () => up.end()); }
    } else req.pipe(up);
  };
  send(true);
}

export type ConnectOutcome = { ok: true; v: Verdict; name: string | undefined } | { ok: false; response: string };

/**
 * Decides a CONNECT request (target authority and Host header): the same for Cordon's own
 * proxy and for CONNECTs the namespace helper parsed. On refusal, `response` is the complete
 * HTTP response to send before closing.
 */
export async function decideConnectRequest(gw: Gateway, url: string, hostHeader: string | undefined): Promise<ConnectOutcome> {
  const refuse = (status: number, text: string, body: string): ConnectOutcome => ({ ok: false, response: rawResponse(status, text, body) });
  let hp;
  try {
    hp = parseAuthority(url);
    if (hostHeader !== undefined) {
      const h = parseHostHeader(hostHeader);
      if (!sameHost(h.host, hp.host) || (h.port !== undefined && h.port !== hp.port)) {
        return refuse(400, 'Bad Request', `Cordon egress proxy: Host header ${JSON.stringify(hostHeader)} does not match the CONNECT target ${url}\n`);
      }
    }
  } catch (e) {
    return refuse(400, 'Bad Request', `Cordon egress proxy: bad CONNECT target: ${e instanceof AddressError ? e.reason : 'unparseable'}\n`);
  }
  const target = `${formatHost(hp.host)}:${hp.port}`;
  // Hosts http_rules govern are refused inside decideConnect (one rule for every tunnel path).
  const v = await gw.decideConnect(hp.host, hp.port, 'connect');
  const name = hp.host.kind === 'name' ? hp.host.host : v.host;
  if (!v.allowed) return refuse(403, 'Forbidden', denialBody(v.decision, target));
  return { ok: true, v, name };
}

async function connect(gw: Gateway, limits: ProxyLimits, req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const o = await decideConnectRequest(gw, req.url ?? '', req.headers.host);
  if (!o.ok) { socket.end(o.response); return; }
  await openTunnel(gw, limits, socket, o.v, o.name, head, 'connect', () => socket.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
}

/** Connects to the decided address and relays; `onOpen` tells the client the tunnel is up. */
export async function openTunnel(
  gw: Gateway, limits: ProxyLimits, client: net.Socket, v: Verdict, name: string | undefined, head: Buffer,
  via: 'connect' | 'socks5' | 'transparent', onOpen: () => void, onFail?: (e: Error) => void,
): Promise<void> {
  if (v.inspect !== undefined && gw.inspector) {
    // TLS inspection (tls-inspect.ts): terminated here, each request decided, re-originated.
    onOpen();
    gw.inspector.take(client, v, name, via, head);
    return;
  }
  let upstream: net.Socket;
  try {
    upstream = await connectUpstream(v.connect!.ip, v.connect!.port, limits.connectTimeoutMs);
  } catch (e) {
    if (onFail) onFail(e as Error);
    else if (via === 'connect') client.end(rawResponse(502, 'Bad Gateway', `Cordon egress proxy: upstream failed: ${(e as Error).message}\n`));
    else client.destroy();
    return;
  }
  if (client.destroyed) { upstream.destroy(); return; }
  onOpen();
  const base = { via, ip: v.ip, port: v.port, decision: v.decision.decision, rule: v.decision.rule } as const;
  const opts: Parameters<typeof tunnel>[0] = {
    client, upstream, head, idleTimeoutMs: limits.idleTimeoutMs,
    onRefused: (reason) => gw.note({ ...base, host: name, action: 'connect', decision: 'deny', rule: 'host-agreement', reason }),
    onClose: (bytesUp, bytesDown) => gw.note({ ...base, host: name, action: 'close', reason: 'tunnel closed', bytesUp, bytesDown }),
  };
  if (name !== undefined) opts.expectedHost = name;
  tunnel(opts);
}
