/**
 * The daemon's refusals, typed. The model says what dockerd says, in its own words (the
 * Engine API error's message); how the docker CLI shows a refusal ("Error response from
 * daemon: …", `docker run`'s "docker: …" with exit 125) is sim/docker/'s business.
 */

/** dockerd turns a request down; the message is the API's. */
export class DaemonRefusal extends Error {
  constructor(
    message: string,
    /**
     * For a container being run: whether the refusal comes while creating it (the CLI adds
     * its help line) or while starting it (the container stays, Created, unless --rm).
     */
    readonly runStage?: 'create' | 'start',
    /** For a start refused as the container was run: the container's id, which the CLI printed with -d. */
    readonly containerId?: string,
  ) {
    super(message);
  }
}

/** A name or id the client looks up itself matches no object. */
export class NoSuchObject extends Error {
  constructor(
    readonly kind: 'network' | 'container',
    readonly ref: string,
  ) {
    super(`no such ${kind}: ${ref}`);
  }
}

/**
 * cnmlab's own refusal of an input Docker takes but cnmlab will not model (an alias no
 * resolver can ask for). Its message names what is not modelled, without saying so: every
 * command prints it through the registry's notModelled (`cnmlab: not modelled: …`, exit
 * 127), which alone writes that prefix. Never in Docker's words.
 */
export class NotModelled extends Error {}
