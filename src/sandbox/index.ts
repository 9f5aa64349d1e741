// The sandbox part: `cordon run` (native supervisor driven over its control socket), the start
// spec, the question/answer decisions, and host feature detection. Named exports only.
export { runCommand, type RunCommandOptions } from './run.js';
export { runSandbox, newSessionId, jsonEventWriter, SandboxError, SUPERVISOR_PATH, type RunSandboxOptions, type RunSandboxResult, type SandboxEvent, type Approver, type StdioSlot } from './session.js';
export { buildSpec, encodeSpec, writeRoots, nativeFileRules, RK, DEGRADABLE, type NativeRules, type NativeRule, type Degradable, type SandboxSpec, type SpecInput } from './spec.js';
export { parseQuestion, operationsOf, combine, decideQuestion, answerFor, opsFromMask, type Question, type Answer } from './decide.js';
export { detectHost, formatDetect, type DetectReport, type Protection } from './detect.js';
export { loadPolicyCached, policyCacheKey } from './policy-cache.js';
export { redactArgv } from './redact.js';
export { FrameWriter, FrameReader, FrameSplitter, OPT, ANS, TO_SUPERVISOR } from './protocol.js';
// Trash (soft_delete) for `cordon trash`, from the support modules.
export { listTrash, restoreFromTrash, trashRoot, moveToTrash, TrashError } from './support.js';
export type { TrashEntry, RestoreOptions, RestoreResult } from './support.js';
