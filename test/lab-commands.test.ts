/**
 * The lab's own commands both surfaces share (lab/commands.ts): :help in each surface's
 * words, :on, and :path, which says in one line when the last ping did not reach its
 * destination and where it stopped.
 */
import { sharedLabCommand, unknownLabCommand } from '../lab/commands';
import { typedTwoNodeLab } from './helpers/lab';

const overlayLab = () => typedTwoNodeLab(`  - r0: docker run -dit --name b0 --network test-net busybox
  - r1: docker run -dit --name b1 --network test-net busybox
`);

describe("the lab's shared commands", () => {
  test(':help in each surface\'s words; :on moves or names the hosts; the others are each surface\'s own', async () => {
    const lab = await overlayLab();
    const term = lab.terminal();
    expect(sharedLabCommand(term, [':help'], 'terminal')).toMatch(/^Type commands as on the hosts[\s\S]*:save FILE +write the session as a scenario[\s\S]*Ctrl-D leaves the lab\.\n$/);
    expect(sharedLabCommand(term, [':help'], 'web')).toMatch(/^Type commands as on the hosts[\s\S]*:path +the last ping's path, step by step \(drawn below, too\)\n[\s\S]*Ctrl-L clears\.\n$/);
    expect(sharedLabCommand(term, [':help'], 'web')).not.toContain(':save');
    expect(sharedLabCommand(term, [':on', 'r1'], 'terminal')).toBe('');
    expect(term.prompt()).toBe('r1$ ');
    expect(sharedLabCommand(term, [':on', 'r9'], 'web')).toBe(':on: expected one of r0, r1\n');
    expect(sharedLabCommand(term, [':save', 'x.yaml'], 'terminal')).toBeUndefined();
    expect(unknownLabCommand(':nope')).toBe(':nope: unknown lab command (:help lists them)\n');
  });

  test(":path: the table of a ping that arrived; one line first for one that did not, with where it stopped; one line alone when nothing was seen", async () => {
    const lab = await overlayLab();
    const term = lab.terminal({ host: 'r0', container: 'b0' });
    expect(sharedLabCommand(term, [':path'], 'terminal')).toBe('no ping yet\n');
    await term.line('ping -c 1 b1');
    expect(sharedLabCommand(term, [':path'], 'terminal')).toMatch(/^path of ping-1 \(icmp-echo b0 → b1, step 6 · b0: ping -c 1 b1\):\nSTEP +DIR/);
    // Nobody holds the address: the overlay's vxlan0 has no entry for it and drops the ARP request.
    await term.line('ping -c 1 -W 1 10.0.1.99');
    const unreached = sharedLabCommand(term, [':path'], 'terminal')!;
    expect(unreached).toMatch(/^ping-2 \(b0 → 10\.0\.1\.99, step 7\) did not reach 10\.0\.1\.99: dropped at r0\/1-\w+\/vxlan0: no neighbour entry for 10\.0\.1\.99 \(l3miss\)\npath of ping-2 /);
    // No route (a container on no network): the ping sent nothing, so there is no table.
    const host = lab.terminal();
    expect(await host.line('docker run -dit --name n0 --network none busybox')).toMatchObject({ result: { exitCode: 0 } });
    const alone = lab.terminal({ host: 'r0', container: 'n0' });
    expect(await alone.line('ping -c 1 10.0.1.4')).toMatchObject({ result: { exitCode: 1, stderr: 'ping: sendto: Network is unreachable\n' } });
    expect(sharedLabCommand(alone, [':path'], 'web')).toBe("ping-3 (n0 → 10.0.1.4, step 9) did not reach 10.0.1.4: no packet of it was seen (the command's own output says why)\n");
  });
});
