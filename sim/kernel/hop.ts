/** A trace hop that keeps its frame and decodes it into layers only when asked. */
import { dissect, dissectTraced, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../wire/dissect';
import { Layer } from '../wire/layer';
import { bufferView } from '../wire/bytes';
import { Hop, HopEvent } from '../trace/types';

/** Where and what: shared by every packet that makes the same hop, so a flood costs one small object per hop. */
export interface HopSite {
  step: number | undefined;
  dir: 'request' | 'reply';
  host: string;
  netns: string;
  device: string;
  event: HopEvent;
  /** The device that acted and handed the frame to `device`, where that is another one. */
  actor?: string;
}

export class SimHop implements Hop {
  protected decoded?: Layer[];

  constructor(
    private readonly site: HopSite,
    readonly timeNs: number,
    protected readonly frame: Uint8Array,
    readonly note?: string,
    readonly reason?: string,
  ) {}

  get step(): number | undefined {
    return this.site.step;
  }
  get dir(): 'request' | 'reply' {
    return this.site.dir;
  }
  get host(): string {
    return this.site.host;
  }
  get netns(): string {
    return this.site.netns;
  }
  get device(): string {
    return this.site.device;
  }
  get actor(): string | undefined {
    return this.site.actor;
  }
  get event(): HopEvent {
    return this.site.event;
  }

  get layers(): Layer[] {
    return (this.decoded ??= dissectTraced(bufferView(this.frame), LINKTYPE_ETHERNET));
  }

  toJSON(): Hop {
    const h: Hop = { ...(this.step !== undefined ? { step: this.step } : {}), dir: this.dir, host: this.host, netns: this.netns, device: this.device, ...(this.actor ? { actor: this.actor } : {}), event: this.event, timeNs: this.timeNs, layers: this.layers };
    if (this.note) h.note = this.note;
    if (this.reason) h.reason = this.reason;
    return h;
  }
}

/** A hop on a device without a link layer (an ipip tunnel): its frame is the IP packet alone, as a capture there has it. */
export class RawIpHop extends SimHop {
  override get layers(): Layer[] {
    return (this.decoded ??= dissect(bufferView(this.frame), LINKTYPE_RAW));
  }
}
