// The public surfaces of src/mcp and src/detect, pinned: a change here is a deliberate API change.
// Also the layering rule: neither part imports another part's non-index file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as mcp from '../../src/mcp/index.js';
import * as detect from '../../src/detect/index.js';
import { ROOT } from './helpers/harness.js';

test('src/mcp and src/detect export exactly their documented names', () => {
  assert.deepEqual(Object.keys(mcp).sort(), [
    'CallPolicy', 'Gateway', 'HIDDEN_INSTRUCTION_NOTICE', 'InstallError', 'PinStore', 'PinStoreError', 'RPC', 'StdioAgentTransport',
    'TaintStore', 'WrapError', 'canonicalizePath', 'checkArgs', 'checkPin', 'checkServerName', 'checkShadowing', 'classify',
    'defaultCordonCommand', 'defaultStateDir', 'definitionHash', 'diffDefinitions', 'fingerprints', 'globMatch', 'installConfig',
    'runWrap', 'scanDefinition', 'scanPayload', 'startServe', 'toolSettings', 'uninstallConfig',
  ]);
  assert.deepEqual(Object.keys(detect).sort(), [
    'FINDING_KINDS', 'classifyCodePoint', 'decodeTagChars', 'findAnsi', 'findHiddenInstructions', 'findSuspiciousUnicode',
    'hasAnsi', 'hasSuspiciousUnicode', 'isBidiControl', 'isInvisible', 'isTagChar', 'normalizeText', 'redactFindings',
    'redactSecrets', 'sanitizeText', 'scanSecrets', 'scanText', 'skeleton', 'stripAnsi', 'stripSuspiciousUnicode',
  ]);
});

test('layering: detect imports nothing of ours and no Node I/O; mcp imports other parts only through their index', () => {
  for (const part of ['mcp', 'detect']) {
    const dir = join(ROOT, 'src', part);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/from '(\.\.\/[^']+)'/g)) {
        assert.match(m[1]!, /^\.\.\/[a-z]+\/index\.js$/, `${part}/${f} imports ${m[1]}`);
        if (part === 'detect') assert.fail(`detect/${f} imports another part: ${m[1]}`);
      }
      if (part === 'detect') assert.doesNotMatch(src, /from 'node:(fs|net|http|child_process)/, `detect/${f} must stay pure`);
    }
  }
});
