/**
 * `npm run demo`: the main job on the built-in lab. Brings the lab up, deploys a 3-server +
 * 2-client Consul cluster with drover over real SSH and Docker, verifies it, and prints where to
 * look. The lab stays up afterwards; `npm run lab:down` removes it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { labHosts, labUp, SSH_CONFIG, ssh, sshOk } from './lab.js';

const ROOT = join(import.meta.dirname, '..', '..');
const INVENTORY = join(ROOT, 'inventories', 'lab.yaml');
const DROVER = join(ROOT, 'bin', 'drover.js');

function drover(args: string[]): Promise<number> {
  console.log(`\n$ drover ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DROVER, ...args], { cwd: ROOT, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  console.log('== lab: bringing up 6 hosts (h1..h6; the inventory uses h1..h5)');
  await labUp(6);
  const deploy = await drover(['deploy', '-i', INVENTORY]);
  if (deploy !== 0) {
    console.error(`deploy failed (exit ${deploy})`);
    return deploy;
  }
  const verify = await drover(['verify', '-i', INVENTORY]);
  if (verify !== 0) return verify;

  const h1 = labHosts()[0]!;
  console.log('\n== consul members (from h1)');
  console.log(await sshOk(h1.name, 'docker exec consul consul members'));
  console.log('== where to look');
  // TLS is on for a new cluster; a lab cluster deployed plain before stays plain.
  const tls = (await ssh(h1.name, `grep -q '"tls"' /opt/platform/consul/config/consul.json`)).code === 0;
  if (tls) {
    const ca = 'inventories/lab.tls/consul-agent-ca.pem';
    console.log(`  UI:        https://${h1.address}:8501/ui/  (trust ${ca}; also on h2, h3)`);
    console.log(`  API:       curl --cacert ${ca} https://${h1.address}:8501/v1/status/leader`);
  } else {
    console.log(`  UI:        http://${h1.address}:8500/ui/  (also on h2, h3)`);
    console.log(`  API:       curl http://${h1.address}:8500/v1/status/leader`);
  }
  console.log(`  a node:    ssh -F ${SSH_CONFIG} h1 'docker exec consul consul info'`);
  console.log(`  again:     node bin/drover.js deploy -i inventories/lab.yaml   (changes nothing)`);
  console.log(`  preview:   node bin/drover.js plan -i inventories/lab.yaml`);
  console.log('  clean up:  npm run lab:down');
  return 0;
}

process.exitCode = await main();
