/** Writes classic pcap files: the Node adapter over PcapRecorder. */
import * as fs from 'fs';
import { PcapRecorder } from './record';

export type { PcapPrecision } from './record';

export class PcapWriter extends PcapRecorder {
  writeFile(path: string): void {
    fs.writeFileSync(path, this.toBuffer());
  }
}
