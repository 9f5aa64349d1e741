// The parallel verifier (hash workers) must reach exactly the sequential verifier's verdicts:
// same report on an intact multi-chunk file, and the same first bad entry after an edit deep in
// the file, a deletion, and a cut last line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditLog, readKeyFile, verifyChainFiles, verifyChainFilesParallel } from '../../src/audit/index.js';
import { event, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

test('parallel and sequential verify agree on intact and damaged multi-range chains', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'big.jsonl');
  const w = await openAuditLog({ file, key: { file: keyFile } });
  const pad = 'x'.repeat(300);
  for (let i = 0; i < 6_000; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => w.append(event(i + j, { fields: { pad, i: i + j } }))));
  await w.close();
  assert.ok(statSync(file).size > 3 << 20, `file is ${statSync(file).size} bytes: many 256 KiB worker ranges`);
  const keys = [readKeyFile(keyFile)];
  const opts = { keys, explicitKeys: true, exactFiles: true };
  const seq = verifyChainFiles([file], opts);
  const popts = { ...opts, minBytes: 0, chunkBytes: 256 << 10, workers: 2 }; // workers named: used whatever the load
  const par = await verifyChainFilesParallel([file], popts);
  assert.equal(seq.ok, true, seq.summary);
  assert.deepEqual(par, seq);

  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const damaged: [string, string][] = [
    ['edit', lines.map((l, i) => (i === 5_000 ? l.replace('"i":4999', '"i":4998') : l)).join('\n')],
    ['delete', lines.filter((_, i) => i !== 3_001).join('\n')],
    ['cut', text.slice(0, text.length - 100)],
  ];
  for (const [name, bytes] of damaged) {
    assert.notEqual(bytes, text, `${name} changed the file`);
    const f = join(dir, `${name}.jsonl`);
    writeFileSync(f, bytes);
    const a = verifyChainFiles([f], opts);
    const b = await verifyChainFilesParallel([f], popts);
    assert.equal(a.ok, false, name);
    assert.deepEqual({ ...b, files: [] }, { ...a, files: [] }, name);
  }
});
