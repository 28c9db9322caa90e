/**
 * Calico's BIRD in the sim kernel: calico/node's confd writes its configuration, which the
 * namespace keeps as a file; the routes BIRD would install come as plan ops of their own
 * (`route.add` with `proto bird`).
 */
import { registerProgramOp } from './program_registry';

declare module './program_registry' {
  interface RegisteredProgramOps {
    'bird.config': true;
  }
}

/** Where calico/node's confd writes BIRD's configuration. */
export const BIRD_CONFIG = '/etc/calico/confd/config/bird.cfg';

registerProgramOp('bird.config', (kernel, op) => {
  kernel.netns(op.host, op.netns).files.set(BIRD_CONFIG, op.config);
});
