// bench/egress: what the egress proxy costs, against direct connections measured in the same
// run. Targets (DESIGN.md): at most 0.5 ms added per HTTP request at p50; bulk throughput
// through a tunnel at least 80% of direct.
//
// Three processes, as in real use: this one is the client (the sandboxed tool), a child is the
// upstream server (HTTP on 127.0.0.2, a byte sink, an echo), another child is Cordon's proxy
// (startProxy with a realistic policy: a few domain rules, SSRF guard, audit to an in-memory
// sink). Rounds alternate direct/proxied so machine noise hits both.
//   1. HTTP request latency, keep-alive both ways (client→upstream vs client→proxy→upstream).
//   2. Tunnel latency: new TCP connection + one echo round trip, vs CONNECT + 200 + round trip.
//   3. Bulk throughput: 256 MiB written through one connection, vs through one CONNECT tunnel.
//   4. Bulk through the sandbox paths (netns + cordon-egress splice, decided by the gateway): a
//      raw socket to the name (captured) and a CONNECT through the sandbox's HTTPS_PROXY,
//      against the same client process outside the namespace, when root.
//   Steps 2-3 run twice: startProxy relaying in Node, and startProxy({ fastPath: true }) where
//   cordon-egress reads CONNECT and splices the tunnel (the path sandboxes use).
// Run: npm run build && npm run bench -- egress
import { fork, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { compilePolicy, loadPolicy } from '../src/policy/index.js';
import { startEgress, startProxy, staticResolver } from '../src/net/index.js';

const POLICY = `version: 1
name: bench
network_rules:
  - name: registry
    domains: [registry.npmjs.test, '*.pypi.test']
    ports: [443]
    decision: allow
  - name: github
    domains: ['*.github.test', github.test]
    decision: allow
  - name: upstream
    domains: [upstream.test]
    cidrs: [127.0.0.2/32]
    decision: allow
  - name: no-metadata
    cidrs: [169.254.0.0/16]
    decision: deny
`;
const RESOLVE = { 'upstream.test': '127.0.0.2' };
const BULK = 256 * 1024 * 1024;

type Msg = { ports: { http: number; sink: number; echo: number } } | { proxy: number } | { done: number };

async function serverRole(): Promise<void> {
  const body = Buffer.alloc(512, 'x');
  const h = http.createServer((q, r) => { q.resume(); q.on('end', () => r.end(body)); });
  h.keepAliveTimeout = 60_000;
  const sink = net.createServer((s) => {
    let n = 0;
    s.on('data', (c: Buffer) => { n += c.length; if (n >= BULK) { s.end('done'); } });
    s.on('error', () => {});
  });
  const echo = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
  await Promise.all([h, sink, echo].map((srv) => new Promise<void>((res) => srv.listen(0, '127.0.0.2', () => res()))));
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  process.send!({ ports: { http: port(h), sink: port(sink), echo: port(echo) } } satisfies Msg);
}

async function proxyRole(fastPath: boolean): Promise<void> {
  const events: unknown[] = [];
  const p = await startProxy({
    fastPath,
    policy: compilePolicy(loadPolicy({ text: POLICY, source: 'bench', vars: {} })),
    resolver: staticResolver(RESOLVE),
    audit: { append: async (e) => { if (events.length > 10_000) events.length = 0; events.push(e); } },
  });
  process.send!({ proxy: p.address.port } satisfies Msg);
}

function child(role: string): Promise<{ proc: ChildProcess; msg: Msg }> {
  const proc = fork(fileURLToPath(import.meta.url), [role], { stdio: 'inherit' });
  return new Promise((res) => proc.once('message', (msg) => res({ proc, msg: msg as Msg })));
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };

async function httpLatency(agent: http.Agent, opts: http.RequestOptions): Promise<number> {
  const t = process.hrtime.bigint();
  await new Promise<void>((res, rej) => {
    const q = http.request({ ...opts, agent }, (r) => { r.resume(); r.on('end', () => res()); });
    q.on('error', rej);
    q.end();
  });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function connectAndEcho(port: number, connect?: string): Promise<number> {
  return new Promise((res, rej) => {
    const t = process.hrtime.bigint();
    const s = net.connect({ port, host: connect ? '127.0.0.1' : '127.0.0.2', noDelay: true });
    let stage = connect ? 0 : 1;
    let buf = '';
    s.on('connect', () => { s.write(connect ? `CONNECT ${connect} HTTP/1.1\r\nHost: ${connect}\r\n\r\n` : 'ping'); });
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (stage === 0 && buf.includes('\r\n\r\n')) { stage = 1; buf = ''; s.write('ping'); return; }
      if (stage === 1 && buf === 'ping') { s.destroy(); res(Number(process.hrtime.bigint() - t) / 1e6); }
    });
    s.on('error', rej);
  });
}

function bulk(port: number, host: string, connect?: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.connect({ port, host, noDelay: true });
    const chunk = Buffer.alloc(256 * 1024, 7);
    let t = 0n;
    let buf = '';
    const pump = () => {
      t = process.hrtime.bigint();
      let sent = 0;
      const write = () => {
        while (sent < BULK) {
          sent += chunk.length;
          if (!s.write(chunk)) { s.once('drain', write); return; }
        }
      };
      write();
    };
    s.on('connect', () => { if (connect) s.write(`CONNECT ${connect} HTTP/1.1\r\nHost: ${connect}\r\n\r\n`); else pump(); });
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (connect && t === 0n && buf.includes('\r\n\r\n')) { buf = ''; pump(); return; }
      if (buf.endsWith('done')) { const sec = Number(process.hrtime.bigint() - t) / 1e9; s.destroy(); res(BULK / sec / 1e6); }
    });
    s.on('error', rej);
  });
}

async function main(): Promise<void> {
  const server = await child('server');
  const proxy = await child('proxy');
  const ports = (server.msg as { ports: { http: number; sink: number; echo: number } }).ports;
  const pport = (proxy.msg as { proxy: number }).proxy;
  const direct = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const viaProxy = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const N = Number(process.env.EGRESS_BENCH_N ?? 3000);
  const d: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < N + 300; i++) {
    const a = await httpLatency(direct, { host: '127.0.0.2', port: ports.http, path: '/x', headers: { host: `upstream.test:${ports.http}` } });
    const b = await httpLatency(viaProxy, { host: '127.0.0.1', port: pport, path: `http://upstream.test:${ports.http}/x`, headers: { host: `upstream.test:${ports.http}` } });
    if (i >= 300) { d.push(a); p.push(b); }
  }
  const added50 = pct(p, 50) - pct(d, 50);
  console.log(`HTTP request, keep-alive (${N} each): direct p50 ${pct(d, 50).toFixed(3)} ms p99 ${pct(d, 99).toFixed(3)} ms | proxy p50 ${pct(p, 50).toFixed(3)} ms p99 ${pct(p, 99).toFixed(3)} ms`);
  console.log(`  added at p50: ${added50.toFixed(3)} ms (target <= 0.5 ms) ${added50 <= 0.5 ? 'PASS' : 'FAIL'}; ratio p50 ${(pct(p, 50) / pct(d, 50)).toFixed(2)}x`);

  const fast = await child('proxy-fast');
  const fport = (fast.msg as { proxy: number }).proxy;
  const td: number[] = [];
  const tp: number[] = [];
  const tf: number[] = [];
  const T = Number(process.env.EGRESS_BENCH_TUNNELS ?? 1000);
  for (let i = 0; i < T + 100; i++) {
    const a = await connectAndEcho(ports.echo);
    const b = await connectAndEcho(pport, `upstream.test:${ports.echo}`);
    const c = await connectAndEcho(fport, `upstream.test:${ports.echo}`);
    if (i >= 100) { td.push(a); tp.push(b); tf.push(c); }
  }
  console.log(`New connection + one round trip (${T} each): direct p50 ${pct(td, 50).toFixed(3)} ms | CONNECT tunnel p50 ${pct(tp, 50).toFixed(3)} ms (Node relay), ${pct(tf, 50).toFixed(3)} ms (fast path)`);
  console.log(`  added per tunnel at p50 (CONNECT exchange, decision, audit, upstream connect): ${(pct(tp, 50) - pct(td, 50)).toFixed(3)} ms Node relay, ${(pct(tf, 50) - pct(td, 50)).toFixed(3)} ms fast path`);

  const bd: number[] = [];
  const bp: number[] = [];
  const bf: number[] = [];
  for (let i = 0; i < 3; i++) {
    bd.push(await bulk(ports.sink, '127.0.0.2'));
    bp.push(await bulk(pport, '127.0.0.1', `upstream.test:${ports.sink}`));
    bf.push(await bulk(fport, '127.0.0.1', `upstream.test:${ports.sink}`));
  }
  const best = (xs: number[]) => Math.max(...xs);
  const ratio = best(bp) / best(bd);
  const fratio = best(bf) / best(bd);
  console.log(`Bulk ${BULK >> 20} MiB through one CONNECT tunnel, best of 3: direct ${best(bd).toFixed(0)} MB/s | Node relay ${best(bp).toFixed(0)} MB/s (${(ratio * 100).toFixed(0)}%) | fast path ${best(bf).toFixed(0)} MB/s (${(fratio * 100).toFixed(0)}%)`);
  console.log(`  fast path (what sandboxes use) / direct: ${(fratio * 100).toFixed(0)}% (target >= 80%) ${fratio >= 0.8 ? 'PASS' : 'FAIL'}; Node relay (startProxy default) ${(ratio * 100).toFixed(0)}%`);

  await sandboxPath(ports);
  server.proc.kill();
  proxy.proc.kill();
  fast.proc.kill();
}

/**
 * Bulk through the sandbox path (netns → cordon-egress → upstream, bytes spliced by the helper,
 * decided by the gateway in this process) against the same client script run outside the
 * namespace straight to the upstream, alternating, so both see the same machine.
 */
async function sandboxPath(ports: { sink: number; http: number }): Promise<void> {
  if (process.getuid?.() !== 0) { console.log('Sandbox path: skipped (needs root for a network namespace)'); return; }
  const holder = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 200));
  try {
    const eg = await startEgress({ netns: holder.pid!, policy: compilePolicy(loadPolicy({ text: POLICY, source: 'bench', vars: {} })), resolver: staticResolver(RESOLVE) });
    type Mode = 'direct' | 'transparent' | 'connect';
    const script = (mode: Mode) => `const net=require('net');const dns=require('dns');
const c=Buffer.alloc(256*1024,7);
const pump=(s)=>{let sent=0;const t=process.hrtime.bigint();
s.on('data',d=>{if(String(d).endsWith('done')){console.log(${BULK}/(Number(process.hrtime.bigint()-t)/1e9)/1e6);s.destroy();}});
(function w(){while(sent<${BULK}){sent+=c.length;if(!s.write(c)){s.once('drain',w);return;}}})();};
const go=(ip,port)=>{const s=net.connect(port,ip);s.on('connect',()=>pump(s));};
${mode === 'direct' ? `go('127.0.0.2',${ports.sink});`
  : mode === 'transparent' ? `dns.setServers(['127.0.0.1']);dns.resolve4('upstream.test',(e,a)=>{if(e)throw e;go(a[0],${ports.sink});});`
  : `const s=net.connect(3128,'127.0.0.1');s.on('connect',()=>s.write('CONNECT upstream.test:${ports.sink} HTTP/1.1\\r\\nHost: upstream.test:${ports.sink}\\r\\n\\r\\n'));
let h='';const on=(d)=>{h+=d;if(h.includes('\\r\\n\\r\\n')){s.off('data',on);pump(s);}};s.on('data',on);`}`;
    const once = (mode: Mode) => new Promise<number>((res) => {
      const argv = mode !== 'direct' ? ['nsenter', [`--net=/proc/${holder.pid}/ns/net`, process.execPath, '-e', script(mode)]] as const : [process.execPath, ['-e', script(mode)]] as const;
      const c = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      c.stdout.on('data', (x: Buffer) => { o += x.toString(); });
      c.on('close', () => res(Number(o.trim())));
    });
    // HTTP latency from inside the sandbox through its HTTP_PROXY (helper relay + proxy).
    const lat = (viaProxy: boolean) => `const http=require('http');const a=new http.Agent({keepAlive:true,maxSockets:1});
const one=()=>new Promise(r=>{const t=process.hrtime.bigint();const q=http.request(${viaProxy
    ? `{host:'127.0.0.1',port:3128,path:'http://upstream.test:${ports.http}/x',agent:a,headers:{host:'upstream.test:${ports.http}'}}`
    : `{host:'127.0.0.2',port:${ports.http},path:'/x',agent:a,headers:{host:'upstream.test:${ports.http}'}}`},s=>{s.resume();s.on('end',()=>r(Number(process.hrtime.bigint()-t)/1e6));});q.end();});
(async()=>{const xs=[];for(let i=0;i<1300;i++){const v=await one();if(i>=300)xs.push(v);}xs.sort((x,y)=>x-y);console.log(xs[xs.length>>1]);a.destroy();})();`;
    const latOnce = (inNs: boolean) => new Promise<number>((res) => {
      const argv = inNs ? ['nsenter', [`--net=/proc/${holder.pid}/ns/net`, process.execPath, '-e', lat(true)]] as const : [process.execPath, ['-e', lat(false)]] as const;
      const c = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      c.stdout.on('data', (x: Buffer) => { o += x.toString(); });
      c.on('close', () => res(Number(o.trim())));
    });
    const ld: number[] = [];
    const lp: number[] = [];
    for (let i = 0; i < 3; i++) { ld.push(await latOnce(false)); lp.push(await latOnce(true)); }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const sAdded = med(lp) - med(ld);
    console.log(`HTTP request from a separate process, keep-alive, median of 3 runs' p50: direct ${med(ld).toFixed(3)} ms | sandbox via HTTP_PROXY ${med(lp).toFixed(3)} ms`);
    console.log(`  added at p50: ${sAdded.toFixed(3)} ms (target <= 0.5 ms) ${sAdded <= 0.5 ? 'PASS' : 'FAIL'}`);
    const runs: Record<Mode, number[]> = { direct: [], transparent: [], connect: [] };
    for (let i = 0; i < 3; i++) for (const m of ['direct', 'transparent', 'connect'] as const) runs[m].push(await once(m));
    const best = (xs: number[]) => Math.max(...xs);
    const d = best(runs.direct);
    console.log(`Bulk ${BULK >> 20} MiB from a separate process, best of 3: direct ${d.toFixed(0)} MB/s`);
    for (const m of ['transparent', 'connect'] as const) {
      const r = best(runs[m]) / d;
      console.log(`  sandbox ${m === 'transparent' ? 'raw socket (captured)' : 'CONNECT via HTTPS_PROXY'}: ${best(runs[m]).toFixed(0)} MB/s = ${(r * 100).toFixed(0)}% of direct (target >= 80%) ${r >= 0.8 ? 'PASS' : 'FAIL'}`);
    }
    await eg.close();
  } finally {
    holder.kill('SIGKILL');
  }
}

const role = process.argv[2];
if (role === 'server') void serverRole();
else if (role === 'proxy') void proxyRole(false);
else if (role === 'proxy-fast') void proxyRole(true);
else await main();
