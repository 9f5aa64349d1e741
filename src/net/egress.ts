// Egress for a sandbox network namespace. Design (docs/net.md has the long form):
//
//   The namespace's only interface is `lo`, and every address is local to it (a `local
//   default` route for IPv4 and IPv6), so no packet can leave it: that is the kernel-held
//   boundary, and it holds even if everything below is killed. Inside it, nftables redirects
//   every TCP connection to a non-loopback address, and every UDP packet to port 53, to
//   cordon-egress (native/net), which Cordon starts inside the namespace. The helper hands each
//   connection, with its original destination, to this process over an abstract Unix socket
//   in this process's namespace (the sandbox cannot reach it); here it is
//   decided (gateway.ts); if allowed, the helper connects to the address decided on and splices
//   the bytes (transparent.ts has the control protocol). Tools that honour
//   HTTP(S)_PROXY / ALL_PROXY reach the proxy at 127.0.0.1:PPORT in the namespace; tools that
//   do not (raw sockets, git over ssh, database clients) are captured transparently. DNS is
//   answered by Cordon (dns.ts) with synthetic addresses that stand for name + real address.
//
// NOT covered: UDP other than DNS and ICMP never leave the namespace (they are not relayed:
// QUIC clients fall back to TCP); a sandbox that holds CAP_NET_ADMIN over the namespace could
// remove the redirect rules, which only cuts its own network (there is still no route out).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledPolicy } from '../policy/index.js';
import type { Approver } from './decide.js';
import { answerDns } from './dns.js';
import { serveDropLog, udpRuleRefusal } from './datagram.js';
import { acceptProxyConnection, serveDnsStream } from './front.js';
import { acceptHelperConnect, acceptTransparent } from './transparent.js';
import type { NetAuditSink } from './gateway.js';
import { Gateway } from './gateway.js';
import { createHttpProxy, DEFAULT_LIMITS, type ProxyLimits } from './http-proxy.js';
import { systemResolver, type Resolver } from './resolver.js';
import type { Inspection } from './tls-trust.js';

export interface EgressOptions {
  policy: CompiledPolicy;
  /** Every attempt is appended; a rejected append denies the attempt. */
  audit?: NetAuditSink;
  /** Where names are resolved (default: the host's resolver). Tests pass staticResolver(). */
  resolver?: Resolver;
  /** Decides `approve` rules; absent, approve denies. */
  approver?: Approver;
  /** Session id on every audit event (default `egress`). */
  session?: string;
  limits?: Partial<ProxyLimits>;
  onError?: (e: unknown) => void;
}

export interface StartEgressOptions extends EgressOptions {
  /** The sandbox's network namespace: a path (/proc/PID/ns/net, /run/netns/NAME) or a PID. */
  netns: string | number;
  /** Proxy port inside the namespace (default 3128). */
  proxyPort?: number;
  /** Port the redirect rules send captured TCP to, inside the namespace (default 15001). */
  transparentPort?: number;
  /** cordon-egress binary (default: native/build/cordon-egress of this install). */
  helperPath?: string;
}

export interface Egress {
  /** Variables for the sandboxed command: HTTP(S)_PROXY, ALL_PROXY, NO_PROXY (both cases). */
  env: Record<string, string>;
  /** Content to bind over /etc/resolv.conf inside the sandbox. */
  resolvConf: string;
  /** Proxy URL as seen from inside the namespace. */
  proxyUrl: string;
  /** PID of cordon-egress (inside the namespace); if it dies, the sandbox loses the network. */
  helperPid: number;
  /** With `tls_inspection.enabled`: the session CA (PEM) the sandbox's bundle adds. */
  inspectionCaPem?: string;
  /** Stops the helper and every relay; removes Cordon's nftables table from the namespace. */
  close(): Promise<void>;
}

/** An error the CLI can show: says what failed, why, and what to do; exitCode 126 (cannot run). */
export class EgressError extends Error {
  readonly exitCode = 126;
  constructor(message: string) {
    super(message);
    this.name = 'EgressError';
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_HELPER = join(ROOT, 'native', 'build', 'cordon-egress');

/** The nftables ruleset installed in the sandbox namespace (pure; snapshot-tested). */
export function nftRules(transparentPort: number): string {
  return [
    'table inet cordon_egress {',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    ip daddr 127.0.0.0/8 return',
    '    ip6 daddr ::1 return',
    `    meta l4proto tcp redirect to :${transparentPort}`,
    '    meta l4proto udp udp dport 53 redirect to :53',
    '  }',
    // Nothing but TCP (captured above) and DNS leaves for a non-loopback address: every other
    // packet is logged for the audit trail (cordon-egress reads NFLOG group 4242, see
    // datagram.ts) and dropped here, so the sender gets EPERM. Answers to redirected traffic
    // (ct direction reply) carry the original address and pass, as do the helper's DNS answers
    // (its socket's mark: an answer to a query sent to 9.9.9.9:53 leaves from 9.9.9.9).
    '  chain leave {',
    '    type filter hook output priority 0; policy accept;',
    '    ct direction reply accept',
    '    meta mark 0x636f7264 accept',
    '    ip daddr 127.0.0.0/8 accept',
    '    ip6 daddr ::1 accept',
    '    meta l4proto tcp accept',
    '    log group 4242 drop',
    '  }',
    '}',
    '',
  ].join('\n');
}

function inNs(ns: string, argv: string[], input?: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync('nsenter', [`--net=${ns}`, ...argv], { input, encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? r.error.message : '') };
}

/** inNs without blocking this process, so several setup steps run at once. */
function inNsAsync(ns: string, argv: string[], input?: string): Promise<{ ok: boolean; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn('nsenter', [`--net=${ns}`, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => { err += 'timed out after 10 s'; c.kill('SIGKILL'); }, 10_000);
    c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    c.stdin!.on('error', () => { /* the exit status reports it */ });
    c.stdin!.end(input ?? '');
    c.once('error', (e) => { clearTimeout(t); resolve({ ok: false, out, err: err + e.message }); });
    c.once('close', (code) => { clearTimeout(t); resolve({ ok: code === 0, out, err }); });
  });
}

/**
 * The interfaces of a namespace. A process's namespace (/proc/PID/ns/net, what `cordon run`
 * passes) is read from /proc/PID/net/dev, which shows that same namespace; any other path is
 * asked with `ip -o link show` inside it. Throws EgressError when it cannot tell.
 */
async function interfacesOf(ns: string): Promise<string[]> {
  const pid = /^\/proc\/(\d+)\/ns\/net$/.exec(ns)?.[1];
  if (pid !== undefined) {
    try {
      // Two header lines, then "  NAME: counters...".
      return readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2).filter((l) => l.includes(':')).map((l) => l.slice(0, l.indexOf(':')).trim());
    } catch (e) {
      throw new EgressError(`cannot inspect network namespace ${ns}: ${(e as Error).message}`);
    }
  }
  const links = await inNsAsync(ns, ['ip', '-o', 'link', 'show']);
  if (!links.ok) throw new EgressError(`cannot inspect network namespace ${ns}: ${links.err.trim()} (is iproute2 installed and are we root?)`);
  return links.out.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

/** The routes that make every address local to `lo` (one `ip -batch` run; see prepareNamespace). */
const ROUTE_BATCH = [
  'link set lo up',
  'route replace local 0.0.0.0/0 dev lo table local',
  // Last on purpose: ip stops at the first failing line and names it ("Command failed -:3").
  'route replace local ::/0 dev lo table local',
  '',
].join('\n');

/**
 * Makes the namespace a closed box whose only way out is Cordon. Throws EgressError.
 * Nothing is changed in a namespace that has interfaces besides lo. Then the routes (one `ip
 * -batch`) and the nftables rules (one `nft -f`) are installed at the same time: each only adds
 * to the namespace and neither depends on the other; both must succeed before this resolves.
 */
export async function prepareNamespace(ns: string, transparentPort: number): Promise<void> {
  const steps = await startPreparing(ns, transparentPort);
  await Promise.all([steps.routes, steps.rules]);
}

/** prepareNamespace's two steps, under way once this resolves (startEgress waits on each where it needs it). */
async function startPreparing(ns: string, transparentPort: number): Promise<{ routes: Promise<void>; rules: Promise<void> }> {
  const others = (await interfacesOf(ns)).filter((n) => n !== 'lo');
  if (others.length > 0) {
    throw new EgressError(`network namespace ${ns} has interfaces besides lo (${others.join(', ')}); Cordon's egress needs an isolated namespace so that it is the only way out`);
  }
  const routes = inNsAsync(ns, ['ip', '-batch', '-'], ROUTE_BATCH).then((r) => {
    // Without IPv6 in the namespace there is no IPv6 route at all: nothing to capture, nothing
    // leaks, so only a failure of the IPv6 line (the last) is not fatal.
    if (!r.ok && !/Command failed -:3\s*$/.test(r.err)) throw new EgressError(`cannot route every address to lo in ${ns}: ${r.err.trim()}`);
  });
  const rules = inNsAsync(ns, ['nft', '-f', '-'], nftRules(transparentPort)).then((r) => {
    if (!r.ok) throw new EgressError(`cannot install nftables redirect rules in ${ns}: ${r.err.trim()} (install the nftables package)`);
  });
  // Each is awaited by the caller; neither may become an unhandled rejection meanwhile.
  routes.catch(() => {});
  rules.catch(() => {});
  return { routes, rules };
}

/** The options' limits; refuses a policy the egress could not carry out (fail closed, exit 126). */
function limitsOf(o: EgressOptions): ProxyLimits {
  const udp = udpRuleRefusal(o.policy);
  if (udp !== undefined) throw new EgressError(udp);
  return { ...DEFAULT_LIMITS, ...o.limits };
}

/**
 * Opt-in TLS inspection (tls-trust.ts, tls-inspect.ts); fails closed with an EgressError. Its
 * modules (node-forge among them) load only when the policy turns it on: ~60 ms of start time.
 */
async function inspection(gw: Gateway, o: EgressOptions, limits: ProxyLimits): Promise<Inspection | undefined> {
  if (!o.policy.policy.tls_inspection?.enabled) return undefined;
  try {
    const { setupInspection } = await import('./tls-trust.js');
    return await setupInspection(gw, o.policy, limits, o.session ?? 'egress');
  } catch (e) {
    throw new EgressError(`cannot start TLS inspection (policy tls_inspection): ${(e as Error).message}`);
  }
}

/** Reads "X\n" or "T ip port\n" from a helper connection, then dispatches it. */
function dispatch(gw: Gateway, limits: ProxyLimits, http: ReturnType<typeof createHttpProxy>, sock: net.Socket): void {
  let acc = Buffer.alloc(0);
  sock.on('error', () => sock.destroy());
  const onData = (c: Buffer) => {
    acc = Buffer.concat([acc, c]);
    const nl = acc.indexOf(10);
    if (nl < 0) { if (acc.length > 100) sock.destroy(); return; }
    sock.off('data', onData);
    sock.pause();
    const line = acc.subarray(0, nl).toString('latin1');
    const rest = acc.subarray(nl + 1);
    if (line.startsWith('C ')) {
      // A CONNECT head the helper read on the proxy port: exactly <len> bytes follow.
      const len = Number(line.slice(2));
      if (!(len > 0 && len <= 16 * 1024)) { sock.destroy(); return; }
      let head = rest;
      const take = (c: Buffer) => {
        head = Buffer.concat([head, c]);
        if (head.length >= len) { sock.off('data', take); sock.pause(); go(); }
      };
      const go = () => {
        if (head.length > len) sock.unshift(head.subarray(len));
        void acceptHelperConnect(gw, sock, head.subarray(0, len).toString('latin1')).catch((e) => { gw.onError(e); sock.destroy(); });
      };
      if (head.length >= len) go();
      else { sock.on('data', take); sock.resume(); }
      return;
    }
    if (rest.length > 0) sock.unshift(rest);
    if (line === 'P') acceptProxyConnection(gw, limits, http, sock);
    else if (line === 'D') serveDnsStream(gw, sock);
    else if (line === 'U') serveDnsDatagrams(gw, sock);
    else if (line === 'L') serveDropLog(gw, sock);
    else if (line.startsWith('T ')) {
      const [, ip, port] = line.split(' ');
      void acceptTransparent(gw, sock, ip ?? '', Number(port)).catch((e) => { gw.onError(e); sock.destroy(); });
    } else sock.destroy();
  };
  sock.on('data', onData);
}

/** The helper's UDP DNS channel: frames of u32 id, u16 length, message, both ways. */
function serveDnsDatagrams(gw: Gateway, sock: net.Socket): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 6) {
      const len = buf.readUInt16BE(4);
      if (buf.length < 6 + len) break;
      const id = buf.readUInt32BE(0);
      const msg = Buffer.from(buf.subarray(6, 6 + len));
      buf = buf.subarray(6 + len);
      void answerDns(gw, msg).then((out) => {
        if (!out || sock.destroyed) return;
        const h = Buffer.alloc(6);
        h.writeUInt32BE(id, 0);
        h.writeUInt16BE(out.length, 4);
        sock.write(Buffer.concat([h, out]));
      }, (e) => gw.onError(e));
    }
  });
  sock.resume();
}

/**
 * Starts Cordon's egress for a sandbox network namespace. Call it after the namespace exists
 * and before the sandboxed command runs; pass `env` to the command and bind `resolvConf` over
 * its /etc/resolv.conf. Throws EgressError (exitCode 126) when the egress cannot be enforced.
 */
export async function startEgress(o: StartEgressOptions): Promise<Egress> {
  const ns = typeof o.netns === 'number' ? `/proc/${o.netns}/ns/net` : o.netns;
  if (!existsSync(ns)) throw new EgressError(`network namespace ${ns} does not exist`);
  const helper = o.helperPath ?? DEFAULT_HELPER;
  if (!existsSync(helper)) throw new EgressError(`egress helper ${helper} is missing; run \`npm install\` (it builds native/)`);
  const tport = o.transparentPort ?? 15001;
  const pport = o.proxyPort ?? 3128;
  const limits = limitsOf(o);
  // Setup overlaps: the routes and the nftables rules go in while the gateway starts; the
  // helper starts once the routes are in (lo up: it binds 127.0.0.1 there). Nothing is returned,
  // so the sandboxed command cannot start, before both steps and the helper are in place.
  const steps = await startPreparing(ns, tport);

  const gw = new Gateway({ policy: o.policy, resolver: o.resolver ?? systemResolver(), audit: o.audit, approver: o.approver, session: o.session, onError: o.onError });
  const insp = await inspection(gw, o, limits);
  const unix = await serveHelper(gw, limits);
  let child: ChildProcess | undefined;
  try {
    await steps.routes;
    ({ child } = await startHelper(helper, [ns, unix.sockPath, String(tport), String(pport)], unix.adopt));
    await steps.rules;
  } catch (e) {
    child?.kill('SIGKILL');
    await unix.close();
    insp?.close();
    throw e;
  }
  let closing = false;
  child.on('exit', (code, sig) => {
    if (!closing) gw.onError(new Error(`cordon-egress exited (${sig ?? code}); the sandbox has no network now`));
  });
  const proxyUrl = `http://127.0.0.1:${pport}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  const env: Record<string, string> = {
    HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, http_proxy: proxyUrl, https_proxy: proxyUrl,
    ALL_PROXY: `socks5h://127.0.0.1:${pport}`, all_proxy: `socks5h://127.0.0.1:${pport}`,
    NO_PROXY: noProxy, no_proxy: noProxy,
    ...insp?.env,
  };
  return {
    env,
    ...(insp ? { inspectionCaPem: insp.caPem } : {}),
    resolvConf: 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n',
    proxyUrl,
    helperPid: child.pid!,
    close: async () => {
      closing = true;
      child.kill('SIGKILL');
      await unix.close();
      insp?.close();
      // A process's namespace goes away with the sandbox (it is gone by now): nothing to remove.
      if (typeof o.netns !== 'number') inNs(ns, ['nft', 'delete', 'table', 'inet', 'cordon_egress']);
    },
  };
}

/**
 * Spawns cordon-egress with a Node IPC channel: the helper hands plain-HTTP and SOCKS5 client
 * sockets over it (SCM_RIGHTS; see hand_over in cordon-egress.c) and `adopt` serves them here,
 * so those bytes skip the helper's relay.
 */
function startHelper(path: string, args: string[], adopt: (s: net.Socket) => void): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.on('message', (m: unknown, h: unknown) => {
      if (h instanceof net.Socket && (m as { cordon?: unknown } | null)?.cordon === 'proxy') adopt(h);
    });
    let err = '';
    let out = '';
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new EgressError(`cordon-egress did not start within 5 s: ${err.trim()}`)); }, 5000);
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)\n/.exec(out);
      if (m) { clearTimeout(t); resolve({ child, port: Number(m[1]) }); }
    });
    child.once('error', (e) => { clearTimeout(t); reject(new EgressError(`cannot run cordon-egress: ${e.message}`)); });
    child.once('exit', (code) => { clearTimeout(t); reject(new EgressError(`cordon-egress failed (exit ${code}): ${err.trim()}`)); });
  });
}

/**
 * The Unix socket the helper talks to: an abstract socket (no file) with a random name, in
 * Cordon's own network namespace. Abstract names are scoped by network namespace, so a
 * sandboxed process (in its own namespace) can neither list it in /proc/net/unix nor connect
 * to it, whatever its mounts show; the helper creates its sockets in the host namespace (see
 * connect_unix in cordon-egress.c). The argv form is "@NAME" (argv cannot carry the NUL).
 * NOT covered: processes in Cordon's own namespace can connect (as they can to startProxy's
 * TCP port); all they get is decisions on the same policy, audited.
 */
async function serveHelper(gw: Gateway, limits: ProxyLimits): Promise<{ sockPath: string; adopt(s: net.Socket): void; close(): Promise<void> }> {
  const http = createHttpProxy(gw, limits);
  const name = `cordon-egress-${randomBytes(16).toString('hex')}`;
  const sockPath = `@${name}`;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    dispatch(gw, limits, http, s);
  });
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen({ path: `\0${name}`, backlog: 4096 }, () => res()); });
  return {
    sockPath,
    // A proxy client socket the helper handed over (plain HTTP or SOCKS5): served as if it had
    // connected to startProxy's own listener.
    adopt: (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      acceptProxyConnection(gw, limits, http, s);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

export interface Proxy {
  /** host:port the proxy listens on (HTTP proxy and SOCKS5 on the same port). */
  address: { host: string; port: number };
  url: string;
  /** With `tls_inspection.enabled`: the session CA (PEM) and a bundle file (system + CA) clients can trust. */
  inspectionCaPem?: string;
  inspectionBundle?: string;
  close(): Promise<void>;
}

/**
 * The same proxy on a TCP port in this namespace, for clients that use proxy variables (and
 * for tests and benchmarks). It governs only clients that choose to use it: a sandbox must use
 * startEgress, whose namespace has no other way out.
 */
export async function startProxy(o: EgressOptions & {
  listen?: { host?: string; port?: number };
  /**
   * Serve through cordon-egress (127.0.0.1 only): CONNECT heads are read by the helper and
   * allowed tunnels are spliced in the kernel instead of relayed by this process. Decisions,
   * agreement checks and audit are the same.
   */
  fastPath?: boolean;
  helperPath?: string;
}): Promise<Proxy> {
  const limits = limitsOf(o);
  const gw = new Gateway({ policy: o.policy, resolver: o.resolver ?? systemResolver(), audit: o.audit, approver: o.approver, session: o.session, onError: o.onError });
  const insp = await inspection(gw, o, limits);
  const inspOut = insp ? { inspectionCaPem: insp.caPem, inspectionBundle: insp.bundlePath } : {};
  if (o.fastPath) {
    const helper = o.helperPath ?? DEFAULT_HELPER;
    if (!existsSync(helper)) throw new EgressError(`egress helper ${helper} is missing; run \`npm install\` (it builds native/)`);
    if (o.listen?.host !== undefined && o.listen.host !== '127.0.0.1') throw new EgressError('the fast path listens on 127.0.0.1 only');
    const unix = await serveHelper(gw, limits);
    let started;
    try {
      started = await startHelper(helper, ['-', unix.sockPath, '0', String(o.listen?.port ?? 0)], unix.adopt);
    } catch (e) {
      await unix.close();
      insp?.close();
      throw e;
    }
    return {
      address: { host: '127.0.0.1', port: started.port },
      url: `http://127.0.0.1:${started.port}`,
      ...inspOut,
      close: async () => { started.child.kill('SIGKILL'); await unix.close(); insp?.close(); },
    };
  }
  const http = createHttpProxy(gw, limits);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    acceptProxyConnection(gw, limits, http, s);
  });
  server.maxConnections = 50_000;
  const host = o.listen?.host ?? '127.0.0.1';
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen({ port: o.listen?.port ?? 0, host, backlog: 4096 }, () => res()); });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: { host, port },
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ...inspOut,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
      insp?.close();
    },
  };
}
