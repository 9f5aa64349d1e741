// Redaction of secrets in the free text the sandbox records (DESIGN invariant 7): exec argv
// (`curl -H "Authorization: Bearer …"`, `mysql --password=…`, a token pasted as an argument)
// and the session's start argv go into the audit chain with secret values replaced by
// `[REDACTED:<rule>]`, and the event names the redacted fields.
//
// Detectors: the shared secret scanner (src/detect: provider token formats, JWTs, PEM keys,
// AWS secrets), plus argv conventions it cannot see in one string: an HTTP credential header
// (`Authorization: …`, `Cookie: …`, `X-Api-Key: …`), an auth scheme followed by a credential
// (`Bearer X`, `Basic X`), `--NAME=VALUE` and `--NAME VALUE` where NAME looks like a secret
// (the env_policy name patterns: *TOKEN, *PASSWORD*, *SECRET*, …), and `user:password@` in URLs.
// All scans are linear in the argument length.
// NOT covered: secrets with no recognizable shape in a position that names nothing (a bare
// random string), secrets split across arguments in other ways, and paths (subjects) that
// themselves contain a secret.
import { redactSecrets } from '../detect/index.js';
import { secretNamePattern } from './env-policy.js';

const HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'api-key', 'x-auth-token', 'private-token', 'x-amz-security-token']);
const SCHEMES = ['bearer ', 'basic ', 'token ', 'digest ', 'negotiate '];

/** Option name (without dashes) that announces a secret value. */
function secretOption(arg: string): boolean {
  if (!arg.startsWith('-')) return false;
  const name = arg.replace(/^-+/, '').replace(/-/g, '_');
  if (!name || name.length > 64) return false;
  return secretNamePattern(name) !== undefined || /^(pass|pwd|apikey|auth)$/i.test(name);
}

/** Redacts one argument; `afterSecretOption`: the previous one was `--password` and friends. */
function redactArg(a: string, afterSecretOption: boolean): string {
  if (afterSecretOption) return '[REDACTED:option_value]';
  let t = redactSecrets(a).text;
  // NAME: VALUE header forms (curl -H, wget --header, httpie NAME:VALUE)
  const colon = t.indexOf(':');
  if (colon > 0 && colon < 40 && HEADERS.has(t.slice(0, colon).trim().toLowerCase())) {
    return `${t.slice(0, colon + 1)} [REDACTED:http_credential_header]`;
  }
  // --NAME=VALUE
  const eq = t.indexOf('=');
  if (eq > 1 && t.startsWith('-') && secretOption(t.slice(0, eq))) return `${t.slice(0, eq + 1)}[REDACTED:option_value]`;
  // NAME=VALUE (env-style assignment in an argument, e.g. `env API_TOKEN=x cmd`)
  if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.slice(0, eq)) && secretNamePattern(t.slice(0, eq))) return `${t.slice(0, eq + 1)}[REDACTED:assignment_value]`;
  // an auth scheme followed by a credential anywhere in the argument
  const lower = t.toLowerCase();
  for (const s of SCHEMES) {
    let i = lower.indexOf(s);
    while (i >= 0) {
      const start = i + s.length;
      let end = start;
      while (end < t.length && /[A-Za-z0-9._~+/=-]/.test(t[end]!)) end++;
      if (end - start >= 8) {
        t = `${t.slice(0, start)}[REDACTED:auth_scheme_credential]${t.slice(end)}`;
        break;
      }
      i = lower.indexOf(s, start);
    }
  }
  // scheme://user:password@host
  t = t.replace(/(:\/\/[^/\s:@]*:)[^/\s@]+@/g, '$1[REDACTED:url_password]@');
  return t;
}

/** Redacts secrets in an argv; `redacted` lists the indexes that changed. */
export function redactArgv(argv: readonly string[]): { argv: string[]; redacted: number[] } {
  const out: string[] = [];
  const redacted: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const prev = i > 0 ? argv[i - 1]! : '';
    const r = redactArg(a, i > 0 && !prev.includes('=') && secretOption(prev));
    if (r !== a) redacted.push(i);
    out.push(r);
  }
  return { argv: out, redacted };
}
