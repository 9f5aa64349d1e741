// The sandbox support surface the sandbox core imports, pinned: a change here is a
// deliberate API change the core must follow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as support from '../../src/sandbox/support.js';

test('src/sandbox/support.ts exports exactly the support API', () => {
  assert.deepEqual(Object.keys(support).sort(), [
    'CgroupError', 'SECRET_NAME_PATTERNS', 'SessionCgroup', 'TrashError', 'abandonTrashEntry', 'applyEnvPolicy',
    'completeTrashEntry', 'createSessionCgroup', 'globMatch', 'listTrash', 'moveToTrash', 'parseCgroupMounts',
    'parseProcCgroup', 'prepareTrashEntry', 'resolveLayout', 'restoreFromTrash', 'secretNamePattern', 'secretValueRule',
    'sessionTrashDir', 'trashRoot',
  ]);
});
