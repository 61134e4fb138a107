/** The one error of deploying: what went wrong, said so that the user can act on it. */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 */
export class DeployError extends Schema.TaggedError<DeployError>()("DeployError", {
  message: Schema.String
}) {}
