import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO, SHARED } from './env';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

export function cnmlab(args: string[]): { status: number; stdout: string; stderr: string } {
  // The test's own environment (a suite may set CNMLAB_STATE_DIR): jest hands children the process's, not the test's.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env: process.env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the shared oracle: `cnmlab decode --json` against tshark, frame by frame and field by
 * field. Returns its report; throws with that report when they disagree.
 */
export function agreeWithTshark(pcap: string, workDir: string): string {
  const json = path.join(workDir, path.basename(pcap) + '.json');
  const d = cnmlab(['decode', pcap, '--json']);
  if (d.status !== 0) throw new Error(`decode ${pcap} failed: ${d.stderr}`);
  fs.writeFileSync(json, d.stdout);
  const r = spawnSync('python3', [path.join(SHARED, 'tools', 'decode_vs_tshark.py'), json, pcap], { encoding: 'utf8' });
  const report = (r.stdout + r.stderr).trim();
  if (r.status !== 0) throw new Error(report);
  return report;
}

/** Frames whose IP, UDP, ICMP or TCP checksum tshark finds bad, with validation switched on. */
export function badChecksums(pcap: string): string {
  return execFileSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-Y', 'ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || tcp.checksum.status == 0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}
