// The audit and trust parts' public surfaces, pinned; and their layering (DESIGN.md): trust
// depends on no other part; audit only on trust and on policy types; neither loads SQLite or
// OpenTelemetry at import time (cordon run imports audit and must start fast).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as audit from '../../src/audit/index.js';
import * as trust from '../../src/trust/index.js';
import { REPO_ROOT } from './helpers/tmp.js';

test('src/audit exports exactly these names', () => {
  assert.deepEqual(Object.keys(audit).sort(), [
    'AuditError', 'AuditIndex', 'AuditWriter', 'EVENT_KINDS', 'MAX_LINE_BYTES', 'ThreadedAuditWriter', 'buildSessionReport', 'defaultKeyFile',
    'defaultVerifierKeys', 'expandRotated', 'formatSessionReport', 'hostOf', 'keyArchiveDir', 'keyFingerprint', 'openAuditLog',
    'otlpForwarder', 'parseTime', 'readKeyEnv', 'readKeyFile', 'rotatedName', 'scanLines', 'sqliteForwarder', 'stateDir',
    'verifyChainFiles', 'verifyChainFilesParallel',
  ]);
});

test('src/trust exports exactly these names', () => {
  assert.deepEqual(Object.keys(trust).sort(), [
    'CanonicalJsonError', 'TRUST_MODES', 'TRUST_MODE_ENV', 'TRUST_STORE_ENV', 'TrustError', 'canonicalJson', 'checkSignature',
    'generateKeyPairFiles', 'keyIdOf', 'loadPrivateKey', 'loadPublicKey', 'loadTrustStore', 'parsePublicKey', 'parseSignature',
    'publicKeyFromRaw', 'rawPublicKey', 'resolveTrustSettings', 'signPolicyBytes', 'signPolicyFile', 'signatureFileFor',
    'verifyPolicyFile',
  ]);
  assert.equal(trust.TRUST_STORE_ENV, 'CORDON_TRUST_STORE');
  assert.equal(trust.TRUST_MODE_ENV, 'CORDON_TRUST_MODE');
});

function sources(part: string): [string, string][] {
  const dir = join(REPO_ROOT, 'src', part);
  return readdirSync(dir).filter((n) => n.endsWith('.ts')).map((n) => [n, readFileSync(join(dir, n), 'utf8')]);
}

const SPEC = /(?:from\s+|import\(\s*)['"]([^'"]+)['"]/g;

test('trust imports no other part; audit imports only trust and policy types', () => {
  const bad: string[] = [];
  for (const [n, text] of sources('trust')) {
    for (const m of text.matchAll(SPEC)) if (m[1]!.startsWith('..')) bad.push(`trust/${n}: ${m[1]}`);
  }
  for (const [n, text] of sources('audit')) {
    for (const m of text.matchAll(SPEC)) {
      const s = m[1]!;
      if (!s.startsWith('..')) continue;
      if (s === '../trust/index.js') continue;
      if (s === '../policy/index.js' && new RegExp(`import type [^;]*from '../policy/index.js'`).test(text)) continue;
      bad.push(`audit/${n}: ${s}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('heavy dependencies load lazily: no static import of better-sqlite3 or @opentelemetry', () => {
  const bad: string[] = [];
  for (const [n, text] of sources('audit')) {
    if (/^import [^(]*from ['"](better-sqlite3|@opentelemetry\/[^'"]+)['"]/m.test(text)) bad.push(n);
  }
  assert.deepEqual(bad, []);
});
