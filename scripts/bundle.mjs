// Bundles the CLI into dist/bundle/drover.js, which bin/drover.js runs when it exists.
//   node scripts/bundle.mjs
// Why: loading ~150 ES modules one by one (drover's own plus yaml, commander, handlebars,
// node-ssh) costs Node ~0.2 s of resolving and linking before drover can open a connection; one
// bundled file loads in a fraction of that. listr2 stays a lazily loaded chunk: only a terminal
// needs it. ssh2 stays outside: it loads its native crypto binding from its own folder.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { drover: join(root, 'src', 'cli', 'main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
  // The CommonJS packages inside the bundle (commander, handlebars, node-ssh) expect require and
  // __dirname, which an ES module does not have.
  banner: {
    js: [
      "import { createRequire as __droverRequire } from 'node:module';",
      "import { fileURLToPath as __droverPath } from 'node:url';",
      "import { dirname as __droverDirname } from 'node:path';",
      'const require = __droverRequire(import.meta.url);',
      'const __filename = __droverPath(import.meta.url);',
      'const __dirname = __droverDirname(__filename);',
    ].join(' '),
  },
});
