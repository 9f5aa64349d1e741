// The fake upstream world for egress tests: listeners the test owns (counting every byte they
// receive), a DNS table the test supplies, sandbox network namespaces the test creates, and
// documentation-range addresses (192.0.2.0/24, 2001:db8::/32) on a veth the test creates, for
// raw-IP cases. Nothing here ever targets a real external host.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { compilePolicy, loadPolicy, type CompiledPolicy } from '../../../src/policy/index.js';
import type { AuditEventInput } from '../../../src/audit/index.js';

export function policy(yaml: string): CompiledPolicy {
  return compilePolicy(loadPolicy({ text: yaml, source: 'test', vars: {} }));
}

/** Fails (never skips) when the test cannot do what it must prove. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root (network namespaces, nftables); run the tests as root`);
  for (const tool of ['nsenter', 'unshare', 'ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${what} needs \`${tool}\` (see .ci/run)`);
  }
}

/** A TCP listener that records what reaches it. `http` mode answers each request. */
export class Listener {
  private closedBytes = 0;
  connections = 0;
  requests: { method: string; url: string; host: string | undefined }[] = [];
  data = Buffer.alloc(0);
  private server!: net.Server;
  port = 0;
  private readonly sockets = new Set<net.Socket>();

  /** With `staticRoot`, http mode serves files under it (a dumb-HTTP git remote, for example). */
  constructor(readonly host: string, private readonly mode: 'http' | 'echo' | 'raw' | 'greet' = 'http', private readonly staticRoot?: string) {}

  async start(port = 0): Promise<this> {
    const httpSrv = this.mode === 'http'
      ? http.createServer((q, r) => {
        this.requests.push({ method: q.method ?? '', url: q.url ?? '', host: q.headers.host });
        q.resume();
        if (this.staticRoot && (q.url ?? '').startsWith('/repo.git/')) {
          const file = join(this.staticRoot, normalize(decodeURIComponent((q.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, ''));
          q.on('end', () => {
            try {
              r.end(readFileSync(file));
            } catch {
              r.writeHead(404).end();
            }
          });
          return;
        }
        q.on('end', () => r.end(`hello from ${this.host} ${q.method} ${q.url}\n`));
      })
      : undefined;
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.once('close', () => { if (this.sockets.delete(s)) this.closedBytes += s.bytesRead; });
      s.on('error', () => {});
      if (!httpSrv) {
        s.on('data', (c: Buffer) => {
          if (this.data.length < 65536) this.data = Buffer.concat([this.data, c]);
        });
      }
      if (this.mode === 'echo') s.pipe(s);
      if (this.mode === 'greet') s.write('SSH-2.0-CordonTest\r\n');
      if (httpSrv) httpSrv.emit('connection', s);
    });
    await new Promise<void>((res, rej) => { this.server.once('error', rej); this.server.listen({ port, host: this.host, backlog: 4096 }, () => res()); });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Bytes received so far, over every connection (open or closed). */
  get bytes(): number {
    let n = this.closedBytes;
    for (const s of this.sockets) n += s.bytesRead;
    return n;
  }

  reset(): void {
    this.closedBytes = 0;
    const live = [...this.sockets];
    this.sockets.clear();
    for (const s of live) s.destroy();
    this.connections = 0;
    this.requests = [];
    this.data = Buffer.alloc(0);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

/** Collects audit events in memory; `failing` makes every append reject (a full disk). */
export class MemoryAudit {
  events: AuditEventInput[] = [];
  failing = false;
  async append(e: AuditEventInput): Promise<void> {
    if (this.failing) throw new Error('disk full (injected)');
    this.events.push(e);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...opts.env }, timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** A process holding a fresh network namespace (only lo), as the sandbox would create. */
export class SandboxNs {
  private holder!: ChildProcess;
  private dir!: string;
  resolvPath!: string;

  async start(): Promise<this> {
    this.holder = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    // Wait until the child has switched namespaces.
    const self = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('readlink', [`/proc/${this.holder.pid}/ns/net`], { encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim() !== self && r.stdout.trim() !== '') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    this.dir = mkdtempSync(join(tmpdir(), 'cordon-net-test-'));
    this.resolvPath = join(this.dir, 'resolv.conf');
    return this;
  }

  get path(): string {
    return `/proc/${this.holder.pid}/ns/net`;
  }

  get pid(): number {
    return this.holder.pid!;
  }

  setResolvConf(text: string): void {
    writeFileSync(this.resolvPath, text);
  }

  /**
   * Runs argv inside the namespace with Cordon's resolv.conf bound over /etc/resolv.conf (a
   * private mount namespace, as the sandbox does). argv stays argv: no shell text is built.
   */
  run(argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run('nsenter', [`--net=${this.path}`, 'unshare', '--mount', '--', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', this.resolvPath, ...argv], opts);
  }

  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Documentation-range addresses local to this (the Cordon side's) namespace, on a veth pair
 * the test creates (its peer parked in a throwaway namespace). Connecting to them from here
 * reaches our own listeners; from the sandbox they are just "some address outside".
 */
export class DocAddresses {
  private parking!: ChildProcess;
  readonly ifname: string;

  constructor(readonly v4: string[], readonly v6: string[] = []) {
    this.ifname = `cnt${process.pid % 100000}`;
  }

  async start(): Promise<this> {
    this.parking = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    await new Promise((res) => setTimeout(res, 100));
    const sh = (args: string[]) => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    };
    spawnSync('ip', ['link', 'del', this.ifname]);
    sh(['link', 'add', this.ifname, 'type', 'veth', 'peer', 'name', `${this.ifname}p`]);
    sh(['link', 'set', `${this.ifname}p`, 'netns', String(this.parking.pid)]);
    for (const a of this.v4) sh(['addr', 'add', `${a}/32`, 'dev', this.ifname]);
    for (const a of this.v6) sh(['-6', 'addr', 'add', `${a}/128`, 'dev', this.ifname, 'nodad']);
    sh(['link', 'set', this.ifname, 'up']);
    return this;
  }

  async close(): Promise<void> {
    spawnSync('ip', ['link', 'del', this.ifname]);
    this.parking.kill('SIGKILL');
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
