/** The machine a scenario host stands on, as `docker info` reports it: the same in sim and emu. */
import * as os from 'node:os';
import { readFileSync } from 'node:fs';

export interface Machine {
  kernel: string;
  operatingSystem: string;
  architecture: string;
  cpus: number;
  memoryBytes: number;
}

function operatingSystem(): string {
  try {
    const m = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?$/m);
    return m ? m[1] : 'Linux';
  } catch {
    return 'Linux';
  }
}

export function thisMachine(): Machine {
  return { kernel: os.release(), operatingSystem: operatingSystem(), architecture: os.machine(), cpus: os.cpus().length, memoryBytes: os.totalmem() };
}
