// The floor: one `true` per host over fresh SSH connections, all hosts at once, with the SSH
// library drover uses (ssh2) and nothing else: no inventory, no playbook, no runner. Plain
// JavaScript so that it starts like a compiled program (no TypeScript loader).
//   node bench/floor.mjs KEY KNOWN_HOSTS ADDRESS...
// Exits 0 when `true` exited 0 on every host; prints nothing on success.
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [keyFile, knownHostsFile, ...addresses] = process.argv.slice(2);
if (!keyFile || !knownHostsFile || addresses.length === 0) {
  process.stderr.write('usage: node bench/floor.mjs KEY KNOWN_HOSTS ADDRESS...\n');
  process.exit(64);
}
const privateKey = readFileSync(keyFile);
// Strict host key checking, as drover does it: the key must be the one known_hosts lists.
const known = new Map();
for (const line of readFileSync(knownHostsFile, 'utf8').split('\n')) {
  const [names, , key] = line.trim().split(/\s+/);
  if (names && key && !names.startsWith('#')) for (const n of names.split(',')) known.set(n, key);
}

function once(address) {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`${address}: no answer within 30s`));
    }, 30_000);
    client.once('connect', () => client.setNoDelay(true));
    client.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${address}: ${err.message}`));
    });
    client.on('ready', () => {
      client.exec('true', (err, stream) => {
        if (err) return reject(err);
        stream.resume();
        stream.stderr.resume();
        stream.on('close', (code) => {
          clearTimeout(timer);
          client.end();
          if (code === 0) resolve();
          else reject(new Error(`${address}: true exited ${code}`));
        });
      });
    });
    client.connect({
      host: address,
      port: 22,
      username: 'root',
      privateKey,
      readyTimeout: 30_000,
      hostVerifier: (key) => known.get(address) === key.toString('base64'),
    });
  });
}

const results = await Promise.allSettled(addresses.map(once));
const failed = results.filter((r) => r.status === 'rejected');
for (const f of failed) process.stderr.write(`${f.reason?.message ?? f.reason}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;
