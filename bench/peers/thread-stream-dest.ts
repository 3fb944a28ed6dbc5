/** thread-stream destination worker for bench/readable.ts: a plain file write stream (as thread-stream's README shows). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export default async function run(opts: { dest: string }) {
  const stream = createWriteStream(opts.dest);
  await once(stream, 'open');
  return stream;
}
