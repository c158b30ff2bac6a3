// Decode the BR Codes atende writes (JSON lines on stdin, from `cargo run --example brcodes`)
// with the published `pix-utils` parser, which also checks each CRC, and compare every field
// with what the line says it must be. Exit 1 on the first difference.
import { parsePix, hasError } from 'pix-utils';

const input = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (d) => (text += d));
  process.stdin.on('end', () => resolve(text));
});
const lines = input.split('\n').filter((l) => l.trim() !== '');
if (lines.length === 0) {
  console.error('no BR Codes on stdin');
  process.exit(1);
}
let failed = 0;
for (const line of lines) {
  const want = JSON.parse(line);
  const got = parsePix(want.code);
  const problems = [];
  if (hasError(got)) {
    problems.push(`pix-utils refuses it: ${got.message}`);
  } else {
    if (got.type !== want.type) problems.push(`type ${got.type} != ${want.type}`);
    if (want.pixKey !== null && got.pixKey !== want.pixKey) problems.push(`key ${got.pixKey}`);
    if (want.url !== null && got.url !== want.url) problems.push(`url ${got.url}`);
    if (want.type === 'STATIC') {
      if (Math.round(got.transactionAmount * 100) !== want.amount_cents) {
        problems.push(`amount ${got.transactionAmount} != ${want.amount_cents} centavos`);
      }
      if (got.txid !== want.txid) problems.push(`txid ${got.txid} != ${want.txid}`);
    }
  }
  if (problems.length > 0) {
    failed += 1;
    console.error(`FAIL ${want.code}\n  ${problems.join('\n  ')}`);
  } else {
    console.log(`ok   ${want.code}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
