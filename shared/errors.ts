/** Domain errors carry no HTTP knowledge; api/plugins/error-handler.ts maps them to status codes. */
export class DomainError extends Error {
  /** A machine-readable reason clients branch on (e.g. LibreChat's `RUN_REPLACED`), sent as `code`. */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class ValidationError extends DomainError {}
export class NotFoundError extends DomainError {}
export class UnauthorizedError extends DomainError {}
export class ForbiddenError extends DomainError {}
export class ConflictError extends DomainError {}
export class RateLimitError extends DomainError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}
/** A dependency (Temporal, the database) cannot be reached right now. */
export class UnavailableError extends DomainError {}
