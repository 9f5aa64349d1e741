// `cordon policy validate | test | explain`: the policy part's commands. Results on stdout,
// diagnostics on stderr, `--json` for machines.
import type { Command } from 'commander';
import { registerPolicyTrustCommands } from './audit-commands.js';
import { EXIT } from './exit-codes.js';
import { loadCliPolicy, policyLoadOptions, type PolicyVarOptions } from './policy-load.js';
import { resolveExecPath, resolveFilePath } from './resolve-paths.js';

const collect = (v: string, prev: string[]) => [...prev, v];

function withVarOptions(c: Command): Command {
  return c
    .option('--var <NAME=VALUE>', 'define a policy variable (repeatable)', collect, [])
    .option('--project-root <DIR>', 'value of ${PROJECT_ROOT} (default: detected from the current directory)');
}

export function registerPolicyCommands(program: Command): Command {
  const policy = program.command('policy').description('validate, test and explain policies');

  withVarOptions(
    policy
      .command('validate')
      .description("check policy files (schema, semantics) and run each policy's own `tests:`")
      .argument('<file...>', 'policy files, or built-in names (agent-default, strict)')
      .option('--json', 'machine-readable output'),
  ).action(async (files: string[], opts: PolicyVarOptions & { json?: boolean }) => {
    const { compilePolicy, runSelfTests, PolicyError } = await import('../policy/index.js');
    let status: number = EXIT.OK;
    const results: unknown[] = [];
    for (const f of files) {
      try {
        const c = compilePolicy(loadCliPolicy(f, opts));
        const tests = runSelfTests(c);
        const failed = tests.filter((t) => !t.passed);
        if (failed.length > 0) status = Math.max(status, EXIT.CHECK_FAILED);
        results.push({ file: f, valid: true, digest: c.digest, tests: tests.map((t) => ({ name: t.name, passed: t.passed, expected: t.expected, got: t.got?.decision, rule: t.got?.rule, error: t.error })) });
        if (!opts.json) {
          const counts = ruleCounts(c.policy as unknown as Record<string, unknown>);
          process.stdout.write(`${failed.length ? 'FAIL' : 'ok  '} ${f}: policy "${c.policy.name}", ${counts} rules, ${tests.length - failed.length}/${tests.length} self-tests passed\n`);
          for (const t of failed) {
            process.stdout.write(`     test "${t.name}": expected ${t.expected}, got ${t.error ? `an error: ${t.error}` : `${t.got!.decision} by ${t.got!.rule}`}\n`);
          }
        }
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        status = EXIT.USAGE;
        results.push({ file: f, valid: false, error: e.message, issues: e.issues });
        if (!opts.json) process.stderr.write(`cordon: ${e.message}\n`);
      }
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    process.exitCode = status;
  });

  withVarOptions(
    policy
      .command('test')
      .description('show the decision a policy gives one operation')
      .argument('<file>', 'policy file or built-in name')
      .argument('[argv...]', 'for exec: the command and its arguments, after `--`')
      .requiredOption('--op <OP>', 'file:<operation> | net:connect | exec | unix:<operation> | signal | mcp:call | tool:call | http:request')
      .option('--path <PATH>', 'file or socket path (relative paths resolve against the current directory; symlinks are followed)')
      .option('--host <HOST>', 'host name (net, http)')
      .option('--ip <IP>', 'address (net)')
      .option('--port <N>', 'port (net)', (v) => parsePort(v))
      .option('--protocol <P>', 'tcp or udp (net)')
      .option('--argv <ARG...>', 'command and arguments (exec; or give them after `--`); a bare name is looked up on PATH')
      .option('--depth <N>', 'process depth (exec; 0 = the command Cordon started)', (v) => Number(v))
      .option('--signal <SIG>', 'signal name or number')
      .option('--target <CLASSES>', 'signal target classes, comma-separated (self, children, session, external, ...)')
      .option('--server <NAME>', 'MCP server')
      .option('--tool <NAME>', 'MCP or in-process tool')
      .option('--method <M>', 'HTTP method')
      .option('--json', 'machine-readable output'),
  ).action(async (file: string, rest: string[], opts: PolicyVarOptions & Record<string, unknown>) => {
    if (rest.length > 0) opts.argv = [...((opts.argv as string[] | undefined) ?? []), ...rest];
    const { compilePolicy, operationFromSpec, describeOperation, OperationSpecError } = await import('../policy/index.js');
    const c = compilePolicy(loadCliPolicy(file, opts));
    const spec = { ...opts, op: String(opts.op) } as Parameters<typeof operationFromSpec>[0];
    if (spec.op.startsWith('file:') || spec.op.startsWith('unix:')) {
      if (spec.path !== undefined && !spec.path.startsWith('@')) spec.path = resolveFilePath(spec.path);
    }
    if (spec.op === 'exec' && spec.argv) spec.path = resolveExecPath(spec.argv[0]!);
    let op;
    try {
      op = operationFromSpec(spec);
    } catch (e) {
      if (e instanceof OperationSpecError) throw Object.assign(new Error(`${e.message}. See \`cordon policy test --help\`.`), { exitCode: EXIT.USAGE });
      throw e;
    }
    const d = c.evaluate(op);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ operation: op, ...d, policy: c.policy.name, digest: c.digest })}\n`);
    } else {
      const lines = [`${d.decision.toUpperCase()}  ${describeOperation(op)}`, `  rule:    ${d.rule}${d.ruleIndex >= 0 ? ` (${d.list}[${d.ruleIndex}])` : ''}`, `  why:     ${d.reason}`];
      if (d.message) lines.push(`  message: ${d.message}`);
      if (d.redirect) lines.push(`  instead: ${JSON.stringify(d.redirect)}`);
      if (d.decision === 'approve') lines.push(`  a human must answer within ${Math.round((d.timeoutMs ?? 0) / 1000)} s, else it is denied`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  });

  withVarOptions(
    policy
      .command('explain')
      .description('a readable summary of what a policy permits')
      .argument('<file>', 'policy file or built-in name'),
  ).action(async (file: string, opts: PolicyVarOptions) => {
    const { explainPolicy } = await import('../policy/index.js');
    process.stdout.write(explainPolicy(loadCliPolicy(file, opts)));
  });

  // `policy sign` / `policy verify` belong to the trust part.
  registerPolicyTrustCommands(policy);
  return policy;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw Object.assign(new Error(`--port must be a whole number from 0 to 65535 (got "${v}")`), { exitCode: EXIT.USAGE });
  return n;
}

function ruleCounts(p: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(p)) if (k.endsWith('_rules') && Array.isArray(v)) n += v.length;
  return n;
}

export { policyLoadOptions };
