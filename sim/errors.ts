/**
 * Bad input: an unreadable or invalid scenario, capture or option. The CLI prints the
 * message on one line, without a stack trace, and exits 2.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** The running machine lacks something a command needs (root, a tool); also exit 2. */
export class PrerequisiteError extends InputError {}

/** This machine's kernel lacks a feature the scenario needs (IP-in-IP): emu refuses the scenario, verify skips its emu run. */
export class KernelFeatureMissing extends PrerequisiteError {}
