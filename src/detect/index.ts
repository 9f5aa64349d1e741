// Detection helpers shared by the gateways (MCP now, LLM/data protection later). Pure functions,
// linear-time scanners, no I/O.
export { FINDING_KINDS } from './finding.js';
export type { Finding, FindingKind } from './finding.js';
export {
  normalizeText, skeleton, findSuspiciousUnicode, stripSuspiciousUnicode, hasSuspiciousUnicode,
  decodeTagChars, classifyCodePoint, isBidiControl, isInvisible, isTagChar,
} from './unicode.js';
export type { UnicodeFindingKind } from './unicode.js';
export { findAnsi, stripAnsi, hasAnsi } from './ansi.js';
export { findHiddenInstructions } from './instructions.js';
export { scanSecrets, redactSecrets, redactFindings } from './secrets.js';
export { scanText, sanitizeText } from './scan.js';
export type { ScanOptions, SanitizeResult } from './scan.js';
