/**
 * thread-stream destination worker for the curves (bench/curves.ts): counts the characters it
 * receives (ASCII records: characters = bytes) into `counts[slot]` of a shared BigInt64Array, so the
 * main thread can sample what was delivered without messages. Writes nothing anywhere: the figure
 * is thread-stream's transport, not a file system.
 */
import { Writable } from 'node:stream';

export default function run(opts: { countSab: SharedArrayBuffer; slot: number }): Promise<Writable> {
  const counts = new BigInt64Array(opts.countSab);
  const slot = opts.slot;
  return Promise.resolve(
    new Writable({
      decodeStrings: false,
      write(chunk: string | Uint8Array, _encoding, callback) {
        // Publish the delivered count (one add per chunk of many records); read by curve-sessions.ts with Atomics.load.
        Atomics.add(counts, slot, BigInt(chunk.length));
        callback();
      },
    }),
  );
}
