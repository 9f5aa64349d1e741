// Shared check for invariant manifests: every named test must exist in its file, so renaming or
// deleting a test that proves an invariant fails the gate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type InvariantManifest = Record<string, Array<[file: string, name: string]>>;

/** Returns how many references were checked. */
export function checkManifest(root: string, manifest: InvariantManifest): number {
  let checked = 0;
  for (const [inv, refs] of Object.entries(manifest)) {
    assert.ok(refs.length > 0, `invariant ${inv} has no test`);
    for (const [file, name] of refs) {
      const src = readFileSync(join(root, file), 'utf8');
      assert.ok(src.includes(name), `invariant ${inv}: ${file} has no test named like "${name}"`);
      checked++;
    }
  }
  return checked;
}
