// Errors the mcp part raises for the CLI: each carries the exit status `cordon` returns.

/** The wrapped server could not be started: nothing ran (exit 126). */
export class WrapError extends Error {
  readonly exitCode = 126;
}
