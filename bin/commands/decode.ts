import { decodeCapture, detailLines, summaryLine } from '../../sim/pcap/decode';
import { CaptureError } from '../../sim/pcap/reader';
import { linktypeName } from '../../sim/wire/dissect';
import { InputError } from '../../sim/errors';
import { BufferedOut } from '../output';

export interface DecodeOptions {
  json?: boolean;
  verbose?: boolean;
}

export async function decodeCommand(file: string, opts: DecodeOptions): Promise<number> {
  const out = new BufferedOut();
  let first = true;
  let headerWritten = false;
  const writeHeaderOnce = (linktype: number, linktypeName: string) => {
    if (headerWritten) return;
    headerWritten = true;
    if (opts.json) out.write(`{"file":${JSON.stringify(file)},"linktype":${linktype},"linktypeName":${JSON.stringify(linktypeName)},"frames":[`);
  };
  try {
    const result = await decodeCapture(file, (f, fileLinktype) => {
      if (opts.json) {
        writeHeaderOnce(fileLinktype, linktypeName(fileLinktype));
        const waiting = out.write((first ? '\n' : ',\n') + JSON.stringify(f));
        first = false;
        return waiting;
      }
      return out.write(summaryLine(f) + '\n' + (opts.verbose ? detailLines(f).join('\n') + '\n\n' : ''));
    });
    if (opts.json) {
      if (!headerWritten) writeHeaderOnce(result.header.linktype, result.header.linktypeName);
      out.write(`\n],"format":${JSON.stringify(result.header.format)},"warnings":${JSON.stringify(result.warnings)}}\n`);
    }
    await out.flush();
    for (const w of result.warnings) process.stderr.write(`cnmlab: ${file}: ${w}\n`);
    return 0;
  } catch (e) {
    if (e instanceof CaptureError) {
      // As tshark does, the frames before the damage are shown; half a JSON document is not.
      if (!opts.json) await out.flush();
      throw new InputError(`${file}: ${e.message}`);
    }
    throw e;
  }
}
