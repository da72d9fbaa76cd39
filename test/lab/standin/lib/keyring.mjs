// Gossip encryption: a keyring (primary key + installed keys) persisted like Consul's
// serf/local.keyring, and message frames sealed with AES-GCM under the primary key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PLAIN = 0;
const SEALED = 1;

export function generateKey() {
  return crypto.randomBytes(32).toString('base64');
}

export class Keyring {
  /** keys[0] is the primary key, as in Consul's local.keyring file. */
  constructor(keys = [], file = '') {
    this.keys = [...keys];
    this.file = file;
  }

  get enabled() { return this.keys.length > 0; }
  get primary() { return this.keys[0] ?? ''; }

  /**
   * Consul writes the first `encrypt` key into data_dir/serf/local.keyring and from then on
   * ignores a different `encrypt` in config, with a warning. Returns { keyring, warning }.
   */
  static load(dataDir, configKey, disableFile = false) {
    const file = disableFile ? '' : path.join(dataDir, 'serf', 'local.keyring');
    if (file && fs.existsSync(file)) {
      const keys = JSON.parse(fs.readFileSync(file, 'utf8'));
      const warning = configKey ? 'WARNING: LAN keyring exists but -encrypt given, using keyring' : '';
      return { keyring: new Keyring(keys, file), warning };
    }
    const ring = new Keyring(configKey ? [configKey] : [], file);
    if (configKey) ring.save();
    return { keyring: ring, warning: '' };
  }

  save() {
    if (!this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.keys));
  }

  install(key) { if (!this.keys.includes(key)) { this.keys.push(key); this.save(); } }

  use(key) {
    if (!this.keys.includes(key)) throw new Error(`Requested key is not in the keyring`);
    this.keys = [key, ...this.keys.filter((k) => k !== key)];
    this.save();
  }

  // memberlist's RemoveKey: the primary key is refused; a key that is not installed is no
  // error (nothing to remove), so a removal fanned out again to every member succeeds on each.
  remove(key) {
    if (key === this.primary) throw new Error('Removing the primary key is not allowed');
    this.keys = this.keys.filter((k) => k !== key);
    this.save();
  }

  seal(obj) {
    const body = Buffer.from(JSON.stringify(obj));
    if (!this.enabled) return Buffer.concat([Buffer.from([PLAIN]), body]);
    const key = Buffer.from(this.primary, 'base64');
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv(`aes-${key.length * 8}-gcm`, key, nonce);
    const enc = Buffer.concat([cipher.update(body), cipher.final()]);
    return Buffer.concat([Buffer.from([SEALED]), nonce, cipher.getAuthTag(), enc]);
  }

  /** Opens a frame; throws with memberlist's wording when keys or encryption modes differ. */
  open(buf) {
    if (buf.length < 1) throw new Error('empty message');
    const kind = buf[0];
    if (kind === PLAIN) {
      if (this.enabled) throw new Error('Encryption is configured but remote state is not encrypted');
      return JSON.parse(buf.subarray(1).toString());
    }
    if (kind !== SEALED) throw new Error(`Unknown message type ${kind}`);
    if (!this.enabled) throw new Error('Remote state is encrypted and encryption is not configured');
    const nonce = buf.subarray(1, 13);
    const tag = buf.subarray(13, 29);
    const data = buf.subarray(29);
    for (const k of this.keys) {
      const key = Buffer.from(k, 'base64');
      try {
        const d = crypto.createDecipheriv(`aes-${key.length * 8}-gcm`, key, nonce);
        d.setAuthTag(tag);
        return JSON.parse(Buffer.concat([d.update(data), d.final()]).toString());
      } catch {
        // try the next installed key
      }
    }
    throw new Error('No installed keys could decrypt the message');
  }
}
