// Support modules for `cordon run` that need no native code: environment policy, cgroup v2
// resource limits, the soft-delete trash. The sandbox core (src/sandbox/index.ts) imports these.
export {
  applyEnvPolicy, globMatch, secretNamePattern, secretValueRule, SECRET_NAME_PATTERNS,
} from './env-policy.js';
export type { EnvPolicyInput, EnvPolicyResult, EnvRemoval, EnvRemovalReason } from './env-policy.js';
export { createSessionCgroup, SessionCgroup, CgroupError } from './cgroup.js';
export type {
  ResourceLimitsInput, SessionCgroupOptions, AppliedLimit, CgroupStats, KillReason,
} from './cgroup.js';
export { resolveLayout, parseCgroupMounts, parseProcCgroup } from './cgroup-hierarchy.js';
export type { CgroupLayout, CgroupMountEntry } from './cgroup-hierarchy.js';
export { moveToTrash, listTrash, restore as restoreFromTrash, trashRoot, TrashError, sessionTrashDir, prepareTrashEntry, completeTrashEntry, abandonTrashEntry } from './trash.js';
export type { TrashEntry, TrashKind, TrashOptions, RestoreOptions, RestoreResult, PendingTrash, MovedObject } from './trash.js';
