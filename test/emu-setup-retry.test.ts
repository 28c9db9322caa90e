/**
 * emu's setupEach after a sandbox's nf_tables batch: a batch the kernel refused (it changed
 * nothing) is done again by iptables-restore; one the worker could not send or see answered
 * may have applied, so it is not done again (iptables-restore would fail on chains that
 * exist) and fails the setup with the worker's words.
 */
import * as nsworker from '../emu/nsworker';
import * as nftables from '../emu/nftables';
import { setupEach } from '../emu/exec';
import { restoreScript } from '../emu/translate';

const rules = restoreScript([
  ['-t', 'nat', '-N', 'DOCKER_OUTPUT'],
  ['-t', 'nat', '-I', 'OUTPUT', '-d', '127.0.0.11', '-j', 'DOCKER_OUTPUT'],
]);

afterEach(() => jest.restoreAllMocks());

test('a refused batch is done again by iptables-restore; one the worker could not see to its end fails the setup, not retried', async () => {
  jest.spyOn(nftables, 'iptablesSendsNatBatch').mockResolvedValue(true);
  expect(nftables.natBatch(rules)).toBeInstanceOf(Buffer);
  const jobs: nsworker.NamespaceJob[][] = [];
  const answer = (first: nsworker.JobResult) =>
    jest.spyOn(nsworker, 'runInNamespaces').mockImplementation(async (batch) => {
      jobs.push(batch);
      return batch.map(() => (jobs.length === 1 ? first : { code: 0, output: '' }));
    });

  answer({ code: nsworker.NFTABLES_REFUSED, output: 'Error: File exists.\n', inProcess: true });
  await setupEach([{ netns: 'cnmx.sb', sysctls: [], rules }]);
  expect(jobs.map((b) => b.map((j) => (j.nftables ? 'nftables' : j.program?.join(' '))))).toEqual([['nftables'], ['iptables-restore --noflush']]);

  jobs.length = 0;
  jest.restoreAllMocks();
  jest.spyOn(nftables, 'iptablesSendsNatBatch').mockResolvedValue(true);
  answer({ code: nsworker.NFTABLES_UNSURE, output: 'netlink receive error No buffer space available\n', inProcess: true });
  await expect(setupEach([{ netns: 'cnmx.sb', sysctls: [], rules }])).rejects.toThrow('namespace setup of cnmx.sb: netlink receive error No buffer space available');
  expect(jobs.map((b) => b.map((j) => (j.nftables ? 'nftables' : j.program?.join(' '))))).toEqual([['nftables'], []]);
});
