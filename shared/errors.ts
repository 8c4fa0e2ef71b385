/** One problem with a request: where (a field path such as `tags[3]`) and which rule it broke. */
export interface Issue {
  path: string;
  rule: string;
}

/**
 * Base of every error whose message may be shown to the caller. HTTP mapping is by
 * `instanceof` and `statusCode`; anything that is not an `ExposedError` becomes a 500.
 */
export abstract class ExposedError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
  readonly expose = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends ExposedError {
  readonly statusCode = 400;
  readonly code = 'validation_failed';
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.rule}` : i.rule)).join('; '));
  }
  static of(path: string, rule: string): ValidationError {
    return new ValidationError([{ path, rule }]);
  }
}

export class MalformedBodyError extends ExposedError {
  readonly statusCode = 400;
  readonly code = 'malformed_body';
}

export class UnauthorizedError extends ExposedError {
  readonly statusCode = 401;
  readonly code = 'unauthorized';
}

export class ForbiddenError extends ExposedError {
  readonly statusCode = 403;
  readonly code = 'forbidden';
}

export class NotFoundError extends ExposedError {
  readonly statusCode = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowedError extends ExposedError {
  readonly statusCode = 405;
  readonly code = 'method_not_allowed';
}

export class ConflictError extends ExposedError {
  readonly statusCode = 409;
  readonly code = 'conflict';
}

export class GoneError extends ExposedError {
  readonly statusCode = 410;
  readonly code = 'gone';
}

export class PreconditionFailedError extends ExposedError {
  readonly statusCode = 412;
  readonly code = 'precondition_failed';
}

export class PayloadTooLargeError extends ExposedError {
  readonly statusCode = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends ExposedError {
  readonly statusCode = 415;
  readonly code = 'unsupported_media_type';
}

/** A conditional write lost against a concurrent writer; services turn it into a 409 or retry. */
export class ConcurrentWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConcurrentWriteError';
  }
}
