/**
 * `cnmlab run` gathers its steps' output into few writes; with a linger, what waits is still
 * written within a moment, as a person watching a slow step (emu) expects the steps before it.
 */
import { Writable } from 'stream';
import { BufferedOut } from '../bin/output';

function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (chunk.length) writes.push(chunk.toString());
      done();
    },
  });
  return { stream, writes };
}

test('small writes are gathered into one, written once the limit is reached', async () => {
  const { stream, writes } = recorder();
  const out = new BufferedOut(stream, 10);
  out.write('abcd');
  out.write('efgh');
  expect(writes).toEqual([]);
  out.write('ijkl');
  await out.flush();
  expect(writes).toEqual(['abcdefghijkl']);
});

test('with a linger, what waits below the limit is written that long after, without a flush', async () => {
  const { stream, writes } = recorder();
  const out = new BufferedOut(stream, 1 << 16, 20);
  out.write('step 1\n');
  out.write('step 2\n');
  expect(writes).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(writes).toEqual(['step 1\nstep 2\n']);
  out.write('step 3\n');
  await out.flush();
  expect(writes).toEqual(['step 1\nstep 2\n', 'step 3\n']);
});

test('a writer that does not await a slow reader adds one drain listener, not one per write, and loses nothing', async () => {
  const writes: string[] = [];
  // A reader that takes each chunk only after a moment, with a buffer of 8 bytes: every write fills it.
  const stream = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _enc, done) {
      if (chunk.length) writes.push(chunk.toString());
      setTimeout(done, 5);
    },
  });
  const out = new BufferedOut(stream, 4);
  let most = 0;
  for (let i = 0; i < 50; i++) {
    void out.write(`line ${i}\n`);
    most = Math.max(most, stream.listenerCount('drain'));
  }
  expect(most).toBe(1);
  await out.flush();
  expect(writes.join('')).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
  // Line 0 fits the reader's buffer, line 1 fills it; lines 2 to 49, written while the reader
  // was behind, went in one piece once it drained.
  expect(writes).toEqual(['line 0\n', 'line 1\n', Array.from({ length: 48 }, (_, i) => `line ${i + 2}\n`).join('')]);
});
