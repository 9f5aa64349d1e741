// Opt-in TLS inspection for hosts that http_rules govern (policy `tls_inspection.enabled`, or
// `cordon run --inspect-tls`). Without it such hosts are reachable only as plain HTTP through the
// forward proxy and every tunnel to them is refused (gateway.ts, `http-rules-uninspectable`).
// With it, a CONNECT or SOCKS5 tunnel (any port) or a captured connection to port 443 for such
// a host is terminated here with a leaf minted by the session CA (ca.ts), each HTTP/1.1 request
// inside is decided by http_rules like a forward-proxy request, and allowed requests are sent
// over a new TLS connection to the address the gateway decided, verifying the upstream's
// certificate against the system trust store plus `tls_inspection.upstream_ca`. Hosts no
// http_rules entry names are never inspected: their tunnels stay end-to-end TLS.
//
// Agreement: the TLS SNI (when sent) and every request's Host header must name the host the
// tunnel was decided for (CONNECT target, SOCKS5 name, or the name behind a synthetic DNS
// address; the address when the client connected to a raw IP). Otherwise the handshake or the
// request is refused, and nothing goes upstream.
//
// NOT covered: HTTP/2 (ALPN offers http/1.1 only; clients fall back), WebSocket and other
// upgrades on inspected hosts (refused), client certificates towards the upstream, certificate
// pinning in clients (they fail closed: they do not trust the session CA), revocation checks
// upstream (Node does none), captured (proxy-ignoring) plain HTTP or non-443 ports to governed
// hosts (still refused: use HTTP_PROXY or HTTPS).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { AddressError, canonicalHost, formatHost, parseHostHeader, sameHost } from './address.js';
import type { SessionCa } from './ca.js';
import type { Gateway, Verdict, Via } from './gateway.js';
import type { ProxyLimits } from './http-proxy.js';
import { denialBody, endToEndHeaders, relayResponse } from './http-proxy.js';
import type { Decision } from '../policy/index.js';

export interface InspectorOptions {
  ca: SessionCa;
  /** PEM certificates trusted for upstream verification (system store + policy/test extras). */
  upstreamCa: string[];
  limits: ProxyLimits;
}

interface Ctx {
  v: Verdict;
  /** The host the tunnel was decided for: the name, else the address. */
  identity: string;
  /** What http_rules match (the governed name or address). */
  subject: string;
  via: Via;
}

// Same rule as the forward proxy: `/public/..%2fadmin` must not match `/public/**` here and
// mean `/admin` upstream.
const AMBIGUOUS_PATH = /%2f|%5c|%2e|\\/i;
// Codes Node/OpenSSL give when the upstream's certificate does not verify.
const CERT_ERROR = /CERT|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME|UNABLE_TO_GET|CHAIN/;

export class TlsInspector {
  private readonly ctxs = new WeakMap<object, Ctx>();
  private readonly server: http.Server;
  private readonly agent: https.Agent;
  private readonly contexts = new Map<string, tls.SecureContext>();
  // One context for every upstream connection: passing `ca` per request would make the agent's
  // pool key (which concatenates it) hundreds of kilobytes long.
  private readonly upstreamCtx: tls.SecureContext;

  constructor(private readonly gw: Gateway, private readonly o: InspectorOptions) {
    const limits = o.limits;
    this.upstreamCtx = tls.createSecureContext({ ca: o.upstreamCa, minVersion: 'TLSv1.2' });
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
    this.server = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes, headersTimeout: limits.headersTimeoutMs, requestTimeout: 0,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))), keepAliveTimeout: 5_000,
    });
    this.server.timeout = limits.idleTimeoutMs;
    this.server.on('request', (req, res) => {
      this.request(req, res).catch((e) => {
        gw.onError(e);
        if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('Cordon egress proxy: internal error\n');
      });
    });
    this.server.on('upgrade', (req: http.IncomingMessage, sock: Duplex) => {
      const ctx = this.ctxs.get(req.socket);
      const body = `Cordon refused a protocol upgrade (${String(req.headers.upgrade).slice(0, 40)}) to ${ctx?.identity ?? 'this host'}: requests to hosts http_rules govern are inspected one by one, and an upgraded stream cannot be.\n`;
      if (ctx) gw.note({ action: 'http', via: ctx.via, host: ctx.identity, ip: ctx.v.ip, port: ctx.v.port, method: req.method ?? '', path: (req.url ?? '').slice(0, 200), decision: 'deny', rule: 'tls-inspect-upgrade', reason: 'protocol upgrade on an inspected host' });
      sock.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
    this.server.on('clientError', (_e, sock: Duplex) => { sock.destroy(); });
  }

  private secureContext(identity: string): tls.SecureContext {
    let c = this.contexts.get(identity);
    if (!c) {
      const leaf = this.o.ca.leaf(identity);
      c = tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' });
      if (this.contexts.size > 10_000) this.contexts.clear();
      this.contexts.set(identity, c);
    }
    return c;
  }

  /**
   * Takes over a client stream that should now start a TLS handshake, for a tunnel the gateway
   * allowed with `v.inspect` set. `head`: client bytes already read.
   */
  take(client: Duplex, v: Verdict, name: string | undefined, via: Via, head?: Buffer): void {
    const identity = name ?? v.host ?? v.ip ?? '';
    const ctx: Ctx = { v, identity, subject: v.inspect ?? identity, via };
    const base = { via, host: identity, ip: v.ip, port: v.port } as const;
    if (head && head.length > 0) client.unshift(head);
    let sniRefusal: string | undefined;
    const t = new tls.TLSSocket(client as net.Socket, {
      isServer: true,
      secureContext: this.secureContext(identity),
      ALPNProtocols: ['http/1.1'],
      SNICallback: (sni, cb) => {
        const bad = disagrees(identity, sni);
        if (bad) {
          sniRefusal = `TLS SNI ${bad}`;
          cb(new Error(sniRefusal), null as unknown as tls.SecureContext);
          return;
        }
        cb(null, this.secureContext(identity));
      },
    });
    let secured = false;
    t.on('secure', () => { secured = true; });
    t.on('error', (e: Error) => {
      if (!secured) {
        this.gw.note({ ...base, action: 'connect', decision: 'deny', rule: sniRefusal ? 'host-agreement' : 'tls-inspect-handshake', reason: sniRefusal ?? `TLS handshake with the client failed: ${e.message}` });
      }
      t.destroy();
      client.destroy();
    });
    t.setTimeout(this.o.limits.idleTimeoutMs, () => t.destroy());
    this.ctxs.set(t, ctx);
    this.server.emit('connection', t);
  }

  /**
   * For the namespace helper, which carries bytes only to an address: a one-shot listener on
   * 127.0.0.1 in Cordon's namespace (out of the sandbox's reach) that takes the helper's next
   * connection over. NOT covered: another unsandboxed process in Cordon's namespace could
   * connect first (it gets the same decisions on the same policy, audited).
   */
  async loopbackFor(v: Verdict, name: string | undefined, via: Via): Promise<{ ip: string; port: number }> {
    const srv = net.createServer({ allowHalfOpen: false });
    await new Promise<void>((res, rej) => { srv.once('error', rej); srv.listen({ host: '127.0.0.1', port: 0 }, () => res()); });
    const t = setTimeout(() => srv.close(), this.o.limits.connectTimeoutMs);
    srv.once('connection', (s) => {
      clearTimeout(t);
      srv.close();
      s.on('error', () => s.destroy());
      this.take(s, v, name, via);
    });
    return { ip: '127.0.0.1', port: (srv.address() as net.AddressInfo).port };
  }

  private async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ctx = this.ctxs.get(req.socket)!;
    const { v, identity } = ctx;
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '';
    const target = `${formatHost(canonicalHostSafe(identity))}:${v.port}`;
    const refuse = (status: number, rule: string, reason: string) => {
      this.gw.note({ action: 'http', via: ctx.via, host: identity, ip: v.ip, port: v.port, method, path: rawUrl.slice(0, 200), decision: 'deny', rule, reason });
      const body = `Cordon refused the request to ${target}: ${reason}\n`;
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Cordon-Decision': 'deny', 'X-Cordon-Rule': rule, Connection: 'close' });
      res.end(body);
    };
    const hostHeader = req.headers.host;
    if (hostHeader === undefined) { refuse(400, 'host-agreement', 'the request has no Host header'); return; }
    let hostBad: string | undefined;
    try {
      const h = parseHostHeader(hostHeader);
      if (!sameHost(h.host, canonicalHostSafe(identity)) || (h.port !== undefined && h.port !== v.port)) hostBad = `Host header ${JSON.stringify(hostHeader.slice(0, 100))} does not match ${identity}:${v.port}, the host this connection was decided for`;
    } catch (e) {
      hostBad = `Host header: ${e instanceof AddressError ? e.reason : 'unparseable'}`;
    }
    if (hostBad) { refuse(421, 'host-agreement', hostBad); return; }
    if (!rawUrl.startsWith('/')) { refuse(400, 'tls-inspect-request', 'only origin-form request targets (/path) are accepted inside an inspected connection'); return; }
    const url = new URL(rawUrl, 'https://inspected.invalid');
    if (AMBIGUOUS_PATH.test(url.pathname)) { refuse(400, 'tls-inspect-request', 'encoded separators or dot segments in the path are refused on hosts http_rules govern'); return; }
    const path = url.pathname;
    const hd = this.gw.decider.decideHttp(method, ctx.subject, path, v.port);
    let verdict: Verdict;
    if (hd === undefined) {
      verdict = { ...v, allowed: false, decision: denyDecision('tls-inspect-not-governed', `${ctx.subject} is no longer governed by http_rules`) };
    } else {
      const settled = await this.gw.decider.settle({ kind: 'http', method, host: ctx.subject, path, port: v.port }, hd);
      verdict = { ...v, allowed: settled.allowed, decision: settled.decision };
    }
    verdict = await this.gw.record(verdict, { action: 'http', via: ctx.via, method, path });
    if (!verdict.allowed) { deny(res, verdict.decision, `${target}${path}`); return; }
    this.forward(req, res, ctx, path + url.search, target);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, ctx: Ctx, pathAndQuery: string, target: string): void {
    const { v, identity } = ctx;
    const method = req.method ?? 'GET';
    const path = pathAndQuery.split('?')[0]!;
    const headers = endToEndHeaders(req.headers);
    let bytesUp = 0;
    let bytesDown = 0;
    req.on('data', (c: Buffer) => { bytesUp += c.length; });
    const isIp = net.isIP(identity) !== 0;
    // (https.request hands secureContext on to tls.connect; its RequestOptions type omits it.)
    const opts: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
      host: v.connect!.ip, port: v.connect!.port, method, path: pathAndQuery, headers, agent: this.agent, setHost: false,
      ...(isIp ? {} : { servername: identity }),
      secureContext: this.upstreamCtx, rejectUnauthorized: true, timeout: this.o.limits.connectTimeoutMs,
      // Verify the certificate for the host the client asked for, not the address we dialled.
      checkServerIdentity: (_h, cert) => tls.checkServerIdentity(identity, cert),
    };
    const up = https.request(opts);
    const done = (reason: string, decision = 'allow', rule = 'tls-inspect') => this.gw.note({
      action: 'close', via: ctx.via, host: identity, ip: v.ip, port: v.port, method, path, decision, rule, reason, bytesUp, bytesDown,
    });
    up.on('response', (ur) => {
      relayResponse(ur, res, (n) => { bytesDown += n; });
      ur.on('end', () => done(`inspected request complete (HTTP ${ur.statusCode})`));
    });
    up.on('timeout', () => up.destroy(new Error('upstream timed out')));
    up.on('error', (e: NodeJS.ErrnoException) => {
      const certFail = CERT_ERROR.test(e.code ?? '');
      const reason = certFail
        ? `the upstream ${target} presented a certificate that does not verify for ${identity} (${e.code}: ${e.message}); Cordon does not pass requests to an unverified upstream`
        : `upstream ${target} failed: ${e.message}`;
      done(reason, 'deny', certFail ? 'upstream-certificate' : 'upstream-error');
      if (!res.headersSent) {
        const body = `Cordon refused the request to ${target}${path}: ${reason}\n`;
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Cordon-Decision': 'deny', 'X-Cordon-Rule': certFail ? 'upstream-certificate' : 'upstream-error', Connection: 'close' });
        res.end(body);
      } else res.destroy();
    });
    req.pipe(up);
  }

  close(): void {
    this.agent.destroy();
    this.server.close();
  }
}

function canonicalHostSafe(h: string) {
  try {
    return canonicalHost(h);
  } catch {
    return { kind: 'name', host: h } as const;
  }
}

/** A sentence when `seen` (SNI) names another host than `identity`; undefined when they agree. */
function disagrees(identity: string, seen: string): string | undefined {
  let c;
  try {
    c = canonicalHost(seen);
  } catch (e) {
    if (e instanceof AddressError) return `${JSON.stringify(seen.slice(0, 100))} is not a valid host`;
    throw e;
  }
  return sameHost(c, canonicalHostSafe(identity)) ? undefined : `names ${c.kind === 'name' ? c.host : c.ip} but the connection was decided for ${identity}`;
}

function denyDecision(rule: string, reason: string): Decision {
  return { decision: 'deny', rule, ruleIndex: -1, list: 'http_rules', reason };
}

function deny(res: http.ServerResponse, d: Decision, target: string): void {
  const body = denialBody(d, target);
  res.writeHead(403, {
    'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body),
    'X-Cordon-Decision': d.decision, 'X-Cordon-Rule': d.rule.replace(/[^\x20-\x7e]/g, '?'),
  });
  res.end(body);
}
