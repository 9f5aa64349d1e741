// Exit statuses of the `cordon` command, documented in README.md ("Exit codes").
export const EXIT = {
  OK: 0,
  /** A check failed: policy tests mismatched, an audit chain did not verify, a signature is bad. */
  CHECK_FAILED: 1,
  /** Bad command line or bad input file (invalid policy, unreadable file). */
  USAGE: 2,
  /** Cordon could not start the sandboxed command (what `cordon run` returns before exec). */
  CANNOT_RUN: 126,
  INTERNAL: 70,
} as const;
