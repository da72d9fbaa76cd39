import type { X509Certificate } from '@peculiar/x509';

/** A certificate in PEM with the final newline Go's pem.Encode writes (and tools expect). */
export const pemText = (cert: X509Certificate): string => `${cert.toString('pem')}\n`;
