// Every way a policy can be unusable surfaces as one PolicyError: a list of issues, each with
// file, line, column and the key path, rendered as one paragraph for a human.

export interface PolicyIssue {
  file: string;
  line?: number;
  col?: number;
  /** Key path inside the document, e.g. ['file_rules', 0, 'paths']. */
  path: (string | number)[];
  message: string;
}

const MAX_SHOWN = 5;

export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function formatIssue(i: PolicyIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}:${i.col ?? 1}` : i.file;
  const key = i.path.length > 0 ? ` ${formatPath(i.path)}:` : '';
  return `${where}:${key} ${i.message}`;
}

export class PolicyError extends Error {
  readonly exitCode = 2;
  readonly issues: PolicyIssue[];

  constructor(issues: PolicyIssue[], headline?: string) {
    const first = issues[0];
    const head = headline ?? `policy ${first ? first.file : ''} is invalid`;
    const shown = issues.slice(0, MAX_SHOWN).map(formatIssue);
    const more = issues.length > MAX_SHOWN ? ` (and ${issues.length - MAX_SHOWN} more)` : '';
    super(`${head}: ${shown.join('; ')}${more}. Fix the policy and run \`cordon policy validate\` again.`);
    this.name = 'PolicyError';
    this.issues = issues;
  }
}

export function policyError(file: string, message: string, path: (string | number)[] = [], line?: number, col?: number): PolicyError {
  return new PolicyError([{ file, path, message, ...(line !== undefined ? { line, col } : {}) }]);
}
