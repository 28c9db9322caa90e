/** A trace hop that keeps its frame and decodes it into layers only when asked. */
import { dissect, LINKTYPE_ETHERNET } from '../wire/dissect';
import { Layer } from '../wire/layer';
import { Hop, HopEvent } from '../trace/types';

export class SimHop implements Hop {
  private decoded?: Layer[];

  constructor(
    readonly step: number | undefined,
    readonly dir: 'request' | 'reply',
    readonly host: string,
    readonly netns: string,
    readonly device: string,
    readonly event: HopEvent,
    readonly timeNs: number,
    private readonly frame: Buffer,
    readonly note?: string,
    readonly reason?: string,
  ) {}

  get layers(): Layer[] {
    return (this.decoded ??= dissect(this.frame, LINKTYPE_ETHERNET));
  }

  toJSON(): Hop {
    const h: Hop = { ...(this.step !== undefined ? { step: this.step } : {}), dir: this.dir, host: this.host, netns: this.netns, device: this.device, event: this.event, timeNs: this.timeNs, layers: this.layers };
    if (this.note) h.note = this.note;
    if (this.reason) h.reason = this.reason;
    return h;
  }
}
