// Errors of the trust part. A TrustError is meant for the user: what failed, why, what to do.
// exitCode 2 (bad input / refused to start) unless the caller says otherwise.
export type TrustErrorCode =
  | 'unsigned' | 'bad-signature' | 'unknown-key' | 'expired-key' | 'not-yet-valid'
  | 'loose-permissions' | 'bad-key-file' | 'bad-signature-file' | 'trust-store' | 'io' | 'usage';

export class TrustError extends Error {
  readonly exitCode: number;
  constructor(readonly code: TrustErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = 'TrustError';
    this.exitCode = options?.exitCode ?? 2;
  }
}
