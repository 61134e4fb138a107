/**
 * @agentapp/deploy: run, deploy and talk to agentapp apps.
 *
 * @since 0.1.0
 */

/** Deploying on this machine: local, list, find, stopDeployment. @since 0.1.0 */
export * as Deploy from "./Deploy.ts"

/** A Dockerfile and the Kubernetes manifests of an app. @since 0.1.0 */
export * as Kubernetes from "./Kubernetes.ts"
