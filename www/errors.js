// The error type of both hosts (browser and Node).

/** Every error the API throws or emits: `code` says what failed, the message says how to fix it. */
export class SottoError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SottoError';
    this.code = code;
  }
}

/** `err` as a SottoError, keeping its code (`code` when it has none: a DOMException's is a number). */
export const toError = (err, code = 'engine') =>
  err instanceof SottoError ? err : new SottoError(typeof err?.code === 'string' ? err.code : code, err?.message ?? String(err));
