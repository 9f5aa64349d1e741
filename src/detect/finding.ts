// The one shape every detector reports. Positions are UTF-16 indices into the string that was
// scanned, so callers can strip or redact exactly what was found.

export const FINDING_KINDS = [
  'invisible', 'bidi', 'tag_chars', 'ansi', 'hidden_instruction', 'secret',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  /** UTF-16 index of the first character of the match in the scanned string. */
  index: number;
  /** Length of the match in UTF-16 units. */
  length: number;
  /** A short human description (never the secret itself). */
  detail: string;
  /** Detector-specific rule id, e.g. `aws_access_key_id`, `ignore_previous`. */
  rule?: string;
  /** For tag characters: the ASCII they smuggle. */
  decoded?: string;
}
