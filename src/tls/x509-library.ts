import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import type * as X509 from '@peculiar/x509';

/**
 * The X.509 library, loaded on first use: most drover runs never touch a certificate, and these
 * modules (and the Reflect polyfill they need) would otherwise cost every start-up their load time.
 *
 * They are loaded through createRequire, which esbuild does not follow: the CLI bundle leaves
 * them out (inside, their ~0.8 MB made `drover --version` ~25 ms slower) and node_modules
 * supplies them when needed. Not import(): the bundle runs from a V8 code cache, and on Node 20 a
 * function restored from it cannot call import() (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
 * All four packages ship CommonJS.
 */
export interface X509Library {
  readonly x509: typeof X509;
  readonly asn1: typeof Asn1X509;
  readonly AsnConvert: typeof Asn1Schema.AsnConvert;
}

let loaded: X509Library | undefined;

export function loadX509(): X509Library {
  loaded ??= load();
  return loaded;
}

function load(): X509Library {
  const require = createRequire(import.meta.url);
  // @peculiar/x509 resolves its parts through tsyringe, which throws unless a Reflect metadata
  // polyfill is installed before it loads.
  require('reflect-metadata');
  const x509 = require('@peculiar/x509') as typeof X509;
  const asn1 = require('@peculiar/asn1-x509') as typeof Asn1X509;
  const { AsnConvert } = require('@peculiar/asn1-schema') as typeof Asn1Schema;
  x509.cryptoProvider.set(webcrypto);
  return { x509, asn1, AsnConvert };
}
