/**
 * `node:os` in the browser lab (the page's build aliases it here): the machine a scenario
 * host stands on is the browser's, and a page cannot see a kernel, so `docker info` says so.
 */
export function release(): string {
  return 'unknown (cnmlab sim in a browser)';
}

export function machine(): string {
  return 'unknown';
}

export function cpus(): unknown[] {
  return new Array(typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency || 1).fill({});
}

export function totalmem(): number {
  return 0;
}
