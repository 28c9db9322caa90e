/** The browser lab's Buffer (lab/web/buffer.ts) does what Node's does for what the sim and dns-packet call. */
import fc from 'fast-check';
import { Buffer as PageClass } from '../lab/web/buffer';

/** As the page's bundle sees it: Buffer.from is Node's (text, bytes), which the class's type cannot say. */
const PageBuffer = PageClass as unknown as Omit<typeof PageClass, 'from'> & { from: typeof PageClass.fromBytes };

describe("the page's Buffer agrees with Node's", () => {
  test('text in and out: utf8, latin1, hex; byteLength', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      for (const enc of ['utf8', 'latin1'] as const) {
        const node = Buffer.from(text, enc);
        const page = PageBuffer.from(text, enc);
        expect([...page]).toEqual([...node]);
        expect(page.toString(enc)).toBe(node.toString(enc));
        expect(page.toString('hex')).toBe(node.toString('hex'));
        expect([...PageBuffer.from(node.toString('hex'), 'hex')]).toEqual([...node]);
      }
      expect(PageBuffer.byteLength(text)).toBe(Buffer.byteLength(text));
    }));
  });

  test('integers written and read at any offset, both byte orders', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 40 }), fc.nat(), fc.nat({ max: 0xffffffff }), (bytes, at, value) => {
      const off = at % (bytes.length - 3);
      const node = Buffer.from(bytes);
      const page = PageBuffer.from(bytes);
      expect(page.readUInt8(off)).toBe(node.readUInt8(off));
      expect(page.readUInt16BE(off)).toBe(node.readUInt16BE(off));
      expect(page.readUInt16LE(off)).toBe(node.readUInt16LE(off));
      expect(page.readUInt32BE(off)).toBe(node.readUInt32BE(off));
      expect(page.readUInt32LE(off)).toBe(node.readUInt32LE(off));
      expect(page.writeUInt32BE(value, off)).toBe(node.writeUInt32BE(value, off));
      expect(page.writeUInt16LE(value & 0xffff, off)).toBe(node.writeUInt16LE(value & 0xffff, off));
      expect(page.writeUInt8(value & 0xff, off)).toBe(node.writeUInt8(value & 0xff, off));
      expect([...page]).toEqual([...node]);
    }));
  });

  test("slice and subarray are views (Node's meaning), concat, copy, write, equals, alloc", () => {
    const page = PageBuffer.from([1, 2, 3, 4, 5]);
    const view = page.slice(1, 3);
    view[0] = 9;
    expect(page[1]).toBe(9);
    expect(view).toBeInstanceOf(PageClass);
    expect(page.subarray(2)).toBeInstanceOf(PageClass);
    expect([...PageBuffer.concat([page, PageBuffer.from([6])])]).toEqual([1, 9, 3, 4, 5, 6]);
    expect([...PageBuffer.concat([page, page], 7)]).toEqual([...Buffer.concat([Buffer.from(page), Buffer.from(page)], 7)]);
    const target = PageBuffer.alloc(4);
    expect(page.copy(target, 1, 2)).toBe(Buffer.from(page).copy(Buffer.alloc(4), 1, 2));
    expect([...target]).toEqual([0, 3, 4, 5]);
    const w = PageBuffer.alloc(6);
    expect(w.write('héllo', 1)).toBe(Buffer.alloc(6).write('héllo', 1));
    expect(w.equals(PageBuffer.from(w))).toBe(true);
    expect(PageBuffer.isBuffer(w)).toBe(true);
    expect(PageBuffer.isBuffer(new Uint8Array(2))).toBe(false);
    expect([...PageBuffer.alloc(3, 7)]).toEqual([7, 7, 7]);
  });
});
