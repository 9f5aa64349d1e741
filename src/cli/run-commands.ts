// `cordon run` and `cordon detect`: the sandbox part's commands. The sandbox modules load lazily
// inside the actions so other subcommands do not pay for them.
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import type { PolicyVarOptions } from './policy-load.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface RunOpts extends PolicyVarOptions {
  policy?: string;
  audit?: string;
  jsonEvents?: string;
  allowDegraded: string[];
  verbose?: boolean;
  trapAllReads?: boolean;
  trustStore?: string;
  trustMode?: string;
  inspectTls?: boolean;
}

function usage(msg: string): Error {
  return Object.assign(new Error(msg), { exitCode: EXIT.USAGE });
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('run a command and its whole process tree under a policy, enforced by the kernel')
    .argument('<command...>', 'the command and its arguments (put them after `--`)')
    .option('--policy <FILE>', 'policy file or built-in name (default: agent-default)')
    .option('--project-root <DIR>', 'value of ${PROJECT_ROOT} (default: detected from the current directory)')
    .option('--var <NAME=VALUE>', 'define a policy variable (repeatable)', collect, [])
    .option('--audit <FILE>', 'audit log file (default: a per-session file under the state directory)')
    .option('--json-events <FD>', 'write each decision as a JSON line to this open file descriptor')
    .option('--allow-degraded <NAME>', 'run without a protection this host lacks, by name: landlock, exec-verify (repeatable)', collect, [])
    .option('--trap-all-reads', 'decide (and record) every read-only open in the supervisor instead of leaving plain reads to Landlock')
    .option('--trust-store <DIR>', 'verify the policy file\'s signature against the public keys in DIR (default: $CORDON_TRUST_STORE)')
    .option('--trust-mode <MODE>', 'enforce (unsigned or untrusted policy: exit 2, nothing runs), warn, off (default: $CORDON_TRUST_MODE, else enforce when a trust store is set)')
    .option('--inspect-tls', 'decide each HTTPS request to hosts http_rules name: TLS is terminated with a per-session local CA the sandbox trusts (sets the policy\'s tls_inspection.enabled)')
    .option('-v, --verbose', 'print the session id, audit file and environment removals on stderr')
    .action(async (command: string[], opts: RunOpts) => {
      performance.mark('cordon:action');
      // Only what `run` uses, loaded side by side. The policy part's loader (YAML, schema) is not
      // among them: a cached, already-validated policy is compiled without it.
      const [sandbox, { compilePolicy, loadPolicy }, { stateDir }, { policyLoadOptions }, { resolveTrustSettings, verifyPolicyFile }] = await Promise.all([
        import('../sandbox/index.js'), import('../policy/index.js'), import('../audit/index.js'), import('./policy-load.js'), import('../trust/index.js'),
      ]);
      performance.mark('cordon:modules');
      for (const d of opts.allowDegraded) {
        if (!(sandbox.DEGRADABLE as readonly string[]).includes(d)) throw usage(`--allow-degraded takes one of ${sandbox.DEGRADABLE.join(', ')} (got "${d}")`);
      }
      let onEvent;
      if (opts.jsonEvents !== undefined) {
        const fd = Number(opts.jsonEvents);
        if (!Number.isInteger(fd) || fd < 3) throw usage(`--json-events takes an open file descriptor number >= 3 (got "${opts.jsonEvents}")`);
        onEvent = sandbox.jsonEventWriter(fd);
      }
      const loadOpts = policyLoadOptions(opts.policy ?? 'agent-default', opts);
      // Signed policies: with a trust store (or a trust mode) configured, a policy FILE is
      // verified first and loaded from the very bytes that were verified (no re-read, and no
      // policy cache, whose key does not cover the signature or the trust store). Built-in
      // policies ship with Cordon itself and are not signature-checked.
      const trust = resolveTrustSettings({ ...(opts.trustStore ? { trustStore: opts.trustStore } : {}), ...(opts.trustMode ? { mode: opts.trustMode } : {}) });
      let loadedPolicy;
      if (trust.mode !== 'off' && loadOpts.file !== undefined) {
        const v = verifyPolicyFile(loadOpts.file, trust); // TrustError (exitCode 2): nothing runs
        for (const w of v.warnings) process.stderr.write(`cordon: warning: ${w}\n`);
        if (opts.verbose) process.stderr.write(`cordon: policy ${loadOpts.file} ${v.verified ? `signed by ${v.signer} (key ${v.keyId?.slice(0, 16)}…)` : 'NOT verified (trust mode warn)'}\n`);
        const { file, ...rest } = loadOpts;
        loadedPolicy = loadPolicy({ ...rest, text: v.bytes.toString('utf8'), source: file });
      } else {
        loadedPolicy = sandbox.loadPolicyCached(loadOpts, join(stateDir(), 'policy-cache')).policy;
      }
      performance.mark('cordon:policy-loaded');
      if (opts.inspectTls) loadedPolicy = { ...loadedPolicy, tls_inspection: { ...loadedPolicy.tls_inspection, enabled: true } };
      const policy = compilePolicy(loadedPolicy);
      performance.mark('cordon:policy-compiled');
      const verbose = opts.verbose ? (l: string) => process.stderr.write(`cordon: ${l}\n`) : undefined;
      // Ctrl-C reaches the sandboxed command directly (same process group); we stay up to record.
      const ignore = () => {};
      process.on('SIGINT', ignore);
      process.on('SIGQUIT', ignore);
      try {
        const res = await sandbox.runCommand({
          argv: command,
          policy,
          cwd: process.cwd(),
          degraded: opts.allowDegraded as never,
          // The approval broker loads only when a rule actually asks a human.
          approver: async (r) => (await import('../approvals/index.js')).requestApproval(r),
          ...(opts.trapAllReads ? { readFastPath: false } : {}),
          ...(opts.audit ? { auditFile: opts.audit } : {}),
          ...(onEvent ? { onEvent } : {}),
          ...(verbose ? { verbose } : {}),
        });
        if (res.cordonError) {
          process.stderr.write(`cordon: ${res.cordonError}\n`);
          process.exitCode = EXIT.CANNOT_RUN;
          return;
        }
        if (res.limitKill) process.stderr.write(`cordon: ${res.limitKill}\n`);
        process.exitCode = res.exitCode;
      } finally {
        process.off('SIGINT', ignore);
        process.off('SIGQUIT', ignore);
      }
    });

  program
    .command('detect')
    .description('probe what this host can enforce (real installs, not header checks) and print a score')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { detectHost, formatDetect } = await import('../sandbox/index.js');
      const r = detectHost();
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : formatDetect(r));
      process.exitCode = r.ready ? EXIT.OK : EXIT.CHECK_FAILED;
    });
}
