// Child process for the crash test: appends events as fast as it can, printing "ack <id>" only
// after append resolved (i.e. after fdatasync), until it is killed. argv: file keyFile run [close]
import { openAuditLog } from '../../../src/audit/index.js';

const [file, keyFile, run, mode] = process.argv.slice(2) as [string, string, string, string | undefined];
const w = await openAuditLog({ file, key: { file: keyFile } });
process.stdout.write('open\n');
if (mode === 'close') {
  await w.append({ kind: 'session', operation: 'end', subject: run, session: run, fields: { id: `${run}-end` } });
  process.stdout.write(`ack ${run}-end\n`);
  await w.close();
  process.exit(0);
}
let i = 0;
for (;;) {
  const batch: Promise<string>[] = [];
  for (let j = 0; j < 25; j++) {
    const id = `${run}-${i++}`;
    batch.push(w.append({ kind: 'file', operation: 'write', subject: `/w/${id}`, session: run, fields: { id, pad: 'p'.repeat(i % 200) } }).then(() => id));
  }
  for (const p of batch) {
    const id = await p;
    process.stdout.write(`ack ${id}\n`);
  }
}
