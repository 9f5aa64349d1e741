// env_policy: denied and secret-looking variables never reach the command; allowed ordinary
// ones pass unchanged; the function is deterministic. Property tests are seeded and count how
// many runs actually exercised the property (anti-vacuity).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEnvPolicy, globMatch, secretNamePattern, secretValueRule } from '../../src/sandbox/support.js';

const SEED = 0x5eed;
const RUNS = 400;

const nameChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789abcxyz'.split(''));
const plainName = fc.array(nameChar, { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
const secretName = fc.constantFrom(
  'GITHUB_TOKEN', 'NPM_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'AWS_SECRET_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN', 'DB_PASSWORD', 'MY_SECRET', 'gh_token', 'Stripe_Api_Key',
  'SLACK_BOT_TOKEN', 'SIGNING_KEY', 'GOOGLE_APPLICATION_CREDENTIALS', 'SENTRY_DSN', 'HF_TOKEN',
);
const secretValue = fc.constantFrom(
  'ghp_' + 'a'.repeat(36), 'sk-ant-' + 'x'.repeat(40), 'AKIA' + 'ABCDEFGHIJKLMNOP',
  'postgres://app:hunter2@db.invalid/prod', 'xoxb-1234567890-abcdefghij',
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
);
const plainValue = fc.string({ maxLength: 40 }).filter((v) => !v.includes('\0') && secretValueRule(v) === undefined);

test('secret-looking variable names are recognised; everyday names are not', () => {
  for (const n of ['GITHUB_TOKEN', 'NPM_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'AWS_REGION', 'DB_PASSWORD', 'CLIENT_SECRET', 'deploy_key', 'GH_PAT']) {
    assert.notEqual(secretNamePattern(n), undefined, n);
  }
  for (const n of ['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'PWD', 'TMPDIR', 'EDITOR', 'NODE_ENV', 'SSH_AUTH_SOCK', 'XDG_RUNTIME_DIR', 'TOKENIZERS_PARALLELISM', 'DISPLAY', 'GITHUB_SHA', 'CI']) {
    assert.equal(secretNamePattern(n), undefined, n);
  }
});

test('the name glob is linear-time on adversarial input (no backtracking blow-up)', () => {
  const name = 'A'.repeat(50_000);
  const t0 = performance.now();
  assert.equal(globMatch('*A*A*A*A*A*A*B', name), false);
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(globMatch('A?C*', 'ABCD'), true);
  assert.equal(globMatch('A?C', 'AC'), false);
});

test('whole result for a concrete environment (what was removed and why)', () => {
  const r = applyEnvPolicy(
    { deny: ['LD_*'], allow: ['PATH', 'HOME', 'LD_PRELOAD', 'GITHUB_TOKEN', 'DATA*', 'APP_*', '*_TOKEN'] },
    {
      PATH: '/usr/bin', HOME: '/root', LD_PRELOAD: '/evil.so', GITHUB_TOKEN: 'ghp_x', NPM_TOKEN: 'npm_y',
      DATABASE_URL: 'postgres://u:pw@h/db', APP_MODE: 'dev', APP_KEY_FILE: 'ghp_' + 'z'.repeat(36), EDITOR: 'vi',
    },
  );
  assert.deepEqual(r.env, { APP_MODE: 'dev', GITHUB_TOKEN: 'ghp_x', HOME: '/root', PATH: '/usr/bin' });
  assert.deepEqual(r.removed, [
    { name: 'APP_KEY_FILE', reason: 'secret_value', detail: 'github_token' },
    { name: 'DATABASE_URL', reason: 'secret_value', detail: 'url_credentials' },
    { name: 'EDITOR', reason: 'not_allowed', detail: 'no allow glob matches' },
    { name: 'LD_PRELOAD', reason: 'deny', detail: 'deny: LD_*' },
    { name: 'NPM_TOKEN', reason: 'secret_name', detail: 'secret_name: *TOKEN' },
  ]);
  // Removal records carry no values.
  assert.ok(!JSON.stringify(r.removed).includes('ghp_'));
  assert.equal(r.bytes, ['APP_MODE=dev', 'GITHUB_TOKEN=ghp_x', 'HOME=/root', 'PATH=/usr/bin'].reduce((s, e) => s + e.length + 1, 0));
});

test('strip_secrets: false passes secrets (explicit opt-out), deny still applies', () => {
  const r = applyEnvPolicy({ strip_secrets: false, deny: ['AWS_*'] }, { GITHUB_TOKEN: 't', AWS_SECRET_ACCESS_KEY: 's' });
  assert.deepEqual(r.env, { GITHUB_TOKEN: 't' });
});

test('max_keys and max_bytes drop deterministically in name order and say so', () => {
  const env = { A: '1', B: '22', C: '333', D: '4' };
  assert.deepEqual(applyEnvPolicy({ max_keys: 2 }, env).env, { A: '1', B: '22' });
  // A=1\0 (4) + B=22\0 (5) = 9; C=333\0 (6) would make 15 > 13: skipped; D=4\0 (4) fits: 13.
  const r = applyEnvPolicy({ max_bytes: 13 }, env);
  assert.deepEqual(r.env, { A: '1', B: '22', D: '4' });
  assert.deepEqual(r.removed, [{ name: 'C', reason: 'max_bytes', detail: 'max_bytes: 13' }]);
  assert.equal(r.bytes, 13);
});

test('property: no denied or secret name/value survives', () => {
  let exercised = 0;
  fc.assert(
    fc.property(
      fc.dictionary(plainName, plainValue, { maxKeys: 8 }),
      fc.array(fc.tuple(secretName, plainValue), { maxLength: 3 }),
      fc.array(fc.tuple(plainName, secretValue), { maxLength: 3 }),
      fc.array(fc.constantFrom('A*', '*_X', 'B?', 'Z*'), { maxLength: 3 }),
      (base, secretNames, secretValues, deny) => {
        const env: Record<string, string> = { ...base };
        for (const [n, v] of secretNames) env[n] = v;
        for (const [n, v] of secretValues) env[n] = v;
        const r = applyEnvPolicy({ deny, allow: ['*'] }, env);
        for (const [n, v] of Object.entries(r.env)) {
          assert.ok(!deny.some((g) => globMatch(g, n)), `denied ${n} survived`);
          assert.equal(secretNamePattern(n), undefined, `secret name ${n} survived`);
          assert.equal(secretValueRule(v), undefined, `secret value in ${n} survived`);
        }
        // Everything given is either kept or reported removed, exactly once.
        assert.deepEqual([...Object.keys(r.env), ...r.removed.map((x) => x.name)].sort(), Object.keys(env).sort());
        if (secretNames.length + secretValues.length > 0 && r.removed.length > 0) exercised++;
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  assert.ok(exercised > RUNS / 3, `only ${exercised} runs contained a secret to strip`);
});

test('property: allowed non-secret names pass unchanged; deterministic', () => {
  let exercised = 0;
  fc.assert(
    fc.property(fc.dictionary(plainName, plainValue, { maxKeys: 10 }), (env) => {
      const r1 = applyEnvPolicy({}, env);
      const r2 = applyEnvPolicy({}, { ...env });
      assert.deepEqual(r1, r2);
      for (const [n, v] of Object.entries(env)) {
        if (secretNamePattern(n) !== undefined) continue;
        assert.equal(r1.env[n], v, `${n} changed or dropped`);
        exercised++;
      }
    }),
    { seed: SEED + 1, numRuns: RUNS },
  );
  assert.ok(exercised > RUNS, `only ${exercised} allowed names checked`);
});
