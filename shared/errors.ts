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

/** A validation error lists at most this many issues and says how many more there were. */
export const MAX_ISSUES = 20;
/** An issue's path and rule are cut here: a path can hold a field name the caller made up. */
export const ISSUE_PATH_MAX = 100;
export const ISSUE_RULE_MAX = 200;

/** At most `max` characters of a text that may quote the caller's input, marked with … when cut. */
export const bounded = (text: string, max: number): string =>
  // A cut between the halves of a surrogate pair would leave a lone half, which JSON escapes oddly.
  text.length <= max ? text : `${text.slice(0, max - 1).replace(/[\ud800-\udbff]$/, '')}…`;

const boundIssue = (issue: Issue): Issue => ({
  path: bounded(issue.path, ISSUE_PATH_MAX),
  rule: bounded(issue.rule, ISSUE_RULE_MAX),
});

export const describeIssue = (issue: Issue): string =>
  issue.path ? `${issue.path}: ${issue.rule}` : issue.rule;

/**
 * Bad input is answered with its issues, but never more than MAX_ISSUES of them, each bounded:
 * hostile input (thousands of unknown fields, 10,000-character names) cannot grow the answer.
 */
export class ValidationError extends ExposedError {
  readonly statusCode = 400;
  readonly code = 'validation_failed';
  /** The first MAX_ISSUES issues, each bounded. */
  readonly issues: Issue[];
  /** How many issues were found beyond those listed. */
  readonly moreIssues: number;
  constructor(issues: readonly Issue[]) {
    const shown = issues.slice(0, MAX_ISSUES).map(boundIssue);
    const more = issues.length - shown.length;
    super(
      shown.map(describeIssue).join('; ') +
        (more > 0 ? `; and ${more} more issues (only the first ${MAX_ISSUES} are listed)` : ''),
    );
    this.issues = shown;
    this.moreIssues = more;
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
