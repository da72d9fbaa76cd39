/** What killRemote reads of an ssh2 client channel. */
export interface SignalableChannel {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?(id: number, name: string): void } };
}

/**
 * Best effort: an SSH "signal" request (RFC 4254 6.9) so sshd kills a command drover stopped
 * waiting for. ssh2 1.17's public Channel.signal() does nothing once our side has sent EOF,
 * which is at once for commands without stdin (mscdex/ssh2#1510 would lift that), so the request
 * goes through the channel's protocol object: the one place drover reads ssh2's internals.
 * OpenSSH honours the request only for non-root logins (it needs its privilege-separated child);
 * for root the process runs on, but drover has stopped waiting for it.
 */
export function killRemote(channel: SignalableChannel): void {
  const id = channel.outgoing?.id;
  const state = channel.outgoing?.state;
  if (id === undefined || (state !== 'open' && state !== 'eof')) return;
  channel._client?._protocol?.signal?.(id, 'KILL');
}
