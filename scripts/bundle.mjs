// Bundles the CLI into dist/bundle/drover.cjs, which bin/drover.js runs when it exists.
//   node scripts/bundle.mjs
// Why: loading ~150 ES modules one by one (drover's own plus yaml, commander, handlebars,
// node-ssh) costs Node ~0.2 s of resolving and linking before drover can open a connection; one
// bundled file loads in a fraction of that. It is CommonJS so that bin/run-bundle.js can run it
// as a vm.Script with a V8 code cache (ES modules cannot take one on Node 20). listr2 is still
// loaded lazily: esbuild keeps a dynamic import's module uninitialised until it is imported.
// ssh2 stays outside: it loads its native crypto binding from its own folder.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: join(outdir, 'drover.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  sourcemap: 'linked',
  logLevel: 'warning',
  // drover's modules find their files through import.meta.url, which CommonJS does not have.
  define: { 'import.meta.url': '__droverModuleUrl' },
  banner: { js: "const __droverModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
