/**
 * The errors of `sockfd/packet`: {@link PacketError} for bytes that are not a well-formed header, and
 * the argument errors of the encoders, in the words and codes of the rest of sockfd.
 * @packageDocumentation
 */
/**
 * Thrown by every `decode` (and `verifyChecksum`) of `sockfd/packet` when the bytes are truncated or
 * inconsistent: a buffer shorter than the fixed header, a header length field (IPv4 `ihl`, TCP
 * `dataOffset`) below its minimum or beyond the buffer, a length field (IPv4 `totalLength`, IPv6
 * `payloadLength`, UDP `length`) that claims more bytes than there are, an option whose length is
 * below 2 or runs past the end of the header, or a version field of another protocol.
 *
 * It extends `RangeError` and carries the code `'ERR_MALFORMED_PACKET'`, the `protocol` that was being
 * decoded and the `field` at fault, so a caller can tell a malformed packet from any other failure:
 * `err instanceof PacketError` or `err.code === 'ERR_MALFORMED_PACKET'`. Decoders throw nothing else
 * for any byte content; only arguments of the wrong type (not a `Uint8Array`) give a `TypeError`.
 *
 * Encoders never throw it: a field value that cannot be written is a `RangeError` with code
 * `'ERR_OUT_OF_RANGE'` (or a `TypeError` `'ERR_INVALID_ARG_VALUE'` for an unusable address), as for
 * the rest of sockfd.
 * @example
 * try { ipv4.decode(bytes); } catch (err) {
 *   if (err instanceof PacketError) console.log(err.protocol, err.field); // 'ipv4' 'ihl'
 * }
 */
export class PacketError extends RangeError {
  /** Always `'ERR_MALFORMED_PACKET'`. */
  readonly code = 'ERR_MALFORMED_PACKET' as const;
  /** The decoder's protocol: `'ethernet'`, `'arp'`, `'ipv4'`, `'ipv6'`, `'icmp'`, `'icmpv6'`, `'udp'` or `'tcp'`. */
  readonly protocol: string;
  /**
   * The field at fault, named as in the decoded object (`'ihl'`, `'totalLength'`, `'dataOffset'`,
   * `'options'`, ...), or `'header'` when the buffer is shorter than the fixed header itself.
   */
  readonly field: string;
  /** The byte offset, from the start of the decoded buffer, where the fault was found. */
  readonly offset: number;

  /**
   * @param protocol - the protocol being decoded.
   * @param field - the field at fault.
   * @param offset - byte offset of the fault in the decoded buffer.
   * @param detail - what is wrong, in words; the message is `"Malformed <protocol> packet: <field>: <detail>"`.
   */
  constructor(protocol: string, field: string, offset: number, detail: string) {
    for (const [name, v] of [['protocol', protocol], ['field', field], ['detail', detail]] as const) {
      if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
    }
    if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset);
    super(`Malformed ${protocol} packet: ${field}: ${detail}`);
    this.protocol = protocol;
    this.field = field;
    this.offset = offset;
  }
}
Object.defineProperty(PacketError.prototype, 'name', { value: 'PacketError', writable: true, configurable: true });

// The argument errors live in a module that needs no native addon, so sockfd/packet runs without it.
import { invalidArgType } from '../argerrors.js';
export { invalidArgType, invalidArgValue, isRevokedProxy, listArg, outOfRange } from '../argerrors.js';
