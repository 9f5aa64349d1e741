// `cordon net check`: what the egress would do with one destination, through the same
// canonicalisation, resolution, SSRF guard and rules as a live connection (nothing is
// contacted). Results on stdout, `--json` for machines; exit 0 when allowed, 1 when denied,
// 2 for a bad policy or target.
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { loadCliPolicy, type PolicyVarOptions } from './policy-load.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface CheckOptions extends PolicyVarOptions {
  resolve?: string[];
  port?: string;
  json?: boolean;
}

export function registerNetCommands(program: Command): void {
  const net = program.command('net').description('network egress: check destinations against a policy');
  net
    .command('check')
    .description('show the decision the egress gives a destination (host, host:port or http(s) URL)')
    .argument('<policy>', 'policy file or built-in name')
    .argument('<target>', 'e.g. example.com, example.com:22, 0x7f.1:80, http://example.com/path')
    .option('--port <N>', 'port when the target has none (default 443, or the URL scheme default)')
    .option('--resolve <NAME=IP>', 'answer NAME with IP instead of the system resolver (repeatable)', collect, [])
    .option('--var <NAME=VALUE>', 'define a policy variable (repeatable)', collect, [])
    .option('--project-root <DIR>', 'value of ${PROJECT_ROOT}')
    .option('--json', 'machine-readable output')
    .action(async (policyRef: string, target: string, opts: CheckOptions) => {
      const { compilePolicy } = await import('../policy/index.js');
      const { Gateway, canonicalHost, parsePort, staticResolver, systemResolver, formatHost, AddressError } = await import('../net/index.js');
      const usage = (msg: string) => Object.assign(new Error(msg), { exitCode: EXIT.USAGE });
      const compiled = compilePolicy(loadCliPolicy(policyRef, opts));

      let hostText = target;
      let port: number | undefined = opts.port !== undefined ? parsePortOr(opts.port) : undefined;
      let path: string | undefined;
      const method = 'GET';
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
        let u: URL;
        try {
          u = new URL(target);
        } catch {
          throw usage(`cannot parse URL ${JSON.stringify(target)}`);
        }
        if (u.username || u.password) throw usage('userinfo (user@) in the URL is refused by the egress; remove it');
        hostText = u.hostname;
        port = u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : u.protocol === 'https:' ? 443 : port;
        if (u.protocol === 'http:') path = u.pathname;
      } else if (/^\[.*\]:\d+$/.test(target) || /^[^:]+:[^:]+$/.test(target)) {
        const cut = target.lastIndexOf(':');
        hostText = target.slice(0, cut);
        port = parsePortOr(target.slice(cut + 1));
      }
      port ??= 443;
      let host;
      try {
        host = canonicalHost(hostText);
      } catch (e) {
        if (e instanceof AddressError) throw usage(`${e.message}; the egress refuses this destination outright`);
        throw e;
      }
      const table: Record<string, string[]> = {};
      for (const kv of opts.resolve ?? []) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw usage(`--resolve takes NAME=IP (got "${kv}")`);
        (table[kv.slice(0, eq).toLowerCase()] ??= []).push(kv.slice(eq + 1));
      }
      const resolver = (opts.resolve ?? []).length > 0 ? staticResolver(table) : systemResolver();
      const gw = new Gateway({ policy: compiled, resolver });
      // An http:// URL is what the forward proxy sees (each request decided by http_rules);
      // anything else is a tunnel or a captured connection (refused for hosts http_rules govern).
      let v = await gw.decideConnect(host, port, path !== undefined ? 'http' : 'connect');
      const name = host.kind === 'name' ? host.host : v.host;
      const governed = gw.httpSubject(name, host.kind === 'ip' ? (v.ip ?? host.ip) : undefined);
      let httpRule: string | undefined;
      if (v.allowed && path !== undefined && governed !== undefined) {
        const hd = gw.decider.decideHttp(method, governed, path, port);
        if (hd) {
          httpRule = hd.rule;
          const settled = await gw.decider.settle({ kind: 'http', method, host: governed, path, port }, hd);
          v = { ...v, allowed: settled.allowed, decision: settled.decision };
        }
      }
      const shown = `${formatHost(host)}:${port}${path ?? ''}`;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({
          target, canonical: shown, host: name ?? null, ip: v.ip ?? null, port, connect: v.connect ?? null,
          allowed: v.allowed, decision: v.allowed ? v.decision.decision : 'deny', rule: v.decision.rule, list: v.decision.list,
          reason: v.decision.reason, message: v.decision.message ?? null, httpRule: httpRule ?? null,
        }, null, 2)}\n`);
      } else {
        const addr = v.ip ? ` (${v.ip})` : '';
        process.stdout.write(`${v.allowed ? v.decision.decision : 'deny'} ${shown}${addr}: rule "${v.decision.rule}" (${v.decision.list}): ${v.decision.message ?? v.decision.reason}\n`);
      }
      process.exitCode = v.allowed ? EXIT.OK : EXIT.CHECK_FAILED;

      function parsePortOr(p: string): number {
        try {
          return parsePort(p);
        } catch (e) {
          if (e instanceof AddressError) throw usage(`bad port: ${e.reason}`);
          throw e;
        }
      }
    });
}
