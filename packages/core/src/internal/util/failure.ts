/** What a failed Effect's cause says of itself: the one reading every error reply is built from. */
import { Cause } from "effect"

/** The first typed failure of a cause, read without trusting its shape. */
export interface Failure {
  /** The error's `_tag`, if it has one. */
  readonly tag: string | undefined
  /** The error's `name` (`Error`, `TypeError`, …), if it has one. */
  readonly name: string | undefined
  /** Its `message` when that is a non-empty string, or the error itself when it is one. */
  readonly message: string | undefined
  /** An HTTP status (4xx or 5xx) the error carries as `status`. */
  readonly status: number | undefined
  /** The error itself. */
  readonly error: unknown
}

/**
 * The first typed failure of `cause`, or `undefined` for a cause of defects
 * or interruptions only: those show a generic message (their details are
 * logged, never sent).
 */
export const failureOf = (cause: Cause.Cause<unknown>): Failure | undefined => {
  const reason = cause.reasons.find(Cause.isFailReason)
  if (reason === undefined) return undefined
  const error = reason.error
  if (typeof error !== "object" || error === null) {
    return { tag: undefined, name: undefined, message: typeof error === "string" && error !== "" ? error : undefined, status: undefined, error }
  }
  const { _tag, name, message, status } = error as {
    readonly _tag?: unknown
    readonly name?: unknown
    readonly message?: unknown
    readonly status?: unknown
  }
  return {
    tag: typeof _tag === "string" ? _tag : undefined,
    name: typeof name === "string" ? name : undefined,
    message: typeof message === "string" && message !== "" ? message : undefined,
    status: typeof status === "number" && status >= 400 && status <= 599 ? status : undefined,
    error
  }
}

/** The message of any error value: its `message`, or its text. */
export const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)
